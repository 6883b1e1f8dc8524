package blf

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// State is a lamp state. The values are the SCCP BLF status codes
// (docs/sccp.md §BLF-status), so the SCCP adapter can send them as they are.
type State uint8

const (
	StateUnknown  State = 0 // unregistered, no `allow watch`, or presence off
	StateIdle     State = 1
	StateInUse    State = 2 // CME "busy": off-hook, connected, held, ringing (for most watchers)
	StateDND      State = 3
	StateAlerting State = 4 // ringing, for watchers with CanShowAlerting
)

// String uses the words of `show presence subscription` (docs/cme-cli.md §Show-presence-subscription).
func (s State) String() string {
	switch s {
	case StateUnknown:
		return "unknown"
	case StateIdle:
		return "idle"
	case StateInUse:
		return "busy"
	case StateDND:
		return "dnd"
	case StateAlerting:
		return "alerting"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Kind is the kind of watcher behind a subscription.
type Kind uint8

const (
	KindSCCPSpeedDial Kind = iota + 1 // SCCP blf-speed-dial button
	KindSCCPCallList                  // SCCP call-list / directory entry
	KindSIPPhone                      // SUBSCRIBE from a registered SIP phone
	KindSIPTrunk                      // SUBSCRIBE from a remote router over a trunk (external watcher)
	KindWeb                           // the live BLF web page; not counted against max-subscription
	KindOutbound                      // CME's own SUBSCRIBE to the presence `server` (sibling records)
)

var kindNames = [...]string{"", "SCCP [BLF Speed Dial]", "SCCP [BLF Call List]", "SIP Phone", "SIP Trunk", "Web", "Outbound"}

// String is the "Watcher phone type" of show presence subscription details.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func (k Kind) sip() bool { return k == KindSIPPhone || k == KindSIPTrunk }

// ShowsHold reports whether watchers of kind k are told a held line
// apart from an in-use one: SIP watchers read it from the presence and
// dialog bodies (docs/sip-presence.md §State-mapping); SCCP lamps have no
// hold colour.
func (k Kind) ShowsHold() bool { return k.sip() }

// SubID identifies a subscription; unique for the Engine's life.
type SubID uint32

// Update is one lamp state for one subscription.
type Update struct {
	Sub        SubID
	Presentity string // the number as subscribed
	Device     bool
	State      State // already mapped to the watcher's capability
	// Held: State is StateInUse and every call on the presentity is held
	// by its side (dn.LineEvent.Held). Only SIP watchers are told it
	// (Kind.ShowsHold); the lamp stays in use, as CME's BLF lamps show a
	// held line (docs/cme-behaviour.md §Presentity-state).
	Held bool
}

// Watcher receives lamp updates. See the package doc for the rules.
type Watcher interface {
	Deliver(Update)
}

// Upstream is the adapter that subscribes to external presentities on the
// presence `server` (docs/cme-cli.md §Presence-commands `allow subscribe`). The engine calls
// Watch when the first local watcher of an external number appears and
// Unwatch when the last leaves; the adapter reports states back with
// Engine.SetExternalState. Both are called without the engine lock, one
// call at a time, in the order the engine decided them; they must not block
// (the caller may be the dn switch goroutine).
type Upstream interface {
	Watch(number string)
	Unwatch(number string)
}

// Reason is why a subscription was refused.
type Reason uint8

const (
	ReasonPresenceDisabled   Reason = iota // `presence` (or SIP `presence enable`) off
	ReasonMaxSubscriptions                 // max-subscription reached
	ReasonNotWatchable                     // e.g. device-based for call lists or trunks
	ReasonExternalNotAllowed               // `watcher all` / `allow subscribe` off
	ReasonUnknownPresentity                // no such local number and no way to reach it
	numReasons
)

var reasonNames = [...]string{"presence-disabled", "max-subscriptions", "not-watchable",
	"external-not-allowed", "unknown-presentity"}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// RefusedError is returned by Subscribe; adapters map Reason to a SIP
// response (e.g. 503 + Retry-After for max, 403 for not allowed, 404 for
// unknown) or to an SCCP unknown lamp. Compare with errors.Is against the
// Err* values.
type RefusedError struct{ Reason Reason }

func (e *RefusedError) Error() string { return "blf: subscription refused: " + e.Reason.String() }

// Is makes errors.Is match on the reason.
func (e *RefusedError) Is(target error) bool {
	var t *RefusedError
	return errors.As(target, &t) && t.Reason == e.Reason
}

var (
	ErrPresenceDisabled   error = &RefusedError{ReasonPresenceDisabled}
	ErrMaxSubscriptions   error = &RefusedError{ReasonMaxSubscriptions}
	ErrNotWatchable       error = &RefusedError{ReasonNotWatchable}
	ErrExternalNotAllowed error = &RefusedError{ReasonExternalNotAllowed}
	ErrUnknownPresentity  error = &RefusedError{ReasonUnknownPresentity}
	// ErrNoSubscription is returned by Unsubscribe for an unknown id.
	ErrNoSubscription = errors.New("blf: no such subscription")
)

// SubscribeRequest describes a new watch.
type SubscribeRequest struct {
	Watcher Watcher
	// WatcherName is shown as Watcher in show presence: "6002@10.4.171.60"
	// for phones, the peer address for trunks.
	WatcherName string
	Kind        Kind
	Presentity  string // dialled number (DN number or remote number)
	Device      bool   // `blf-speed-dial … device`
	// CanShowAlerting: the watcher has a distinct ringing lamp. 7940/7960
	// cannot (docs/sccp.md §BLF-status), and CME 4.1 semantics show ringing as in use.
	CanShowAlerting bool
	// Expires is the SIP subscription duration (informational; the SIP
	// adapter enforces it and calls Unsubscribe). 0 for SCCP and web.
	Expires time.Duration
}

// Mailbox is a coalescing Watcher: the latest Update per subscription,
// plus a capacity-1 wake-up channel. Safe for concurrent use.
type Mailbox struct {
	mu     sync.Mutex // guards latest and order; a leaf: nothing is called under it
	latest map[SubID]Update
	order  []SubID
	notify chan struct{}
}

// NewMailbox returns an empty Mailbox.
func NewMailbox() *Mailbox {
	return &Mailbox{latest: make(map[SubID]Update), notify: make(chan struct{}, 1)}
}

// Deliver implements Watcher. It never blocks.
func (m *Mailbox) Deliver(u Update) {
	m.mu.Lock()
	if _, ok := m.latest[u.Sub]; !ok {
		m.order = append(m.order, u.Sub)
	}
	m.latest[u.Sub] = u
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// C is signalled (at most one pending token) when updates are waiting.
func (m *Mailbox) C() <-chan struct{} { return m.notify }

// Drain appends the pending updates to dst, in the order their
// subscriptions first became pending, and clears them.
func (m *Mailbox) Drain(dst []Update) []Update {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range m.order {
		dst = append(dst, m.latest[id])
	}
	clear(m.latest)
	m.order = m.order[:0]
	return dst
}
