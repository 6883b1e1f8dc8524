package blf_test

import (
	"testing"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
)

// TestHeldReachesSIPWatchersOnly: a held line is delivered to a SIP
// watcher as in use with Held (docs/sip-presence.md §State-mapping); an
// SCCP speed-dial lamp stays in use and gets no delivery for the hold
// (docs/cme-behaviour.md §Presentity-state); a second DN with the number
// in use and not held clears Held; resume clears it.
func TestHeldReachesSIPWatchersOnly(t *testing.T) {
	e := blf.New(baseConfig(), nil)
	e.LineChanged(line(1, "1001", true, dn.PresenceInUse))
	sipBox, sccpBox := blf.NewMailbox(), blf.NewMailbox()
	sipID, err := e.Subscribe(blf.SubscribeRequest{Watcher: sipBox, Kind: blf.KindSIPPhone, Presentity: "1001", CanShowAlerting: true})
	if err != nil {
		t.Fatal(err)
	}
	sccpID, err := e.Subscribe(blf.SubscribeRequest{Watcher: sccpBox, Kind: blf.KindSCCPSpeedDial, Presentity: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	sipBox.Drain(nil)
	sccpBox.Drain(nil)

	held := line(1, "1001", true, dn.PresenceInUse)
	held.Held = true
	e.LineChanged(held)
	ups := sipBox.Drain(nil)
	if len(ups) != 1 || ups[0].Sub != sipID || ups[0].State != blf.StateInUse || !ups[0].Held {
		t.Errorf("SIP watcher after hold: %+v, want one in-use held update", ups)
	}
	if ups := sccpBox.Drain(nil); len(ups) != 0 {
		t.Errorf("SCCP lamp got %+v for a hold; its lamp does not change", ups)
	}

	// A second DN with the number, talking: the number is not held.
	other := line(2, "1001", true, dn.PresenceInUse)
	e.LineChanged(other)
	if ups := sipBox.Drain(nil); len(ups) != 1 || ups[0].Held || ups[0].State != blf.StateInUse {
		t.Errorf("with a second DN talking: %+v, want in use, not held", ups)
	}
	other.Held = true
	e.LineChanged(other)
	if ups := sipBox.Drain(nil); len(ups) != 1 || !ups[0].Held {
		t.Errorf("both DNs held: %+v, want held", ups)
	}

	// A late SIP subscriber starts from the held state.
	late := blf.NewMailbox()
	lateID, err := e.Subscribe(blf.SubscribeRequest{Watcher: late, Kind: blf.KindSIPPhone, Presentity: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	if ups := late.Drain(nil); len(ups) != 1 || ups[0].Sub != lateID || !ups[0].Held {
		t.Errorf("late SIP watcher: %+v, want held", ups)
	}

	e.LineChanged(line(1, "1001", true, dn.PresenceIdle))
	e.LineChanged(line(2, "1001", true, dn.PresenceIdle))
	ups = sipBox.Drain(nil)
	if len(ups) != 1 || ups[0].Held || ups[0].State != blf.StateIdle {
		t.Errorf("after hang-up: %+v, want idle", ups)
	}
	if st := last(t, sccpBox, sccpID); st != blf.StateIdle {
		t.Errorf("SCCP lamp %v, want idle", st)
	}
}
