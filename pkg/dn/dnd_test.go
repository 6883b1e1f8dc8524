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

// TestDNDSeedTable encodes Cisco's DND behaviour table (call reject,
// ringer off, soft-phone) as cmed applies it to CME phones
// (docs/cme-behaviour.md §DND):
//
//   - soft-phone DND (a SIP pool with `dnd`): calls rejected, no
//     notification, nothing in Recents; a CFNA target takes the call,
//     otherwise the caller hears busy.
//   - call reject (an SCCP phone in DND): the same; on a shared line the
//     sharers not in DND alert and the caller hears ringback; when all
//     sharers are in DND the call goes to the CFB target.
//   - ringer off (`f` button, `dnd feature-ring`): the call is presented
//     silently and can be answered; unanswered it goes to CFNA, else the
//     caller is released; it shows in the call history.
func TestDNDSeedTable(t *testing.T) {
	type mod = func(d map[int]*config.EphoneDN, c *config.Config)
	feature := func(tag int) mod {
		return func(_ map[int]*config.EphoneDN, c *config.Config) {
			c.Ephones[tag-1].Buttons[0].Mode = config.ButtonFeature
		}
	}
	tests := []struct {
		name     string
		mod      mod
		dnd      []int // ephones (101: pool 1) set to DND before the call
		dial     string
		wait     time.Duration
		ring     map[int]dn.Alert // phone -> expected alert; others must not ring
		want1    dn.LineState     // caller
		missed   []int            // phones with a missed-call record afterwards
		answerOn int              // answer here after checks (must work)
	}{
		{name: "soft-phone DND rejects", dnd: []int{101}, dial: "2001", want1: dn.LineBusy},
		{name: "soft-phone DND to CFNA", dnd: []int{101}, dial: "2001",
			mod: func(_ map[int]*config.EphoneDN, c *config.Config) {
				c.VoiceRegisterDNs[0].CallForward.NoAnswer = "1005"
				c.VoiceRegisterDNs[0].CallForward.NoAnswerTimeout = 10
			}, ring: map[int]dn.Alert{5: dn.AlertNormal}, want1: dn.LineRingback, missed: []int{5}},
		{name: "call reject", dnd: []int{2}, dial: "1002", want1: dn.LineBusy},
		{name: "call reject to CFB", dnd: []int{2}, dial: "1002",
			mod:  func(d map[int]*config.EphoneDN, _ *config.Config) { d[2].CallForward.Busy = "1005" },
			ring: map[int]dn.Alert{5: dn.AlertNormal}, want1: dn.LineRingback, missed: []int{5}},
		{name: "shared line, one sharer DND", dnd: []int{3}, dial: "1003",
			ring: map[int]dn.Alert{4: dn.AlertNormal}, want1: dn.LineRingback, answerOn: 4},
		{name: "shared line, all sharers DND forward to CFB", dnd: []int{3, 4}, dial: "1003",
			mod:  func(d map[int]*config.EphoneDN, _ *config.Config) { d[3].CallForward.Busy = "1005" },
			ring: map[int]dn.Alert{5: dn.AlertNormal}, want1: dn.LineRingback, missed: []int{5}},
		{name: "shared line, all sharers DND, no target", dnd: []int{3, 4}, dial: "1003", want1: dn.LineBusy},
		{name: "ringer off is answerable", dnd: []int{2}, dial: "1002", mod: feature(2),
			ring: map[int]dn.Alert{2: dn.AlertSilent}, want1: dn.LineRingback, answerOn: 2},
		{name: "ringer off unanswered goes to CFNA", dnd: []int{2}, dial: "1002", wait: 11 * time.Second,
			mod: func(d map[int]*config.EphoneDN, c *config.Config) {
				feature(2)(d, c)
				d[2].CallForward.NoAnswer, d[2].CallForward.NoAnswerTimeout = "1005", 10
			}, ring: map[int]dn.Alert{5: dn.AlertNormal}, want1: dn.LineRingback, missed: []int{2, 5}},
		{name: "ringer off unanswered without CFNA", dnd: []int{2}, dial: "1002", wait: 31 * time.Second,
			mod: feature(2), want1: dn.LineIdle, missed: []int{2}},
		{name: "no dnd feature-ring rejects on f", dnd: []int{2}, dial: "1002",
			mod: func(d map[int]*config.EphoneDN, c *config.Config) {
				feature(2)(d, c)
				c.Ephones[1].NoDNDFeatureRing = true
			}, want1: dn.LineBusy},
		{name: "feature ring without DND", dial: "1002", mod: feature(2),
			ring: map[int]dn.Alert{2: dn.AlertFeature}, want1: dn.LineRingback, missed: []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, featConfig(tt.mod), func(h *harness) {
				h.register(1, 2, 3, 4, 5, 101)
				for _, tag := range tt.dnd {
					h.must(h.sw.SetDND(h.id[tag], true))
				}
				h.call(1, tt.dial)
				time.Sleep(tt.wait)
				synctest.Wait()
				if got := h.appState(1, 1); got != tt.want1 {
					t.Errorf("caller %v, want %v\n%s", got, tt.want1, h.dev[1].Dump())
				}
				if tt.want1 == dn.LineBusy {
					h.wantLast(1, "Tone", func(e dntest.Effect) bool { return e.Tone == dn.ToneBusy })
				}
				for _, tag := range []int{2, 3, 4, 5, 101} {
					e, rang := h.dev[tag].Last("Ring")
					want, should := tt.ring[tag]
					ringing := rang && !hasEffectAfter(h.dev[tag], "Released", e.Call)
					if ringing != should || (should && e.Info.Alert != want) {
						t.Errorf("phone %d: ringing=%v alert=%v, want %v %v", tag, ringing, e.Info.Alert, should, want)
					}
				}
				for _, tag := range tt.dnd {
					if _, err := h.sw.Answer(h.id[tag], 0, 0); tt.answerOn != tag && !errors.Is(err, dn.ErrNoCall) {
						t.Errorf("DND phone %d answered a rejected call: %v", tag, err)
					}
				}
				if tt.answerOn != 0 {
					if tt.answerOn != 2 || len(tt.dnd) == 0 {
						h.mustRef(h.sw.Answer(h.id[tt.answerOn], 0, 0))
					}
					synctest.Wait()
					if got := h.appState(1, 1); got != dn.LineConnected {
						t.Errorf("after answer on %d caller %v", tt.answerOn, got)
					}
				}
				h.mustRef(h.sw.OnHook(h.id[1], 0))
				synctest.Wait()
				for _, tag := range []int{2, 3, 4, 5, 101} {
					name := devName(tag)
					if tag == 101 {
						name = dn.DeviceName("0000.0000.0101")
					}
					got := len(h.recs.Of(name, dn.RecordMissed))
					want := 0
					for _, m := range tt.missed {
						if m == tag {
							want = 1
						}
					}
					if got != want {
						t.Errorf("phone %d missed records %d, want %d: %+v", tag, got, want, h.recs.All())
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

func TestDNDPresenceAndToggleWhileRinging(t *testing.T) {
	run(t, featConfig(func(d map[int]*config.EphoneDN, _ *config.Config) { d[2].CallForward.NoAnswer = "1005" }), func(h *harness) {
		h.register(1, 2, 5)
		h.call(1, "1002")
		h.must(h.sw.SetDND(h.id[2], true)) // DND while ringing: to CFNA (docs/cme-behaviour.md §DND)
		synctest.Wait()
		h.wantLast(2, "StopRing", nil)
		h.wantLast(5, "Ring", func(e dntest.Effect) bool { return e.Info.OriginalCalled.Number == "1002" })
		h.wantPresence(2, dn.PresenceDND)
		if len(h.recs.Of(devName(2), dn.RecordMissed)) != 0 {
			t.Errorf("rejected call logged as missed")
		}
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
