package dn

// Input is an event applied to one call leg.
type Input uint8

const (
	InOffHook        Input = iota + 1 // caller lifts the handset: a new leg
	InOffered                         // a call is presented to a DN: a new callee leg
	InDigitsPartial                   // more digits needed
	InDigitsComplete                  // number complete, callee alerting
	InDigitsInvalid                   // no match, or interdigit timeout without a number
	InCalleeBusy                      // number complete but the callee cannot take it
	InAnswer                          // this (callee) leg answers
	InPeerAnswer                      // the far end answered
	InHold                            // this side holds
	InResume                          // this side resumes
	InRelease                         // hang-up, cancel, timeout, peer release
	InRedirected                      // the far end was replaced by a party still alerting (transfer)
)

// transitions is the call-leg state machine. A missing entry means the
// input is refused in that state (ErrBadState). Every leg ends with
// InRelease, which is allowed from every live state: that is what guarantees
// the final idle update on every teardown path (docs/sccp.md §Field-reports).
var transitions = map[LineState]map[Input]LineState{
	LineIdle: {
		InOffHook: LineDialing,
		InOffered: LineRinging,
	},
	LineDialing: {
		InDigitsPartial:  LineDialing,
		InDigitsComplete: LineRingback,
		InDigitsInvalid:  LineBusy,
		InCalleeBusy:     LineBusy,
		InRelease:        LineIdle,
	},
	LineRingback: {
		InPeerAnswer: LineConnected,
		InCalleeBusy: LineBusy, // a trunk call failed after the INVITE went out
		InRelease:    LineIdle,
	},
	LineRinging: {
		InAnswer:  LineConnected,
		InRelease: LineIdle,
	},
	LineConnected: {
		InHold:       LineHold,
		InRelease:    LineIdle,
		InRedirected: LineRingback,
	},
	LineHold: {
		InResume:  LineConnected,
		InRelease: LineIdle,
	},
	LineBusy: {
		InRelease: LineIdle,
	},
}

// Transition is the pure leg transition: the next state and whether the
// input is allowed.
func Transition(st LineState, in Input) (LineState, bool) {
	next, ok := transitions[st][in]
	return next, ok
}
