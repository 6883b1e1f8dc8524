// Package subs is the notifier side of RFC 6665 (SIP-specific event
// notification) for the presence (RFC 3856) and dialog (RFC 4235) packages,
// as a pure state machine: no sockets, no sipgo, no goroutines, no clock.
//
// The sipgo wiring feeds it inputs (OnSubscribe, OnStateChange,
// OnNotifyResponse, Tick, Terminate, Shutdown) with the current time and
// executes the values it returns: a Decision says how to answer a SUBSCRIBE,
// a Notify describes one NOTIFY request (CSeq, Event, Subscription-State,
// Content-Type, body). Rules enforced here (docs/sip-presence.md
// §Subscription-rules, §Notify-discipline):
//
//   - 200 (never 202) with Expires clamped to [MinExpires, MaxExpires]; 423
//     below MinExpires; 489 + Allow-Events for unknown packages; 406 when no
//     acceptable body type; 481 for a refresh of an unknown dialog
//     (RFC 6665 §4.2.1, docs/sip-presence.md §Subscription-rules).
//   - An immediate full-state NOTIFY after every accepted SUBSCRIBE,
//     refresh and unsubscribe (RFC 6665 §4.2.1.2, §4.2.2).
//   - At most one NOTIFY in flight per subscription; changes meanwhile are
//     coalesced and the latest state is sent when the response arrives
//     (docs/sip-presence.md §Notify-discipline, §Interop-rules "NOTIFY storms").
//   - 481, a timeout or any other final error to a NOTIFY removes the
//     subscription (RFC 6665 §4.2.2; timeouts optionally tolerated N times,
//     docs/sip-presence.md §Interop-rules "Lamps freeze").
//   - CSeq strictly increasing per subscription dialog; dialog-info version
//     starting at 0 and +1 per NOTIFY (RFC 4235 §4.1).
//
// Each subscription runs a small FSM written as state functions, like
// sipgo's transactions (see fsm.go). A Table is safe for concurrent use.
package subs
