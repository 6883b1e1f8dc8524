package dn_test

import (
	"cmp"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

type dndMod = func(d map[int]*config.EphoneDN, c *config.Config)

// dndMods applies mods in order.
func dndMods(mods ...dndMod) dndMod {
	return func(d map[int]*config.EphoneDN, c *config.Config) {
		for _, m := range mods {
			m(d, c)
		}
	}
}

// dndMode sets `dnd-mode` on ephones (tag) or pool 1 (101).
func dndMode(m config.DNDMode, tags ...int) dndMod {
	return func(_ map[int]*config.EphoneDN, c *config.Config) {
		for _, tag := range tags {
			if tag == 101 {
				c.VoiceRegisterPools[0].DNDMode = m
			} else {
				c.Ephones[tag-1].DNDMode = m
			}
		}
	}
}

func featureButton(tag int) dndMod {
	return func(_ map[int]*config.EphoneDN, c *config.Config) {
		c.Ephones[tag-1].Buttons[0].Mode = config.ButtonFeature
	}
}

func cfna(tag int, target string) dndMod {
	return func(d map[int]*config.EphoneDN, _ *config.Config) {
		d[tag].CallForward.NoAnswer, d[tag].CallForward.NoAnswerTimeout = target, 10
	}
}

func cfb(tag int, target string) dndMod {
	return func(d map[int]*config.EphoneDN, _ *config.Config) { d[tag].CallForward.Busy = target }
}

// dndRow is one DND behaviour: phones in DND before ephone 1 dials, what
// alerts where, what the caller sees, and the call history afterwards.
type dndRow struct {
	name     string
	mod      dndMod
	dnd      []int // ephones (101: pool 1) set to DND before the call
	dial     string
	wait     time.Duration
	ring     map[int]dn.Alert // phone -> alert of a call ringing there; others must not ring
	caller   dn.LineState     // ephone 1's state after wait
	answerOn int              // answer here after the checks (must connect)
	missed   []int            // phones with a missed-call record at the end
	received []int            // phones with a received-call record at the end
}

// TestDNDCME: CME's DND, the default (docs/cme-behaviour.md §DND). An
// SCCP phone in DND does not ring, but the call is shown, can be
// answered and is in its call history; the caller hears ringback. `dnd
// feature-ring` keeps the feature ring on `f` buttons. A SIP pool with
// `dnd` refuses the call (the phone does DND itself).
func TestDNDCME(t *testing.T) {
	runDNDRows(t, []dndRow{
		{name: "shown without ringing, caller hears ringback, answerable", dnd: []int{2}, dial: "1002",
			ring: map[int]dn.Alert{2: dn.AlertSilent}, caller: dn.LineRingback, answerOn: 2, received: []int{2}},
		{name: "unanswered is a missed call, released at timeouts ringing", dnd: []int{2}, dial: "1002",
			wait: 31 * time.Second, caller: dn.LineIdle, missed: []int{2}},
		{name: "unanswered goes to CFNA", dnd: []int{2}, dial: "1002", wait: 11 * time.Second, mod: cfna(2, "1005"),
			ring: map[int]dn.Alert{5: dn.AlertNormal}, caller: dn.LineRingback, missed: []int{2, 5}},
		{name: "dnd feature-ring: f button rings with the feature ring", dnd: []int{2}, dial: "1002",
			mod: featureButton(2), ring: map[int]dn.Alert{2: dn.AlertFeature}, caller: dn.LineRingback,
			answerOn: 2, received: []int{2}},
		{name: "no dnd feature-ring: f button is silent too", dnd: []int{2}, dial: "1002",
			mod:  dndMods(featureButton(2), func(_ map[int]*config.EphoneDN, c *config.Config) { c.Ephones[1].NoDNDFeatureRing = true }),
			ring: map[int]dn.Alert{2: dn.AlertSilent}, caller: dn.LineRingback, answerOn: 2, received: []int{2}},
		{name: "feature ring without DND", dial: "1002", mod: featureButton(2),
			ring: map[int]dn.Alert{2: dn.AlertFeature}, caller: dn.LineRingback, missed: []int{2}},
		{name: "call-forward all beats DND", dnd: []int{2}, dial: "1002",
			mod:  func(d map[int]*config.EphoneDN, _ *config.Config) { d[2].CallForward.All = "1005" },
			ring: map[int]dn.Alert{5: dn.AlertNormal}, caller: dn.LineRingback, missed: []int{5}},
		{name: "shared line: DND sharer silent, the other rings", dnd: []int{3}, dial: "1003",
			ring: map[int]dn.Alert{3: dn.AlertSilent, 4: dn.AlertNormal}, caller: dn.LineRingback,
			answerOn: 4, received: []int{4}},
		{name: "SIP pool dnd: refused, caller busy", dnd: []int{101}, dial: "2001", caller: dn.LineBusy},
		{name: "SIP pool dnd: refused to CFB", dnd: []int{101}, dial: "2001",
			mod:  func(_ map[int]*config.EphoneDN, c *config.Config) { c.VoiceRegisterDNs[0].CallForward.Busy = "1006" },
			ring: map[int]dn.Alert{6: dn.AlertNormal}, caller: dn.LineRingback, missed: []int{6}},
	})
}

// TestDNDSeedTable: the CallManager-style DND of `dnd-mode`, one row per
// row of the seed table (docs/cme-behaviour.md §DND):
//
//   - soft-phone: rejected, not shown, not in the history; the CFNA
//     target takes it, else the caller hears busy; on a shared line the
//     sharers not in DND alert (ringback), all in DND: CFNA.
//   - call reject: the same, but all sharers in DND: CFB.
//   - ringer off: shown without ringing, answerable, in the history;
//     unanswered to CFNA, else the caller hears busy.
func TestDNDSeedTable(t *testing.T) {
	soft, reject, ringerOff := config.DNDModeSoftPhone, config.DNDModeCallReject, config.DNDModeRingerOff
	poolCF := func(noan, busy string) dndMod {
		return func(_ map[int]*config.EphoneDN, c *config.Config) {
			cf := &c.VoiceRegisterDNs[0].CallForward
			cf.NoAnswer, cf.Busy = noan, busy
			if noan != "" {
				cf.NoAnswerTimeout = 10
			}
		}
	}
	runDNDRows(t, []dndRow{
		{name: "soft-phone: rejected, caller hears busy without CFNA", dnd: []int{101}, dial: "2001",
			mod: dndMode(soft, 101), caller: dn.LineBusy},
		{name: "soft-phone: CFNA target takes the call", dnd: []int{101}, dial: "2001",
			mod:  dndMods(dndMode(soft, 101), poolCF("1005", "")),
			ring: map[int]dn.Alert{5: dn.AlertNormal}, caller: dn.LineRingback, missed: []int{5}},
		{name: "soft-phone: CFB target is not used", dnd: []int{101}, dial: "2001",
			mod: dndMods(dndMode(soft, 101), poolCF("", "1006")), caller: dn.LineBusy},
		{name: "soft-phone: shared line, sharer not in DND alerts", dnd: []int{3}, dial: "1003",
			mod: dndMode(soft, 3, 4), ring: map[int]dn.Alert{4: dn.AlertNormal}, caller: dn.LineRingback,
			answerOn: 4, received: []int{4}},
		{name: "soft-phone: shared line, all sharers in DND go to CFNA", dnd: []int{3, 4}, dial: "1003",
			mod:  dndMods(dndMode(soft, 3, 4), cfb(3, "1006"), cfna(3, "1005")),
			ring: map[int]dn.Alert{5: dn.AlertNormal}, caller: dn.LineRingback, missed: []int{5}},
		{name: "soft-phone: shared line, all sharers in DND, no CFNA: busy", dnd: []int{3, 4}, dial: "1003",
			mod: dndMods(dndMode(soft, 3, 4), cfb(3, "1006")), caller: dn.LineBusy},
		{name: "call reject: not presented, caller hears busy", dnd: []int{2}, dial: "1002",
			mod: dndMode(reject, 2), caller: dn.LineBusy},
		{name: "call reject: shared line, sharer not in DND alerts", dnd: []int{3}, dial: "1003",
			mod: dndMode(reject, 3, 4), ring: map[int]dn.Alert{4: dn.AlertNormal}, caller: dn.LineRingback,
			answerOn: 4, received: []int{4}},
		{name: "call reject: shared line, all sharers in DND go to CFB", dnd: []int{3, 4}, dial: "1003",
			mod:  dndMods(dndMode(reject, 3, 4), cfb(3, "1006"), cfna(3, "1005")),
			ring: map[int]dn.Alert{6: dn.AlertNormal}, caller: dn.LineRingback, missed: []int{6}},
		{name: "ringer off: shown without ringing, answerable, in the history", dnd: []int{2}, dial: "1002",
			mod: dndMode(ringerOff, 2), ring: map[int]dn.Alert{2: dn.AlertSilent}, caller: dn.LineRingback,
			answerOn: 2, received: []int{2}},
		{name: "ringer off: f button is silent too", dnd: []int{2}, dial: "1002",
			mod:  dndMods(dndMode(ringerOff, 2), featureButton(2)),
			ring: map[int]dn.Alert{2: dn.AlertSilent}, caller: dn.LineRingback, missed: []int{2}},
		{name: "ringer off: unanswered goes to CFNA", dnd: []int{2}, dial: "1002", wait: 11 * time.Second,
			mod:  dndMods(dndMode(ringerOff, 2), cfna(2, "1005")),
			ring: map[int]dn.Alert{5: dn.AlertNormal}, caller: dn.LineRingback, missed: []int{2, 5}},
		{name: "ringer off: unanswered without CFNA, caller hears busy", dnd: []int{2}, dial: "1002",
			wait: 31 * time.Second, mod: dndMode(ringerOff, 2), caller: dn.LineBusy, missed: []int{2}},
	})
}

func runDNDRows(t *testing.T, rows []dndRow) {
	phones := []int{2, 3, 4, 5, 6, 101}
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			run(t, featConfig(tt.mod), func(h *harness) {
				h.register(1, 2, 3, 4, 5, 6, 101)
				for _, tag := range tt.dnd {
					h.must(h.sw.SetDND(h.id[tag], true))
				}
				h.call(1, tt.dial)
				time.Sleep(tt.wait)
				synctest.Wait()
				if got := h.appState(1, 1); got != tt.caller {
					t.Errorf("caller %v, want %v\n%s", got, tt.caller, h.dev[1].Dump())
				}
				if tt.caller == dn.LineBusy {
					h.wantCallerFailed(1, dn.ToneBusy)
				}
				for _, tag := range phones {
					e, rang := h.dev[tag].Last("Ring")
					want, should := tt.ring[tag]
					ringing := rang && !hasEffectAfter(h.dev[tag], "Released", e.Call)
					if ringing != should || (should && e.Info.Alert != want) {
						t.Errorf("phone %d: ringing=%v alert=%v, want %v %v", tag, ringing, e.Info.Alert, should, want)
					}
				}
				for _, tag := range tt.dnd {
					if _, shown := tt.ring[tag]; !shown {
						if _, err := h.sw.Answer(h.id[tag], 0, 0); !errors.Is(err, dn.ErrNoCall) {
							t.Errorf("DND phone %d answered a call it was not shown: %v", tag, err)
						}
					}
				}
				if tt.answerOn != 0 {
					h.mustRef(h.sw.Answer(h.id[tt.answerOn], 0, 0))
					synctest.Wait()
					if got := h.appState(1, 1); got != dn.LineConnected {
						t.Errorf("after answer on %d caller %v", tt.answerOn, got)
					}
				}
				h.mustRef(h.sw.OnHook(h.id[1], 0))
				synctest.Wait()
				for _, tag := range phones {
					for kind, list := range map[dn.RecordKind][]int{dn.RecordMissed: tt.missed, dn.RecordReceived: tt.received} {
						got := len(h.recs.Of(devName(tag), kind))
						want := 0
						if slices.Contains(list, tag) {
							want = 1
						}
						if got != want {
							t.Errorf("phone %d %s records %d, want %d: %+v", tag, kind, got, want, h.recs.All())
						}
					}
				}
			})
		})
	}
}

func hasEffectAfter(d *dntest.Device, kind string, call dn.CallID) bool {
	es := d.Effects()
	seenRing := false
	for _, e := range es {
		if e.Kind == "Ring" && e.Info.ID == call {
			seenRing = true
		}
		if seenRing && e.Kind == kind && e.Call == call {
			return true
		}
	}
	return false
}

// TestDNDCMESoftkeyWhileRinging: CME's DND softkey pressed while a call
// rings (docs/cme-behaviour.md §DND): with a CFNA target the call goes
// there; without one the phone stops ringing but keeps the call, which
// can still be answered; either way DND lasts for that call only. While
// a call rings on a phone already in DND the softkey changes nothing.
func TestDNDCMESoftkeyWhileRinging(t *testing.T) {
	t.Run("to CFNA", func(t *testing.T) {
		run(t, featConfig(cfna(2, "1005")), func(h *harness) {
			h.register(1, 2, 5)
			h.call(1, "1002")
			h.must(h.sw.SetDND(h.id[2], true))
			synctest.Wait()
			h.wantLast(2, "Released", func(e dntest.Effect) bool { return e.Cause == dn.CauseDND })
			h.wantLast(5, "Ring", func(e dntest.Effect) bool { return e.Info.OriginalCalled.Number == "1002" })
			h.wantLast(2, "DND", func(e dntest.Effect) bool { return !e.On }) // the call left: DND ends
			h.wantPresence(2, dn.PresenceIdle)
			if len(h.recs.Of(devName(2), dn.RecordMissed)) != 0 {
				t.Errorf("call sent on by DND logged as missed")
			}
		})
	})
	t.Run("no CFNA: silent, answerable, DND for this call only", func(t *testing.T) {
		run(t, featConfig(nil), func(h *harness) {
			h.register(1, 2)
			h.call(1, "1002")
			h.must(h.sw.SetDND(h.id[2], true))
			synctest.Wait()
			h.wantLast(2, "Ring", func(e dntest.Effect) bool { return e.Info.Alert == dn.AlertSilent })
			h.wantLast(2, "DND", func(e dntest.Effect) bool { return e.On })
			h.wantPresence(2, dn.PresenceDND)
			h.mustRef(h.sw.Answer(h.id[2], 0, 0))
			synctest.Wait()
			if got := h.appState(1, 1); got != dn.LineConnected {
				t.Errorf("caller %v after answer", got)
			}
			h.wantLast(2, "DND", func(e dntest.Effect) bool { return e.On }) // still on during the call
			h.mustRef(h.sw.OnHook(h.id[1], 0))
			synctest.Wait()
			h.wantLast(2, "DND", func(e dntest.Effect) bool { return !e.On })
			// The next call rings normally.
			h.call(1, "1002")
			h.wantLast(2, "Ring", func(e dntest.Effect) bool { return e.Info.Alert == dn.AlertNormal })
		})
	})
	t.Run("already in DND: softkey refused while ringing", func(t *testing.T) {
		run(t, featConfig(nil), func(h *harness) {
			h.register(1, 2)
			h.must(h.sw.SetDND(h.id[2], true))
			h.call(1, "1002")
			if err := h.sw.SetDND(h.id[2], false); !errors.Is(err, dn.ErrBadState) {
				t.Errorf("DND off while ringing in DND: %v, want ErrBadState", err)
			}
			synctest.Wait()
			h.wantLast(2, "DND", func(e dntest.Effect) bool { return e.On })
			h.wantLast(2, "Ring", func(e dntest.Effect) bool { return e.Info.Alert == dn.AlertSilent })
			h.mustRef(h.sw.OnHook(h.id[1], 0))
			synctest.Wait()
			h.must(h.sw.SetDND(h.id[2], false)) // idle again: allowed
			synctest.Wait()
			h.wantLast(2, "DND", func(e dntest.Effect) bool { return !e.On })
		})
	})
	t.Run("call reject mode: the call leaves at once and DND stays", func(t *testing.T) {
		run(t, featConfig(dndMods(dndMode(config.DNDModeCallReject, 2), cfna(2, "1005"))), func(h *harness) {
			h.register(1, 2, 5)
			h.call(1, "1002")
			h.must(h.sw.SetDND(h.id[2], true))
			synctest.Wait()
			h.wantLast(5, "Ring", nil)
			h.wantLast(2, "DND", func(e dntest.Effect) bool { return e.On })
			h.wantPresence(2, dn.PresenceDND)
		})
	})
}

// TestDNDBLF: watchers see DND for an SCCP presentity in DND, also while
// a call is shown on it; a SIP pool's DND is not shown
// (docs/cme-behaviour.md §Presentity-state).
func TestDNDBLF(t *testing.T) {
	run(t, featConfig(nil), func(h *harness) {
		h.register(1, 2, 101)
		h.must(h.sw.SetDND(h.id[2], true))
		h.must(h.sw.SetDND(h.id[101], true))
		h.wantPresence(2, dn.PresenceDND)
		if got := h.presence(dn.VoiceRegisterDN, 1); got != dn.PresenceIdle {
			t.Errorf("SIP pool in DND shows %v, want idle", got)
		}
		h.call(1, "1002")
		h.wantPresence(2, dn.PresenceDND)
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.must(h.sw.SetDND(h.id[2], false))
		h.wantPresence(2, dn.PresenceIdle)
	})
}

// TestDNDPerUser: ephones and pools with the same `username` are one user;
// DND set on one device applies to all, clearing it on any clears all, and
// a device of the user that registers later comes up in DND.
func TestDNDPerUser(t *testing.T) {
	cfg := featConfig(func(_ map[int]*config.EphoneDN, c *config.Config) {
		c.Ephones[0].Username = "alice"
		c.Ephones[1].Username = "alice"
		c.VoiceRegisterPools[0].Username = "alice"
		c.Ephones[2].Username = "bob"
	})
	run(t, cfg, func(h *harness) {
		h.register(1, 101, 3)
		h.must(h.sw.SetDND(h.id[101], true))
		synctest.Wait()
		h.wantLast(1, "DND", func(e dntest.Effect) bool { return e.On })
		h.wantLast(101, "DND", func(e dntest.Effect) bool { return e.On })
		if _, ok := h.dev[3].Last("DND"); ok {
			t.Errorf("other user's phone got DND")
		}
		h.wantPresence(1, dn.PresenceDND)
		h.register(2) // registers later
		h.wantLast(2, "DND", func(e dntest.Effect) bool { return e.On })
		h.wantPresence(2, dn.PresenceDND)
		h.must(h.sw.SetDND(h.id[2], false))
		synctest.Wait()
		for _, tag := range []int{1, 2, 101} {
			h.wantLast(tag, "DND", func(e dntest.Effect) bool { return !e.On })
		}
		h.wantPresence(1, dn.PresenceIdle)
		h.wantPresence(2, dn.PresenceIdle)
	})
}

func TestCallRecords(t *testing.T) {
	run(t, featConfig(nil), func(h *harness) {
		h.register(1, 2, 3, 4)
		// Answered call: placed on 1, received on 2 with talk time.
		h.connect(1, 2)
		time.Sleep(7 * time.Second)
		h.mustRef(h.sw.OnHook(h.id[2], 0))
		synctest.Wait()
		p := h.recs.Of(devName(1), dn.RecordPlaced)
		r := h.recs.Of(devName(2), dn.RecordReceived)
		if len(p) != 1 || p[0].Number != "1002" || p[0].Line != "1001" || p[0].Duration != 7*time.Second {
			t.Errorf("placed = %+v", p)
		}
		if len(r) != 1 || r[0].Number != "1001" || r[0].Duration != 7*time.Second {
			t.Errorf("received = %+v", r)
		}
		// Shared line answered on 4: no missed call on 3.
		h.call(1, "1003")
		h.mustRef(h.sw.Answer(h.id[4], 2, 0))
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		synctest.Wait()
		if m := h.recs.Of(devName(3), dn.RecordMissed); len(m) != 0 {
			t.Errorf("answered elsewhere produced missed calls on 3: %+v", m)
		}
		if r := h.recs.Of(devName(4), dn.RecordReceived); len(r) != 1 || r[0].Button != 2 || r[0].Line != "1003" {
			t.Errorf("received on 4 = %+v", r)
		}
		// Unanswered shared-line call: missed on both sharers.
		h.call(1, "1003")
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		synctest.Wait()
		for _, tag := range []int{3, 4} {
			if m := h.recs.Of(devName(tag), dn.RecordMissed); len(m) != 1 || m[0].Number != "1001" || m[0].Duration != 0 {
				t.Errorf("missed on %d = %+v", tag, m)
			}
		}
		if n := len(h.recs.Of(devName(1), dn.RecordPlaced)); n != 3 {
			t.Errorf("placed on 1: %d, want 3", n)
		}
		// Dialing abandoned before a complete number: no record.
		h.mustRef(h.sw.OffHook(h.id[1], 0))
		h.mustRef(h.sw.Digits(h.id[1], 0, "10"))
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		synctest.Wait()
		if n := len(h.recs.Of(devName(1), dn.RecordPlaced)); n != 3 {
			t.Errorf("placed on 1 after abandoned dialing: %d, want 3", n)
		}
	})
}

// TestDNDClearSharedEndpoints: in a `dnd-mode` (the seed's Cisco Unified
// Presence model), a user clearing DND clears it on every device of the
// user and on the phones that share a line with them, even when they
// belong to another user; setting it reaches only the user's own devices.
// CME's DND leaves other users' phones alone (docs/cme-behaviour.md §DND).
func TestDNDClearSharedEndpoints(t *testing.T) {
	for _, mode := range []config.DNDMode{config.DNDModeCallReject, config.DNDModeCME} {
		t.Run(string(cmp.Or(mode, "cme")), func(t *testing.T) {
			cfg := featConfig(func(_ map[int]*config.EphoneDN, c *config.Config) {
				c.Ephones[0].Username, c.Ephones[2].Username = "alice", "alice" // ephones 1 and 3
				c.Ephones[3].Username = "bob"                                   // ephone 4 shares 1003
				c.Ephones[4].Username = "carol"                                 // ephone 5 shares nothing
				for _, i := range []int{0, 2, 3, 4} {
					c.Ephones[i].DNDMode = mode
				}
			})
			run(t, cfg, func(h *harness) {
				h.register(1, 3, 4, 5)
				h.must(h.sw.SetDND(h.id[4], true)) // bob
				h.must(h.sw.SetDND(h.id[5], true)) // carol
				h.must(h.sw.SetDND(h.id[1], true)) // alice
				synctest.Wait()
				h.wantLast(3, "DND", func(e dntest.Effect) bool { return e.On })
				h.must(h.sw.SetDND(h.id[3], false)) // alice clears on her other phone
				synctest.Wait()
				h.wantLast(1, "DND", func(e dntest.Effect) bool { return !e.On })
				h.wantLast(3, "DND", func(e dntest.Effect) bool { return !e.On })
				h.wantLast(5, "DND", func(e dntest.Effect) bool { return e.On })
				bob, _ := h.dev[4].Last("DND")
				if wantOn := mode == config.DNDModeCME; bob.On != wantOn {
					t.Errorf("bob's phone sharing alice's line: DND %v, want %v", bob.On, wantOn)
				}
			})
		})
	}
}
