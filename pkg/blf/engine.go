package blf

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
)

// Engine is the presence service. It implements dn.Observer: pass it to
// dn.New so it follows line state. All methods are safe for concurrent use.
type Engine struct {
	// mu guards every field below except now and up, which New sets once.
	// It is never held while calling out of the engine (Watcher.Deliver,
	// Upstream.Watch/Unwatch): those calls are queued in outbox and upOps
	// and made by unlock (doc.go, "Lock order"). Only the debug logger's
	// handler, a leaf, is called under it.
	mu  sync.Mutex
	now func() time.Time
	up  Upstream
	log *slog.Logger // debug trace (`debug presence`), nil = silent; see SetLogger

	// configuration (Apply)
	enabled, sipEnabled, watcherAll, allowSubscribe, callList bool
	server                                                    string
	max, retryInterval, retryLimit                            int
	routerMode                                                string
	primary                                                   map[string]string   // number -> device name
	primaryOf                                                 map[string][]string // device name -> numbers

	// line state from dn
	lines    map[dn.DNKey]dn.LineEvent
	byNumber map[string][]dn.DNKey
	devices  map[string]dn.DeviceEvent
	external map[string]State // SetExternalState

	presentities map[string]*presentity // key: number, or "device:"+number
	subs         map[SubID]*sub
	lastID       SubID
	counted      int
	countedTrunk int // of counted, the KindSIPTrunk ones (ExternalShare)
	refused      [numReasons]uint64
	deliveries   uint64

	// Calls out, decided under mu and made by unlock after mu is released:
	// one goroutine at a time (flushing) and in queue order, so a watcher
	// sees its lamp changes in the order they happened and the upstream
	// sees Watch and Unwatch of a number in the order they were decided.
	outbox   []delivery
	upOps    []upOp
	spare    []delivery // outbox's previous backing array, reused
	flushing bool

	// upMu guards upQ and upRunning; a leaf. Upstream calls are made by
	// their own short-lived goroutine (runUpstream), never by the goroutine
	// that unlocked: SetExternalState comes from the upstream itself, and a
	// caller that (against the rule) still held its own lock must not be
	// handed a Watch back into it on its own stack.
	upMu      sync.Mutex
	upQ       []upOp
	upRunning bool
}

// delivery is one Watcher.Deliver to make: state st for subscription s.
// What unlock reads of s (id, req, p.number, p.device) never changes
// after Subscribe, so it needs no lock.
type delivery struct {
	s    *sub
	st   State
	held bool
}

// upOp is one Upstream.Watch (watch) or Unwatch of number.
type upOp struct {
	number string
	watch  bool
}

type presentity struct {
	key, number string
	device      bool
	state       State // raw: Alerting not yet mapped
	held        bool  // state is StateInUse and every call is held (Update.Held)
	subs        []*sub
	sibling     *sub // outbound record for an external number
}

type sub struct {
	id      SubID
	req     SubscribeRequest
	p       *presentity
	last    State
	held    bool // Held last delivered
	since   time.Time
	counted bool
	sib     SubID
}

// unlock releases mu and then makes the queued calls out. A goroutine that
// finds another one making them leaves its own to it (they are queued
// behind), so calls never run concurrently or out of order. Called with
// mu held, instead of mu.Unlock, by every method that may queue a call.
func (e *Engine) unlock() {
	if e.flushing || len(e.outbox)+len(e.upOps) == 0 {
		e.mu.Unlock()
		return
	}
	e.flushing = true
	for len(e.outbox)+len(e.upOps) > 0 { // ends when no other goroutine queued more meanwhile
		batch, ops := e.outbox, e.upOps
		e.outbox, e.spare, e.upOps = e.spare[:0], nil, nil
		e.mu.Unlock()
		if len(ops) > 0 {
			e.queueUpstream(ops)
		}
		for _, d := range batch {
			s := d.s
			s.req.Watcher.Deliver(Update{Sub: s.id, Presentity: s.p.number, Device: s.p.device, State: d.st, Held: d.held})
		}
		clear(batch) // drop sub references
		e.mu.Lock()
		e.spare = batch[:0]
	}
	e.flushing = false
	e.mu.Unlock()
}

// queueUpstream hands ops to the upstream goroutine, starting it if none
// runs. One runs at a time and takes ops in queue order, so the upstream
// sees Watch and Unwatch of a number in the order they were decided.
func (e *Engine) queueUpstream(ops []upOp) {
	e.upMu.Lock()
	e.upQ = append(e.upQ, ops...)
	start := !e.upRunning
	e.upRunning = true
	e.upMu.Unlock()
	if start {
		go e.runUpstream()
	}
}

// runUpstream makes the queued Upstream calls and ends when none is left.
func (e *Engine) runUpstream() {
	for {
		e.upMu.Lock()
		ops := e.upQ
		e.upQ = nil
		if len(ops) == 0 {
			e.upRunning = false
			e.upMu.Unlock()
			return
		}
		e.upMu.Unlock()
		for _, op := range ops {
			if op.watch {
				e.up.Watch(op.number)
			} else {
				e.up.Unwatch(op.number)
			}
		}
	}
}

// New returns an Engine for cfg. up may be nil (no external presentities).
func New(cfg *config.Config, up Upstream) *Engine {
	e := &Engine{
		now: time.Now, up: up,
		lines: map[dn.DNKey]dn.LineEvent{}, byNumber: map[string][]dn.DNKey{},
		devices: map[string]dn.DeviceEvent{}, external: map[string]State{},
		presentities: map[string]*presentity{}, subs: map[SubID]*sub{},
	}
	e.Apply(cfg)
	return e
}

// Apply takes a new config snapshot: presence flags, max-subscription and
// the device-monitoring map. Lamps are re-evaluated at once, e.g. `no
// presence` turns every lamp unknown. (`allow watch` arrives through dn's
// LineEvents after dn.Switch.Apply.) Existing subscriptions are kept even
// if max-subscription was lowered, as CME does not tear them down.
func (e *Engine) Apply(cfg *config.Config) {
	e.mu.Lock()
	defer e.unlock()
	p := cfg.Presence
	e.enabled = cfg.PresenceEnabled()
	e.sipEnabled = cfg.SIPPresenceEnabled()
	e.max = p.MaxSubscriptions()
	e.watcherAll, e.allowSubscribe, e.callList, e.server = false, false, false, ""
	e.retryInterval, e.retryLimit = config.DefaultBLFRetryInterval, config.DefaultBLFRetryLimit
	if p != nil {
		e.watcherAll, e.allowSubscribe, e.callList, e.server = p.WatcherAll, p.AllowSubscribe, p.CallList, p.Server
		if p.BLFRetryInterval != 0 {
			e.retryInterval = p.BLFRetryInterval
		}
		if p.BLFRetryLimit != 0 {
			e.retryLimit = p.BLFRetryLimit
		}
	}
	e.routerMode = "CME mode"
	if g := cfg.VoiceRegisterGlobal; g != nil && g.Mode == "esrst" {
		e.routerMode = "SRST mode"
	}
	e.primary = dn.PrimaryDevices(cfg)
	e.primaryOf = map[string][]string{}
	for num, dev := range e.primary {
		e.primaryOf[dev] = append(e.primaryOf[dev], num)
	}
	for _, p := range e.presentities {
		e.refresh(p)
	}
}

// LineChanged implements dn.Observer.
func (e *Engine) LineChanged(ev dn.LineEvent) {
	e.mu.Lock()
	defer e.unlock()
	old, had := e.lines[ev.Key]
	if had {
		e.unindex(old.Number, ev.Key)
		e.unindex(old.Secondary, ev.Key)
	}
	if ev.Removed {
		delete(e.lines, ev.Key)
	} else {
		e.lines[ev.Key] = ev
		e.index(ev.Number, ev.Key)
		e.index(ev.Secondary, ev.Key)
	}
	for _, n := range [...]string{old.Number, old.Secondary, ev.Number, ev.Secondary} {
		if p := e.presentities[n]; n != "" && p != nil {
			e.refresh(p)
		}
	}
}

// DeviceChanged implements dn.Observer.
func (e *Engine) DeviceChanged(ev dn.DeviceEvent) {
	e.mu.Lock()
	defer e.unlock()
	if ev.Removed {
		delete(e.devices, ev.Name)
	} else {
		e.devices[ev.Name] = ev
	}
	for _, n := range e.primaryOf[ev.Name] {
		if p := e.presentities["device:"+n]; p != nil {
			e.refresh(p)
		}
	}
}

// SetExternalState records the state of an external presentity as relayed
// by the Upstream adapter (a NOTIFY from the presence server).
func (e *Engine) SetExternalState(number string, st State) {
	e.mu.Lock()
	defer e.unlock()
	e.external[number] = st
	if p := e.presentities[number]; p != nil {
		e.refresh(p)
	}
}

func (e *Engine) index(n string, k dn.DNKey) {
	if n != "" && !slices.Contains(e.byNumber[n], k) {
		e.byNumber[n] = append(e.byNumber[n], k)
	}
}

func (e *Engine) unindex(n string, k dn.DNKey) {
	if n == "" {
		return
	}
	ks := slices.DeleteFunc(e.byNumber[n], func(x dn.DNKey) bool { return x == k })
	if len(ks) == 0 {
		delete(e.byNumber, n)
	} else {
		e.byNumber[n] = ks
	}
}

func fromPresence(p dn.Presence) State {
	switch p {
	case dn.PresenceIdle:
		return StateIdle
	case dn.PresenceRinging:
		return StateAlerting
	case dn.PresenceInUse:
		return StateInUse
	case dn.PresenceDND:
		return StateDND
	}
	return StateUnknown
}

// rank orders states for aggregating several DNs with one number: ringing
// beats in-use (docs/sccp.md §Field-reports), any activity beats idle (docs/cme-behaviour.md
// §Lines "in-use if any instance is in use").
var rank = [...]int{StateUnknown: 0, StateIdle: 1, StateDND: 2, StateInUse: 3, StateAlerting: 4}

// compute is a presentity's raw state (docs/cme-behaviour.md
// §Presentity-state) and whether it is held: in use, and every watchable
// DN with the number that is in use is held (dn.LineEvent.Held). Device
// presentities and external numbers are never held (device BLF is SCCP
// only; the upstream relays lamp states).
func (e *Engine) compute(p *presentity) (State, bool) {
	if !e.enabled {
		return StateUnknown, false
	}
	if p.device {
		ev, ok := e.devices[e.primary[p.number]]
		if !ok || !ev.Registered {
			return StateUnknown, false
		}
		return fromPresence(ev.Presence), false
	}
	keys := e.byNumber[p.number]
	if len(keys) == 0 {
		if st, ok := e.external[p.number]; ok && e.allowSubscribe {
			return st, false
		}
		return StateUnknown, false
	}
	best, held := StateUnknown, true
	for _, k := range keys {
		ev := e.lines[k]
		if !ev.AllowWatch {
			continue // not a presentity: unknown unless another DN with the number is
		}
		st := fromPresence(ev.Presence)
		if rank[st] > rank[best] {
			best = st
		}
		if st == StateInUse && !ev.Held {
			held = false
		}
	}
	return best, held && best == StateInUse
}

func mapFor(st State, req *SubscribeRequest) State {
	if st == StateAlerting && !req.CanShowAlerting {
		return StateInUse
	}
	return st
}

// heldFor is Update.Held for a watcher: only kinds that show hold see it,
// so a hold changes nothing on an SCCP lamp.
func heldFor(st State, held bool, req *SubscribeRequest) bool {
	return held && st == StateInUse && req.Kind.ShowsHold()
}

// refresh recomputes a presentity and queues a delivery to every watcher
// whose lamp changes; unlock makes them once mu is released, in order.
func (e *Engine) refresh(p *presentity) {
	st, held := e.compute(p)
	if st == p.state && held == p.held {
		return
	}
	p.state, p.held = st, held
	// One Enabled check per change, not per watcher: with debugging off a
	// fan-out to thousands of watchers costs nothing more (bench_test.go).
	trace := e.tracing()
	for _, s := range p.subs {
		e.deliver(s, trace)
	}
}

func (e *Engine) deliver(s *sub, trace bool) {
	st := mapFor(s.p.state, &s.req)
	held := heldFor(st, s.p.held, &s.req)
	if st == s.last && held == s.held {
		return
	}
	s.last, s.held = st, held
	e.deliveries++
	if trace {
		e.traceState(s)
	}
	e.outbox = append(e.outbox, delivery{s, st, held})
}

func (e *Engine) refuse(r Reason) error {
	e.refused[r]++
	return &RefusedError{Reason: r}
}

// SetLogger makes the engine trace subscription events at Debug level:
// subscribe, refusal, unsubscribe and every lamp state handed to a
// watcher (what `debug presence` shows, docs/cme-cli.md §Debugging). Give it a logger
// carrying the debug category (metrics.CategoryKey = "presence") so the
// daemon's debug switchboard can turn the trace on and off at run time.
// nil silences it. Records are built only when the logger is enabled for
// Debug, so a silent engine pays one check per state change.
func (e *Engine) SetLogger(l *slog.Logger) {
	e.mu.Lock()
	e.log = l
	e.mu.Unlock()
}

// tracing reports whether debug records would be kept. Called with e.mu held.
func (e *Engine) tracing() bool {
	return e.log != nil && e.log.Enabled(context.Background(), slog.LevelDebug)
}

func (e *Engine) trace(msg string, attrs ...slog.Attr) {
	e.log.LogAttrs(context.Background(), slog.LevelDebug, msg, attrs...)
}

func (e *Engine) traceState(s *sub) {
	attrs := []slog.Attr{slog.Uint64("subid", uint64(s.id)), slog.String("watcher", s.req.WatcherName),
		slog.String("presentity", presentityName(s.p.number, s.p.device)), slog.String("state", s.last.String())}
	if s.held {
		attrs = append(attrs, slog.Bool("held", true))
	}
	e.trace("presence notify", attrs...)
}

func presentityName(number string, device bool) string {
	if device {
		return "device:" + number
	}
	return number
}

// Subscribe starts a watch and delivers the current state to the watcher:
// before returning, unless another goroutine is making the engine's calls
// out at that moment, which then delivers it right after the changes
// queued before it. The enforcement rules are docs/cme-behaviour.md §Presence-rules.
func (e *Engine) Subscribe(req SubscribeRequest) (SubID, error) {
	e.mu.Lock()
	defer e.unlock()
	id, err := e.subscribe(req)
	if err != nil && e.tracing() {
		var re *RefusedError
		reason := err.Error()
		if errors.As(err, &re) {
			reason = re.Reason.String()
		}
		e.trace("presence subscription refused", slog.String("watcher", req.WatcherName),
			slog.String("presentity", presentityName(req.Presentity, req.Device)),
			slog.String("kind", req.Kind.String()), slog.String("reason", reason))
	}
	return id, err
}

func (e *Engine) subscribe(req SubscribeRequest) (SubID, error) {
	switch {
	case !e.enabled, req.Kind.sip() && !e.sipEnabled:
		return 0, e.refuse(ReasonPresenceDisabled)
	case req.Kind == KindSIPTrunk && !e.watcherAll:
		return 0, e.refuse(ReasonExternalNotAllowed)
	case req.Device && (req.Kind == KindSCCPCallList || req.Kind == KindSIPTrunk):
		return 0, e.refuse(ReasonNotWatchable) // device BLF: not for call lists or remote watchers
	}
	key := req.Presentity
	local := len(e.byNumber[req.Presentity]) > 0
	if req.Device {
		if _, ok := e.primary[req.Presentity]; !ok {
			return 0, e.refuse(ReasonUnknownPresentity)
		}
		key, local = "device:"+req.Presentity, true
	}
	if !local {
		switch {
		case req.Kind == KindSIPTrunk || req.Kind == KindWeb || e.server == "":
			return 0, e.refuse(ReasonUnknownPresentity)
		case !e.allowSubscribe:
			return 0, e.refuse(ReasonExternalNotAllowed)
		}
	}
	counted := req.Kind != KindWeb
	if counted && e.counted >= e.max {
		return 0, e.refuse(ReasonMaxSubscriptions)
	}
	if req.Kind == KindSIPTrunk && e.countedTrunk >= ExternalShare(e.max) {
		return 0, e.refuse(ReasonMaxSubscriptions)
	}
	p := e.presentities[key]
	if p == nil {
		p = &presentity{key: key, number: req.Presentity, device: req.Device}
		p.state, p.held = e.compute(p)
		e.presentities[key] = p
	}
	if !local && p.sibling == nil {
		e.lastID++
		p.sibling = &sub{id: e.lastID, p: p, since: e.now(),
			req: SubscribeRequest{Kind: KindOutbound, WatcherName: req.Presentity, Presentity: req.Presentity}}
		if e.up != nil {
			e.upOps = append(e.upOps, upOp{number: req.Presentity, watch: true})
		}
	}
	e.lastID++
	s := &sub{id: e.lastID, req: req, p: p, since: e.now(), counted: counted}
	if p.sibling != nil {
		s.sib = p.sibling.id
	}
	p.subs = append(p.subs, s)
	e.subs[s.id] = s
	if counted {
		if req.Kind == KindSIPTrunk {
			e.countedTrunk++
		}
		e.counted++
	}
	// Full state at once, even when unknown.
	s.last = mapFor(p.state, &req)
	s.held = heldFor(s.last, p.held, &req)
	e.deliveries++
	if e.tracing() {
		e.trace("presence subscribe", slog.Uint64("subid", uint64(s.id)), slog.String("watcher", req.WatcherName),
			slog.String("presentity", presentityName(req.Presentity, req.Device)), slog.String("kind", req.Kind.String()),
			slog.Uint64("sibid", uint64(s.sib)))
		e.traceState(s)
	}
	e.outbox = append(e.outbox, delivery{s, s.last, s.held})
	return s.id, nil
}

// Unsubscribe ends a watch.
func (e *Engine) Unsubscribe(id SubID) error {
	e.mu.Lock()
	defer e.unlock()
	s := e.subs[id]
	if s == nil {
		return ErrNoSubscription
	}
	delete(e.subs, id)
	if s.counted {
		if s.req.Kind == KindSIPTrunk {
			e.countedTrunk--
		}
		e.counted--
	}
	p := s.p
	if e.tracing() {
		e.trace("presence unsubscribe", slog.Uint64("subid", uint64(id)), slog.String("watcher", s.req.WatcherName),
			slog.String("presentity", presentityName(p.number, p.device)))
	}
	p.subs = slices.DeleteFunc(p.subs, func(x *sub) bool { return x == s })
	if len(p.subs) == 0 {
		delete(e.presentities, p.key)
		if p.sibling != nil && e.up != nil {
			e.upOps = append(e.upOps, upOp{number: p.number})
		}
	}
	return nil
}

// State is a presentity's current raw state ("device:" prefix for device
// monitoring), for tests and the web page's initial render.
func (e *Engine) State(key string) State {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.presentities[key]
	if p == nil {
		num, dev := key, false
		if rest, ok := strings.CutPrefix(key, "device:"); ok {
			num, dev = rest, true
		}
		p = &presentity{key: key, number: num, device: dev}
	}
	st, _ := e.compute(p)
	return st
}

// ExternalShare is how many of max-subscription subscriptions trunk
// watchers may hold: three quarters, so a flood of external SUBSCRIBEs
// always leaves the last quarter for local phones' BLF
// (docs/sip-presence.md §Limits).
func ExternalShare(max int) int { return max - max/4 }
