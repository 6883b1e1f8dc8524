package sip

import (
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
)

// count is how many requests of method the UA has received and not taken.
func (u *rawUA) count(method string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, m := range u.inbox {
		if r, ok := m.(*sip.Request); ok && string(r.Method) == method {
			n++
		}
	}
	return n
}

// TestCallCalleeRefuses: the callee phone's final response reaches the
// caller at once with the matching code (causeStatus/statusCause), cmed
// ACKs the callee, and both lines are idle afterwards.
func TestCallCalleeRefuses(t *testing.T) {
	for _, tc := range []struct{ callee, caller int }{
		{486, 486}, {600, 486}, {603, 603}, {404, 404}, {480, 480}, {408, 408},
	} {
		t.Run(fmt.Sprint(tc.callee), func(t *testing.T) {
			r := newRig(t, twoPhones, nil)
			a, b := newRawUA(t, r.addr()), newRawUA(t, r.addr())
			register(t, r, a, "2101", 600, 1, "")
			register(t, r, b, "2102", 600, 1, "")
			a.sendBody("INVITE", "sip:2102@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=ra", "<sip:2102@127.0.0.1>", "call-r", 10,
				sdpAt(40020), "Contact: <sip:2101@"+a.addr()+">")
			inv := b.waitRequest("INVITE")
			b.reply(inv, 180, "rb", "")
			eventually(t, 2*time.Second, "2102 ringing", func() bool { return r.eng.State("2102") == blf.StateAlerting })
			b.reply(inv, tc.callee, "rb", "")
			if res := a.response("INVITE", 10); res.StatusCode != tc.caller {
				t.Errorf("callee %d: caller got %d, want %d", tc.callee, res.StatusCode, tc.caller)
			}
			if ack := b.waitRequest("ACK"); ack.CSeq().SeqNo != inv.CSeq().SeqNo {
				t.Errorf("ACK CSeq %d, INVITE %d", ack.CSeq().SeqNo, inv.CSeq().SeqNo)
			}
			eventually(t, 2*time.Second, "both idle", func() bool {
				return r.eng.State("2101") == blf.StateIdle && r.eng.State("2102") == blf.StateIdle
			})
			if calls, _ := r.sw.Calls(); len(calls) != 0 {
				t.Errorf("calls left: %+v", calls)
			}
		})
	}
}

// TestCallNoByeAfterPhoneBye: the phone that hangs up gets 200 for its BYE
// and nothing else on that dialog (RFC 3261 §15.1.2); the other phone gets
// cmed's BYE.
func TestCallNoByeAfterPhoneBye(t *testing.T) {
	r := newRig(t, twoPhones, nil)
	a, b := newRawUA(t, r.addr()), newRawUA(t, r.addr())
	register(t, r, a, "2101", 600, 1, "")
	register(t, r, b, "2102", 600, 1, "")
	a.sendBody("INVITE", "sip:2102@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=ba", "<sip:2102@127.0.0.1>", "call-b", 10,
		sdpAt(40030), "Contact: <sip:2101@"+a.addr()+">")
	inv := b.waitRequest("INVITE")
	b.reply(inv, 200, "bb", sdpAt(40032), "Contact: <sip:2102@"+b.addr()+">")
	b.waitRequest("ACK")
	res := a.response("INVITE", 10)
	if res.StatusCode != 200 {
		t.Fatalf("caller got %d", res.StatusCode)
	}
	toTag := tagOf(res.To().Params)
	a.send("ACK", "sip:2102@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=ba", "<sip:2102@127.0.0.1>;tag="+toTag, "call-b", 10)
	eventually(t, 2*time.Second, "both in use", func() bool {
		return r.eng.State("2101") == blf.StateInUse && r.eng.State("2102") == blf.StateInUse
	})

	a.send("BYE", "sip:2102@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=ba", "<sip:2102@127.0.0.1>;tag="+toTag, "call-b", 11)
	if res := a.response("BYE", 11); res.StatusCode != 200 {
		t.Fatalf("BYE: %d", res.StatusCode)
	}
	bye := b.waitRequest("BYE")
	b.reply(bye, 200, "", "")
	// The caller's leg is dropped once its goroutine has handled the
	// release; a BYE of cmed's would have been written before that.
	eventually(t, 3*time.Second, "caller leg gone", func() bool {
		l, _ := r.srv.reg.legByCallID("call-b")
		return l == nil
	})
	// A request/response round trip on the same socket pair flushes
	// anything cmed sent before.
	a.send("OPTIONS", "sip:127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=bo", "<sip:127.0.0.1>", "opt-b", 1)
	a.response("OPTIONS", 1)
	if n := a.count("BYE"); n != 0 {
		t.Errorf("cmed sent %d BYE(s) on the dialog the phone ended", n)
	}
}

// TestCallSCCPCallerHearsBusy: an SCCP phone calls a SIP phone that
// answers 486: the SCCP phone gets a failed call with busy tone (as for a
// busy number, dn place) at once, not ringback until `timeouts ringing`;
// the SIP line is idle again.
func TestCallSCCPCallerHearsBusy(t *testing.T) {
	for _, tc := range []struct {
		code int
		tone dn.Tone
	}{{486, dn.ToneBusy}, {603, dn.ToneBusy}, {404, dn.ToneReorder}} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			r := newRig(t, twoPhones+`
ephone-dn 1
 number 2001
ephone 1
 mac-address 0011.2233.4401
 type 7960
 button 1:1
`, nil)
			b := newRawUA(t, r.addr())
			register(t, r, b, "2102", 600, 1, "")
			sccp, dev := registerEphone(t, r, "0011.2233.4401")
			if _, err := r.sw.OffHook(sccp, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := r.sw.Digits(sccp, 1, "2102"); err != nil {
				t.Fatal(err)
			}
			inv := b.waitRequest("INVITE")
			b.reply(inv, 180, "sb", "")
			b.reply(inv, tc.code, "sb", "")
			b.waitRequest("ACK")
			eventually(t, 2*time.Second, "the SCCP caller's failed call", func() bool {
				st, ok := dev.Last("CallState")
				tone, ok2 := dev.Last("Tone")
				return ok && ok2 && st.State == dn.LineBusy && tone.Tone == tc.tone
			})
			if _, ok := dev.Last("Released"); ok {
				t.Errorf("caller released instead of failed:\n%s", dev.Dump())
			}
			eventually(t, 2*time.Second, "2102 idle", func() bool { return r.eng.State("2102") == blf.StateIdle })
			if _, err := r.sw.OnHook(sccp, 1); err != nil {
				t.Fatal(err)
			}
			eventually(t, 2*time.Second, "no call left", func() bool {
				calls, _ := r.sw.Calls()
				return len(calls) == 0
			})
		})
	}
}
