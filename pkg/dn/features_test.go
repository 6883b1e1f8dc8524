package dn_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// featConfig: ephone N (1..8) has ephone-dn N, number 100N, dual-line, on
// button 1; ephone 4 shares dn 3 on button 2; pool 1 (SIP) has voice
// register dn 1 (2001). mod adjusts DNs by tag before the config is used.
func featConfig(mod func(d map[int]*config.EphoneDN, c *config.Config)) *config.Config {
	cfg := &config.Config{Telephony: &config.Telephony{TimeoutsInterdigit: 5, TimeoutsRinging: 30}}
	for tag := 1; tag <= 8; tag++ {
		cfg.EphoneDNs = append(cfg.EphoneDNs, config.EphoneDN{Tag: tag, Number: fmt.Sprintf("100%d", tag),
			Mode: config.DualLine, AllowWatch: true})
		bs := []config.Button{btn(1, tag)}
		if tag == 4 {
			bs = append(bs, btn(2, 3))
		}
		cfg.Ephones = append(cfg.Ephones, ephone(tag, bs...))
	}
	cfg.VoiceRegisterDNs = []config.VoiceRegisterDN{{Tag: 1, Number: "2001", AllowWatch: true}}
	cfg.VoiceRegisterPools = []config.VoiceRegisterPool{{Tag: 1, MAC: "0000.0000.0101", Numbers: []config.PoolNumber{{Tag: 1, DN: 1}}}}
	if mod != nil {
		m := map[int]*config.EphoneDN{}
		for i := range cfg.EphoneDNs {
			m[cfg.EphoneDNs[i].Tag] = &cfg.EphoneDNs[i]
		}
		mod(m, cfg)
	}
	return cfg
}

func devName(tag int) string { return dn.DeviceName(mac(tag)) }

// connect: from calls to's number and to answers; returns the call id.
func (h *harness) connect(from, to int) dn.CallID {
	h.t.Helper()
	h.call(from, fmt.Sprintf("100%d", to))
	r := h.wantLast(to, "Ring", nil)
	h.mustRef(h.sw.Answer(h.id[to], 0, r.Call))
	synctest.Wait()
	return r.Call
}

// wantMediaTo checks that tag's last StartMedia for call points at peer's
// receive address for peerCall.
func (h *harness) wantMediaTo(tag int, call dn.CallID, peer int, peerCall dn.CallID) {
	h.t.Helper()
	synctest.Wait()
	want := h.dev[peer].RxAddr(peerCall)
	var got dntest.Effect
	for _, e := range h.dev[tag].Effects() {
		if e.Kind == "StartMedia" && e.Call == call {
			got = e
		}
	}
	if !want.IsValid() || got.Addr != want {
		h.t.Fatalf("ephone %d call %d sends to %v, want ephone %d's %v\n%s", tag, call, got.Addr, peer, want, h.dev[tag].Dump())
	}
}

func (h *harness) wantNoStuck(tags ...int) {
	h.t.Helper()
	synctest.Wait()
	for _, tag := range tags {
		if st := h.dev[tag].Stuck(); len(st) > 0 {
			h.t.Errorf("ephone %d stuck: %v\n%s", tag, st, h.dev[tag].Dump())
		}
	}
	if calls, _ := h.sw.Calls(); len(calls) != 0 {
		h.t.Errorf("calls left: %+v", calls)
	}
	for _, k := range []string{"MOH", "Echo"} {
		if a := h.media.Active(k); len(a) != 0 {
			h.t.Errorf("%s streams still running: %d", k, len(a))
		}
	}
}

func TestMediaBasicCall(t *testing.T) {
	run(t, featConfig(nil), func(h *harness) {
		h.register(1, 2)
		c := h.connect(1, 2)
		h.wantMediaTo(1, c, 2, c)
		h.wantMediaTo(2, c, 1, c)
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantLast(1, "StopMedia", nil)
		h.wantLast(2, "StopMedia", nil)
		h.wantNoStuck(1, 2)
	})
}

func TestHoldResumeMOH(t *testing.T) {
	run(t, featConfig(nil), func(h *harness) {
		h.register(1, 2)
		c := h.connect(1, 2)
		h.mustRef(h.sw.Hold(h.id[2], 0, c))
		synctest.Wait()
		h.wantLast(2, "StopMedia", func(e dntest.Effect) bool { return e.Call == c })
		moh := h.media.Active("MOH")
		if len(moh) != 1 || moh[0].Dest != h.dev[1].RxAddr(c) {
			t.Fatalf("MOH streams %+v, want one to ephone 1's %v", moh, h.dev[1].RxAddr(c))
		}
		h.wantLast(1, "CallInfo", func(e dntest.Effect) bool { return e.Info.PeerHold })

		old := h.dev[2].RxAddr(c)
		h.mustRef(h.sw.Resume(h.id[2], 0, c))
		synctest.Wait()
		if !moh[0].Stopped() {
			t.Errorf("MOH not stopped on resume")
		}
		if h.dev[2].RxAddr(c) == old {
			t.Errorf("holder's media not reopened")
		}
		h.wantMediaTo(1, c, 2, c) // the new receive address
		h.wantMediaTo(2, c, 1, c)
		h.mustRef(h.sw.OnHook(h.id[2], 0))
		h.wantNoStuck(1, 2)
	})
}

func TestHeldPartyHangsUp(t *testing.T) {
	run(t, featConfig(nil), func(h *harness) {
		h.register(1, 2)
		c := h.connect(1, 2)
		h.mustRef(h.sw.Hold(h.id[1], 0, c))
		synctest.Wait()
		if len(h.media.Active("MOH")) != 1 {
			t.Fatalf("no MOH")
		}
		h.mustRef(h.sw.OnHook(h.id[2], 0))
		h.wantNoStuck(1, 2)
	})
}

func TestEchoTest(t *testing.T) {
	for _, tt := range []struct {
		name, echo, dial string
		want             bool
	}{
		{"default", "", "*43", true},
		{"configured", "*99", "*99", true},
		{"disabled", "-", "*43", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			runOpts(t, featConfig(nil), dn.Options{EchoNumber: tt.echo}, func(h *harness) {
				h.register(1)
				h.call(1, tt.dial)
				synctest.Wait()
				if !tt.want {
					if got := h.appState(1, 1); got != dn.LineBusy {
						t.Fatalf("disabled echo: %v", got)
					}
					return
				}
				if got := h.appState(1, 1); got != dn.LineConnected {
					t.Fatalf("echo call %v, want connected", got)
				}
				echo := h.media.Active("Echo")
				if len(echo) != 1 {
					t.Fatalf("echo streams %d", len(echo))
				}
				h.wantLast(1, "StartMedia", func(e dntest.Effect) bool { return e.Addr == echo[0].Addr })
				h.mustRef(h.sw.OnHook(h.id[1], 0))
				h.wantNoStuck(1)
			})
		})
	}
}

func TestBlindTransfer(t *testing.T) {
	for _, viaSoftkey := range []bool{false, true} {
		t.Run(fmt.Sprintf("softkey=%v", viaSoftkey), func(t *testing.T) {
			cfg := featConfig(nil)
			if viaSoftkey {
				cfg.Telephony.TransferSystem = "full-blind"
			}
			run(t, cfg, func(h *harness) {
				h.register(1, 2, 3)
				c := h.connect(1, 2)
				if viaSoftkey {
					xfer, err := h.sw.StartTransfer(h.id[2], 0, c)
					h.must(err)
					consult := xfer.Consult.ID
					if consult == c {
						t.Fatal("consult call reuses id")
					}
					h.mustRef(h.sw.Digits(h.id[2], 0, "1003"))
				} else {
					h.must(h.sw.BlindTransfer(h.id[2], c, "1003"))
				}
				synctest.Wait()
				h.wantLast(2, "Released", func(e dntest.Effect) bool { return e.Call == c && e.Cause == dn.CauseTransferred })
				r := h.wantLast(3, "Ring", func(e dntest.Effect) bool { return e.Info.Calling.Number == "1001" })
				if got := h.appState(1, 1); got != dn.LineRingback {
					t.Errorf("transferee %v, want ringback", got)
				}
				h.wantPresence(2, dn.PresenceIdle)
				h.mustRef(h.sw.Answer(h.id[3], 0, r.Call))
				h.wantMediaTo(1, c, 3, r.Call)
				h.wantMediaTo(3, r.Call, 1, c)
				if s1, s2, s3 := h.appState(1, 1), h.appState(2, 1), h.appState(3, 1); s1 != dn.LineConnected || s2 != dn.LineIdle || s3 != dn.LineConnected {
					t.Errorf("after transfer: %v %v %v", s1, s2, s3)
				}
				if st := h.dev[2].Stuck(); len(st) != 0 {
					t.Errorf("transferor stuck: %v", st)
				}
				h.mustRef(h.sw.OnHook(h.id[3], 0))
				h.wantNoStuck(1, 2, 3)
				h.wantPresence(1, dn.PresenceIdle)
				h.wantPresence(3, dn.PresenceIdle)
			})
		})
	}
}

func TestConsultTransfer(t *testing.T) {
	for _, atAlert := range []bool{false, true} {
		t.Run(fmt.Sprintf("atAlert=%v", atAlert), func(t *testing.T) {
			run(t, featConfig(nil), func(h *harness) {
				h.register(1, 2, 3, 4)
				c := h.connect(1, 2)
				xfer, err := h.sw.StartTransfer(h.id[2], 0, c)
				h.must(err)
				consult := xfer.Consult.ID
				synctest.Wait()
				if len(h.media.Active("MOH")) != 1 {
					t.Fatalf("transferee hears no MOH")
				}
				h.mustRef(h.sw.Digits(h.id[2], 0, "1003"))
				r := h.wantLast(3, "Ring", nil)
				if r.Call != consult {
					t.Fatalf("ring call %d, want consult %d", r.Call, consult)
				}
				if !atAlert {
					h.mustRef(h.sw.Answer(h.id[3], 0, r.Call))
					synctest.Wait()
				}
				h.must(h.sw.CompleteTransfer(h.id[2], c, consult))
				synctest.Wait()
				if atAlert {
					if got := h.appState(1, 1); got != dn.LineRingback {
						t.Fatalf("transferee %v at alert, want ringback", got)
					}
					h.wantLast(3, "CallInfo", func(e dntest.Effect) bool { return e.Info.Calling.Number == "1001" })
					h.mustRef(h.sw.Answer(h.id[4], 2, r.Call)) // shared appearance answers
					synctest.Wait()
				}
				callee := 3
				if atAlert {
					callee = 4
				}
				h.wantMediaTo(1, c, callee, r.Call)
				h.wantMediaTo(callee, r.Call, 1, c)
				if len(h.media.Active("MOH")) != 0 {
					t.Errorf("MOH still running after transfer")
				}
				if st := h.dev[2].Stuck(); len(st) != 0 {
					t.Errorf("transferor stuck: %v\n%s", st, h.dev[2].Dump())
				}
				h.wantPresence(2, dn.PresenceIdle)
				h.wantPresence(3, dn.PresenceInUse)
				h.mustRef(h.sw.OnHook(h.id[1], 0))
				h.wantNoStuck(1, 2, 3, 4)
				h.wantPresence(3, dn.PresenceIdle)
			})
		})
	}
}

func TestCancelledTransfer(t *testing.T) {
	run(t, featConfig(nil), func(h *harness) {
		h.register(1, 2, 3)
		c := h.connect(1, 2)
		xfer, err := h.sw.StartTransfer(h.id[2], 0, c)
		h.must(err)
		consult := xfer.Consult.ID
		h.mustRef(h.sw.Digits(h.id[2], 0, "1003"))
		h.wantLast(3, "Ring", nil)
		h.mustRef(h.sw.OnHook(h.id[2], 0)) // drops the consultation only
		synctest.Wait()
		h.wantLast(3, "Released", func(e dntest.Effect) bool { return e.Call == consult })
		if st := h.dev[3].Stuck(); len(st) != 0 {
			t.Errorf("consulted phone stuck: %v", st)
		}
		if got := h.appState(2, 1); got != dn.LineHold {
			t.Fatalf("held call %v after cancel, want hold", got)
		}
		if err := h.sw.CompleteTransfer(h.id[2], c, consult); err == nil {
			t.Errorf("complete after cancel succeeded")
		}
		h.mustRef(h.sw.Resume(h.id[2], 0, c))
		synctest.Wait()
		h.wantMediaTo(1, c, 2, c)
		if len(h.media.Active("MOH")) != 0 {
			t.Errorf("MOH still running after resume")
		}
		h.mustRef(h.sw.OnHook(h.id[2], 0))
		h.wantNoStuck(1, 2, 3)
	})
}

func TestTransferNoSecondLineFallsBackToBlind(t *testing.T) {
	cfg := featConfig(func(d map[int]*config.EphoneDN, _ *config.Config) { d[2].Mode = config.SingleLine })
	run(t, cfg, func(h *harness) {
		h.register(1, 2, 3)
		c := h.connect(1, 2)
		_, err := h.sw.StartTransfer(h.id[2], 0, c)
		h.must(err)
		h.mustRef(h.sw.Digits(h.id[2], 0, "1003"))
		h.wantLast(3, "Ring", func(e dntest.Effect) bool { return e.Info.Calling.Number == "1001" })
		if got := h.appState(2, 1); got != dn.LineIdle {
			t.Errorf("transferor %v, want idle", got)
		}
	})
}

func TestCallForward(t *testing.T) {
	type mod = func(d map[int]*config.EphoneDN, c *config.Config)
	tests := []struct {
		name     string
		mod      mod
		opts     dn.Options
		setup    func(h *harness)
		wait     time.Duration
		wantRing int          // ephone that rings, 0 none
		want1    dn.LineState // caller state
	}{
		{name: "CFA config", mod: func(d map[int]*config.EphoneDN, _ *config.Config) { d[2].CallForward.All = "1003" },
			wantRing: 3, want1: dn.LineRingback},
		{name: "CFA softkey", setup: func(h *harness) { h.must(h.sw.SetCallForwardAll(h.id[2], 1, "1005")) },
			wantRing: 5, want1: dn.LineRingback},
		{name: "CFA softkey cleared", setup: func(h *harness) {
			h.must(h.sw.SetCallForwardAll(h.id[2], 1, "1005"))
			h.must(h.sw.SetCallForwardAll(h.id[2], 1, ""))
		}, wantRing: 2, want1: dn.LineRingback},
		{name: "CFA beats DND", mod: func(d map[int]*config.EphoneDN, _ *config.Config) { d[2].CallForward.All = "1003" },
			setup: func(h *harness) { h.must(h.sw.SetDND(h.id[2], true)) }, wantRing: 3, want1: dn.LineRingback},
		{name: "CFB", mod: func(d map[int]*config.EphoneDN, _ *config.Config) {
			d[2].Mode = config.SingleLine
			d[2].CallForward.Busy = "1003"
		}, setup: func(h *harness) { h.mustRef(h.sw.OffHook(h.id[2], 0)) }, wantRing: 3, want1: dn.LineRingback},
		{name: "CFNA before timeout", mod: func(d map[int]*config.EphoneDN, _ *config.Config) {
			d[2].CallForward.NoAnswer, d[2].CallForward.NoAnswerTimeout = "1003", 10
		}, wait: 9 * time.Second, wantRing: 2, want1: dn.LineRingback},
		{name: "CFNA after timeout", mod: func(d map[int]*config.EphoneDN, _ *config.Config) {
			d[2].CallForward.NoAnswer, d[2].CallForward.NoAnswerTimeout = "1003", 10
		}, wait: 11 * time.Second, wantRing: 3, want1: dn.LineRingback},
		{name: "CFA loop rings where it closes", mod: func(d map[int]*config.EphoneDN, _ *config.Config) {
			d[2].CallForward.All, d[3].CallForward.All = "1003", "1002"
		}, wantRing: 3, want1: dn.LineRingback},
		// 1002 -> 1003 -> 1008, where 1008's first DN in hunt order is
		// 1002 (as its secondary number) and its second is ephone-dn 8.
		// Only the first is one the call already left: the hunt skips it
		// and rings the second; it is not a loop.
		{name: "CFA chain past a DN already left", mod: func(d map[int]*config.EphoneDN, _ *config.Config) {
			d[2].CallForward.All, d[3].CallForward.All = "1003", "1008"
			d[2].Secondary = "1008"
		}, wantRing: 8, want1: dn.LineRingback},
		// 1002 -> 1003 -> 1002, where 1002 is also ephone-dn 8's number:
		// the hunt for 1002 skips the DN the call left and rings dn 8.
		{name: "CFA back to a hunt group with a fresh DN", mod: func(d map[int]*config.EphoneDN, _ *config.Config) {
			d[2].CallForward.All, d[3].CallForward.All = "1003", "1002"
			d[8].Number, d[8].Preference = "1002", 1
		}, wantRing: 8, want1: dn.LineRingback},
		{name: "CFA max hops", opts: dn.Options{MaxForwardHops: 2}, mod: func(d map[int]*config.EphoneDN, _ *config.Config) {
			d[2].CallForward.All, d[3].CallForward.All, d[4].CallForward.All = "1003", "1004", "1005"
		}, wantRing: 4, want1: dn.LineRingback},
		{name: "CFB loop ends busy", mod: func(d map[int]*config.EphoneDN, _ *config.Config) {
			d[2].Mode, d[3].Mode = config.SingleLine, config.SingleLine
			d[2].CallForward.Busy, d[3].CallForward.Busy = "1003", "1002"
		}, setup: func(h *harness) {
			h.mustRef(h.sw.OffHook(h.id[2], 0))
			h.mustRef(h.sw.OffHook(h.id[3], 0))
		}, want1: dn.LineBusy},
		{name: "CFNA chain loop ends", mod: func(d map[int]*config.EphoneDN, _ *config.Config) {
			d[2].CallForward.NoAnswer, d[2].CallForward.NoAnswerTimeout = "1003", 5
			d[3].CallForward.NoAnswer, d[3].CallForward.NoAnswerTimeout = "1002", 5
		}, wait: 11 * time.Second, want1: dn.LineIdle},
		{name: "huntstop", mod: func(d map[int]*config.EphoneDN, c *config.Config) {
			d[7].Number, d[8].Number, d[8].Preference = "1002", "1002", 1
			d[2].Number = "1099"
			d[7].Mode = config.SingleLine
		}, setup: func(h *harness) { h.mustRef(h.sw.OffHook(h.id[7], 0)) }, want1: dn.LineBusy},
		{name: "no huntstop", mod: func(d map[int]*config.EphoneDN, c *config.Config) {
			d[7].Number, d[8].Number, d[8].Preference = "1002", "1002", 1
			d[2].Number = "1099"
			d[7].Mode, d[7].NoHuntstop = config.SingleLine, true
		}, setup: func(h *harness) { h.mustRef(h.sw.OffHook(h.id[7], 0)) }, wantRing: 8, want1: dn.LineRingback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runOpts(t, featConfig(tt.mod), tt.opts, func(h *harness) {
				h.register(1, 2, 3, 4, 5, 7, 8)
				if tt.setup != nil {
					tt.setup(h)
				}
				h.call(1, "1002")
				time.Sleep(tt.wait)
				synctest.Wait()
				if got := h.appState(1, 1); got != tt.want1 {
					t.Errorf("caller %v, want %v\n%s", got, tt.want1, h.dev[1].Dump())
				}
				for _, tag := range []int{2, 3, 4, 5, 7, 8} {
					ringing := h.appState(tag, 1) == dn.LineRinging // own DN (ephone 4 also shares dn 3)
					if ringing != (tag == tt.wantRing) {
						t.Errorf("ephone %d ringing=%v, want ring on %d", tag, ringing, tt.wantRing)
					}
				}
				if tt.wantRing != 0 && tt.wantRing != 2 {
					r := h.wantLast(tt.wantRing, "Ring", nil)
					if r.Info.OriginalCalled.Number == "" && tt.name != "no huntstop" {
						t.Errorf("forwarded ring lacks original called: %+v", r.Info)
					}
				}
			})
		})
	}
}

func TestCallForwardSoftkeyShown(t *testing.T) {
	run(t, featConfig(nil), func(h *harness) {
		h.register(3, 4)
		h.must(h.sw.SetCallForwardAll(h.id[3], 1, "1005"))
		h.wantLast(3, "CallForward", func(e dntest.Effect) bool { return e.Number == "1005" && e.Line == 1 })
		h.wantLast(4, "CallForward", func(e dntest.Effect) bool { return e.Number == "1005" && e.Line == 2 })
		if err := h.sw.SetCallForwardAll(h.id[3], 1, "1003"); err == nil {
			t.Errorf("forward to own number accepted")
		}
		if err := h.sw.SetCallForwardAll(h.id[3], 1, "12a"); err == nil {
			t.Errorf("bad number accepted")
		}
		got, _ := h.sw.CallForwardAll(dn.DNKey{Kind: dn.EphoneDN, Tag: 3})
		if got != "1005" {
			t.Errorf("CallForwardAll = %q", got)
		}
		// A config change of `call-forward all` wins over the softkey.
		cfg := featConfig(func(d map[int]*config.EphoneDN, _ *config.Config) { d[3].CallForward.All = "1006" })
		h.must(h.sw.Apply(cfg))
		h.wantLast(3, "CallForward", func(e dntest.Effect) bool { return e.Number == "1006" })
		// A late registrant learns the forward.
		h.register(4)
		h.wantLast(4, "CallForward", func(e dntest.Effect) bool { return e.Number == "1006" })
	})
}

// TestCommandsReturnTheirCall: every phone command returns the call it made
// or acted on, in its state once the command ran, so an adapter never has
// to read its own Device callbacks back to learn it (issue 14).
func TestCommandsReturnTheirCall(t *testing.T) {
	run(t, featConfig(nil), func(h *harness) {
		h.register(1, 2, 3)
		want := func(what string, got dn.CallRef, id dn.CallID, line int, st dn.LineState) {
			t.Helper()
			if got.ID != id || got.Line != line || got.State != st {
				t.Errorf("%s returned %+v, want call %d line %d %v", what, got, id, line, st)
			}
		}
		a := h.mustRef(h.sw.OffHook(h.id[1], 0))
		if a.ID == 0 {
			t.Fatal("OffHook returned no call")
		}
		want("OffHook", a, a.ID, 1, dn.LineDialing)
		want("Digits", h.mustRef(h.sw.Digits(h.id[1], 0, "1002")), a.ID, 1, dn.LineRingback)
		b := h.mustRef(h.sw.OffHook(h.id[2], 0)) // lifting on a ringing phone answers
		want("OffHook (answer)", b, h.wantLast(2, "Ring", nil).Call, 1, dn.LineConnected)
		want("Digits (DTMF)", h.mustRef(h.sw.Digits(h.id[1], 0, "5")), 0, 0, dn.LineIdle)
		want("Hold", h.mustRef(h.sw.Hold(h.id[2], 0, 0)), b.ID, 1, dn.LineHold)
		want("Resume", h.mustRef(h.sw.Resume(h.id[2], 0, 0)), b.ID, 1, dn.LineConnected)
		x, err := h.sw.StartTransfer(h.id[2], 0, 0)
		h.must(err)
		want("StartTransfer held", x.Held, b.ID, 1, dn.LineHold)
		if x.Consult.ID == 0 || x.Consult.ID == b.ID {
			t.Fatalf("consultation call %d", x.Consult.ID)
		}
		want("StartTransfer consult", x.Consult, x.Consult.ID, 1, dn.LineDialing)
		want("OnHook", h.mustRef(h.sw.OnHook(h.id[2], 0)), x.Consult.ID, 1, dn.LineIdle)
		want("OnHook (nothing active)", h.mustRef(h.sw.OnHook(h.id[3], 0)), 0, 0, dn.LineIdle)
		h.mustRef(h.sw.OffHook(h.id[3], 0))
		h.mustRef(h.sw.Digits(h.id[3], 0, "1001"))
		c := h.wantLast(1, "Ring", nil).Call // dual-line: the second call on button 1
		want("Answer", h.mustRef(h.sw.Answer(h.id[1], 0, 0)), c, 1, dn.LineConnected)
	})
}
