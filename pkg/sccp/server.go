package sccp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/netx"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
)

// Switch is the part of *dn.Switch a session uses. The phone commands
// return the call they made or acted on (dn.CallRef).
type Switch interface {
	RegisterDevice(info dn.DeviceInfo, sink dn.Device) (dn.DeviceID, error)
	UnregisterDevice(id dn.DeviceID) error
	OffHook(id dn.DeviceID, line int) (dn.CallRef, error)
	Digits(id dn.DeviceID, line int, digits string) (dn.CallRef, error)
	OnHook(id dn.DeviceID, line int) (dn.CallRef, error)
	Answer(id dn.DeviceID, line int, call dn.CallID) (dn.CallRef, error)
	Hold(id dn.DeviceID, line int, call dn.CallID) (dn.CallRef, error)
	Resume(id dn.DeviceID, line int, call dn.CallID) (dn.CallRef, error)
	SetDND(id dn.DeviceID, on bool) error
}

// MediaReporter is implemented by a Switch that places phone-to-phone media:
// the session reports each OpenReceiveChannelAck address (docs/sccp.md §Media-rules).
type MediaReporter interface {
	MediaReady(id dn.DeviceID, line int, call dn.CallID, addr netip.AddrPort) error
}

// Forwarder is implemented by a Switch that supports the CFwdAll softkey.
type Forwarder interface {
	SetCallForwardAll(id dn.DeviceID, line int, number string) error
}

// Transferrer is implemented by a Switch that supports the Transfer
// softkey: the first press holds the call and opens a consultation call,
// the second connects the two far ends.
type Transferrer interface {
	StartTransfer(id dn.DeviceID, line int, call dn.CallID) (dn.Transfer, error)
	CompleteTransfer(id dn.DeviceID, held, consult dn.CallID) error
}

// DialRuler is implemented by a Switch with application dialing rules:
// numbers dialled whole (from call lists and directories) go through them.
type DialRuler interface {
	DialableNumber(number string) (string, error)
}

// Presence is the part of *blf.Engine a session uses.
type Presence interface {
	Subscribe(req blf.SubscribeRequest) (blf.SubID, error)
	Unsubscribe(id blf.SubID) error
}

// Metrics receives counters; every method must be cheap and non-blocking.
type Metrics interface {
	Registered(model string)
	Rejected(reason string) // "unknown-device" or "core-refused" (max-ephones, a clash)
	Disconnected(reason string)
}

// Limits bound what one peer can make the server do. Zero values take the
// defaults below.
type Limits struct {
	MaxConnsPerIP    int           // default 64 (one IP may host many devices, docs/sccp.md §Field-reports)
	HandshakeTimeout time.Duration // Register must arrive within; default 30 s
	MaxFrame         int           // header length limit; default msg.DefaultMaxLength
	QueueLen         int           // frames queued for one phone before it is dropped; default 512
	// KeepaliveGrace is added to two keepalive intervals to form the read
	// deadline of a registered phone; default 5 s.
	KeepaliveGrace time.Duration
	// WriteTimeout bounds one write to a phone; default 10 s.
	WriteTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxConnsPerIP <= 0 {
		l.MaxConnsPerIP = 64
	}
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = 30 * time.Second
	}
	if l.QueueLen <= 0 {
		l.QueueLen = 512
	}
	if l.KeepaliveGrace <= 0 {
		l.KeepaliveGrace = 5 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 10 * time.Second
	}
	return l
}

// Server accepts SCCP phones. Set the exported fields, then call Serve.
type Server struct {
	Switch   Switch
	Presence Presence // nil: every BLF lamp stays unknown
	// Config is the snapshot to start with, read once when the server
	// first runs; every later snapshot comes through Apply. Config is
	// pushed, never pulled: the caller decides when the server sees a
	// snapshot (after the core accepted it), so the server's derived state
	// (button layouts, resets) and the snapshot it reads never disagree.
	Config  *config.Config
	Logger  *slog.Logger // nil: slog.Default()
	Limits  Limits
	Metrics Metrics          // optional
	Now     func() time.Time // nil: time.Now (DefineTimeDate)

	initOnce sync.Once
	cur      atomic.Pointer[config.Config] // the snapshot in force: Config, then each Apply
	idxMu    sync.Mutex                    // guards idx; a leaf
	idx      *cfgIndex
	limits   Limits
	log      *slog.Logger

	mu       sync.Mutex          // guards byName, conns, perIP and shutdown; taken before a session's locks, never held while calling out
	byName   map[string]*session // registered sessions by device name (docs/sccp.md §Checklist item 3)
	conns    map[*session]struct{}
	perIP    map[netip.Addr]int
	wg       sync.WaitGroup
	shutdown bool
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.limits = s.Limits.withDefaults()
		if s.Config != nil {
			s.cur.Store(s.Config)
		}
		s.log = s.Logger
		if s.log == nil {
			s.log = slog.Default()
		}
		s.byName = map[string]*session{}
		s.conns = map[*session]struct{}{}
		s.perIP = map[netip.Addr]int{}
		if s.Now == nil {
			s.Now = time.Now
		}
	})
}

// ErrServerClosed is returned by Serve after its context ended.
var ErrServerClosed = errors.New("sccp: server closed")

// Serve accepts connections on l until ctx ends, then closes l and every
// session and waits for their goroutines. It returns ErrServerClosed then.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.init()
	// ServeConn applies the per-IP cap and owns the session's goroutines;
	// the shared loop only keeps accepting through EMFILE and friends.
	err := netx.AcceptLoop(ctx, l, s.log, "sccp", nil, s.ServeConn)
	s.closeAll()
	if err != nil {
		return err
	}
	return ErrServerClosed
}

// ServeConn starts a session on an accepted connection (tests use net.Pipe)
// and returns at once.
func (s *Server) ServeConn(c net.Conn) {
	s.init()
	ip := remoteIP(c)
	s.mu.Lock()
	if s.shutdown || s.perIP[ip] >= s.limits.MaxConnsPerIP {
		s.mu.Unlock()
		s.log.Warn("sccp: connection refused", "remote", c.RemoteAddr().String(), "reason", "per-IP limit")
		c.Close()
		return
	}
	s.perIP[ip]++
	ss := newSession(s, c, ip)
	s.conns[ss] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		ss.run()
	}()
}

func remoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// closeAll closes every session and waits for their goroutines.
func (s *Server) closeAll() {
	s.mu.Lock()
	s.shutdown = true
	list := make([]*session, 0, len(s.conns))
	for ss := range s.conns {
		list = append(list, ss)
	}
	s.mu.Unlock()
	// Tell registered phones before their connections go: Reset (restart)
	// makes a 79xx re-read its configuration and register again, so it is
	// back as soon as cmed is, instead of noticing only when a keepalive
	// fails (docs/sccp.md §Unregister-and-reset). The flush wait is bounded so a stuck phone
	// cannot hold up shutdown.
	for _, ss := range list {
		ss.mu.Lock()
		registered := ss.registered
		ss.mu.Unlock()
		if registered {
			ss.send(&msg.Reset{Type: msg.ResetRestart})
		}
	}
	deadline := time.Now().Add(500 * time.Millisecond)
	for _, ss := range list {
		for !ss.flushed() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		ss.close("server shutdown")
	}
	s.wg.Wait()
}

// claim makes ss the session of its device name and returns the session it
// replaces, if any: a phone back on a new TCP connection replaces its old
// session at once (docs/sccp.md §Unregister-and-reset, §Field-reports).
func (s *Server) claim(name string, ss *session) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.byName[name]
	s.byName[name] = ss
	if old == ss {
		return nil
	}
	return old
}

// release forgets ss when its connection ends.
func (s *Server) release(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss.name != "" && s.byName[ss.name] == ss {
		delete(s.byName, ss.name)
	}
	if _, ok := s.conns[ss]; ok {
		delete(s.conns, ss)
		if s.perIP[ss.ip]--; s.perIP[ss.ip] <= 0 {
			delete(s.perIP, ss.ip)
		}
	}
}

// cfgIndex finds ephones and ephone-dns of one snapshot in O(1): with
// 10,000 phones a linear scan per request dominated registration.
type cfgIndex struct {
	cfg     *config.Config
	ephones map[string]*config.Ephone // by device name
	dns     map[int]*config.EphoneDN
}

func newCfgIndex(cfg *config.Config) *cfgIndex {
	x := &cfgIndex{cfg: cfg, ephones: make(map[string]*config.Ephone, len(cfg.Ephones)),
		dns: make(map[int]*config.EphoneDN, len(cfg.EphoneDNs))}
	for i := range cfg.Ephones {
		if e := &cfg.Ephones[i]; e.MAC != "" {
			x.ephones[dn.DeviceName(e.MAC)] = e
		}
	}
	for i := range cfg.EphoneDNs {
		x.dns[cfg.EphoneDNs[i].Tag] = &cfg.EphoneDNs[i]
	}
	return x
}

func (x *cfgIndex) ephone(deviceName string) *config.Ephone {
	return x.ephones[strings.ToUpper(deviceName)]
}

func (x *cfgIndex) dn(tag int) *config.EphoneDN { return x.dns[tag] }

// index returns the index of the current snapshot, rebuilt when it changed.
func (s *Server) index() *cfgIndex {
	cfg := s.config()
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if s.idx == nil || s.idx.cfg != cfg {
		s.idx = newCfgIndex(cfg)
	}
	return s.idx
}

func (s *Server) config() *config.Config {
	s.init()
	if c := s.cur.Load(); c != nil {
		return c
	}
	return &config.Config{}
}

// Apply hands the server a new configuration snapshot, after the core's
// own Apply accepted it; it is the only way a snapshot after Config
// reaches the server. Phones whose ephone was removed or whose
// buttons, speed-dials or BLF speed-dials changed are restarted with Reset
// type 2, as CME's `restart` does (docs/sccp.md §Unregister-and-reset); they re-register and get
// the new template. Phones the core already told to reset are restarted once.
func (s *Server) Apply(cfg *config.Config) {
	s.init()
	s.cur.Store(cfg)
	s.mu.Lock()
	list := make([]*session, 0, len(s.byName))
	for _, ss := range s.byName {
		list = append(list, ss)
	}
	s.mu.Unlock()
	idx := newCfgIndex(cfg)
	for _, ss := range list {
		ss.applyConfig(idx)
	}
}

// Sessions returns the registered phones, sorted by device name, for `show ephone`.
func (s *Server) Sessions() []SessionInfo {
	s.init()
	s.mu.Lock()
	list := make([]*session, 0, len(s.byName))
	for _, ss := range s.byName {
		list = append(list, ss)
	}
	s.mu.Unlock()
	out := make([]SessionInfo, 0, len(list))
	for _, ss := range list {
		out = append(out, ss.info())
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		if a.DeviceName < b.DeviceName {
			return -1
		}
		if a.DeviceName > b.DeviceName {
			return 1
		}
		return 0
	})
	return out
}

// Session returns one registered phone by device name (SEP + MAC).
func (s *Server) Session(name string) (SessionInfo, bool) {
	s.init()
	s.mu.Lock()
	ss := s.byName[name]
	s.mu.Unlock()
	if ss == nil {
		return SessionInfo{}, false
	}
	return ss.info(), true
}

func (s *Server) registered(ss *session) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.registered
}

// ResetPhones sends Reset to registered phones: every one when tag is 0,
// else the ephone with that tag. restart asks for CME's `restart` (re-read
// the configuration and re-register, Reset type 2); otherwise the phone
// reboots (`reset`, type 1) (docs/sccp.md §Unregister-and-reset). It returns how many phones were
// told.
func (s *Server) ResetPhones(tag int, restart bool) int {
	s.init()
	cfg := s.config()
	want := map[string]bool{}
	for _, e := range cfg.Ephones {
		if tag == 0 || e.Tag == tag {
			want[dn.DeviceName(e.MAC)] = true
		}
	}
	s.mu.Lock()
	var list []*session
	for name, ss := range s.byName {
		if want[name] {
			list = append(list, ss)
		}
	}
	s.mu.Unlock()
	typ := msg.ResetReboot
	if restart {
		typ = msg.ResetRestart
	}
	for _, ss := range list {
		ss.send(&msg.Reset{Type: typ})
	}
	return len(list)
}
