package sip

import (
	"cmp"
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/sip/pidf"
)

// upstream is cmed as a watcher of external presentities: with `allow
// subscribe` and `server A` a BLF key on a number that is not local makes
// the engine call Watch, and cmed SUBSCRIBEs to the server on the phones'
// behalf, relaying NOTIFYs with Engine.SetExternalState (docs/cme-cli.md §Presence-commands,
// docs/cme-behaviour.md §Presence-rules rule 4). Failures and terminated NOTIFYs retry every
// `sccp blf-speed-dial retry-interval` up to `limit` times (docs/sip-presence.md §Terminated-NOTIFY).
type upstream struct {
	s *Server

	// mu guards want, outs, byCall and every outSub's fields. It is a leaf
	// lock: never held while calling the engine (SetExternalState) or the
	// network (subscribe releases it around client.Do); the server's config
	// and logger may be read under it.
	mu     sync.Mutex
	want   map[string]bool
	outs   map[string]*outSub // by number
	byCall map[string]*outSub // by Call-ID
	wakeC  chan struct{}
}

type outState uint8

const (
	outIdle outState = iota
	outPending
	outActive
	outRetry
	outFailed
)

var outStateNames = [...]string{"idle", "subscribing", "active", "retry-wait", "failed"}

func (o outState) String() string { return outStateNames[o] }

type outSub struct {
	number    string
	state     outState
	busy      bool // a SUBSCRIBE transaction is running
	callID    string
	localTag  string
	remoteTag string
	cseq      uint32
	// notifySeq is the CSeq of the last NOTIFY taken on this dialog: an
	// older one is out of order (RFC 3261 §12.2.2) and must not undo a
	// newer state when sipgo runs the two handlers concurrently.
	notifySeq  uint32
	notifyUsed bool
	target     sip.Uri
	routeSet   []string
	server     string // host:port subscribed to
	refreshAt  time.Time
	retryAt    time.Time
	failures   int
	lastState  blf.State
	lastErr    string
}

// UpstreamInfo describes one outbound subscription (the sibling record of
// `show presence subscription`).
type UpstreamInfo struct {
	Number   string
	Server   string
	State    string // idle, subscribing, active, retry-wait, failed
	Lamp     blf.State
	Failures int
	LastErr  string
}

func newUpstream(s *Server) *upstream {
	return &upstream{s: s, want: map[string]bool{}, outs: map[string]*outSub{}, byCall: map[string]*outSub{},
		wakeC: make(chan struct{}, 1)}
}

// Watch implements blf.Upstream. The engine calls it without its lock, in
// the order it decided; record and wake the worker.
func (s *Server) Watch(number string) {
	u := s.up
	u.mu.Lock()
	u.want[number] = true
	u.mu.Unlock()
	u.wake()
}

// Unwatch implements blf.Upstream.
func (s *Server) Unwatch(number string) {
	u := s.up
	u.mu.Lock()
	delete(u.want, number)
	u.mu.Unlock()
	u.wake()
}

var _ blf.Upstream = (*Server)(nil)

func (u *upstream) wake() {
	select {
	case u.wakeC <- struct{}{}:
	default:
	}
}

// Upstreams lists the outbound subscriptions.
func (s *Server) Upstreams() []UpstreamInfo {
	u := s.up
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]UpstreamInfo, 0, len(u.outs))
	for _, o := range u.outs {
		out = append(out, UpstreamInfo{Number: o.number, Server: o.server, State: o.state.String(), Lamp: o.lastState,
			Failures: o.failures, LastErr: o.lastErr})
	}
	slices.SortFunc(out, func(a, b UpstreamInfo) int { return cmp.Compare(a.Number, b.Number) })
	return out
}

func (u *upstream) retryPolicy() (time.Duration, int) {
	cfg := u.s.cfg()
	iv, limit := config.DefaultBLFRetryInterval, config.DefaultBLFRetryLimit
	if p := cfg.Presence; p != nil {
		iv = cmp.Or(p.BLFRetryInterval, iv)
		limit = cmp.Or(p.BLFRetryLimit, limit)
	}
	d := time.Duration(iv) * time.Second
	if u.s.opts.RetryInterval > 0 {
		d = u.s.opts.RetryInterval
	}
	return d, limit
}

// serverAddr is the presence server's host:port: `server A`, with the port
// of a dial-peer whose session target is A (cmed's way to reach a peer on
// another port), else Options.UpstreamPort.
func (u *upstream) serverAddr() string {
	cfg := u.s.cfg()
	if cfg.Presence == nil || cfg.Presence.Server == "" || !cfg.Presence.AllowSubscribe {
		return ""
	}
	host := cfg.Presence.Server
	port := u.s.opts.UpstreamPort
	for _, dp := range cfg.DialPeers {
		t, ok := strings.CutPrefix(dp.SessionTarget, "ipv4:")
		if !ok {
			continue
		}
		h, p, err := net.SplitHostPort(t)
		if err == nil && h == host {
			if n, err := strconv.Atoi(p); err == nil {
				port = n
				break
			}
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func (u *upstream) loop(ctx context.Context) {
	defer u.s.wg.Done()
	t := time.NewTicker(u.s.opts.TickInterval)
	defer t.Stop()
	for {
		u.reconcile(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-u.wakeC:
		}
	}
}

// reconcile starts, refreshes, retries and ends outbound subscriptions so
// that they match what the engine wants.
func (u *upstream) reconcile(ctx context.Context, now time.Time) {
	server := u.serverAddr()
	_, limit := u.retryPolicy()
	// Numbers that used up their retries: their lamps go unknown through
	// the engine, called once u.mu is released (doc.go, "Lock order").
	var gaveUp []string
	defer func() {
		for _, num := range gaveUp {
			u.s.opts.Presence.SetExternalState(num, blf.StateUnknown)
		}
	}()
	u.mu.Lock()
	defer u.mu.Unlock()
	for num := range u.want {
		if u.outs[num] == nil {
			u.outs[num] = &outSub{number: num}
		}
	}
	for num, o := range u.outs {
		if o.busy {
			continue
		}
		switch {
		case !u.want[num] || server == "" || (o.server != "" && o.server != server && o.state == outActive):
			if o.state == outActive {
				o.busy = true
				go u.subscribe(ctx, o, 0)
			} else {
				u.forget(o)
			}
			if u.want[num] && server != "" {
				continue // re-created on the next round
			}
		case o.state == outIdle:
			o.server, o.busy = server, true
			go u.subscribe(ctx, o, 3600)
		case o.state == outActive && !now.Before(o.refreshAt):
			o.busy = true
			go u.subscribe(ctx, o, 3600)
		case o.state == outRetry && !now.Before(o.retryAt):
			if o.failures >= limit {
				o.state = outFailed
				gaveUp = append(gaveUp, num)
				continue
			}
			o.server, o.busy = server, true
			go u.subscribe(ctx, o, 3600)
		}
	}
}

// forget drops o; u.mu held.
func (u *upstream) forget(o *outSub) {
	delete(u.outs, o.number)
	if o.callID != "" {
		delete(u.byCall, o.callID)
	}
}

// fail records a failure and schedules the retry; u.mu held.
func (u *upstream) fail(o *outSub, why string, retryNow bool) {
	iv, _ := u.retryPolicy()
	o.failures++
	o.lastErr = why
	o.state = outRetry
	if o.callID != "" {
		delete(u.byCall, o.callID)
	}
	o.callID, o.remoteTag = "", ""
	o.retryAt = time.Now().Add(iv)
	if retryNow {
		o.retryAt = time.Now()
	}
	u.s.log.Info("sip: upstream subscription failed", "number", o.number, "server", o.server, "why", why, "failures", o.failures)
}

// subscribe sends one SUBSCRIBE (initial when o has no dialog, else in
// dialog) and records the outcome. expires 0 ends the subscription.
func (u *upstream) subscribe(ctx context.Context, o *outSub, expires int) {
	s := u.s
	u.mu.Lock()
	initial := o.callID == "" || o.remoteTag == ""
	if initial {
		o.callID = sip.GenerateTagN(20) + "@cmed"
		o.localTag = sip.GenerateTagN(12)
		o.cseq = 0
		o.notifySeq, o.notifyUsed = 0, false // a new dialog: its NOTIFYs count from its own CSeq
		o.state = outPending
		u.byCall[o.callID] = o
	}
	o.cseq++
	server, number, callID, localTag, remoteTag, cseq := o.server, o.number, o.callID, o.localTag, o.remoteTag, o.cseq
	target, routes := o.target, slices.Clone(o.routeSet)
	u.mu.Unlock()

	host, portStr, _ := net.SplitHostPort(server)
	port, _ := strconv.Atoi(portStr)
	ruri := sip.Uri{Scheme: "sip", User: number, Host: host, Port: port}
	if !initial && target.Host != "" {
		ruri = target
	}
	req := sip.NewRequest(sip.SUBSCRIBE, ruri)
	req.SetTransport("UDP")
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "cmed", Host: s.host()}, Params: sip.HeaderParams{}}
	from.Params.Add("tag", localTag)
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: number, Host: host}, Params: sip.HeaderParams{}}
	if remoteTag != "" {
		to.Params.Add("tag", remoteTag)
	}
	cid := sip.CallIDHeader(callID)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.SUBSCRIBE})
	req.AppendHeader(&maxFwd)
	for i := len(routes) - 1; i >= 0; i-- { // UAC: Record-Route reversed (RFC 3261 §12.1.2)
		req.AppendHeader(sip.NewHeader("Route", routes[i]))
	}
	req.AppendHeader(&sip.ContactHeader{Address: s.contactURI("cmed", "udp")})
	ev := s.opts.UpstreamEvent
	req.AppendHeader(sip.NewHeader("Event", ev))
	if ev == "dialog" {
		req.AppendHeader(sip.NewHeader("Accept", pidf.ContentTypeDialogInfo))
	} else {
		req.AppendHeader(sip.NewHeader("Accept", pidf.ContentTypePIDF))
	}
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	req.SetBody(nil)
	s.prepare(req)

	tctx, cancel := context.WithTimeout(ctx, s.opts.NotifyTimeout)
	defer cancel()
	res, err := s.client.Do(tctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) {
		if ua := s.cfg().SIPUA; ua != nil && ua.AuthUsername != "" {
			res, err = s.client.DoDigestAuth(tctx, req, res, sipgo.DigestAuth{Username: ua.AuthUsername, Password: ua.AuthPassword})
		}
	}

	u.mu.Lock()
	defer u.mu.Unlock()
	o.busy = false
	if c := req.CSeq(); c != nil && c.SeqNo > o.cseq {
		o.cseq = c.SeqNo // digest retry bumped it
	}
	if expires == 0 {
		u.forget(o)
		u.wake()
		return
	}
	if u.outs[number] != o {
		return // unwatched meanwhile
	}
	switch {
	case err != nil:
		u.fail(o, err.Error(), false)
	case res.StatusCode == 481 && !initial:
		u.fail(o, "481", true) // dialog lost: start over at once
	case res.StatusCode >= 300:
		u.fail(o, strconv.Itoa(res.StatusCode)+" "+res.Reason, false)
	case res.StatusCode >= 200:
		if t := res.To(); t != nil && initial {
			o.remoteTag = tagOf(t.Params)
		}
		if c := res.Contact(); c != nil {
			o.target = c.Address
		}
		if initial {
			o.routeSet = o.routeSet[:0]
			for _, h := range res.GetHeaders("Record-Route") {
				o.routeSet = append(o.routeSet, h.Value())
			}
		}
		granted := 3600
		if h := res.GetHeader("Expires"); h != nil {
			if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
				granted = n
			}
		}
		o.state = outActive
		// Refresh ahead of expiry (RFC 6665 §4.1.2.1).
		o.refreshAt = time.Now().Add(time.Duration(granted) * time.Second * 4 / 5)
	}
}

// onNotify handles NOTIFYs for outbound subscriptions (RFC 6665 §4.1.3);
// anything else gets 481. A NOTIFY may arrive before the 200 to our
// SUBSCRIBE, so it is matched by Call-ID alone.
func (u *upstream) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	s := u.s
	cid := req.CallID()
	if cid == nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	u.mu.Lock()
	o := u.byCall[cid.Value()]
	if o == nil || (req.To() != nil && tagOf(req.To().Params) != o.localTag) {
		u.mu.Unlock()
		s.respond(tx, sip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil))
		return
	}
	if o.remoteTag == "" && req.From() != nil {
		o.remoteTag = tagOf(req.From().Params)
	}
	var seq uint32
	if c := req.CSeq(); c != nil {
		seq = c.SeqNo
	}
	if o.notifyUsed && seq <= o.notifySeq {
		u.mu.Unlock()
		// Out of order or a retransmission already taken (RFC 3261
		// §12.2.2): the newer state stands.
		s.respond(tx, sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
		return
	}
	o.notifySeq, o.notifyUsed = seq, true
	number := o.number
	u.mu.Unlock()
	s.respond(tx, sip.NewResponseFromRequest(req, 200, "OK", nil))

	subState := ""
	if h := req.GetHeader("Subscription-State"); h != nil {
		subState = strings.ToLower(strings.TrimSpace(h.Value()))
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	lamp := blf.StateUnknown
	if body := req.Body(); len(body) > 0 {
		if ls, err := pidf.ParseBody(ct, body); err == nil {
			lamp = lampOf(ls)
		} else {
			s.log.Debug("sip: upstream NOTIFY body rejected", "number", number, "err", err)
		}
	}
	terminated := strings.HasPrefix(subState, "terminated")
	u.mu.Lock()
	if o.notifySeq != seq {
		// A newer NOTIFY was taken while this one was parsed: its
		// handler reports the state.
		u.mu.Unlock()
		return
	}
	if u.outs[number] == o {
		o.lastState = lamp
		if terminated {
			// CME re-subscribes on its retry schedule after a terminated
			// NOTIFY (docs/cme-cli.md §Presence-commands); deactivated/timeout mean "now"
			// (RFC 6665 §4.1.3).
			now := strings.Contains(subState, "deactivated") || strings.Contains(subState, "timeout")
			u.fail(o, "terminated: "+subState, now)
			u.wake()
		} else if len(req.Body()) > 0 {
			o.failures = 0
		}
	}
	u.mu.Unlock()
	if len(req.Body()) > 0 || terminated {
		if terminated {
			lamp = blf.StateUnknown
		}
		// The engine is called without u.mu, so a newer NOTIFY's handler
		// may report before this one does: after reporting, re-report the
		// newest state until no newer NOTIFY was taken meanwhile.
		for {
			s.opts.Presence.SetExternalState(number, lamp)
			u.mu.Lock()
			newest, st := o.notifySeq, o.lastState
			u.mu.Unlock()
			if newest == seq {
				return
			}
			seq, lamp = newest, st
		}
	}
}

// lampOf maps a presentity's body state to a lamp.
func lampOf(ls pidf.LineState) blf.State {
	switch ls.Status {
	case pidf.StatusIdle:
		if ls.DND {
			return blf.StateDND
		}
		return blf.StateIdle
	case pidf.StatusRinging:
		return blf.StateAlerting
	case pidf.StatusInUse, pidf.StatusHold, pidf.StatusBusy:
		return blf.StateInUse
	}
	return blf.StateUnknown
}

// shutdown un-SUBSCRIBEs every active outbound subscription.
func (u *upstream) shutdown(ctx context.Context) {
	u.mu.Lock()
	var act []*outSub
	for _, o := range u.outs {
		if o.state == outActive && !o.busy {
			o.busy = true
			act = append(act, o)
		}
	}
	clear(u.want)
	u.mu.Unlock()
	var wg sync.WaitGroup
	for _, o := range act {
		wg.Add(1)
		go func() { defer wg.Done(); u.subscribe(ctx, o, 0) }()
	}
	wg.Wait()
}
