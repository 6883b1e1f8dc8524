package dn_test

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// trunkConfig is featConfig plus trunks (docs/cme-cli.md §Trunks-and-translation):
//
//	dial-peer 100 voip: 9T to 192.0.2.10:5060, preference 1, outgoing
//	  profile "out9" (strip the 9; calling 100N -> 555100N)
//	dial-peer 101 voip: 9T to 192.0.2.11, preference 2, no translation
//	dial-peer 200 voip: 5.... to 192.0.2.20
//	dial-peer 300 voip: 0T (inbound from the carrier), incoming profile
//	  "did" (called 5551xxx -> 1xxx)
//	dial-peer 400 voip: 7T without a session target (unusable)
//
// ephone-dn 1 has `translation-profile incoming dnin` (a 9 before the
// caller's number), ephone-dn 2 `translation-profile outgoing dnout`
// (calling 1002 -> 5550002).
func trunkConfig(mod func(d map[int]*config.EphoneDN, c *config.Config)) *config.Config {
	return featConfig(func(d map[int]*config.EphoneDN, c *config.Config) {
		addTrunks(c)
		d[1].TranslationProfileIn = "dnin"
		d[2].TranslationProfileOut = "dnout"
		if mod != nil {
			mod(d, c)
		}
	})
}

// addTrunks adds trunkConfig's dial-peers and translation profiles.
func addTrunks(c *config.Config) {
	{
		c.DialPeers = []config.DialPeer{
			{Tag: 100, Kind: "voip", DestinationPattern: "9T", SessionProtocol: "sipv2",
				SessionTarget: "ipv4:192.0.2.10:5060", Preference: 1, TranslationProfileOut: "out9"},
			{Tag: 101, Kind: "voip", DestinationPattern: "9T", SessionTarget: "ipv4:192.0.2.11", Preference: 2},
			{Tag: 200, Kind: "voip", DestinationPattern: "5....", SessionTarget: "ipv4:192.0.2.20"},
			{Tag: 300, Kind: "voip", DestinationPattern: "0T", SessionTarget: "ipv4:192.0.2.30",
				TranslationProfileIn: "did"},
			{Tag: 400, Kind: "voip", DestinationPattern: "7T"},
		}
		c.TranslationRules = []config.TranslationRule{
			{Tag: 1, Rules: []config.TranslationRuleLine{{Index: 1, Match: "^9", Replace: ""}}},
			{Tag: 2, Rules: []config.TranslationRuleLine{{Index: 1, Match: "^", Replace: "9"}}},
			{Tag: 3, Rules: []config.TranslationRuleLine{{Index: 1, Match: `^5551\(...\)$`, Replace: `1\1`}}},
			{Tag: 4, Rules: []config.TranslationRuleLine{{Index: 1, Match: `^100\(.\)$`, Replace: `555100\1`}}},
			{Tag: 5, Rules: []config.TranslationRuleLine{{Index: 1, Match: `^1002$`, Replace: `5550002`}}},
		}
		c.TranslationProfiles = []config.TranslationProfile{
			{Name: "did", Called: 3}, {Name: "dnin", Calling: 2}, {Name: "dnout", Calling: 5},
			{Name: "out9", Called: 1, Calling: 4},
		}
	}
}

type trunkHarness struct {
	*harness
	tr *dntest.Trunk
}

func runTrunk(t *testing.T, cfg *config.Config, body func(h *trunkHarness)) {
	t.Helper()
	tr := &dntest.Trunk{}
	runOpts(t, cfg, dn.Options{Trunk: tr}, func(h *harness) { body(&trunkHarness{h, tr}) })
}

// lastDial waits for the switch and returns the latest Dial.
func (h *trunkHarness) lastDial() dn.TrunkCall {
	h.t.Helper()
	synctest.Wait()
	e, ok := h.tr.Last("Dial", 0)
	if !ok {
		h.t.Fatalf("no Dial; trunk:\n%s\nphone 1:\n%s", h.tr.Dump(), h.dev[1].Dump())
	}
	return e.Call
}

func (h *trunkHarness) wantTrunk(kind string, id dn.CallID, check func(dntest.TrunkEvent) bool) dntest.TrunkEvent {
	h.t.Helper()
	synctest.Wait()
	e, ok := h.tr.Last(kind, id)
	if !ok || (check != nil && !check(e)) {
		h.t.Fatalf("trunk: last %s for %d = %v (found %v); events:\n%s", kind, id, e, ok, h.tr.Dump())
	}
	return e
}

func (h *trunkHarness) countTrunk(kind string) int {
	n := 0
	for _, e := range h.tr.Events() {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func (h *trunkHarness) wantNoTrunkCalls() {
	h.t.Helper()
	synctest.Wait()
	if live := h.tr.Live(); len(live) != 0 {
		h.t.Errorf("trunk calls left open: %v\n%s", live, h.tr.Dump())
	}
}

func tone(t dn.Tone) func(dntest.Effect) bool {
	return func(e dntest.Effect) bool { return e.Tone == t }
}

func state(s dn.LineState) func(dntest.Effect) bool {
	return func(e dntest.Effect) bool { return e.State == s }
}

func TestTrunkOutboundAnswered(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(1)
		h.call(1, "95551234#")
		dial := h.lastDial()
		call := h.wantLast(1, "CallState", state(dn.LineRingback)).Call
		want := dn.TrunkCall{ID: dial.ID, Call: call, Peer: 100, Target: "ipv4:192.0.2.10:5060", Called: "5551234",
			Calling: dn.Party{Number: "5551001"}, Media: dn.MediaParams{Codec: dn.PCMU, PacketMs: 20},
			Offer: h.dev[1].RxAddr(call)}
		if !want.Offer.IsValid() || dial != want {
			t.Fatalf("Dial = %+v\nwant   %+v", dial, want)
		}
		if dial.ID == call {
			t.Errorf("trunk attempt id equals the phone's call id %d", call)
		}
		h.wantPresence(1, dn.PresenceInUse)

		h.must(h.sw.TrunkProgress(dial.ID, true, netip.AddrPort{}))
		synctest.Wait()
		h.wantLast(1, "Tone", tone(dn.ToneRingback))

		remote := h.tr.RemoteAddr()
		time.Sleep(3 * time.Second)
		h.must(h.tr.Answer(h.sw, dial.ID, remote))
		synctest.Wait()
		h.wantLast(1, "CallState", state(dn.LineConnected))
		h.wantLast(1, "Tone", tone(dn.ToneNone))
		h.wantLast(1, "StartMedia", func(e dntest.Effect) bool { return e.Addr == remote && e.Call == call })
		calls, _ := h.sw.Calls()
		if len(calls) != 1 || len(calls[0].Legs) != 2 || calls[0].Legs[1].Trunk != dial.ID ||
			calls[0].Legs[1].DialPeer != 100 || calls[0].Legs[1].State != dn.LineConnected {
			t.Fatalf("calls = %+v", calls)
		}
		if n := h.countTrunk("UpdateMedia"); n != 0 {
			t.Errorf("UpdateMedia sent %d times without a media change", n)
		}

		time.Sleep(5 * time.Second)
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantTrunk("Hangup", dial.ID, func(e dntest.TrunkEvent) bool { return e.Cause == dn.CauseNormal })
		h.wantNoStuck(1)
		h.wantNoTrunkCalls()
		h.wantPresence(1, dn.PresenceIdle)
		p := h.recs.Of(devName(1), dn.RecordPlaced)
		if len(p) != 1 || p[0].Number != "95551234" || p[0].Duration != 5*time.Second {
			t.Errorf("placed = %+v", p)
		}
		if err := h.sw.TrunkHangup(dial.ID); !errors.Is(err, dn.ErrNoCall) {
			t.Errorf("report on a dead id: %v, want ErrNoCall", err)
		}
	})
}

func TestTrunkOutboundHuntsOnBusy(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(1)
		h.call(1, "95551234#")
		first := h.lastDial()
		h.must(h.sw.TrunkProgress(first.ID, true, netip.AddrPort{}))
		h.must(h.tr.Fail(h.sw, first.ID, dn.CauseBusy))
		second := h.lastDial()
		if second.ID == first.ID || second.Peer != 101 || second.Target != "ipv4:192.0.2.11" ||
			second.Called != "95551234" || second.Calling.Number != "1001" || second.Offer != first.Offer {
			t.Fatalf("second attempt = %+v (first %+v)", second, first)
		}
		if got := h.appState(1, 1); got != dn.LineRingback {
			t.Errorf("caller state while hunting %v, want ringback", got)
		}
		// A late report on the first attempt is refused.
		if err := h.sw.TrunkAnswered(first.ID, h.tr.RemoteAddr()); !errors.Is(err, dn.ErrNoCall) {
			t.Errorf("answer on a failed attempt: %v", err)
		}
		// All peers busy: busy tone, media closed, the line stays busy
		// until on-hook.
		h.must(h.tr.Fail(h.sw, second.ID, dn.CauseBusy))
		synctest.Wait()
		h.wantLast(1, "CallState", state(dn.LineBusy))
		h.wantLast(1, "Tone", tone(dn.ToneBusy))
		h.wantLast(1, "StopMedia", nil)
		if n := len(h.tr.Dials()); n != 2 {
			t.Errorf("%d dials, want 2", n)
		}
		h.wantPresence(1, dn.PresenceInUse)
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantNoStuck(1)
		h.wantNoTrunkCalls()
		if n := h.countTrunk("Hangup"); n != 0 {
			t.Errorf("Hangup sent for attempts the trunk already ended: %d", n)
		}
	})
}

func TestTrunkOutboundUnassignedReorder(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(1)
		h.call(1, "95550000#")
		d := h.lastDial()
		h.must(h.tr.Fail(h.sw, d.ID, dn.CauseUnassigned))
		synctest.Wait()
		h.wantLast(1, "Tone", tone(dn.ToneReorder))
		h.wantLast(1, "CallState", state(dn.LineBusy))
		if n := len(h.tr.Dials()); n != 1 {
			t.Errorf("404 hunted on: %d dials", n)
		}
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantNoStuck(1)
		h.wantNoTrunkCalls()
	})
}

func TestTrunkNotRouted(t *testing.T) {
	for _, tt := range []struct {
		name   string
		trunk  bool
		digits string
	}{
		{"no trunk", false, "51234"},
		{"no session target", true, "7123#"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := &dntest.Trunk{}
			o := dn.Options{}
			if tt.trunk {
				o.Trunk = tr
			}
			runOpts(t, trunkConfig(nil), o, func(h *harness) {
				h.register(1)
				h.call(1, tt.digits)
				synctest.Wait()
				h.wantLast(1, "Tone", tone(dn.ToneReorder))
				if len(tr.Events()) != 0 {
					t.Errorf("trunk used: %s", tr.Dump())
				}
			})
		})
	}
}

func TestTrunkOutboundEarlyMediaAndRemoteHangup(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(2)
		h.call(2, "51234")
		d := h.lastDial()
		// DN 2's outgoing profile rewrote the calling number; dial-peer
		// 200 has none.
		if d.Peer != 200 || d.Called != "51234" || d.Calling.Number != "5550002" {
			t.Fatalf("Dial = %+v", d)
		}
		call := h.wantLast(2, "CallState", state(dn.LineRingback)).Call
		early := h.tr.RemoteAddr()
		h.must(h.sw.TrunkProgress(d.ID, false, early))
		synctest.Wait()
		h.wantLast(2, "StartMedia", func(e dntest.Effect) bool { return e.Addr == early })
		if _, ok := h.dev[2].Last("Tone"); ok {
			if e, _ := h.dev[2].Last("Tone"); e.Tone == dn.ToneRingback {
				t.Errorf("local ringback despite early media")
			}
		}
		h.must(h.tr.Answer(h.sw, d.ID, netip.AddrPort{})) // 200 OK keeps the early SDP
		h.must(h.tr.HangupRemote(h.sw, d.ID))
		synctest.Wait()
		h.wantLast(2, "Released", func(e dntest.Effect) bool { return e.Call == call && e.Cause == dn.CauseNormal })
		h.wantNoStuck(2)
		h.wantNoTrunkCalls()
		if n := h.countTrunk("Hangup"); n != 0 {
			t.Errorf("Hangup echoed to the trunk that hung up")
		}
	})
}

func TestTrunkOutboundCallerCancels(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(1)
		h.call(1, "95551234#")
		d := h.lastDial()
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantTrunk("Hangup", d.ID, func(e dntest.TrunkEvent) bool { return e.Cause == dn.CauseNormal })
		h.wantNoStuck(1)
		h.wantNoTrunkCalls()
	})
}

// A phone that never reports its receive address still gets its call
// dialled after TrunkMediaWait; the address follows with UpdateMedia.
func TestTrunkDialWithoutMedia(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		d := &dntest.Device{} // no AutoMedia
		id, err := h.sw.RegisterDevice(dn.DeviceInfo{Name: devName(1), Protocol: dn.SCCP}, d)
		h.must(err)
		h.mustRef(h.sw.OffHook(id, 0))
		h.mustRef(h.sw.Digits(id, 0, "95551234#"))
		synctest.Wait()
		if n := len(h.tr.Dials()); n != 0 {
			t.Fatalf("dialled before the media wait")
		}
		time.Sleep(dn.TrunkMediaWait)
		synctest.Wait()
		dials := h.tr.Dials()
		if len(dials) != 1 || dials[0].Offer.IsValid() {
			t.Fatalf("dials = %+v", dials)
		}
		open, _ := d.Last("OpenMedia")
		late := netip.MustParseAddrPort("10.0.0.1:24000")
		h.must(h.sw.MediaReady(id, 0, open.Call, late))
		h.wantTrunk("UpdateMedia", dials[0].ID, func(e dntest.TrunkEvent) bool { return e.Addr == late })
		h.mustRef(h.sw.OnHook(id, 0))
		h.wantTrunk("Hangup", dials[0].ID, nil)
	})
}

func TestTrunkHoldStreamsMOHToTrunk(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(1)
		h.call(1, "95551234#")
		d := h.lastDial()
		call := h.wantLast(1, "CallState", state(dn.LineRingback)).Call
		remote := h.tr.RemoteAddr()
		h.must(h.tr.Answer(h.sw, d.ID, remote))
		synctest.Wait()

		h.mustRef(h.sw.Hold(h.id[1], 0, call))
		synctest.Wait()
		moh := h.media.Active("MOH")
		if len(moh) != 1 || moh[0].Dest != remote {
			t.Fatalf("MOH = %+v, want one stream to the trunk's %v", moh, remote)
		}
		h.wantTrunk("UpdateMedia", d.ID, func(e dntest.TrunkEvent) bool { return !e.Addr.IsValid() })

		// The far end moves its media while held: MOH follows.
		moved := h.tr.RemoteAddr()
		h.must(h.sw.TrunkMedia(d.ID, moved))
		synctest.Wait()
		if moh := h.media.Active("MOH"); len(moh) != 1 || moh[0].Dest != moved {
			t.Fatalf("MOH after re-INVITE = %+v, want one to %v", moh, moved)
		}

		h.mustRef(h.sw.Resume(h.id[1], 0, call))
		synctest.Wait()
		if n := len(h.media.Active("MOH")); n != 0 {
			t.Errorf("MOH still running after resume")
		}
		rx := h.dev[1].RxAddr(call)
		h.wantTrunk("UpdateMedia", d.ID, func(e dntest.TrunkEvent) bool { return e.Addr == rx })
		h.wantLast(1, "StartMedia", func(e dntest.Effect) bool { return e.Addr == moved })
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantNoStuck(1)
		h.wantNoTrunkCalls()
	})
}

func TestTrunkIncomingAnswered(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(1)
		remote := h.tr.RemoteAddr()
		id, err := h.tr.Incoming(h.sw, dn.InboundCall{Calling: dn.Party{Number: "4085550100", Name: "Carrier"},
			Called: "5551001", DialPeer: 300, Remote: remote})
		h.must(err)
		h.wantTrunk("Ringing", id, nil)
		// Dial-peer 300's profile turned 5551001 into 1001; DN 1's put a
		// 9 before the caller.
		ring := h.wantLast(1, "Ring", func(e dntest.Effect) bool {
			return e.Info.Calling.Number == "94085550100" && e.Info.Calling.Name == "Carrier" && e.Info.Called.Number == "1001"
		})
		if ring.Call != id {
			t.Errorf("phone sees call %d, trunk %d", ring.Call, id)
		}
		h.wantPresence(1, dn.PresenceRinging)
		time.Sleep(2 * time.Second)
		h.mustRef(h.sw.Answer(h.id[1], 0, id))
		synctest.Wait()
		rx := h.dev[1].RxAddr(id)
		h.wantTrunk("Answered", id, func(e dntest.TrunkEvent) bool { return rx.IsValid() && e.Addr == rx })
		h.wantLast(1, "StartMedia", func(e dntest.Effect) bool { return e.Addr == remote })
		h.wantPresence(1, dn.PresenceInUse)
		if n := h.countTrunk("Ringing"); n != 1 {
			t.Errorf("Ringing sent %d times", n)
		}
		time.Sleep(4 * time.Second)
		h.must(h.tr.HangupRemote(h.sw, id))
		synctest.Wait()
		h.wantLast(1, "Released", func(e dntest.Effect) bool { return e.Cause == dn.CauseNormal })
		h.wantNoStuck(1)
		h.wantNoTrunkCalls()
		r := h.recs.Of(devName(1), dn.RecordReceived)
		if len(r) != 1 || r[0].Number != "94085550100" || r[0].Name != "Carrier" || r[0].Duration != 4*time.Second {
			t.Errorf("received = %+v", r)
		}
	})
}

func TestTrunkIncomingPhoneHangsUp(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(3)
		// No DialPeer given: 0T matches the calling number, so dial-peer
		// 300's incoming profile applies.
		id, err := h.tr.Incoming(h.sw, dn.InboundCall{Calling: dn.Party{Number: "0612345"}, Called: "5551003",
			Remote: h.tr.RemoteAddr()})
		h.must(err)
		h.mustRef(h.sw.Answer(h.id[3], 0, 0))
		h.wantTrunk("Answered", id, nil)
		h.mustRef(h.sw.OnHook(h.id[3], 0))
		h.wantTrunk("Hangup", id, func(e dntest.TrunkEvent) bool { return e.Cause == dn.CauseNormal })
		h.wantNoStuck(3)
		h.wantNoTrunkCalls()
	})
}

func TestTrunkIncomingForwardNoAnswer(t *testing.T) {
	cfg := trunkConfig(func(d map[int]*config.EphoneDN, _ *config.Config) {
		d[5].CallForward.NoAnswer, d[5].CallForward.NoAnswerTimeout = "1006", 8
	})
	runTrunk(t, cfg, func(h *trunkHarness) {
		h.register(5, 6)
		id, err := h.tr.Incoming(h.sw, dn.InboundCall{Calling: dn.Party{Number: "4085550100"}, Called: "1005",
			Remote: h.tr.RemoteAddr()})
		h.must(err)
		h.wantLast(5, "Ring", nil)
		time.Sleep(9 * time.Second)
		synctest.Wait()
		h.wantLast(5, "Released", func(e dntest.Effect) bool { return e.Cause == dn.CauseForwarded })
		ring := h.wantLast(6, "Ring", func(e dntest.Effect) bool {
			return e.Info.Calling.Number == "4085550100" && e.Info.Redirecting.Number == "1005"
		})
		m := h.recs.Of(devName(5), dn.RecordMissed)
		if len(m) != 1 || m[0].Number != "4085550100" {
			t.Errorf("missed on 5 = %+v", m)
		}
		h.mustRef(h.sw.Answer(h.id[6], 0, ring.Call))
		h.wantTrunk("Answered", id, func(e dntest.TrunkEvent) bool { return e.Addr == h.dev[6].RxAddr(id) })
		if n := h.countTrunk("Ringing"); n != 1 {
			t.Errorf("Ringing sent %d times", n)
		}
		h.must(h.tr.HangupRemote(h.sw, id))
		h.wantNoStuck(5, 6)
		h.wantNoTrunkCalls()
	})
}

func TestTrunkIncomingRejected(t *testing.T) {
	for _, tt := range []struct {
		name   string
		called string
		dnd    bool
		want   dn.Cause
	}{
		{"dnd", "1001", true, dn.CauseDND},
		{"unassigned", "1999", false, dn.CauseUnassigned},
		{"unregistered", "1004", false, dn.CauseUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// DND rejects in call-reject mode (docs/cme-behaviour.md §DND);
			// CME's DND shows the call instead.
			mod := func(_ map[int]*config.EphoneDN, c *config.Config) { c.Ephones[0].DNDMode = config.DNDModeCallReject }
			runTrunk(t, trunkConfig(mod), func(h *trunkHarness) {
				h.register(1)
				if tt.dnd {
					h.must(h.sw.SetDND(h.id[1], true))
				}
				_, err := h.tr.Incoming(h.sw, dn.InboundCall{Calling: dn.Party{Number: "4085550100"},
					Called: tt.called, Remote: h.tr.RemoteAddr()})
				var rej *dn.RejectError
				if !errors.As(err, &rej) || rej.Cause != tt.want {
					t.Fatalf("TrunkIncoming error %v, want reject %v", err, tt.want)
				}
				synctest.Wait()
				if calls, _ := h.sw.Calls(); len(calls) != 0 {
					t.Errorf("calls left: %+v", calls)
				}
				if ev := h.tr.Events(); len(ev) != 0 {
					t.Errorf("trunk told about a rejected call:\n%s", h.tr.Dump())
				}
				if m := h.recs.All(); len(m) != 0 {
					t.Errorf("records for a rejected call: %+v", m)
				}
				h.wantNoTrunkCalls()
			})
		})
	}
}

func TestTrunkIncomingNoAnswer(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(3, 4)
		id, err := h.tr.Incoming(h.sw, dn.InboundCall{Calling: dn.Party{Number: "4085550100"}, Called: "1003"})
		h.must(err)
		time.Sleep(31 * time.Second)
		h.wantTrunk("Hangup", id, func(e dntest.TrunkEvent) bool { return e.Cause == dn.CauseNoAnswer })
		for _, tag := range []int{3, 4} {
			if m := h.recs.Of(devName(tag), dn.RecordMissed); len(m) != 1 || m[0].Number != "4085550100" {
				t.Errorf("missed on %d = %+v", tag, m)
			}
		}
		h.wantNoStuck(3, 4)
		h.wantNoTrunkCalls()
	})
}

func TestTrunkIncomingPhoneUnregisters(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(1)
		id, err := h.tr.Incoming(h.sw, dn.InboundCall{Calling: dn.Party{Number: "4085550100"}, Called: "1001",
			Remote: h.tr.RemoteAddr()})
		h.must(err)
		h.mustRef(h.sw.Answer(h.id[1], 0, id))
		h.must(h.sw.UnregisterDevice(h.id[1]))
		h.wantTrunk("Hangup", id, func(e dntest.TrunkEvent) bool { return e.Cause == dn.CauseUnregistered })
		h.wantNoTrunkCalls()
	})
}

func TestTrunkIncomingEcho(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		id, err := h.tr.Incoming(h.sw, dn.InboundCall{Calling: dn.Party{Number: "4085550100"}, Called: "*43",
			Remote: h.tr.RemoteAddr()})
		h.must(err)
		synctest.Wait()
		echo := h.media.Active("Echo")
		if len(echo) != 1 {
			t.Fatalf("echo streams %+v", echo)
		}
		h.wantTrunk("Answered", id, func(e dntest.TrunkEvent) bool { return e.Addr == echo[0].Addr })
		h.must(h.tr.HangupRemote(h.sw, id))
		synctest.Wait()
		if n := len(h.media.Active("Echo")); n != 0 {
			t.Errorf("echo still running")
		}
		h.wantNoTrunkCalls()
	})
}

func TestTrunkIncomingIDs(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(1, 2)
		in := dn.InboundCall{ID: h.sw.NewCallID() + 100, Calling: dn.Party{Number: "1"}, Called: "1001"}
		if _, err := h.sw.TrunkIncoming(in); !errors.Is(err, dn.ErrBadCallID) {
			t.Errorf("unreserved id: %v, want ErrBadCallID", err)
		}
		in.ID = h.sw.NewCallID()
		id, err := h.sw.TrunkIncoming(in)
		h.must(err)
		if id != in.ID {
			t.Errorf("id %d, want the reserved %d", id, in.ID)
		}
		if _, err := h.sw.TrunkIncoming(in); !errors.Is(err, dn.ErrBadCallID) {
			t.Errorf("id in use: %v, want ErrBadCallID", err)
		}
		// Local call ids never collide with reserved ones.
		h.call(2, "1001")
		calls, _ := h.sw.Calls()
		if len(calls) != 2 || calls[0].ID == calls[1].ID {
			t.Errorf("calls = %+v", calls)
		}
		h.must(h.sw.TrunkHangup(id))
	})
}

func TestTrunkIncomingWithoutTrunk(t *testing.T) {
	run(t, trunkConfig(nil), func(h *harness) {
		if _, err := h.sw.TrunkIncoming(dn.InboundCall{Called: "1001"}); !errors.Is(err, dn.ErrNoTrunk) {
			t.Errorf("err = %v, want ErrNoTrunk", err)
		}
	})
}

func TestTrunkIncomingConsultTransfer(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(1, 2)
		remote := h.tr.RemoteAddr()
		id, err := h.tr.Incoming(h.sw, dn.InboundCall{Calling: dn.Party{Number: "4085550100"}, Called: "1001",
			Remote: remote})
		h.must(err)
		h.mustRef(h.sw.Answer(h.id[1], 0, id))
		synctest.Wait()
		xfer, err := h.sw.StartTransfer(h.id[1], 0, id)
		h.must(err)
		consult := xfer.Consult.ID
		synctest.Wait()
		if moh := h.media.Active("MOH"); len(moh) != 1 || moh[0].Dest != remote {
			t.Fatalf("MOH = %+v, want one to the trunk", moh)
		}
		h.mustRef(h.sw.Digits(h.id[1], 0, "1002"))
		h.mustRef(h.sw.Answer(h.id[2], 0, 0))
		h.must(h.sw.CompleteTransfer(h.id[1], id, consult))
		synctest.Wait()
		rx2 := h.dev[2].RxAddr(consult)
		h.wantTrunk("UpdateMedia", id, func(e dntest.TrunkEvent) bool { return rx2.IsValid() && e.Addr == rx2 })
		h.wantLast(2, "StartMedia", func(e dntest.Effect) bool { return e.Addr == remote })
		h.wantLast(2, "CallInfo", func(e dntest.Effect) bool { return e.Info.Calling.Number == "4085550100" })
		if n := len(h.media.Active("MOH")); n != 0 {
			t.Errorf("MOH left running")
		}
		h.must(h.tr.HangupRemote(h.sw, id))
		h.wantNoStuck(1, 2)
		h.wantNoTrunkCalls()
	})
}

func TestTrunkBlindTransferOut(t *testing.T) {
	runTrunk(t, trunkConfig(nil), func(h *trunkHarness) {
		h.register(1, 2)
		c := h.connect(1, 2)
		h.must(h.sw.BlindTransfer(h.id[2], c, "95551234"))
		d := h.lastDial()
		if d.Peer != 100 || d.Called != "5551234" || d.Calling.Number != "5551001" || d.Offer != h.dev[1].RxAddr(c) {
			t.Fatalf("Dial = %+v (ephone 1 rx %v)", d, h.dev[1].RxAddr(c))
		}
		h.wantLast(1, "CallState", state(dn.LineRingback))
		remote := h.tr.RemoteAddr()
		h.must(h.tr.Answer(h.sw, d.ID, remote))
		synctest.Wait()
		h.wantLast(1, "CallState", state(dn.LineConnected))
		h.wantLast(1, "StartMedia", func(e dntest.Effect) bool { return e.Addr == remote })
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantTrunk("Hangup", d.ID, nil)
		h.wantNoStuck(1, 2)
		h.wantNoTrunkCalls()
	})
}

func TestTrunkForwardAllOut(t *testing.T) {
	cfg := trunkConfig(func(d map[int]*config.EphoneDN, _ *config.Config) { d[3].CallForward.All = "95551234" })
	runTrunk(t, cfg, func(h *trunkHarness) {
		h.register(1, 3)
		h.call(1, "1003")
		d := h.lastDial()
		if d.Called != "5551234" || d.Calling.Number != "5551001" {
			t.Fatalf("Dial = %+v", d)
		}
		h.wantLast(1, "CallInfo", func(e dntest.Effect) bool { return e.Info.Redirecting.Number == "1003" })
		if _, ok := h.dev[3].Last("Ring"); ok {
			t.Errorf("forwarded-all DN rang")
		}
		h.must(h.tr.Fail(h.sw, d.ID, dn.CauseUnavailable))
		second := h.lastDial()
		h.must(h.tr.Fail(h.sw, second.ID, dn.CauseUnavailable))
		synctest.Wait()
		h.wantLast(1, "Tone", tone(dn.ToneReorder))
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantNoStuck(1, 3)
		h.wantNoTrunkCalls()
	})
}

func TestTrunkHuntSkipsRemovedPeer(t *testing.T) {
	cfg := trunkConfig(nil)
	runTrunk(t, cfg, func(h *trunkHarness) {
		h.register(1)
		h.call(1, "95551234#")
		d := h.lastDial()
		next := trunkConfig(nil)
		next.DialPeers = slices.DeleteFunc(next.DialPeers, func(p config.DialPeer) bool { return p.Tag == 101 })
		h.must(h.sw.Apply(next))
		h.must(h.tr.Fail(h.sw, d.ID, dn.CauseBusy))
		synctest.Wait()
		h.wantLast(1, "Tone", tone(dn.ToneBusy))
		if n := len(h.tr.Dials()); n != 1 {
			t.Errorf("hunted to a removed dial-peer: %s", h.tr.Dump())
		}
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantNoStuck(1)
	})
}
