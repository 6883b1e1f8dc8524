package sip

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/netx"
	"github.com/cmed-project/cmed/pkg/netx/throttle"
	"github.com/cmed-project/cmed/pkg/sip/subs"
)

// Switch is the part of *dn.Switch the SIP server uses: registration of
// pools as devices, and call control for the phones' calls (B2BUA).
type Switch interface {
	RegisterDevice(info dn.DeviceInfo, sink dn.Device) (dn.DeviceID, error)
	UnregisterDevice(id dn.DeviceID) error
	OffHook(id dn.DeviceID, line int) (dn.CallRef, error)
	Digits(id dn.DeviceID, line int, digits string) (dn.CallRef, error)
	OnHook(id dn.DeviceID, line int) (dn.CallRef, error)
	Answer(id dn.DeviceID, line int, callID dn.CallID) (dn.CallRef, error)
	Reject(id dn.DeviceID, line int, callID dn.CallID, cause dn.Cause, everywhere bool) error
	Hold(id dn.DeviceID, line int, callID dn.CallID) (dn.CallRef, error)
	Resume(id dn.DeviceID, line int, callID dn.CallID) (dn.CallRef, error)
	MediaReady(id dn.DeviceID, line int, callID dn.CallID, addr netip.AddrPort) error
}

// Presence is the part of *blf.Engine the SIP server uses.
type Presence interface {
	Subscribe(req blf.SubscribeRequest) (blf.SubID, error)
	Unsubscribe(id blf.SubID) error
	SetExternalState(number string, st blf.State)
}

// Metrics receives counters; every method must be cheap and non-blocking.
type Metrics interface {
	NotifySent(status int) // final status of an outgoing NOTIFY (0: timeout)
	AuthFailure(method string)
	Registration(registered bool)
	// RegistrationRefused is a REGISTER answered with a final error other
	// than a digest challenge; reason is "bad-request", "not-found",
	// "interval-too-brief" or "refused".
	RegistrationRefused(reason string)
	// ResponseSent is every response this server sends as a UAS (RFC 3261
	// §8.2.6), on whichever transaction.
	ResponseSent(status int)
}

// Options configure a Server. Switch, Presence and Config are required.
type Options struct {
	Switch   Switch
	Presence Presence
	// Config is the configuration to start with; every later snapshot
	// comes through Server.Apply. Config is pushed, never pulled: the
	// caller decides when the server sees a snapshot (after the core
	// accepted it), so what the server derived from a snapshot (credentials,
	// bindings) always matches the snapshot it reads.
	Config  *config.Config
	Logger  *slog.Logger
	Metrics Metrics // may be nil
	// Host is the address advertised in Contact, Via and PIDF entities;
	// default: the UDP listener's IP.
	Host string
	// UpstreamEvent is the package cmed subscribes with to the presence
	// `server`: "presence" (default, what CME peers serve, docs/sip-presence.md §Wire-format) or
	// "dialog" (e.g. for a Kamailio fed with dialog PUBLISHes).
	UpstreamEvent string
	// UpstreamPort is the presence server's SIP port when no dial-peer
	// names it (`session target ipv4:A:P` with A = server); default 5060.
	UpstreamPort int
	// RetryInterval overrides `sccp blf-speed-dial retry-interval` (tests).
	RetryInterval time.Duration
	// FoldRinging reports ringing DNs as on-the-phone in PIDF, CME's "ringing
	// is in use" (docs/cme-behaviour.md §Presentity-state) instead of Cisco ce:alerting.
	FoldRinging bool
	// ReadFile reads an `authenticate credential` file given its location
	// as configured: flash:NAME or a path. The daemon resolves flash:
	// against its state directory (docs/peering.md); the default reads
	// flash:NAME as NAME (relative to the working directory) and a path
	// as is.
	ReadFile func(string) ([]byte, error)
	// TickInterval paces expiry and retry checks; default 1 s.
	TickInterval time.Duration
	// TrustedPeers are sources trusted for trunk calls besides the
	// dial-peers' session targets and the presence server (trust.go,
	// IOS `ip address trusted list`).
	TrustedPeers []netip.Prefix
	// NotifyTimeout: a NOTIFY unanswered this long counts as timed out
	// (subs.Config.NotifyTimeout); default 32 s (Timer F).
	NotifyTimeout time.Duration
	// TCPLimits caps SIP/TCP connections in total and per source address
	// (default DefaultTCPLimits); TCPIdleTimeout closes a connection
	// without traffic for that long (default DefaultTCPIdleTimeout).
	TCPLimits      netx.Limits
	TCPIdleTimeout time.Duration
	// AuthThrottle keeps the books on failed digests (docs/security.md
	// §Guessing). nil: one following `login block-for` of each snapshot;
	// given: used with its own policy (tests).
	AuthThrottle *throttle.Throttle
}

// DefaultTCPLimits bound SIP/TCP connections: a phone keeps one
// connection, a trunk peer a few, so 32 from one address is generous while
// 1024 in all stays well under a default descriptor limit.
var DefaultTCPLimits = netx.Limits{Total: 1024, PerSource: 32}

// DefaultTCPIdleTimeout closes SIP/TCP connections idle this long. Phones
// re-REGISTER (and so speak on their connection) well within it
// (docs/security.md §Listeners).
const DefaultTCPIdleTimeout = 5 * time.Minute

// TransportMetrics is optionally implemented by Options.Metrics: listener
// health and transport-level events.
type TransportMetrics interface {
	// ListenerEvent counts an event on a listener: "accept-error",
	// "accept-fd-exhausted", "refused-total", "refused-per-source",
	// "idle-closed", "down".
	ListenerEvent(listener, event string)
	// ListenerUp reports whether a listener is serving.
	ListenerUp(listener string, up bool)
}

// Server is cmed's SIP side: registrar, presence server (notifier) and
// presence watcher toward an external server. Create it with New, start it
// with Serve.
type Server struct {
	opts   Options
	cur    atomic.Pointer[config.Config] // the snapshot in force: Options.Config, then each Apply
	log    *slog.Logger
	digest *Digest
	th     *throttle.Throttle // failed digests per source and account
	thConf bool               // th follows `login block-for` (Options.AuthThrottle was nil)
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client

	// finished holds the final responses of compacted transactions
	// (txcache.go); it has its own lock.
	finished *finishedTxs

	ctx     context.Context // Serve's; background until Serve runs
	ctxMu   sync.Mutex      // guards ctx; a leaf
	started chan struct{}

	addrMu  sync.RWMutex   // guards udpAddr, tcpAddr and udp; a leaf
	udp     net.PacketConn // Serve's UDP socket, for stateless answers (conform.go)
	udpAddr netip.AddrPort
	tcpAddr netip.AddrPort

	creds atomic.Pointer[map[string]string] // trunk presence credentials

	presenceOpen atomic.Bool // the snapshot in force has watcher all without authenticate presence

	dsc *sipgo.DialogServerCache // dialogs of calls phones place
	dcc *sipgo.DialogClientCache // dialogs of calls cmed places to phones

	trunks trunkTable

	reg  *registrar
	pres *notifier
	up   *upstream

	lisMu sync.Mutex                // guards lis; a leaf
	lis   map[string]ListenerStatus // by listener name

	wg sync.WaitGroup
}

// New returns a Server; it does not touch the network.
func New(opts Options) (*Server, error) {
	if opts.Switch == nil || opts.Presence == nil || opts.Config == nil {
		return nil, errors.New("sip: Options need Switch, Presence and Config")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ReadFile == nil {
		opts.ReadFile = func(loc string) ([]byte, error) { return os.ReadFile(credentialPath(loc)) }
	}
	if opts.TickInterval <= 0 {
		opts.TickInterval = time.Second
	}
	if opts.NotifyTimeout <= 0 {
		opts.NotifyTimeout = 32 * time.Second
	}
	if opts.TCPLimits == (netx.Limits{}) {
		opts.TCPLimits = DefaultTCPLimits
	}
	if opts.TCPIdleTimeout <= 0 {
		opts.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if opts.UpstreamPort == 0 {
		opts.UpstreamPort = config.DefaultSIPPort
	}
	if opts.UpstreamEvent == "" {
		opts.UpstreamEvent = "presence"
	}
	// Buffered randomness for sipgo's UUID tags and Call-IDs (one
	// per response without a To-tag): without it every tag is a getrandom
	// syscall. Process-wide and idempotent.
	sipgo.Init()
	udpSizeOnce.Do(func() {
		// sipgo reads datagrams into a 32 KiB buffer and refuses to send
		// one over 1300 bytes (UDPMTUSize-200), which drops the answer to
		// any request over ~1300 bytes with a debug line. A UDP SIP
		// message may be up to 65,535 bytes (RFC 3261 §18.1.1 only asks
		// a client to prefer TCP for large requests; a response goes back
		// the way the request came, RFC 3261 §18.2.2). Process-wide, set
		// once before any transport runs.
		sip.TransportBufferReadSize = 65535
		sip.UDPMTUSize = 65535 + 200
	})
	// Everything sipgo and this server log goes through the limiter:
	// values cut short, warnings rate-limited (docs/security.md §Logging).
	opts.Logger = slog.New(newLimitHandler(opts.Logger.Handler(), dropCounter(opts.Metrics)))
	// The read filter needs the Server, which needs the UA: it is bound
	// once s exists, before any transport runs (conform.go).
	var self atomic.Pointer[Server]
	filter := func(p sip.TransportReadProps, data []byte) ([]byte, error) {
		if s := self.Load(); s != nil {
			return s.readFilter(p, data)
		}
		return data, nil
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("cmed"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(opts.Logger),
			sip.WithTransportLayerReadFilter(filter),
			sip.WithTransportLayerTransports(sip.TransportsConfig{TCP: &sip.TransportTCP{DialerCreate: outboundOnlyDialer}})),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(opts.Logger),
			sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
				// Answers to NOTIFYs cmed sent itself that the quick
				// reading missed (notifytx.go); anything else is a late
				// retransmission of an answer, as sipgo's default says.
				if s := self.Load(); s == nil || !s.pres.onParsedAnswer(r) {
					opts.Logger.Debug("sip: answer for no transaction", "msg", r.Short())
				}
			})))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(opts.Logger))
	if err != nil {
		return nil, err
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(opts.Logger))
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Logger, digest: NewDigest(nil), ua: ua, srv: srv, client: client,
		ctx: outbound(context.Background()), started: make(chan struct{}), finished: newFinishedTxs(nil)}
	s.th, s.thConf = opts.AuthThrottle, opts.AuthThrottle == nil
	if s.thConf {
		lb := opts.Config.LoginBlock
		s.th = throttle.New(throttle.FromConfig(lb.BlockFor, lb.Attempts, lb.Within))
	}
	self.Store(s)
	s.reg = newRegistrar(s)
	s.pres = newNotifier(s)
	s.up = newUpstream(s)
	s.warnOpenPresence(opts.Config)
	s.cur.Store(opts.Config)
	s.loadCredentials(opts.Config)

	srv.OnRegister(s.counted(s.reg.onRegister))
	srv.OnSubscribe(s.counted(s.pres.onSubscribe))
	srv.OnPublish(s.counted(s.pres.onPublish))
	srv.OnNotify(s.counted(s.up.onNotify))
	srv.OnOptions(s.counted(s.onOptions))
	srv.OnInvite(s.counted(s.onInvite))
	srv.OnAck(s.counted(s.onAck))
	srv.OnBye(s.counted(s.onBye))
	srv.OnRefer(s.counted(s.onRefer))   // refer.go
	srv.OnUpdate(s.counted(s.onUpdate)) // features.go
	srv.OnNoRoute(s.counted(s.onNoRoute))
	return s, nil
}

// counted hands a handler a transaction that reports every response sent
// on it to Metrics.ResponseSent, including those a dialog session sends
// later on the same INVITE transaction (provisional and final, RFC 3261
// §13.3.1), so no call site needs its own hook. Every handler also gets
// the request checks of conform.go first, and retransmissions of finished
// transactions are answered by absorbRetransmissions (txcache.go).
func (s *Server) counted(h sipgo.RequestHandler) sipgo.RequestHandler {
	h = s.conformed(h)
	h = s.absorbRetransmissions(h) // txcache.go: finished UDP transactions kept small
	if s.opts.Metrics == nil {
		return h
	}
	return func(req *sip.Request, tx sip.ServerTransaction) {
		h(req, countingTx{tx, s.opts.Metrics})
	}
}

// countingTx counts the responses written through it.
type countingTx struct {
	sip.ServerTransaction
	m Metrics
}

func (t countingTx) Respond(res *sip.Response) error {
	t.m.ResponseSent(res.StatusCode)
	return t.ServerTransaction.Respond(res)
}

// Serve runs the server on udp and tcp (either may be nil) until ctx ends.
// Call Shutdown first for a graceful stop (terminated NOTIFYs, upstream
// unsubscribes): they need Serve's transports.
//
// A listener never dies while ctx lives: TCP accepts through netx.Guard
// (caps, idle timeout, backoff on EMFILE), and a transport whose serve
// loop still ends is served again after a backoff, reported down
// (Listeners, Options.OnListener) at ERROR until it recovers. One
// transport failing never closes the other.
func (s *Server) Serve(ctx context.Context, udp net.PacketConn, tcp net.Listener) error {
	if udp == nil && tcp == nil {
		return errors.New("sip: no listener")
	}
	s.ctxMu.Lock()
	s.ctx = outbound(ctx) // every request cmed itself sends derives from it
	s.ctxMu.Unlock()
	if uc, ok := udp.(*net.UDPConn); ok {
		// Bursts (a registration storm, NOTIFY fan-out answers) overflow
		// the default socket buffer long before the CPU is busy.
		_ = uc.SetReadBuffer(4 << 20)
		_ = uc.SetWriteBuffer(4 << 20)
	}
	s.addrMu.Lock()
	if udp != nil {
		s.udpAddr = addrPort(udp.LocalAddr())
		s.udp = udp
	}
	if tcp != nil {
		s.tcpAddr = addrPort(tcp.Addr())
	}
	s.addrMu.Unlock()

	contact := sip.ContactHeader{Address: s.contactURI("", "udp")}
	s.dsc = sipgo.NewDialogServerCache(s.client, contact)
	s.dcc = sipgo.NewDialogClientCache(s.client, contact)

	var serving sync.WaitGroup
	if udp != nil {
		serving.Add(1)
		go func() {
			defer serving.Done()
			s.keepServing(ctx, "sip-udp", func() error { return s.srv.ServeUDP(udp) }, func() bool { return packetConnOpen(udp) })
		}()
	}
	var guard *netx.Guarded
	if tcp != nil {
		guard = s.guardTCP(tcp)
		serving.Add(1)
		go func() {
			defer serving.Done()
			s.keepServing(ctx, "sip-tcp", func() error { return s.srv.ServeTCP(guard) }, nil)
		}()
	}
	s.wg.Add(3)
	go s.tickLoop(ctx)
	go s.pres.drainLoop(ctx)
	go s.up.loop(ctx)
	close(s.started)

	<-ctx.Done()
	if udp != nil {
		udp.Close()
	}
	if guard != nil {
		guard.Close()
	}
	s.ua.Close()
	serving.Wait()
	s.wg.Wait()
	s.reg.unregisterAll()
	return nil
}

// guardTCP wraps the TCP listener so sipgo's accept loop, which ends at
// the first error, never sees a temporary one, and so one host cannot
// hold every descriptor with idle connections.
func (s *Server) guardTCP(l net.Listener) *netx.Guarded {
	tm, _ := s.opts.Metrics.(TransportMetrics)
	event := func(ev string) {
		if tm != nil {
			tm.ListenerEvent("sip-tcp", ev)
		}
	}
	return netx.Guard(l, netx.GuardOptions{
		Name: "sip-tcp", Logger: s.log, Limits: s.opts.TCPLimits, IdleTimeout: s.opts.TCPIdleTimeout,
		OnReject:      func(reason string) { event("refused-" + reason) },
		OnAcceptError: func(err error) { event(acceptErrorEvent(err)) },
		OnIdle:        func() { event("idle-closed") },
	})
}

// acceptErrorEvent names an accept error for metrics: descriptor
// exhaustion gets its own label, as it is what an attack causes.
func acceptErrorEvent(err error) string {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		return "accept-fd-exhausted"
	}
	return "accept-error"
}

// keepServing runs serve until ctx ends, serving again after a backoff
// whenever it returns early. open, if set, tells whether the socket is
// still usable; a closed one is reported down once and left alone.
func (s *Server) keepServing(ctx context.Context, name string, serve func() error, open func() bool) {
	s.setListener(name, true, nil)
	delay := time.Duration(0)
	for {
		err := serve()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("serve loop ended")
		}
		if delay == 0 {
			s.log.Error(name+": listener stopped while the daemon runs; serving it again", "err", err)
		}
		s.setListener(name, false, err)
		if tm, ok := s.opts.Metrics.(TransportMetrics); ok {
			tm.ListenerEvent(name, "down")
		}
		delay = min(max(2*delay, 10*time.Millisecond), time.Second)
		if open != nil && !open() {
			s.log.Error(name + ": socket closed; listener stays down")
			<-ctx.Done()
			return
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.setListener(name, true, nil)
	}
}

// packetConnOpen tells a closed socket from a live one without reading.
func packetConnOpen(c net.PacketConn) bool {
	return c.SetReadDeadline(time.Time{}) == nil
}

// ListenerStatus is the state of one of Serve's listeners.
type ListenerStatus struct {
	Name  string // "sip-udp", "sip-tcp"
	Up    bool
	Err   string    // why it is down
	Since time.Time // when Up last changed
}

// Listeners reports the state of each listener Serve runs.
func (s *Server) Listeners() []ListenerStatus {
	s.lisMu.Lock()
	defer s.lisMu.Unlock()
	out := make([]ListenerStatus, 0, len(s.lis))
	for _, n := range []string{"sip-udp", "sip-tcp"} {
		if st, ok := s.lis[n]; ok {
			out = append(out, st)
		}
	}
	return out
}

func (s *Server) setListener(name string, up bool, err error) {
	st := ListenerStatus{Name: name, Up: up, Since: time.Now()}
	if err != nil {
		st.Err = err.Error()
	}
	s.lisMu.Lock()
	if s.lis == nil {
		s.lis = map[string]ListenerStatus{}
	}
	prev, had := s.lis[name]
	changed := !had || prev.Up != up
	if changed {
		s.lis[name] = st
	}
	s.lisMu.Unlock()
	if changed {
		if tm, ok := s.opts.Metrics.(TransportMetrics); ok {
			tm.ListenerUp(name, up)
		}
	}
}

// Shutdown sends terminated NOTIFYs (reason deactivated, so watchers
// re-subscribe at once, docs/sip-presence.md §Terminated-NOTIFY) to every watcher and un-SUBSCRIBEs from
// the presence server, waiting for answers until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.pres.shutdown(ctx) }()
	go func() { defer wg.Done(); s.up.shutdown(ctx) }()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Apply takes a new configuration snapshot: credential files are re-read,
// bindings of pools that left the configuration are dropped, and upstream
// subscriptions follow a changed `server`.
func (s *Server) Apply(cfg *config.Config) {
	s.warnOpenPresence(cfg)
	if s.thConf {
		lb := cfg.LoginBlock
		s.th.SetPolicy(throttle.FromConfig(lb.BlockFor, lb.Attempts, lb.Within))
	}
	s.cur.Store(cfg)
	s.loadCredentials(cfg)
	s.reg.apply(cfg)
	s.up.wake()
}

// warnOpenPresence logs, at the load that opens it, a presence open to
// unauthenticated trunk watchers: only trusted peers can then subscribe
// (docs/security.md §Presence-exposure). Later loads that keep it open
// stay quiet, so a configuration session is not flooded.
func (s *Server) warnOpenPresence(cfg *config.Config) {
	open := cfg != nil && cfg.Presence != nil && cfg.Presence.WatcherAll &&
		(cfg.VoiceRegisterGlobal == nil || !cfg.VoiceRegisterGlobal.AuthenticatePresence)
	if s.presenceOpen.Swap(open) || !open {
		return
	}
	s.log.Warn("sip: presence `watcher all` without `authenticate presence`: external watchers are not authenticated; only trusted peers may subscribe")
}

// Addr returns the bound UDP and TCP addresses (zero when not serving).
func (s *Server) Addr() (udp, tcp netip.AddrPort) {
	s.addrMu.RLock()
	defer s.addrMu.RUnlock()
	return s.udpAddr, s.tcpAddr
}

func (s *Server) cfg() *config.Config {
	if c := s.cur.Load(); c != nil {
		return c
	}
	return &config.Config{}
}

func (s *Server) context() context.Context {
	s.ctxMu.Lock()
	defer s.ctxMu.Unlock()
	return s.ctx
}

// host is what we advertise in Contact/Via/entity.
func (s *Server) host() string {
	if s.opts.Host != "" {
		return s.opts.Host
	}
	u, t := s.Addr()
	a := cmp.Or(u, t)
	if a.IsValid() && !a.Addr().IsUnspecified() {
		return a.Addr().String()
	}
	if g := s.cfg().VoiceRegisterGlobal; g != nil && g.SourceAddress != "" {
		return g.SourceAddress
	}
	return "127.0.0.1"
}

// contactURI is our Contact for the given transport ("udp"/"tcp").
func (s *Server) contactURI(user, transport string) sip.Uri {
	u, t := s.Addr()
	a := u
	if strings.EqualFold(transport, "tcp") && t.IsValid() {
		a = t
	}
	uri := sip.Uri{Scheme: "sip", User: user, Host: s.host(), Port: int(a.Port()), UriParams: sip.HeaderParams{}}
	uri.UriParams.Add("transport", strings.ToLower(cmp.Or(transport, "udp")))
	return uri
}

// prepare sets the local address of an outgoing request so that UDP
// requests leave from our listening socket (peers answer and send NOTIFYs
// to the address they saw, and Via must name the listener).
func (s *Server) prepare(req *sip.Request) {
	if !strings.EqualFold(req.Transport(), "UDP") {
		return
	}
	u, _ := s.Addr()
	if u.IsValid() {
		req.Laddr = sip.Addr{IP: net.IP(u.Addr().AsSlice()), Port: int(u.Port())}
	}
}

func (s *Server) realm() string {
	if g := s.cfg().VoiceRegisterGlobal; g != nil && g.AuthenticateRealm != "" {
		return g.AuthenticateRealm
	}
	return "cmed"
}

// loadCredentials reads the `authenticate credential` files (docs/cme-cli.md
// §Presence-commands). A file that cannot be read is logged and skipped, as CME keeps
// running with the credentials it has.
func (s *Server) loadCredentials(cfg *config.Config) {
	all := map[string]string{}
	if cfg != nil && cfg.VoiceRegisterGlobal != nil {
		for _, c := range cfg.VoiceRegisterGlobal.Credentials {
			b, err := s.opts.ReadFile(c.Location)
			if err != nil {
				s.log.Warn("credential file unreadable", "tag", c.Tag, "location", c.Location, "err", err)
				continue
			}
			m, err := ParseCredentials(b)
			if err != nil {
				s.log.Warn("credential file rejected", "tag", c.Tag, "location", c.Location, "err", err)
				continue
			}
			for u, p := range m {
				if _, dup := all[u]; !dup {
					all[u] = p
				}
			}
		}
	}
	s.creds.Store(&all)
}

// credentialPath maps an IOS location ("flash:cred.csv") to a path; a
// plain path is used as is.
func credentialPath(loc string) string {
	if rest, ok := strings.CutPrefix(loc, "flash:"); ok {
		return rest
	}
	return loc
}

func (s *Server) trunkPassword(user string) (string, bool) {
	m := s.creds.Load()
	if m == nil {
		return "", false
	}
	p, ok := (*m)[user]
	return p, ok
}

func (s *Server) tickLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.reg.tick(now)
			s.pres.tick(now)
		}
	}
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH"))
	res.AppendHeader(sip.NewHeader("Allow-Events", subs.AllowEvents))
	s.respond(tx, res)
}

// onNoRoute answers a method cmed does not implement (RFC 3261 §8.2.1).
func (s *Server) onNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() {
		return
	}
	res := sip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
	res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, REFER, UPDATE"))
	s.respond(tx, res)
}

// udpConn is Serve's UDP socket (nil before Serve).
func (s *Server) udpConn() net.PacketConn {
	s.addrMu.RLock()
	defer s.addrMu.RUnlock()
	return s.udp
}

// onAck confirms a phone's dialog; ACKs for our 200s need nothing else.
func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	_ = s.dsc.ReadAck(req, tx)
}

func (s *Server) respond(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		// A response that cannot be sent is a silent failure for the
		// peer: counted and logged (rate-limited, docs/security.md
		// §Logging).
		if m, ok := s.opts.Metrics.(DropMetrics); ok {
			m.SIPDropped("send-failed")
		}
		s.log.Warn("sip: response not sent", "status", res.StatusCode, "to", res.Destination(), "err", err)
	}
}

// udpSizeOnce sets sipgo's UDP size limits (New).
var udpSizeOnce sync.Once

// DropMetrics is optionally implemented by Options.Metrics: SIP messages
// dropped, by reason ("unparsable", "send-failed").
type DropMetrics interface {
	SIPDropped(reason string)
}

// dropCounter maps the log lines of sipgo that mean a dropped message to
// DropMetrics; sipgo has no other hook for them.
func dropCounter(m Metrics) func(string) {
	dm, ok := m.(DropMetrics)
	if !ok {
		return nil
	}
	return func(msg string) {
		switch msg {
		case "failed to parse":
			dm.SIPDropped("unparsable")
		case "Read filter error":
			dm.SIPDropped("filtered")
		}
	}
}

func (s *Server) authFailure(method string) {
	if s.opts.Metrics != nil {
		s.opts.Metrics.AuthFailure(method)
	}
}

// AuthMetrics is optionally implemented by Options.Metrics: refused
// authentications with their reason.
type AuthMetrics interface {
	AuthRejected(method, reason string)
}

func (s *Server) authRejected(method, reason string) {
	if m, ok := s.opts.Metrics.(AuthMetrics); ok {
		m.AuthRejected(method, reason)
	}
}

// authReason names a digest failure for metrics.
func authReason(err error) string {
	switch {
	case errors.Is(err, ErrBadResponse):
		return "bad-password"
	case errors.Is(err, ErrUnknownUser):
		return "unknown-user"
	case errors.Is(err, ErrBadNonce):
		return "bad-nonce"
	case errors.Is(err, ErrNoQOP):
		return "no-qop"
	}
	return "bad-credentials"
}

// sourceIP is the address a request came from, without port.
func sourceIP(req *sip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// challenge answers 401 with a fresh nonce (RFC 3261 §22.2).
func (s *Server) challenge(req *sip.Request, tx sip.ServerTransaction, stale bool) {
	res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
	res.AppendHeader(sip.NewHeader("WWW-Authenticate", s.digest.Challenge(s.realm(), sourceIP(req), stale)))
	s.respond(tx, res)
}

// authenticate verifies the Authorization header of req with lookup; it
// answers 401 (or 503 while throttled) itself and returns false when the
// request must stop here.
//
// Guessing is slowed with the policy of SSH logins (docs/security.md
// §Guessing): a wrong password or unknown user is answered with a fresh
// challenge at once, and then, for the delay that failure earned (250 ms
// doubling to 4 s) or while `login block-for` blocks the source or the
// account, credentials from that source or for that account are not
// checked: the answer is 503 with Retry-After (RFC 3261 §21.5.4,
// §20.33). The answer is not held back instead, because sipgo ends the
// transaction when the handler returns, and a handler goroutine asleep
// per guess would let a flood of guesses pile up goroutines.
func (s *Server) authenticate(req *sip.Request, tx sip.ServerTransaction, lookup func(string) (string, bool)) (string, bool) {
	h := req.GetHeader("Authorization")
	if h == nil {
		s.challenge(req, tx, false)
		return "", false
	}
	c, err := ParseAuthorization(h.Value())
	keys := s.authKeys(req, c.Username)
	if err == nil {
		now := time.Now()
		blocked, until := s.th.Blocked(now, keys...)
		reason := "blocked"
		if !blocked {
			blocked, until = s.th.Held(now, keys...)
			reason = "throttled"
		}
		if blocked {
			s.throttled(req, tx, c.Username, reason, until.Sub(now))
			return "", false
		}
		err = s.digest.Verify(c, string(req.Method), s.realm(), sourceIP(req), lookup)
	}
	switch {
	case err == nil:
		s.th.Succeed(keys...)
		return c.Username, true
	case errors.Is(err, ErrStaleNonce):
		s.challenge(req, tx, true)
	case errors.Is(err, ErrReplay):
		// The password was right but the nonce-count was used: a
		// replay, or a client reusing a nonce. Refused either way; the
		// stale challenge lets an honest client retry at once
		// (docs/security.md §Digest).
		s.authRejected(string(req.Method), "replay")
		s.log.Warn("sip: digest replay refused", "method", req.Method, "from", req.Source(), "user", c.Username)
		s.challenge(req, tx, true)
	default:
		s.authFailure(string(req.Method))
		s.authRejected(string(req.Method), authReason(err))
		if errors.Is(err, ErrBadResponse) || errors.Is(err, ErrUnknownUser) {
			// A password was tried: that is what the throttle counts.
			delay, nowBlocked := s.th.Fail(time.Now(), keys...)
			if nowBlocked {
				s.log.Warn("sip: digest blocked (login block-for)", "from", req.Source(), "user", c.Username)
			}
			s.log.Info("sip: digest authentication failed", "method", req.Method, "from", req.Source(), "user", c.Username, "err", err, "delay", delay)
		} else {
			s.log.Info("sip: digest authentication failed", "method", req.Method, "from", req.Source(), "user", c.Username, "err", err)
		}
		s.challenge(req, tx, false)
	}
	return "", false
}

// authKeys are the throttle's books for a digest from req: its source
// address and, when the credentials name one, the account.
func (s *Server) authKeys(req *sip.Request, user string) []string {
	keys := []string{"src:" + sourceIP(req).String()}
	if user != "" {
		keys = append(keys, "user:"+user)
	}
	return keys
}

// throttled answers a digest from a throttled or blocked source or account
// with 503 and Retry-After in whole seconds, at least 1 (RFC 3261 §20.33).
func (s *Server) throttled(req *sip.Request, tx sip.ServerTransaction, user, reason string, wait time.Duration) {
	s.authFailure(string(req.Method))
	s.authRejected(string(req.Method), reason)
	s.log.Debug("sip: digest refused unchecked", "reason", reason, "method", req.Method, "from", req.Source(), "user", user)
	secs := max(1, int((wait+time.Second-1)/time.Second))
	res := sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
	res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(secs)))
	s.respond(tx, res)
}

func addrPort(a net.Addr) netip.AddrPort {
	switch v := a.(type) {
	case *net.UDPAddr:
		return v.AddrPort()
	case *net.TCPAddr:
		return v.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// headerInt parses a numeric header such as Expires.
func headerInt(req *sip.Request, name string) (int, bool) {
	h := firstHeader(req, name)
	if h == nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// firstHeader is req.GetHeader(name) without its allocations: sipgo
// lower-cases the name of every header it passes that is not one of its
// common few, once per lookup, and a SUBSCRIBE carries several (Event,
// Accept, Expires). Names compare without case (RFC 3261 §7.3.1).
func firstHeader(m interface{ Headers() []sip.Header }, name string) sip.Header {
	for _, h := range m.Headers() {
		if strings.EqualFold(h.Name(), name) {
			return h
		}
	}
	return nil
}

func tagOf(p sip.HeaderParams) string {
	v, _ := p.Get("tag")
	return v
}

func (s *Server) String() string {
	u, t := s.Addr()
	return fmt.Sprintf("sip.Server(udp=%v tcp=%v)", u, t)
}
