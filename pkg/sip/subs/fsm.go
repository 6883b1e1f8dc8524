package subs

// The per-subscription state machine, written as state functions in the
// style of sipgo's transactions (sip/transaction_server_tx_fsm.go): the
// current state is a method value, an input returns the action the Table
// must carry out, and the state function sets the next state.
//
//	            change/refresh                     2xx, nothing new
//	  idle ─────────────────────▶ notifying ──────────────────────▶ idle
//	   │                           │  ▲ │ change/refresh: mark dirty
//	   │                           │  └─┘ 2xx while dirty: NOTIFY latest
//	   │ terminate                 │ terminate          481/error/timeout
//	   ▼                           ▼                      ──────────▶ removed
//	 final ◀──────────── 2xx ── terminating
//	   │  (terminated NOTIFY in flight)
//	   └── any response ──▶ removed
//
// "notifying", "terminating" and "final" each have exactly one NOTIFY in
// flight; nothing else can be sent until its response (or timeout) arrives.

type input int

const (
	inChange        input = iota + 1 // presentity state changed
	inRefresh                        // SUBSCRIBE accepted (initial or refresh): RFC 6665 §4.2.1.2 requires a NOTIFY
	inTerminate                      // unsubscribe, expiry, shutdown, DN deleted, auth revoked
	inNotifyOK                       // 2xx to our NOTIFY (202 included, RFC 6665 §8.3.1)
	inNotifyFail                     // 481 or another final error: remove (RFC 6665 §4.2.2)
	inNotifyTimeout                  // 408 / Timer F / no response within Config.NotifyTimeout
)

type action int

const (
	actNone        action = iota
	actNotify             // send an active NOTIFY with the latest state
	actNotifyFinal        // send the terminated NOTIFY
	actRemove             // forget the subscription
)

// stateFn is a method expression, (*subscription).stateX, rather than a
// method value: assigning a method value allocates a closure on every
// transition, which showed up as two allocations per NOTIFY in the fan-out
// benchmark.
type stateFn func(s *subscription, in input) action

// stateIdle: active, no NOTIFY in flight.
func (s *subscription) stateIdle(in input) action {
	switch in {
	case inChange, inRefresh:
		s.fsm = (*subscription).stateNotifying
		return actNotify
	case inTerminate:
		s.fsm = (*subscription).stateFinal
		return actNotifyFinal
	}
	return actNone // stale responses
}

// stateNotifying: active, one NOTIFY in flight; changes are coalesced.
func (s *subscription) stateNotifying(in input) action {
	switch in {
	case inChange, inRefresh:
		s.dirty = true
	case inTerminate:
		s.fsm = (*subscription).stateTerminating
	case inNotifyOK:
		s.strikes = 0
		if s.dirty {
			s.dirty = false
			return actNotify
		}
		s.fsm = (*subscription).stateIdle
	case inNotifyTimeout:
		if s.strikes < s.maxStrikes {
			// Tolerated loss (docs/sip-presence.md §Interop-rules: Cisco SPA drops NOTIFYs): resend
			// the latest state so the lamp heals.
			s.strikes++
			s.dirty = false
			return actNotify
		}
		return actRemove
	case inNotifyFail:
		return actRemove
	}
	return actNone
}

// stateTerminating: terminated while a NOTIFY was in flight; the final
// NOTIFY waits for that response so two are never outstanding.
func (s *subscription) stateTerminating(in input) action {
	switch in {
	case inNotifyOK:
		s.fsm = (*subscription).stateFinal
		return actNotifyFinal
	case inNotifyFail, inNotifyTimeout:
		return actRemove
	}
	return actNone
}

// stateFinal: the terminated NOTIFY is in flight; whatever comes back ends it.
func (s *subscription) stateFinal(in input) action {
	switch in {
	case inNotifyOK, inNotifyFail, inNotifyTimeout:
		return actRemove
	}
	return actNone
}
