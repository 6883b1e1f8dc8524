package sccp_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/sccp"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// mark returns the sequence number of the last message p received.
func mark(p *sccptest.Phone) uint64 {
	ms := p.Messages()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Seq
}

// since returns the messages p received after seq.
func since(p *sccptest.Phone, seq uint64) []msg.Message {
	var out []msg.Message
	for _, r := range p.Messages() {
		if r.Seq > seq {
			out = append(out, r.Msg)
		}
	}
	return out
}

// waitSeen waits (at most 2 s) until p received id after seq: a state the
// test waited for can arrive in an earlier write than the messages queued
// right after it.
func waitSeen(t *testing.T, p *sccptest.Phone, seq uint64, id msg.MessageID) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range since(p, seq) {
			if m.ID() == id {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Errorf("no %v within 2 s", id)
}

func ids(ms []msg.Message) []msg.MessageID {
	out := make([]msg.MessageID, len(ms))
	for i, m := range ms {
		out[i] = m.ID()
	}
	return out
}

// inOrder checks that want appears in got as a subsequence.
func inOrder(t *testing.T, who string, got []msg.Message, want ...any) {
	t.Helper()
	i := 0
	for _, m := range got {
		if i == len(want) {
			break
		}
		switch w := want[i].(type) {
		case msg.MessageID:
			if m.ID() == w {
				i++
			}
		case msg.CallState:
			if cs, ok := m.(*msg.CallStateMsg); ok && cs.State == w {
				i++
			}
		}
	}
	if i < len(want) {
		t.Errorf("%s: missing %v (step %d of %v) in %v", who, want[i], i, want, ids(got))
	}
}

func callState(s sccptest.State) msg.CallState {
	if c := s.Calls[s.ActiveCall]; c != nil {
		return c.State
	}
	return msg.CallIdle
}

func TestBasicCallWithMedia(t *testing.T) {
	e := start(t, officeConfig, nil, sccp.Limits{})
	rtpA, rtpB := netip.MustParseAddrPort("127.0.0.1:20000"), netip.MustParseAddrPort("127.0.0.1:30000")
	a := e.phone(sccptest.Config{Model: "7965", MAC: "000000000004", RTPAddr: rtpA}, true)
	b := e.phone(sccptest.Config{Model: "7960", MAC: "000000000002", RTPAddr: rtpB}, true)
	w := e.phone(sccptest.Config{Model: "7961", MAC: "000000000003"}, true)
	waitState(t, w, "idle", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFIdle })

	ma, mb := mark(a), mark(b)
	if err := a.OffHook(); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, "dial tone", func(s sccptest.State) bool { return s.Tone == msg.ToneInsideDial })
	inOrder(t, "A off-hook", since(a, ma), msg.IDSetLamp, msg.CallOffHook, msg.IDSelectSoftKeys,
		msg.IDDisplayPromptStatus, msg.IDActivateCallPlane, msg.IDStartTone)
	if s := a.State(); s.SoftKeySet != msg.KeySetOffHook || s.Lamps[sccptest.LampKey{Stimulus: msg.ButtonLine, Instance: 1}] != msg.LampOn {
		t.Errorf("A off-hook state: keys %v lamps %v", s.SoftKeySet, s.Lamps)
	}
	if err := a.Dial("1002"); err != nil {
		t.Fatal(err)
	}
	waitState(t, b, "ringing", func(s sccptest.State) bool { return s.Ringer == msg.RingInside })
	waitState(t, a, "ring-back", func(s sccptest.State) bool { return s.Tone == msg.ToneAlerting })
	inOrder(t, "A dialling", since(a, ma), msg.IDStopTone, msg.IDDialedNumber, msg.CallRingOut, msg.IDStartTone)
	inOrder(t, "B alerted", since(b, mb), msg.CallRingIn, msg.IDSelectSoftKeys, msg.IDDisplayPromptStatus,
		msg.IDCallInfo, msg.IDSetLamp, msg.IDSetRinger)
	sb := b.State()
	if c := sb.Calls[sb.ActiveCall]; c == nil || c.CallingParty != "1004" || c.CalledParty != "1002" {
		t.Errorf("B CallInfo %+v", c)
	}
	if sb.Lamps[sccptest.LampKey{Stimulus: msg.ButtonLine, Instance: 1}] != msg.LampBlink {
		t.Errorf("B line lamp %v", sb.Lamps)
	}
	waitState(t, w, "alerting", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFAlerting })

	ma, mb = mark(a), mark(b)
	if err := b.Answer(); err != nil {
		t.Fatal(err)
	}
	// Media: both get OpenReceiveChannel, then StartMediaTransmission to the peer.
	sa := waitState(t, a, "A transmitting", func(s sccptest.State) bool { return len(s.StartMedia) > 0 })
	sb = waitState(t, b, "B transmitting", func(s sccptest.State) bool { return len(s.StartMedia) > 0 })
	if got := sa.StartMedia[0]; got.RemoteAddr != rtpB.Addr() || got.RemotePort != uint32(rtpB.Port()) ||
		got.Codec != msg.CodecG711Ulaw || got.PacketSizeMs != 20 || got.Precedence != 184 {
		t.Errorf("A StartMediaTransmission %+v, want to %v", got, rtpB)
	}
	if got := sb.StartMedia[0]; got.RemoteAddr != rtpA.Addr() || got.RemotePort != uint32(rtpA.Port()) {
		t.Errorf("B StartMediaTransmission to %v:%d, want %v", got.RemoteAddr, got.RemotePort, rtpA)
	}
	if len(sa.OpenReceive) != 1 || len(sb.OpenReceive) != 1 || sa.OpenReceive[0].PassThruPartyID != sa.StartMedia[0].PassThruPartyID {
		t.Errorf("OpenReceiveChannel A %d B %d", len(sa.OpenReceive), len(sb.OpenReceive))
	}
	inOrder(t, "B answers", since(b, mb), msg.IDSetRinger, msg.CallConnected, msg.IDSelectSoftKeys,
		msg.IDOpenReceiveChannel, msg.IDStartMediaTransmission)
	inOrder(t, "A connected", since(a, ma), msg.IDStopTone, msg.CallConnected, msg.IDOpenReceiveChannel,
		msg.IDStartMediaTransmission)
	if callState(sa) != msg.CallConnected || callState(sb) != msg.CallConnected || sb.Ringer != msg.RingOff {
		t.Errorf("after answer: A %v B %v ringer %v", callState(sa), callState(sb), sb.Ringer)
	}
	if sa.SoftKeySet != msg.KeySetConnected {
		t.Errorf("A keys %v", sa.SoftKeySet)
	}
	waitState(t, w, "in use", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFInUse })

	// Hold and resume from A's softkeys.
	ma = mark(a)
	if err := a.PressSoftKey(msg.LabelHold); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, "held", func(s sccptest.State) bool { return callState(s) == msg.CallHold })
	inOrder(t, "A hold", since(a, ma), msg.CallHold)
	waitSeen(t, a, ma, msg.IDStopMediaTransmission)
	inOrder(t, "A hold media", since(a, ma), msg.IDCloseReceiveChannel, msg.IDStopMediaTransmission)
	if s := a.State(); s.SoftKeySet != msg.KeySetOnHold || s.Lamps[sccptest.LampKey{Stimulus: msg.ButtonLine, Instance: 1}] != msg.LampWink {
		t.Errorf("A on hold: keys %v lamps %v", s.SoftKeySet, s.Lamps)
	}
	if err := a.PressSoftKey(msg.LabelResume); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, "resumed", func(s sccptest.State) bool { return callState(s) == msg.CallConnected })
	waitState(t, a, "media again", func(s sccptest.State) bool { return len(s.StartMedia) >= 2 })

	// B hangs up: both torn down, lamps off, watchers idle.
	mb = mark(b)
	if err := b.OnHook(); err != nil {
		t.Fatal(err)
	}
	// The teardown ends with the on-hook softkey set: wait for it, so the
	// order check sees the whole burst even on a loaded machine.
	waitState(t, b, "B on hook", func(s sccptest.State) bool {
		return s.ActiveCall == 0 && s.SoftKeySet == msg.KeySetOnHook
	})
	inOrder(t, "B teardown", since(b, mb), msg.IDCloseReceiveChannel, msg.IDSetLamp, msg.IDClearPromptStatus,
		msg.CallOnHook, msg.IDSelectSoftKeys)
	sb = b.State()
	if sb.Lamps[sccptest.LampKey{Stimulus: msg.ButtonLine, Instance: 1}] != msg.LampOff || sb.SoftKeySet != msg.KeySetOnHook {
		t.Errorf("B after hang-up: lamps %v keys %v", sb.Lamps, sb.SoftKeySet)
	}
	// A stays off-hook on a dead call until it hangs up.
	if err := a.OnHook(); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, "A on hook", func(s sccptest.State) bool { return s.ActiveCall == 0 })
	waitState(t, w, "idle at the end", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFIdle })
	for _, p := range []*sccptest.Phone{a, b, w} {
		for _, r := range p.Messages() {
			if r.Msg.ID() == msg.IDClearDisplay {
				t.Errorf("%s got ClearDisplay", p.DeviceName())
			}
		}
	}
}

// sharedConfig puts DN 1002 on two phones.
const sharedConfig = officeConfig + `ephone 7
 mac-address 0000.0000.0007
 type 7965
 button 1:2
`

func TestSharedLineNoMissedCall(t *testing.T) {
	e := start(t, sharedConfig, nil, sccp.Limits{})
	caller := e.phone(sccptest.Config{Model: "7965", MAC: "000000000004"}, true)
	b1 := e.phone(sccptest.Config{Model: "7960", MAC: "000000000002"}, true)
	b2 := e.phone(sccptest.Config{Model: "7965", MAC: "000000000007"}, true)
	caller.OffHook()
	waitState(t, caller, "dial tone", func(s sccptest.State) bool { return s.Tone == msg.ToneInsideDial })
	caller.Dial("1002")
	waitState(t, b1, "b1 rings", func(s sccptest.State) bool { return callState(s) == msg.CallRingIn })
	waitState(t, b2, "b2 rings", func(s sccptest.State) bool { return callState(s) == msg.CallRingIn })
	m2 := mark(b2)
	b1.Answer()
	waitState(t, b1, "b1 connected", func(s sccptest.State) bool { return callState(s) == msg.CallConnected })
	s2 := waitState(t, b2, "b2 remote in use", func(s sccptest.State) bool {
		for _, c := range s.Calls {
			if c.State == msg.CallRemoteMultiline {
				return true
			}
		}
		return false
	})
	// RingIn → Connected → RemoteMultiline: no missed call on b2 (docs/sccp.md §Missed-calls).
	got := since(b2, m2)
	inOrder(t, "b2", got, msg.CallConnected, msg.CallRemoteMultiline)
	for _, m := range got {
		if cs, ok := m.(*msg.CallStateMsg); ok && cs.State == msg.CallOnHook {
			if i := slices.IndexFunc(got, func(x msg.Message) bool {
				c, ok := x.(*msg.CallStateMsg)
				return ok && c.State == msg.CallConnected
			}); i < 0 {
				t.Errorf("b2 got OnHook without Connected: %v", ids(got))
			}
		}
	}
	if s2.Ringer != msg.RingOff {
		t.Errorf("b2 ringer %v", s2.Ringer)
	}
	b1.OnHook()
	waitState(t, b2, "b2 idle", func(s sccptest.State) bool {
		return s.Lamps[sccptest.LampKey{Stimulus: msg.ButtonLine, Instance: 1}] == msg.LampOff
	})
}

func TestButtonsAndSoftKeys(t *testing.T) {
	e := start(t, officeConfig, nil, sccp.Limits{})
	a := e.phone(sccptest.Config{Model: "7960", MAC: "000000000001"}, true) // speed dial 1 = 1003, BLF 2 = 1002
	b := e.phone(sccptest.Config{Model: "7960", MAC: "000000000002"}, true)
	c := e.phone(sccptest.Config{Model: "7961", MAC: "000000000003"}, true)

	// Pressing the BLF button dials B through the core.
	if err := a.Press(msg.ButtonBLFSpeedDial, 2); err != nil {
		t.Fatal(err)
	}
	waitState(t, b, "B rings from BLF button", func(s sccptest.State) bool { return callState(s) == msg.CallRingIn })
	a.OnHook()
	waitState(t, b, "B idle", func(s sccptest.State) bool { return s.ActiveCall == 0 })
	// Speed dial 1 dials C.
	if err := a.Press(msg.ButtonSpeedDial, 1); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, "C rings from speed dial", func(s sccptest.State) bool { return callState(s) == msg.CallRingIn })
	a.OnHook()
	waitState(t, c, "C idle", func(s sccptest.State) bool { return s.ActiveCall == 0 })
	// Redial repeats the last number (1003).
	if err := a.Press(msg.ButtonRedial, 1); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, "C rings from redial", func(s sccptest.State) bool { return callState(s) == msg.CallRingIn })
	a.OnHook()
	waitState(t, c, "C idle", func(s sccptest.State) bool { return s.ActiveCall == 0 })

	// DND softkey on B: watchers show DND; toggling off returns to idle.
	if err := b.PressSoftKey(0); err == nil {
		t.Fatal("label 0 should not exist")
	}
	if err := b.SoftKey(63, 0, 0); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, "DND lamp", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFDND })
	waitState(t, b, "DND prompt", func(s sccptest.State) bool { return strings.Contains(s.Prompt, "Do Not Disturb") })
	b.SoftKey(63, 0, 0)
	waitState(t, c, "idle lamp", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFIdle })

	// CFwdAll: C forwards to 1002; a call to C rings B; pressing again cancels.
	if err := c.PressSoftKey(msg.LabelCFwdAll); err != nil {
		t.Fatal(err)
	}
	if err := c.Dial("1002#"); err != nil {
		t.Fatal(err)
	}
	s := waitState(t, c, "forward status", func(s sccptest.State) bool { return s.Prompt == msg.Label(msg.LabelYourOptions) })
	_ = s
	ctx := e.ctxT(5e9)
	fs, err := sccptest.Expect[*msg.ForwardStatRes](ctx, c)
	if err != nil || !fs.ForwardAll || fs.ForwardAllNumber != "1002" {
		t.Fatalf("ForwardStatRes %+v, %v", fs, err)
	}
	a.OffHook()
	waitState(t, a, "dial tone", func(s sccptest.State) bool { return s.Tone == msg.ToneInsideDial })
	a.Dial("1003")
	waitState(t, b, "B rings (forwarded)", func(s sccptest.State) bool { return callState(s) == msg.CallRingIn })
	a.OnHook()
	waitState(t, b, "B idle", func(s sccptest.State) bool { return s.ActiveCall == 0 })
	c.PressSoftKey(msg.LabelCFwdAll)
	fs, err = sccptest.Expect[*msg.ForwardStatRes](ctx, c)
	if err != nil || fs.ForwardAll {
		t.Fatalf("ForwardStatRes after cancel %+v, %v", fs, err)
	}
}

func TestTransferSoftKey(t *testing.T) {
	e := start(t, strings.Replace(officeConfig, "ephone-dn 4\n", "ephone-dn 4 dual-line\n", 1), nil, sccp.Limits{})
	a := e.phone(sccptest.Config{Model: "7965", MAC: "000000000004"}, true)
	b := e.phone(sccptest.Config{Model: "7960", MAC: "000000000002"}, true)
	c := e.phone(sccptest.Config{Model: "7961", MAC: "000000000003"}, true)
	a.OffHook()
	waitState(t, a, "dial tone", func(s sccptest.State) bool { return s.Tone == msg.ToneInsideDial })
	a.Dial("1002")
	waitState(t, b, "B rings", func(s sccptest.State) bool { return callState(s) == msg.CallRingIn })
	b.Answer()
	waitState(t, a, "A connected", func(s sccptest.State) bool { return callState(s) == msg.CallConnected })
	if err := a.PressSoftKey(msg.LabelTransfer); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, "consultation dial tone", func(s sccptest.State) bool {
		return callState(s) == msg.CallOffHook && s.Tone == msg.ToneInsideDial
	})
	a.Dial("1003")
	waitState(t, c, "C rings", func(s sccptest.State) bool { return callState(s) == msg.CallRingIn })
	c.Answer()
	waitState(t, a, "consultation connected", func(s sccptest.State) bool { return callState(s) == msg.CallConnected })
	if err := a.PressSoftKey(msg.LabelTransfer); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, "A out of both calls", func(s sccptest.State) bool {
		for _, cl := range s.Calls {
			if cl.State != msg.CallOnHook {
				return false
			}
		}
		return true
	})
	party := func(s sccptest.State, n string) bool {
		c := s.Calls[s.ActiveCall]
		return c != nil && c.State == msg.CallConnected && (c.CallingParty == n || c.CalledParty == n)
	}
	waitState(t, b, "B talks to C", func(s sccptest.State) bool { return party(s, "1003") })
	waitState(t, c, "C talks to B", func(s sccptest.State) bool { return party(s, "1002") })
}
