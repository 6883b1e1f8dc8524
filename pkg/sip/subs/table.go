package subs

import (
	"cmp"
	"crypto/rand"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cmed-project/cmed/pkg/sip/pidf"
)

// SubID numbers subscriptions for `show presence subscription subid N`
// (docs/cme-cli.md §Show-presence-subscription). IDs start at 1 and are never reused by a Table.
type SubID uint32

// DialogID identifies the subscription dialog (RFC 3261 §12): the notifier's
// tag is our To-tag in the 200 and the From-tag of every NOTIFY.
type DialogID struct {
	CallID    string
	LocalTag  string // ours (notifier)
	RemoteTag string // the subscriber's From-tag
}

// Config holds the notifier knobs. Zero fields take the defaults noted.
type Config struct {
	MinExpires     int // 423 below this; default 60 (docs/sip-presence.md §Summary)
	MaxExpires     int // Expires is clamped to this; default 3600
	DefaultExpires int // when the SUBSCRIBE has no Expires; default 3600 (RFC 3856 §6.4, RFC 4235 §3.3)
	// MaxSubscriptions is a local guard (503) on top of the engine's
	// max-subscription verdict; 0 means no local limit.
	MaxSubscriptions int
	RetryAfter       int // Retry-After seconds on 503; default 60
	// NotifyTimeout: a NOTIFY still unanswered this long is treated as
	// timed out by Tick; default 32 s (64·T1, RFC 3261 Timer F).
	NotifyTimeout time.Duration
	// TimeoutStrikes is how many consecutive NOTIFY timeouts are tolerated
	// before removal (docs/sip-presence.md §Interop-rules, OpenSIPS #380); default 0 = remove on the
	// first, the RFC 6665 §4.2.2 SHOULD.
	TimeoutStrikes int
	// ExpiryGrace delays expiry past the granted time so a refresh racing
	// with expiry is not answered 481 (docs/sip-presence.md §Interop-rules "Expiry races").
	ExpiryGrace time.Duration
	// ShutdownRetryAfter > 0 makes Shutdown send probation;retry-after=N
	// instead of deactivated.
	ShutdownRetryAfter int
	// FoldRinging reports ringing as on-the-phone in PIDF (CME semantic).
	FoldRinging bool
	// NewTag makes our dialog tags; default 16 random base32 characters.
	NewTag func() string
}

func (c *Config) setDefaults() {
	if c.MinExpires <= 0 {
		c.MinExpires = 60
	}
	if c.MaxExpires <= 0 {
		c.MaxExpires = 3600
	}
	if c.MaxExpires < c.MinExpires {
		c.MaxExpires = c.MinExpires
	}
	if c.DefaultExpires <= 0 {
		c.DefaultExpires = 3600
	}
	c.DefaultExpires = min(max(c.DefaultExpires, c.MinExpires), c.MaxExpires)
	if c.RetryAfter <= 0 {
		c.RetryAfter = 60
	}
	if c.NotifyTimeout <= 0 {
		c.NotifyTimeout = 32 * time.Second
	}
	if c.NewTag == nil {
		c.NewTag = func() string { return rand.Text()[:16] }
	}
}

// SubscribeInfo is what the wiring extracts from a SUBSCRIBE.
type SubscribeInfo struct {
	CallID  string
	FromTag string // subscriber's tag
	ToTag   string // empty on an initial SUBSCRIBE; our tag on a refresh
	Event   string // Event header value, e.g. "presence" or "dialog;id=3"
	// Accept holds the Accept header values; nil or empty means no Accept
	// header (the package default type is used).
	Accept     []string
	Expires    int
	HasExpires bool // false: no Expires header, DefaultExpires applies
	Watcher    string
	// Presentity is the key the engine uses in OnStateChange (the DN).
	Presentity string
	// Entity is the presentity URI put in bodies; it should be exactly the
	// AoR the watcher subscribed to (docs/sip-presence.md §Interop-rules). Empty: State.Entity.
	Entity   string
	Contact  string   // remote target for NOTIFYs
	RouteSet []string // from Record-Route, as the wiring wants to replay it
	Remote   bool     // trunk watcher (show: watcher type remote)
	Verdict  Verdict
	// EngineID is the wiring's handle on the authorisation behind the
	// subscription (the blf engine's subscription). The Table hands it
	// back through TakeReleased once the subscription is terminated, so
	// the wiring releases it exactly once.
	EngineID uint64
	// Wire is the wiring's per-dialog transport data (addresses,
	// transport), kept with the subscription and returned in every
	// Notify, so a NOTIFY never waits for the wiring to record it.
	Wire any
	// State is the presentity's current state. It seeds the Table when it
	// holds no subscription on Presentity yet; otherwise the Table's own
	// copy, kept by OnStateChange, is used. Call OnSubscribe and
	// OnStateChange from the same ordered event stream.
	State pidf.LineState
}

// Decision is the answer to a SUBSCRIBE.
type Decision struct {
	Status int
	Reason string
	Sub    SubID
	// LocalTag is the To-tag to send (new on an initial SUBSCRIBE).
	LocalTag string
	// Expires is the Expires header of a 2xx (granted seconds; 0 for an
	// unsubscribe or fetch). RFC 6665 §4.2.1.1 makes it mandatory.
	Expires     int
	MinExpires  int    // 423: Min-Expires header
	AllowEvents string // 489: Allow-Events header
	Accept      string // 406: types we can produce for the package
	RetryAfter  int    // 503: Retry-After header
	// Notify, when not nil, is sent right after the response. It is nil
	// when a NOTIFY is already in flight: the coalesced one will be returned
	// by OnNotifyResponse.
	Notify *Notify
}

// Notify describes one NOTIFY request in the subscription dialog.
type Notify struct {
	Sub    SubID
	Dialog DialogID
	CSeq   uint32
	Event  string // Event header (RFC 6665 §8.2.1: echo package and id)
	// SubscriptionState is the header value: "active;expires=N" (remaining
	// seconds) or "terminated;reason=R" (RFC 6665 §8.2.3).
	SubscriptionState string
	ContentType       string
	Body              []byte
	// Version is the dialog-info version in Body (RFC 4235 §4.1); it also
	// counts PIDF NOTIFYs, so it is monotonic for both packages.
	Version    uint32
	Terminated bool
	Watcher    string
	Entity     string
	Contact    string
	RouteSet   []string
	Wire       any // SubscribeInfo.Wire
}

// Info is a read-only view of a subscription for show commands.
type Info struct {
	ID          SubID
	Package     Package
	EventID     string
	Dialog      DialogID
	ContentType string
	Watcher     string
	Presentity  string
	Entity      string
	Contact     string
	Remote      bool
	Created     time.Time
	ExpiresAt   time.Time
	Granted     int // seconds granted by the last SUBSCRIBE
	Terminated  bool
	InFlight    bool
	CSeq        uint32 // last NOTIFY CSeq
	Version     uint32 // next dialog-info version
	LineStatus  pidf.Status
	EngineID    uint64
	// Shown is the presence source watchers are shown and Summary that
	// status in words ("On the phone", "In a meeting", "Away"),
	// docs/sip-presence.md §Rich-presence; Rich is what is published.
	Shown   pidf.Source
	Summary string
	Rich    pidf.Rich
}

type key struct {
	DialogID
	pkg     Package
	eventID string
}

type presentity struct {
	name  string
	state pidf.LineState  // line state (from Record/OnStateChange) with the composed Rich of pubs
	subs  []*subscription // including terminating ones until removed
	// lineKnown: state's line part came from Record or OnStateChange, not
	// just a default. recorded is when, for pruning.
	lineKnown bool
	recorded  time.Time
	dirty     bool // Record changed state; Flush sends it
	// gen counts visible changes of state; a subscription whose last
	// NOTIFY carried gen already has nothing to be told.
	gen  uint64
	pubs map[string]*publication
}

type subscription struct {
	id          SubID
	key         key
	event       string
	contentType string
	watcher     string
	entity      string
	contact     string
	routeSet    []string
	remote      bool
	engineID    uint64
	wire        any
	pres        *presentity
	created     time.Time
	expiresAt   time.Time
	granted     int

	fsm        stateFn
	dirty      bool // a change arrived while a NOTIFY was in flight
	terminated bool
	reason     string // Subscription-State value after "terminated;"
	strikes    int
	maxStrikes int

	sentGen       uint64 // presentity gen of the last NOTIFY built
	cseq          uint32 // last CSeq used
	version       uint32 // next dialog-info version
	inflight      bool
	inflightCSeq  uint32
	inflightSince time.Time
}

// Table holds every subscription of the notifier.
type Table struct {
	mu     sync.Mutex // guards every field below; a leaf: Table calls nothing outside the package, callers send its Notifys after it returns
	cfg    Config
	nextID SubID
	closed bool
	byKey  map[key]*subscription   // active subscriptions, for refresh matching
	byID   map[SubID]*subscription // active and terminating
	pres   map[string]*presentity
	// dirtyPres lists the presentities Record marked dirty since the last
	// Flush, in the order they changed: Flush runs once per delivery, and
	// ranging over every presentity each time cost ~5 % of the CPU of a
	// SUBSCRIBE lifecycle with a 1,000-line office (BENCHMARKS.md).
	dirtyPres []*presentity
	// released holds EngineIDs of terminated subscriptions until
	// TakeReleased hands them to the wiring.
	released []uint64
	pubSeq   uint64 // orders publications for composition
	nPubs    int    // publications held, all presentities
}

// NewTable returns an empty Table.
func NewTable(cfg Config) *Table {
	cfg.setDefaults()
	return &Table{
		cfg:   cfg,
		byKey: make(map[key]*subscription),
		byID:  make(map[SubID]*subscription),
		pres:  make(map[string]*presentity),
	}
}

func refuse(status int, reason string) Decision { return Decision{Status: status, Reason: reason} }

// OnSubscribe handles an initial SUBSCRIBE, a refresh or an unsubscribe.
// Checks run in this order: Event (489), dialog match for refreshes (481),
// interval (423), Accept (406), the engine's verdict (table in policy.go),
// the local cap (503).
func (t *Table) OnSubscribe(req SubscribeInfo, now time.Time) Decision {
	t.mu.Lock()
	defer t.mu.Unlock()

	pkg, eventID := parseEvent(req.Event)
	if pkg == PackageNone {
		d := refuse(489, "Bad Event")
		d.AllowEvents = AllowEvents
		return d
	}
	if req.ToTag != "" {
		return t.refresh(req, pkg, eventID, now)
	}
	if t.closed {
		d := refuse(503, "Service Unavailable")
		d.RetryAfter = t.cfg.RetryAfter
		return d
	}
	granted, d, ok := t.grant(req)
	if !ok {
		return d
	}
	ct, ok := negotiate(pkg, req.Accept)
	if !ok {
		d := refuse(406, "Not Acceptable")
		d.Accept = joinTypes(bodyTypes(pkg))
		return d
	}
	if req.Verdict != Allow {
		r := refusalFor(req.Verdict)
		d := refuse(r.status, r.reason)
		if r.retryAfter {
			d.RetryAfter = t.cfg.RetryAfter
		}
		return d
	}
	if t.cfg.MaxSubscriptions > 0 && len(t.byKey) >= t.cfg.MaxSubscriptions && granted > 0 {
		d := refuse(503, "Service Unavailable")
		d.RetryAfter = t.cfg.RetryAfter
		return d
	}

	t.nextID++
	s := &subscription{
		id: t.nextID,
		key: key{
			DialogID: DialogID{CallID: req.CallID, LocalTag: t.cfg.NewTag(), RemoteTag: req.FromTag},
			pkg:      pkg, eventID: eventID,
		},
		event:       eventHeader(pkg, eventID),
		contentType: ct,
		watcher:     req.Watcher,
		entity:      req.Entity,
		contact:     req.Contact,
		routeSet:    slices.Clone(req.RouteSet),
		remote:      req.Remote,
		engineID:    req.EngineID,
		wire:        req.Wire,
		created:     now,
		maxStrikes:  t.cfg.TimeoutStrikes,
	}
	s.fsm = (*subscription).stateIdle
	p := t.pres[req.Presentity]
	if p == nil {
		p = &presentity{name: req.Presentity}
		t.pres[req.Presentity] = p
	}
	if !p.lineKnown {
		t.setLine(p, req.State)
	}
	s.pres = p
	p.subs = append(p.subs, s)
	t.byID[s.id] = s
	t.byKey[s.key] = s

	dec := Decision{Status: 200, Reason: "OK", Sub: s.id, LocalTag: s.key.LocalTag, Expires: granted}
	if granted == 0 {
		// Expires: 0 on an initial SUBSCRIBE is a fetch: one terminated
		// NOTIFY with the current state (RFC 6665 §4.4.3).
		dec.Notify = t.terminate(s, ReasonTimeout, now)
		return dec
	}
	s.granted = granted
	s.expiresAt = now.Add(time.Duration(granted) * time.Second)
	dec.Notify = t.doPtr(s, s.fsm(s, inRefresh), now)
	return dec
}

// grant applies the Expires rules of RFC 6665 §4.2.1.1: missing → default,
// 0 stays 0, below MinExpires → 423, above MaxExpires → clamped.
func (t *Table) grant(req SubscribeInfo) (int, Decision, bool) {
	if !req.HasExpires {
		return t.cfg.DefaultExpires, Decision{}, true
	}
	switch {
	case req.Expires == 0:
		return 0, Decision{}, true
	case req.Expires < t.cfg.MinExpires:
		d := refuse(423, "Interval Too Brief")
		d.MinExpires = t.cfg.MinExpires
		return 0, d, false
	default:
		return min(req.Expires, t.cfg.MaxExpires), Decision{}, true
	}
}

func (t *Table) refresh(req SubscribeInfo, pkg Package, eventID string, now time.Time) Decision {
	k := key{DialogID: DialogID{CallID: req.CallID, LocalTag: req.ToTag, RemoteTag: req.FromTag}, pkg: pkg, eventID: eventID}
	s := t.byKey[k]
	if s == nil {
		// RFC 6665 §4.2.1.2 / docs/sip-presence.md §Subscription-rules: refresh for an unknown dialog.
		return refuse(481, "Call/Transaction Does Not Exist")
	}
	granted, d, ok := t.grant(req)
	if !ok {
		return d
	}
	if req.Verdict != Allow {
		// Authorisation lost since the subscription was made: refuse and
		// end it with the matching reason.
		r := refusalFor(req.Verdict)
		d := refuse(r.status, r.reason)
		if r.retryAfter {
			d.RetryAfter = t.cfg.RetryAfter
		}
		d.Sub, d.LocalTag = s.id, s.key.LocalTag
		d.Notify = t.terminate(s, r.termination, now)
		return d
	}
	dec := Decision{Status: 200, Reason: "OK", Sub: s.id, LocalTag: s.key.LocalTag, Expires: granted}
	if req.Contact != "" {
		s.contact = req.Contact // a refresh may update the remote target (RFC 6665 §4.2.1.2)
	}
	if granted == 0 {
		dec.Notify = t.terminate(s, ReasonTimeout, now)
		return dec
	}
	s.granted = granted
	s.expiresAt = now.Add(time.Duration(granted) * time.Second)
	dec.Notify = t.doPtr(s, s.fsm(s, inRefresh), now)
	return dec
}

// OnStateChange records the presentity's new state and returns the NOTIFYs
// to send now: one per subscription that has none in flight. Subscriptions
// with one in flight get the latest state from OnNotifyResponse. An
// unchanged state sends nothing.
func (t *Table) OnStateChange(presentityKey string, st pidf.LineState, now time.Time) []Notify {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pres[presentityKey]
	if p == nil {
		return nil
	}
	p.recorded = now
	if !t.setLine(p, st) {
		return nil
	}
	return t.notifyAll(p, nil, now)
}

// setLine records the line part of st (st.Rich is ignored: the Table
// composes it from publications) and reports whether the state changed.
func (t *Table) setLine(p *presentity, st pidf.LineState) bool {
	st.Rich = p.state.Rich
	p.lineKnown = true
	if p.state.Equal(st) {
		return false
	}
	old := p.state.Visible()
	p.state = cloneState(st)
	if old.Equal(st.Visible()) {
		return false
	}
	p.gen++
	return true
}

// Record stores a presentity's new line state without sending anything;
// Flush sends what changed. It takes only the Table's leaf lock, so it
// may be called from a callback that runs under another component's lock
// (the blf engine's Deliver, docs/architecture.md §Lock-order). A
// presentity without subscriptions is kept so that a subscription made
// right after starts from it; Tick forgets it after a while.
//
// It reports whether this call left Flush something new to send: false
// when the state did not change (a new subscription's first delivery,
// mostly) or the presentity already waits for the next Flush, so the
// caller need not wake its flusher.
func (t *Table) Record(presentityKey string, st pidf.LineState, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pres[presentityKey]
	if p == nil {
		p = &presentity{name: presentityKey}
		t.pres[presentityKey] = p
	}
	p.recorded = now
	if t.setLine(p, st) && !p.dirty {
		p.dirty = true
		t.dirtyPres = append(t.dirtyPres, p)
		return true
	}
	return false
}

// Flush returns the NOTIFYs for every presentity whose state Record
// changed (one per subscription without a NOTIFY in flight, as in
// OnStateChange), appended to out.
func (t *Table) Flush(out []Notify, now time.Time) []Notify {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.dirtyPres {
		if p.dirty {
			p.dirty = false
			out = t.notifyAll(p, out, now)
		}
	}
	clear(t.dirtyPres)
	t.dirtyPres = t.dirtyPres[:0]
	if cap(t.dirtyPres) > 1024 { // after a burst (a config load marks every line)
		t.dirtyPres = nil
	}
	return out
}

// TakeReleased appends the EngineIDs of subscriptions terminated since
// the last call to dst and forgets them.
func (t *Table) TakeReleased(dst []uint64) []uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	dst = append(dst, t.released...)
	t.released = t.released[:0]
	return dst
}

// notifyAll feeds a state change to every live subscription of p that
// has not been sent it yet (the first NOTIFY of a subscription made after
// Record already carries the recorded state).
func (t *Table) notifyAll(p *presentity, out []Notify, now time.Time) []Notify {
	for _, s := range p.subs {
		if s.terminated || s.sentGen == p.gen {
			continue
		}
		if n, ok := t.do(s, s.fsm(s, inChange), now); ok {
			if out == nil {
				out = make([]Notify, 0, len(p.subs))
			}
			out = append(out, n)
		}
	}
	return out
}

// Response classes for OnNotifyResponse.
const (
	// StatusTimeout may be passed when the NOTIFY transaction timed out
	// (Timer F); 408 means the same.
	StatusTimeout = 0
)

// OnNotifyResponse reports the final response (or timeout) to the NOTIFY
// with the given CSeq. It returns the next NOTIFY for that subscription
// (coalesced latest state, or the terminated one), or nil. Stale or
// duplicate responses are ignored; provisional ones (1xx) too.
func (t *Table) OnNotifyResponse(id SubID, cseq uint32, status int, now time.Time) *Notify {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.byID[id]
	if s == nil || !s.inflight || s.inflightCSeq != cseq || (status >= 100 && status < 200) {
		return nil
	}
	s.inflight = false
	var in input
	switch {
	case status >= 200 && status < 300:
		in = inNotifyOK
	case status == StatusTimeout || status == 408:
		in = inNotifyTimeout
	default:
		// 481 MUST remove; other errors SHOULD (RFC 6665 §4.2.2).
		in = inNotifyFail
	}
	return t.doPtr(s, s.fsm(s, in), now)
}

// Tick expires subscriptions past their expiry (plus ExpiryGrace) with a
// terminated;reason=timeout NOTIFY (RFC 6665 §4.2.2), and treats NOTIFYs
// unanswered for NotifyTimeout as timed out. Call it about once a second.
func (t *Table) Tick(now time.Time) []Notify {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Notify
	for _, s := range t.sortedSubs() {
		if s.inflight && now.Sub(s.inflightSince) >= t.cfg.NotifyTimeout {
			s.inflight = false
			if n, ok := t.do(s, s.fsm(s, inNotifyTimeout), now); ok {
				out = append(out, n)
			}
			if t.byID[s.id] == nil {
				continue
			}
		}
		if !s.terminated && !now.Before(s.expiresAt.Add(t.cfg.ExpiryGrace)) {
			if n := t.terminate(s, ReasonTimeout, now); n != nil {
				out = append(out, *n)
			}
		}
	}
	return t.tickPresentities(out, now)
}

// Terminate ends every subscription on a presentity, e.g. with
// ReasonNoResource when the DN is deleted or ReasonRejected when `allow
// watch` / `watcher all` is removed (docs/sip-presence.md §Terminated-NOTIFY).
func (t *Table) Terminate(presentityKey, reason string, now time.Time) []Notify {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pres[presentityKey]
	if p == nil {
		return nil
	}
	var out []Notify
	for _, s := range slices.Clone(p.subs) {
		if n := t.terminate(s, reason, now); n != nil {
			out = append(out, *n)
		}
	}
	return out
}

// Shutdown terminates every subscription (reason deactivated, or probation
// with ShutdownRetryAfter, docs/sip-presence.md §Terminated-NOTIFY) and refuses new ones with 503. The
// returned NOTIFYs go out now; those for subscriptions with a NOTIFY in
// flight follow from OnNotifyResponse.
func (t *Table) Shutdown(now time.Time) []Notify {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	reason := ReasonDeactivated
	if t.cfg.ShutdownRetryAfter > 0 {
		reason = "probation;retry-after=" + strconv.Itoa(t.cfg.ShutdownRetryAfter)
	}
	var out []Notify
	for _, s := range t.sortedSubs() {
		if n := t.terminate(s, reason, now); n != nil {
			out = append(out, *n)
		}
	}
	return out
}

// Len returns the number of active (not terminated) subscriptions, the
// "number of subscriptions" of `show presence global`.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byKey)
}

// Get returns one subscription.
func (t *Table) Get(id SubID) (Info, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.byID[id]
	if s == nil {
		return Info{}, false
	}
	return s.info(), true
}

// List returns every subscription (terminating ones included) by ID.
func (t *Table) List() []Info {
	t.mu.Lock()
	defer t.mu.Unlock()
	subs := t.sortedSubs()
	out := make([]Info, len(subs))
	for i, s := range subs {
		out[i] = s.info()
	}
	return out
}

func (s *subscription) info() Info {
	return Info{
		ID: s.id, Package: s.key.pkg, EventID: s.key.eventID, Dialog: s.key.DialogID,
		ContentType: s.contentType, Watcher: s.watcher, Presentity: s.pres.name, Entity: s.entity,
		Contact: s.contact, Remote: s.remote, Created: s.created, ExpiresAt: s.expiresAt,
		Granted: s.granted, Terminated: s.terminated, InFlight: s.inflight, CSeq: s.cseq,
		Version: s.version, LineStatus: s.pres.state.Status, EngineID: s.engineID,
		Shown: s.pres.state.Shown(), Summary: s.pres.state.Summary(), Rich: s.pres.state.Rich,
	}
}

func (t *Table) sortedSubs() []*subscription {
	subs := make([]*subscription, 0, len(t.byID))
	for _, s := range t.byID {
		subs = append(subs, s)
	}
	slices.SortFunc(subs, func(a, b *subscription) int { return cmp.Compare(a.id, b.id) })
	return subs
}

// terminate marks s terminated (no longer matched by refreshes, no longer
// counted) and feeds inTerminate to its FSM.
func (t *Table) terminate(s *subscription, reason string, now time.Time) *Notify {
	if s.terminated {
		return nil
	}
	s.terminated = true
	s.reason = reason
	delete(t.byKey, s.key)
	t.release(s)
	return t.doPtr(s, s.fsm(s, inTerminate), now)
}

// do carries out an FSM action; ok reports whether a NOTIFY must be sent.
func (t *Table) do(s *subscription, a action, now time.Time) (n Notify, ok bool) {
	switch a {
	case actNotify:
		return t.build(s, now, false), true
	case actNotifyFinal:
		return t.build(s, now, true), true
	case actRemove:
		t.remove(s)
	}
	return Notify{}, false
}

// doPtr is do for the callers that return *Notify.
func (t *Table) doPtr(s *subscription, a action, now time.Time) *Notify {
	if n, ok := t.do(s, a, now); ok {
		return &n
	}
	return nil
}

// release queues s's EngineID for TakeReleased, once.
func (t *Table) release(s *subscription) {
	if s.engineID != 0 {
		t.released = append(t.released, s.engineID)
		s.engineID = 0
	}
}

func (t *Table) remove(s *subscription) {
	t.release(s)
	delete(t.byID, s.id)
	delete(t.byKey, s.key)
	p := s.pres
	if i := slices.Index(p.subs, s); i >= 0 {
		last := len(p.subs) - 1
		p.subs[i] = p.subs[last]
		p.subs[last] = nil
		p.subs = p.subs[:last]
	}
	// p itself stays until Tick prunes it (tickPresentities): a
	// subscription starting right now may need its recorded state.
	s.fsm = func(*subscription, input) action { return actNone }
}

// build makes the NOTIFY for s's current presentity state and marks it in
// flight. CSeq and version advance on every NOTIFY (RFC 3261 §12.2.1.1,
// RFC 4235 §4.1).
func (t *Table) build(s *subscription, now time.Time, final bool) Notify {
	s.cseq++
	s.sentGen = s.pres.gen
	v := s.version
	s.version++
	st := s.pres.state
	if s.entity != "" {
		st.Entity = s.entity
	}
	body, _ := st.AppendBody(make([]byte, 0, 1024), s.contentType, v, pidf.Options{FoldRinging: t.cfg.FoldRinging})
	n := Notify{
		Sub: s.id, Dialog: s.key.DialogID, CSeq: s.cseq, Event: s.event,
		ContentType: s.contentType, Body: body, Version: v, Terminated: final,
		Watcher: s.watcher, Entity: st.Entity, Contact: s.contact, RouteSet: s.routeSet, Wire: s.wire,
	}
	if final {
		n.SubscriptionState = "terminated;reason=" + s.reason
	} else {
		rem := max(0, (s.expiresAt.Sub(now)+time.Second-1)/time.Second)
		var buf [32]byte
		n.SubscriptionState = string(strconv.AppendInt(append(buf[:0], "active;expires="...), int64(rem), 10))
	}
	s.inflight = true
	s.inflightCSeq = s.cseq
	s.inflightSince = now
	return n
}

func cloneState(st pidf.LineState) pidf.LineState {
	st.Calls = slices.Clone(st.Calls)
	return st
}

func joinTypes(types []string) string {
	out := ""
	for i, ct := range types {
		if i > 0 {
			out += ", "
		}
		out += ct
	}
	return out
}
