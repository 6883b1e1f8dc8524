package dn_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

func mac(n int) string {
	return "0000.0000." + string(rune('0'+n/1000%10)) + string(rune('0'+n/100%10)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}

func ephone(tag int, buttons ...config.Button) config.Ephone {
	return config.Ephone{Tag: tag, MAC: mac(tag), Type: "7965", Buttons: buttons}
}

func btn(i int, dns ...int) config.Button {
	return config.Button{Index: i, Mode: config.ButtonNormal, DNs: dns}
}

// testConfig: ephone N has ephone-dn N ("100N") on button 1; ephone 4 also
// shares ephone-dn 3 on button 2; dn 2 is dual-line, dn 5 octo-line; dn 6
// is "10", a prefix of the others; pool 1 is SIP with voice register dn 1.
func testConfig() *config.Config {
	return &config.Config{
		Telephony: &config.Telephony{TimeoutsInterdigit: 5, TimeoutsRinging: 30},
		EphoneDNs: []config.EphoneDN{
			{Tag: 1, Number: "1001", AllowWatch: true},
			{Tag: 2, Number: "1002", Mode: config.DualLine, AllowWatch: true},
			{Tag: 3, Number: "1003", AllowWatch: true},
			{Tag: 4, Number: "1004", AllowWatch: true},
			{Tag: 5, Number: "1005", Mode: config.OctoLine, AllowWatch: true},
			{Tag: 6, Number: "10"},
		},
		Ephones: []config.Ephone{
			ephone(1, btn(1, 1)), ephone(2, btn(1, 2)), ephone(3, btn(1, 3)),
			ephone(4, btn(1, 4), btn(2, 3)), ephone(5, btn(1, 5)), ephone(6, btn(1, 6)),
		},
		VoiceRegisterDNs:   []config.VoiceRegisterDN{{Tag: 1, Number: "2001", AllowWatch: true}},
		VoiceRegisterPools: []config.VoiceRegisterPool{{Tag: 1, MAC: "0000.0000.0101", Numbers: []config.PoolNumber{{Tag: 1, DN: 1}}}},
	}
}

type harness struct {
	t     *testing.T
	sw    *dn.Switch
	rec   *dntest.Recorder
	media *dntest.Media
	recs  *dntest.Records
	dev   map[int]*dntest.Device
	id    map[int]dn.DeviceID
}

// run starts a Switch inside the current synctest bubble and stops it when
// body returns.
func run(t *testing.T, cfg *config.Config, body func(h *harness)) {
	t.Helper()
	runOpts(t, cfg, dn.Options{}, body)
}

// runOpts is run with Options; the harness fills in Observer, Media and
// Records with fakes.
func runOpts(t *testing.T, cfg *config.Config, o dn.Options, body func(h *harness)) {
	t.Helper()
	runMedia(t, cfg, o, nil, body)
}

// runMedia is runOpts whose MediaServer is wrap(the harness's fake media)
// (a conference bridge on top of it, conference_test.go); nil wrap: the
// fake itself.
func runMedia(t *testing.T, cfg *config.Config, o dn.Options, wrap func(*dntest.Media) dn.MediaServer, body func(h *harness)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		h := &harness{t: t, rec: &dntest.Recorder{}, media: &dntest.Media{}, recs: &dntest.Records{},
			dev: map[int]*dntest.Device{}, id: map[int]dn.DeviceID{}}
		o.Observer, o.Media, o.Records = h.rec, h.media, h.recs
		if wrap != nil {
			o.Media = wrap(h.media)
		}
		h.sw = dn.NewWithOptions(cfg, o)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = h.sw.Run(ctx) })
		body(h)
		cancel()
		wg.Wait()
	})
}

func (h *harness) register(tags ...int) {
	h.t.Helper()
	for _, tag := range tags {
		d := &dntest.Device{}
		name := dn.DeviceName(mac(tag))
		proto := dn.SCCP
		if tag > 100 {
			proto = dn.SIP
		}
		id, err := h.sw.RegisterDevice(dn.DeviceInfo{Name: name, Protocol: proto, Model: "7965"}, d)
		if err != nil {
			h.t.Fatalf("register %d: %v", tag, err)
		}
		d.AutoMedia(h.sw, id, netip.AddrFrom4([4]byte{10, 0, byte(tag / 256), byte(tag % 256)}))
		h.dev[tag], h.id[tag] = d, id
	}
}

func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

// mustRef is must for the phone commands that return the call they acted on.
func (h *harness) mustRef(r dn.CallRef, err error) dn.CallRef {
	h.t.Helper()
	h.must(err)
	return r
}

// errOf drops the call a phone command returns.
func errOf(_ dn.CallRef, err error) error { return err }

func (h *harness) presence(kind dn.DNKind, tag int) dn.Presence {
	h.t.Helper()
	synctest.Wait()
	ev, ok := h.rec.Line(dn.DNKey{Kind: kind, Tag: tag})
	if !ok {
		h.t.Fatalf("no event for dn %d", tag)
	}
	return ev.Presence
}

func (h *harness) wantPresence(tag int, want dn.Presence) {
	h.t.Helper()
	if got := h.presence(dn.EphoneDN, tag); got != want {
		h.t.Errorf("ephone-dn %d presence = %v, want %v", tag, got, want)
	}
}

func (h *harness) wantLast(tag int, kind string, check func(dntest.Effect) bool) dntest.Effect {
	h.t.Helper()
	e, ok := h.dev[tag].Last(kind)
	if !ok || (check != nil && !check(e)) {
		h.t.Fatalf("ephone %d: last %s = %v (found %v); effects:\n%s", tag, kind, e, ok, h.dev[tag].Dump())
	}
	return e
}

func (h *harness) appState(tag, button int) dn.LineState {
	h.t.Helper()
	devs, err := h.sw.Devices()
	h.must(err)
	name := dn.DeviceName(mac(tag))
	for _, d := range devs {
		if d.Name == name {
			for _, l := range d.Lines {
				if l.Button == button {
					return l.State
				}
			}
		}
	}
	h.t.Fatalf("no appearance %d/%d", tag, button)
	return 0
}

func (h *harness) call(from int, digits string) {
	h.t.Helper()
	h.mustRef(h.sw.OffHook(h.id[from], 0))
	h.mustRef(h.sw.Digits(h.id[from], 0, digits))
}

func TestBasicCall(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 2)
		h.wantPresence(1, dn.PresenceIdle)
		h.wantPresence(3, dn.PresenceUnregistered)

		h.mustRef(h.sw.OffHook(h.id[1], 0))
		h.wantLast(1, "Tone", func(e dntest.Effect) bool { return e.Tone == dn.ToneDial })
		h.wantPresence(1, dn.PresenceInUse)
		if got := h.appState(1, 1); got != dn.LineDialing {
			t.Errorf("caller state %v, want dialing", got)
		}

		h.mustRef(h.sw.Digits(h.id[1], 0, "10"))
		h.mustRef(h.sw.Digits(h.id[1], 0, "02"))
		ring := h.wantLast(2, "Ring", func(e dntest.Effect) bool { return e.Info.Calling.Number == "1001" && e.Line == 1 })
		h.wantLast(1, "Tone", func(e dntest.Effect) bool { return e.Tone == dn.ToneRingback })
		h.wantPresence(2, dn.PresenceRinging)
		if got := h.appState(1, 1); got != dn.LineRingback {
			t.Errorf("caller state %v, want ringback", got)
		}

		h.mustRef(h.sw.Answer(h.id[2], 1, ring.Call))
		h.wantLast(1, "CallState", func(e dntest.Effect) bool { return e.State == dn.LineConnected })
		h.wantLast(2, "CallState", func(e dntest.Effect) bool { return e.State == dn.LineConnected })
		h.wantPresence(2, dn.PresenceInUse)
		calls, _ := h.sw.Calls()
		if len(calls) != 1 || len(calls[0].Legs) != 2 || calls[0].Legs[1].State != dn.LineConnected {
			t.Fatalf("calls = %+v", calls)
		}

		h.mustRef(h.sw.OnHook(h.id[2], 0))
		h.wantLast(1, "Released", func(e dntest.Effect) bool { return e.Cause == dn.CauseNormal })
		h.wantPresence(1, dn.PresenceIdle)
		h.wantPresence(2, dn.PresenceIdle)
		if calls, _ := h.sw.Calls(); len(calls) != 0 {
			t.Errorf("calls left: %+v", calls)
		}
	})
}

func TestDialingOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		digits    string
		wait      time.Duration
		wantState dn.LineState
		wantTone  dn.Tone
		ringTag   int // ephone expected to ring, 0 none
	}{
		{"no match", "3", 0, dn.LineBusy, dn.ToneReorder, 0},
		{"partial then timeout", "100", 6 * time.Second, dn.LineBusy, dn.ToneReorder, 0},
		{"partial before timeout", "100", 4 * time.Second, dn.LineDialing, dn.ToneNone, 0},
		{"no digits timeout", "", 6 * time.Second, dn.LineBusy, dn.ToneReorder, 0},
		{"ambiguous completes on timeout", "10", 6 * time.Second, dn.LineRingback, dn.ToneRingback, 6},
		{"ambiguous waits", "10", 4 * time.Second, dn.LineDialing, dn.ToneNone, 0},
		{"hash completes", "10#", 0, dn.LineRingback, dn.ToneRingback, 6},
		{"unregistered callee", "1003", 0, dn.LineBusy, dn.ToneReorder, 0},
		{"to SIP pool", "2001", 0, dn.LineRingback, dn.ToneRingback, 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, testConfig(), func(h *harness) {
				h.register(1, 6, 101)
				h.mustRef(h.sw.OffHook(h.id[1], 1))
				if tt.digits != "" {
					h.mustRef(h.sw.Digits(h.id[1], 1, tt.digits))
				}
				time.Sleep(tt.wait)
				synctest.Wait()
				if got := h.appState(1, 1); got != tt.wantState {
					t.Errorf("state = %v, want %v\n%s", got, tt.wantState, h.dev[1].Dump())
				}
				h.wantLast(1, "Tone", func(e dntest.Effect) bool { return e.Tone == tt.wantTone })
				if tt.ringTag != 0 {
					h.wantLast(tt.ringTag, "Ring", nil)
				}
			})
		})
	}
}

func TestRingTimeout(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 2)
		h.call(1, "1002")
		time.Sleep(29 * time.Second)
		synctest.Wait()
		h.wantPresence(2, dn.PresenceRinging)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		h.wantLast(1, "Released", func(e dntest.Effect) bool { return e.Cause == dn.CauseNoAnswer })
		h.wantLast(2, "StopRing", nil)
		h.wantPresence(2, dn.PresenceIdle)
		h.wantPresence(1, dn.PresenceIdle)
	})
}

func TestAnsweredCallIgnoresRingTimer(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 2)
		h.call(1, "1002")
		h.mustRef(h.sw.OffHook(h.id[2], 0)) // lifting a ringing phone answers
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := h.appState(2, 1); got != dn.LineConnected {
			t.Errorf("callee = %v after stale ring timer, want connected", got)
		}
	})
}

func TestLineModes(t *testing.T) {
	tests := []struct {
		callee string
		tag    int
		calls  int // how many callers get through
	}{
		{"1001", 1, 1}, {"1002", 2, 2}, {"1005", 5, 8},
	}
	for _, tt := range tests {
		t.Run(tt.callee, func(t *testing.T) {
			cfg := testConfig()
			for i := 10; i < 20; i++ {
				cfg.EphoneDNs = append(cfg.EphoneDNs, config.EphoneDN{Tag: i, Number: "30" + string(rune('0'+i-10))})
				cfg.Ephones = append(cfg.Ephones, ephone(i, btn(1, i)))
			}
			run(t, cfg, func(h *harness) {
				h.register(tt.tag)
				for i := 10; i < 19; i++ {
					h.register(i)
					h.call(i, tt.callee)
					want := dn.LineRingback
					if i-10 >= tt.calls {
						want = dn.LineBusy
					}
					if got := h.appState(i, 1); got != want {
						t.Fatalf("caller %d: %v, want %v", i-9, got, want)
					}
				}
				h.wantLast(18, "Tone", func(e dntest.Effect) bool { return e.Tone == dn.ToneBusy })
			})
		})
	}
}

func TestSharedLine(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 3, 4)
		h.call(1, "1003")
		r3 := h.wantLast(3, "Ring", func(e dntest.Effect) bool { return e.Line == 1 })
		h.wantLast(4, "Ring", func(e dntest.Effect) bool { return e.Line == 2 })
		if s3, s4 := h.appState(3, 1), h.appState(4, 2); s3 != dn.LineRinging || s4 != dn.LineRinging {
			t.Fatalf("appearances %v %v, want ringing", s3, s4)
		}
		h.mustRef(h.sw.Answer(h.id[4], 2, r3.Call))
		h.wantLast(3, "StopRing", nil)
		h.wantLast(3, "CallState", func(e dntest.Effect) bool { return e.State == dn.LineRemoteInUse })
		if s3, s4 := h.appState(3, 1), h.appState(4, 2); s3 != dn.LineRemoteInUse || s4 != dn.LineConnected {
			t.Fatalf("after answer: %v %v", s3, s4)
		}
		h.wantPresence(3, dn.PresenceInUse)
		h.wantPresence(4, dn.PresenceIdle) // ephone 4's own DN is idle

		// Hold on ephone 4, resume on ephone 3 (docs/cme-behaviour.md §Lines).
		h.mustRef(h.sw.Hold(h.id[4], 2, 0))
		h.wantLast(1, "CallInfo", func(e dntest.Effect) bool { return e.Info.PeerHold })
		if got := h.appState(4, 2); got != dn.LineHold {
			t.Fatalf("held appearance = %v", got)
		}
		h.mustRef(h.sw.Resume(h.id[3], 1, 0))
		if s3, s4 := h.appState(3, 1), h.appState(4, 2); s3 != dn.LineConnected || s4 != dn.LineRemoteInUse {
			t.Fatalf("after resume elsewhere: %v %v", s3, s4)
		}
		h.wantLast(1, "CallInfo", func(e dntest.Effect) bool { return !e.Info.PeerHold })
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantLast(4, "Released", nil)
		if s3, s4 := h.appState(3, 1), h.appState(4, 2); s3 != dn.LineIdle || s4 != dn.LineIdle {
			t.Fatalf("after hang-up: %v %v", s3, s4)
		}
		h.wantPresence(3, dn.PresenceIdle)
	})
}

func TestCallerCancels(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 3, 4)
		h.call(1, "1003")
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantLast(3, "StopRing", nil)
		h.wantLast(4, "StopRing", nil)
		h.wantPresence(3, dn.PresenceIdle)
		if s := h.appState(4, 2); s != dn.LineIdle {
			t.Errorf("shared appearance %v after cancel", s)
		}
	})
}

// TestDND: call-reject DND (`dnd-mode call-reject`, docs/cme-behaviour.md
// §DND) on every ephone.
func TestDND(t *testing.T) {
	cfg := testConfig()
	for i := range cfg.Ephones {
		cfg.Ephones[i].DNDMode = config.DNDModeCallReject
	}
	run(t, cfg, func(h *harness) {
		h.register(1, 2, 3, 4)
		h.must(h.sw.SetDND(h.id[2], true))
		h.wantLast(2, "DND", func(e dntest.Effect) bool { return e.On })
		h.wantPresence(2, dn.PresenceDND)
		h.call(1, "1002")
		if got := h.appState(1, 1); got != dn.LineBusy {
			t.Fatalf("call to DND phone: %v", got)
		}
		h.wantLast(1, "Tone", func(e dntest.Effect) bool { return e.Tone == dn.ToneBusy })
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.must(h.sw.SetDND(h.id[2], false))
		h.wantPresence(2, dn.PresenceIdle)

		// DND while ringing on a shared line stops only that phone; the
		// last ringing phone going DND ends the call.
		h.call(1, "1003")
		h.must(h.sw.SetDND(h.id[3], true))
		h.wantLast(3, "StopRing", nil)
		h.wantPresence(3, dn.PresenceRinging) // ephone 4 still rings, not all DND
		h.must(h.sw.SetDND(h.id[4], true))
		h.wantLast(1, "Released", func(e dntest.Effect) bool { return e.Cause == dn.CauseDND })
		h.wantPresence(3, dn.PresenceDND)
	})
}

func TestSIPDNDNotSignalled(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(101)
		h.must(h.sw.SetDND(h.id[101], true))
		if got := h.presence(dn.VoiceRegisterDN, 1); got != dn.PresenceIdle {
			t.Errorf("SIP DND presence = %v, want idle (cme-cli.md §4.1)", got)
		}
	})
}

func TestUnregisterAndReregister(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 2)
		h.call(1, "1002")
		h.mustRef(h.sw.Answer(h.id[2], 0, 0))
		old := h.id[2]
		h.register(2) // same phone, new session
		h.wantLast(1, "Released", func(e dntest.Effect) bool { return e.Cause == dn.CauseUnregistered })
		if _, err := h.sw.OnHook(old, 0); !errors.Is(err, dn.ErrStaleDevice) {
			t.Errorf("stale session OnHook err = %v", err)
		}
		h.wantPresence(1, dn.PresenceIdle)
		h.must(h.sw.UnregisterDevice(h.id[2]))
		h.wantPresence(2, dn.PresenceUnregistered)
		if ev, _ := h.rec.Device(dn.DeviceName(mac(2))); ev.Registered {
			t.Errorf("device event still registered")
		}
		if _, err := h.sw.RegisterDevice(dn.DeviceInfo{Name: "SEP999999999999"}, &dntest.Device{}); !errors.Is(err, dn.ErrUnknownDevice) {
			t.Errorf("unknown device err = %v", err)
		}
		// Callee unregisters while ringing: the call ends for the caller.
		h.call(1, "1001") // calls itself? no: 1001 is busy (own line)
		h.mustRef(h.sw.OnHook(h.id[1], 0))
	})
}

func TestCalleeUnregistersWhileRinging(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 2)
		h.call(1, "1002")
		h.must(h.sw.UnregisterDevice(h.id[2]))
		h.wantLast(1, "Released", func(e dntest.Effect) bool { return e.Cause == dn.CauseUnavailable })
		h.wantPresence(1, dn.PresenceIdle)
		h.wantPresence(2, dn.PresenceUnregistered)
	})
}

func TestApplyConfig(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 2, 4)
		h.call(1, "1002")
		h.mustRef(h.sw.Answer(h.id[2], 0, 0))

		cfg := testConfig()
		cfg.EphoneDNs[0].AllowWatch = false                 // no allow watch on 1001
		cfg.EphoneDNs = cfg.EphoneDNs[:5]                   // drop dn 6
		cfg.Ephones[3].Buttons = []config.Button{btn(1, 4)} // ephone 4 loses shared dn 3
		h.must(h.sw.Apply(cfg))
		synctest.Wait()
		if ev, _ := h.rec.Line(dn.DNKey{Kind: dn.EphoneDN, Tag: 1}); ev.AllowWatch {
			t.Errorf("allow watch still on after Apply")
		}
		if ev, _ := h.rec.Line(dn.DNKey{Kind: dn.EphoneDN, Tag: 6}); !ev.Removed {
			t.Errorf("dn 6 not removed: %+v", ev)
		}
		h.wantLast(4, "Reset", nil)
		if got := h.appState(1, 1); got != dn.LineConnected {
			t.Errorf("unrelated call disturbed: %v", got)
		}
		// Removing the callee's DN ends the call.
		cfg2 := testConfig()
		cfg2.EphoneDNs = append([]config.EphoneDN{cfg2.EphoneDNs[0]}, cfg2.EphoneDNs[2:]...)
		h.must(h.sw.Apply(cfg2))
		h.wantLast(1, "Released", func(e dntest.Effect) bool { return e.Cause == dn.CauseConfig })
		h.wantPresence(1, dn.PresenceIdle)
	})
}

func TestClosed(t *testing.T) {
	sw := dn.New(testConfig(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sw.Run(ctx); close(done) }()
	cancel()
	<-done
	if _, err := sw.Devices(); !errors.Is(err, dn.ErrClosed) {
		t.Errorf("after stop: %v", err)
	}
}

// TestApplyRefusesUndiallableConfig: a config whose dial plan does not
// compile (config.Validate cannot tell) is refused with the reason, and the
// switch keeps routing with the snapshot it had.
func TestApplyRefusesUndiallableConfig(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 2)
		bad := testConfig()
		bad.EphoneDNs[1].Number = "10[02" // unclosed set
		bad.DialPeers = []config.DialPeer{{Tag: 9, Kind: "voip", DestinationPattern: "9T1"}}
		bad.TranslationRules = []config.TranslationRule{{Tag: 1, Rules: []config.TranslationRuleLine{{Index: 1, Match: "/^(/", Replace: "//"}}}}
		err := h.sw.Apply(bad)
		if err == nil {
			t.Fatal("Apply accepted a config with undiallable numbers")
		}
		for _, want := range []string{"ephone-dn 2 number 10[02", "dial-peer voice 9 destination-pattern 9T1", "voice translation-rule 1"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("refusal %q does not name %q", err, want)
			}
		}
		if dn.CheckConfig(testConfig()) != nil {
			t.Errorf("CheckConfig refuses the good config: %v", dn.CheckConfig(testConfig()))
		}
		// 1002 still rings ephone 2: the old plan is in force.
		h.call(1, "1002")
		h.wantLast(2, "Ring", nil)
	})
}
