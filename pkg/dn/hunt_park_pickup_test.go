package dn_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

func (h *harness) wantState(tag, button int, want dn.LineState) {
	h.t.Helper()
	synctest.Wait()
	if got := h.appState(tag, button); got != want {
		h.t.Fatalf("ephone %d button %d = %v, want %v\n%s", tag, button, got, want, h.dev[tag].Dump())
	}
}

func (h *harness) pilot(tag int) dn.Presence {
	h.t.Helper()
	return h.presence(dn.EphoneHunt, tag)
}

func huntConfig(kind string, mod func(g *config.HuntGroup)) *config.Config {
	return featConfig(func(d map[int]*config.EphoneDN, c *config.Config) {
		g := config.HuntGroup{Tag: 1, Kind: kind, Pilot: "5000", List: []string{"1002", "1003", "1005"},
			Final: "1006", Timeout: []int{10}}
		if mod != nil {
			mod(&g)
		}
		c.EphoneHunts = []config.HuntGroup{g}
	})
}

// A sequential hunt group rings its members one after the other for the
// timeout each, then the final number (docs/cme-behaviour.md §Hunt-groups).
func TestHuntSequentialToFinal(t *testing.T) {
	run(t, huntConfig("sequential", nil), func(h *harness) {
		h.register(1, 2, 3, 4, 5, 6)
		if p := h.pilot(1); p != dn.PresenceIdle {
			t.Fatalf("pilot presence %v, want idle", p)
		}
		h.call(1, "5000")
		h.wantState(2, 1, dn.LineRinging)
		h.wantState(3, 1, dn.LineIdle)
		if p := h.pilot(1); p != dn.PresenceRinging {
			t.Fatalf("pilot presence %v, want ringing", p)
		}
		r := h.wantLast(2, "Ring", nil)
		if r.Info.OriginalCalled.Number != "5000" {
			t.Errorf("member sees original called %q, want the pilot 5000", r.Info.OriginalCalled.Number)
		}
		time.Sleep(11 * time.Second)
		h.wantState(2, 1, dn.LineIdle)
		h.wantState(3, 1, dn.LineRinging)
		h.wantState(4, 2, dn.LineRinging) // 1003 is shared with ephone 4
		time.Sleep(10 * time.Second)
		h.wantState(3, 1, dn.LineIdle)
		h.wantState(5, 1, dn.LineRinging)
		time.Sleep(10 * time.Second)
		h.wantState(5, 1, dn.LineIdle)
		h.wantState(6, 1, dn.LineRinging) // final
		if p := h.pilot(1); p != dn.PresenceIdle {
			t.Fatalf("pilot presence %v after the hunt, want idle", p)
		}
		h.mustRef(h.sw.Answer(h.id[6], 0, 0))
		h.wantState(1, 1, dn.LineConnected)
		hs, err := h.sw.Hunts()
		h.must(err)
		st := hs[0].Stats
		if st.Calls != 1 || st.Final != 1 || st.Answered != 0 || hs[0].Members[0].Offered != 1 {
			t.Errorf("stats %+v members %+v", st, hs[0].Members)
		}
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantNoStuck(1, 2, 3, 4, 5, 6)
	})
}

// A busy member is skipped; a member that answers ends the hunt; a group
// without a final number gives busy once every member was tried.
func TestHuntSkipsBusyAndStops(t *testing.T) {
	run(t, huntConfig("sequential", func(g *config.HuntGroup) { g.Final = "" }), func(h *harness) {
		h.register(1, 2, 3, 4, 5, 6)
		h.mustRef(h.sw.OffHook(h.id[2], 0)) // 1002 busy (off-hook)
		h.call(1, "5000")
		h.wantState(3, 1, dn.LineRinging)
		h.mustRef(h.sw.Answer(h.id[3], 0, 0))
		h.wantState(1, 1, dn.LineConnected)
		h.wantState(5, 1, dn.LineIdle)
		hs, _ := h.sw.Hunts()
		if hs[0].Stats.Answered != 1 || hs[0].Members[1].Answered != 1 {
			t.Errorf("stats %+v members %+v", hs[0].Stats, hs[0].Members)
		}
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.mustRef(h.sw.OnHook(h.id[2], 0))
		// Nobody answers: 1002, 1003, 1005, then busy.
		h.call(1, "5000")
		time.Sleep(31 * time.Second)
		h.wantState(1, 1, dn.LineBusy)
		h.wantLast(1, "Tone", func(e dntest.Effect) bool { return e.Tone == dn.ToneBusy })
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		hs, _ = h.sw.Hunts()
		if hs[0].Stats.Failed != 1 {
			t.Errorf("stats %+v", hs[0].Stats)
		}
		h.wantNoStuck(1, 2, 3, 4, 5, 6)
	})
}

// A peer group starts after the member that rang last; hops bounds the
// members tried.
func TestHuntPeerAndHops(t *testing.T) {
	run(t, huntConfig("peer", func(g *config.HuntGroup) { g.Hops = 2 }), func(h *harness) {
		h.register(1, 2, 3, 4, 5, 6, 7)
		h.call(1, "5000")
		h.wantState(2, 1, dn.LineRinging)
		h.mustRef(h.sw.Answer(h.id[2], 0, 0))
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.call(7, "5000")
		h.wantState(3, 1, dn.LineRinging) // after 1002
		time.Sleep(11 * time.Second)
		h.wantState(5, 1, dn.LineRinging)
		time.Sleep(10 * time.Second)
		h.wantState(6, 1, dn.LineRinging) // hops 2: on to the final number
		h.mustRef(h.sw.OnHook(h.id[7], 0))
		h.wantNoStuck(1, 2, 3, 4, 5, 6, 7)
		if p := h.pilot(1); p != dn.PresenceIdle {
			t.Fatalf("pilot presence %v, want idle", p)
		}
	})
}

func parkConfig(mod func(d map[int]*config.EphoneDN, c *config.Config)) *config.Config {
	return featConfig(func(d map[int]*config.EphoneDN, c *config.Config) {
		d[8].ParkSlot = &config.ParkSlot{Timeout: 30, Limit: 2, Recall: true}
		d[8].Mode = config.SingleLine
		c.Ephones = c.Ephones[:7] // a slot is on no phone
		if mod != nil {
			mod(d, c)
		}
	})
}

// Park: the parked caller hears music on hold, the slot is in use, and a
// phone that dials the slot gets the call; the slot is idle again.
func TestParkAndRetrieve(t *testing.T) {
	run(t, parkConfig(nil), func(h *harness) {
		h.register(1, 2, 3)
		h.wantPresence(8, dn.PresenceIdle)
		id := h.connect(1, 2)
		slot, err := h.sw.Park(h.id[2], 0, 0, "")
		h.must(err)
		if slot != "1008" {
			t.Fatalf("parked at %q", slot)
		}
		h.wantState(2, 1, dn.LineIdle)
		h.wantPresence(8, dn.PresenceInUse)
		if len(h.media.Active("MOH")) != 1 {
			t.Fatalf("parked party hears no music: %v", h.media.Streams())
		}
		// A second park finds no free slot.
		h.connect(3, 2)
		if _, err := h.sw.Park(h.id[2], 0, 0, ""); !errors.Is(err, dn.ErrLineBusy) {
			t.Fatalf("park with no free slot: %v", err)
		}
		h.mustRef(h.sw.OnHook(h.id[3], 0))
		h.call(3, "1008")
		h.wantState(3, 1, dn.LineConnected)
		h.wantState(1, 1, dn.LineConnected)
		h.wantPresence(8, dn.PresenceIdle)
		if len(h.media.Active("MOH")) != 0 {
			t.Fatal("music on hold still streams after the retrieval")
		}
		h.wantMediaTo(1, id, 3, h.wantLast(3, "CallState", nil).Call)
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantNoStuck(1, 2, 3)
		h.wantPresence(8, dn.PresenceIdle)
	})
}

// A call parked too long recalls to the phone that parked it after
// `limit` reminders of `timeout` seconds.
func TestParkRecall(t *testing.T) {
	run(t, parkConfig(nil), func(h *harness) {
		h.register(1, 2)
		h.connect(1, 2)
		_, err := h.sw.Park(h.id[2], 0, 0, "")
		h.must(err)
		time.Sleep(31 * time.Second)
		h.wantPresence(8, dn.PresenceInUse)
		h.wantState(2, 1, dn.LineIdle)
		time.Sleep(30 * time.Second)
		h.wantPresence(8, dn.PresenceIdle)
		h.wantState(2, 1, dn.LineRinging)
		h.mustRef(h.sw.Answer(h.id[2], 0, 0))
		h.wantState(1, 1, dn.LineConnected)
		h.mustRef(h.sw.OnHook(h.id[2], 0))
		h.wantNoStuck(1, 2)
	})
}

// Directed park: a blind transfer to a free slot parks the call there,
// and a transfer to the park FAC picks the first free slot.
func TestParkByTransfer(t *testing.T) {
	run(t, parkConfig(func(_ map[int]*config.EphoneDN, c *config.Config) {
		c.Telephony.FACStandard = true
	}), func(h *harness) {
		h.register(1, 2, 3)
		id := h.connect(1, 2)
		h.must(h.sw.BlindTransfer(h.id[2], id, "**6"))
		h.wantPresence(8, dn.PresenceInUse)
		h.call(3, "1008")
		h.wantState(3, 1, dn.LineConnected)
		h.mustRef(h.sw.OnHook(h.id[3], 0))
		h.wantNoStuck(1, 2, 3)
	})
}

func pickupConfig(directed bool) *config.Config {
	return featConfig(func(d map[int]*config.EphoneDN, c *config.Config) {
		d[2].PickupGroup, d[3].PickupGroup = "10", "10"
		d[5].PickupGroup = "20"
		c.Telephony.DirectedPickup = directed
		c.Telephony.FACStandard = true
	})
}

// Local group pickup takes the call ringing in the picker's own group;
// the ringing phone stops and the caller is connected to the picker.
func TestPickupLocalGroup(t *testing.T) {
	run(t, pickupConfig(false), func(h *harness) {
		h.register(1, 2, 3, 5)
		h.call(1, "1002")
		h.wantState(2, 1, dn.LineRinging)
		r := h.mustRef(h.sw.Pickup(h.id[3], 0, dn.PickupLocal, ""))
		if r.State != dn.LineConnected {
			t.Fatalf("picker call %+v", r)
		}
		h.wantState(2, 1, dn.LineIdle)
		h.wantState(1, 1, dn.LineConnected)
		if recs := h.recs.Of(devName(2), dn.RecordMissed); len(recs) != 0 {
			t.Errorf("a picked-up call is no missed call: %v", recs)
		}
		h.mustRef(h.sw.OnHook(h.id[3], 0))
		// Nothing ringing in group 10 (1005 is in 20): no pickup.
		h.call(1, "1005")
		if _, err := h.sw.Pickup(h.id[3], 0, dn.PickupLocal, ""); !errors.Is(err, dn.ErrNoCall) {
			t.Fatalf("pickup with nothing ringing in the group: %v", err)
		}
		// Other group: GPickUp then the group digits, and FAC **3.
		h.mustRef(h.sw.Pickup(h.id[3], 0, dn.PickupGroup, ""))
		h.mustRef(h.sw.Digits(h.id[3], 0, "20"))
		h.wantState(3, 1, dn.LineConnected)
		h.wantState(5, 1, dn.LineIdle)
		h.mustRef(h.sw.OnHook(h.id[3], 0))
		h.call(5, "1002")
		h.call(3, "**3")
		h.wantState(3, 1, dn.LineConnected)
		h.wantState(2, 1, dn.LineIdle)
		h.mustRef(h.sw.OnHook(h.id[3], 0))
		h.call(1, "1005")
		h.call(2, "**420#")
		h.wantState(2, 1, dn.LineConnected)
		h.mustRef(h.sw.OnHook(h.id[2], 0))
		h.wantNoStuck(1, 2, 3, 5)
	})
}

// With `service directed-pickup`, a BLF key of a ringing DN picks its call
// up; without, it does nothing (the phone calls the number instead).
func TestPickupDirectedBLF(t *testing.T) {
	for _, directed := range []bool{false, true} {
		run(t, pickupConfig(directed), func(h *harness) {
			h.register(1, 6, 7)
			h.call(1, "1006")
			h.wantState(6, 1, dn.LineRinging)
			r, err := h.sw.PickupBLF(h.id[7], "1006")
			if !directed {
				if !errors.Is(err, dn.ErrNoCall) {
					t.Fatalf("BLF pickup without directed pickup: %v %+v", err, r)
				}
				h.wantState(7, 1, dn.LineIdle)
			} else {
				h.must(err)
				h.wantState(7, 1, dn.LineConnected)
				h.wantState(6, 1, dn.LineIdle)
			}
			h.mustRef(h.sw.OnHook(h.id[1], 0))
			h.wantNoStuck(1, 6, 7)
		})
	}
}
