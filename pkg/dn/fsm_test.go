package dn

import "testing"

// TestTransitionTable checks every (state, input) pair: the allowed ones
// lead where the call model says, all others are refused.
func TestTransitionTable(t *testing.T) {
	type tr struct {
		from LineState
		in   Input
		to   LineState
	}
	allowed := []tr{
		{LineIdle, InOffHook, LineDialing},
		{LineIdle, InOffered, LineRinging},
		{LineDialing, InDigitsPartial, LineDialing},
		{LineDialing, InDigitsComplete, LineRingback},
		{LineDialing, InDigitsInvalid, LineBusy},
		{LineDialing, InCalleeBusy, LineBusy},
		{LineDialing, InRelease, LineIdle},
		{LineRingback, InPeerAnswer, LineConnected},
		{LineRingback, InCalleeBusy, LineBusy},
		{LineRingback, InRelease, LineIdle},
		{LineRinging, InAnswer, LineConnected},
		{LineRinging, InRelease, LineIdle},
		{LineConnected, InHold, LineHold},
		{LineConnected, InRelease, LineIdle},
		{LineConnected, InRedirected, LineRingback},
		{LineHold, InResume, LineConnected},
		{LineHold, InRelease, LineIdle},
		{LineBusy, InRelease, LineIdle},
	}
	want := map[[2]int]LineState{}
	for _, a := range allowed {
		want[[2]int{int(a.from), int(a.in)}] = a.to
	}
	for st := LineIdle; st <= LineUnregistered; st++ {
		for in := InOffHook; in <= InRedirected; in++ {
			got, ok := Transition(st, in)
			exp, expOK := want[[2]int{int(st), int(in)}]
			if ok != expOK || got != exp {
				t.Errorf("Transition(%v, %d) = %v, %v; want %v, %v", st, in, got, ok, exp, expOK)
			}
		}
	}
}

func TestDeviceName(t *testing.T) {
	for in, want := range map[string]string{
		"0012.7F57.62A5":    "SEP00127F5762A5",
		"00:12:7f:57:62:a5": "SEP00127F5762A5",
	} {
		if got := DeviceName(in); got != want {
			t.Errorf("DeviceName(%q) = %q, want %q", in, got, want)
		}
	}
}
