package sip

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
)

const twoPhones = `
voice register global
 mode cme
 source-address 127.0.0.1 port 5060
voice register dn 1
 number 2101
 allow watch
voice register dn 2
 number 2102
 allow watch
voice register pool 1
 id mac 0015.6247.EF90
 type 7971
 number 1 dn 1
voice register pool 2
 id mac 0015.6247.EF91
 type 7971
 number 1 dn 2
presence
sip-ua
 presence enable
`

func mediaOf(t *testing.T, body []byte) netip.AddrPort {
	t.Helper()
	m, err := ParseMedia(body)
	if err != nil {
		t.Fatalf("SDP %q: %v", body, err)
	}
	return m.Addr
}

// TestCallSIPToSIP: phone 2101 calls 2102 through cmed (B2BUA via the line
// core): the callee gets an offerless INVITE, answers with its SDP, the
// caller's 200 points at the callee's RTP address and the callee's ACK at
// the caller's (media direct between endpoints); BYE ends both legs.
func TestCallSIPToSIP(t *testing.T) {
	r := newRig(t, twoPhones, nil)
	a, b := newRawUA(t, r.addr()), newRawUA(t, r.addr())
	if code, _ := register(t, r, a, "2101", 600, 1, ""); code != 200 {
		t.Fatalf("REGISTER a: %d", code)
	}
	if code, _ := register(t, r, b, "2102", 600, 1, ""); code != 200 {
		t.Fatalf("REGISTER b: %d", code)
	}
	a.sendBody("INVITE", "sip:2102@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=ca", "<sip:2102@127.0.0.1>", "call-1", 10,
		sdpAt(40000), "Contact: <sip:2101@"+a.addr()+">")

	inv := b.waitRequest("INVITE")
	if len(inv.Body()) != 0 {
		t.Errorf("INVITE to the callee carries an offer: %q", inv.Body())
	}
	if from := inv.From().Address.User; from != "2101" {
		t.Errorf("callee sees caller %q", from)
	}
	b.reply(inv, 180, "cb", "")
	eventually(t, 2*time.Second, "2102 ringing", func() bool { return r.eng.State("2102") == blf.StateAlerting })
	b.reply(inv, 200, "cb", sdpAt(40002), "Contact: <sip:2102@"+b.addr()+">")

	ack := b.waitRequest("ACK")
	if got := mediaOf(t, ack.Body()); got != netip.MustParseAddrPort("127.0.0.1:40000") {
		t.Errorf("callee told to send to %v, want the caller's 127.0.0.1:40000", got)
	}
	res := a.response("INVITE", 10)
	if res.StatusCode != 200 {
		t.Fatalf("caller got %d", res.StatusCode)
	}
	if got := mediaOf(t, res.Body()); got != netip.MustParseAddrPort("127.0.0.1:40002") {
		t.Errorf("caller told to send to %v, want the callee's 127.0.0.1:40002", got)
	}
	if !strings.Contains(string(res.Body()), "telephone-event/8000") {
		t.Errorf("answer lacks RFC 4733 telephone-event:\n%s", res.Body())
	}
	toTag := tagOf(res.To().Params)
	a.send("ACK", "sip:2102@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=ca", "<sip:2102@127.0.0.1>;tag="+toTag, "call-1", 10)
	eventually(t, 2*time.Second, "both in use", func() bool {
		return r.eng.State("2101") == blf.StateInUse && r.eng.State("2102") == blf.StateInUse
	})

	a.send("BYE", "sip:2102@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=ca", "<sip:2102@127.0.0.1>;tag="+toTag, "call-1", 11)
	if res := a.response("BYE", 11); res.StatusCode != 200 {
		t.Fatalf("BYE: %d", res.StatusCode)
	}
	bye := b.waitRequest("BYE")
	b.reply(bye, 200, "", "")
	eventually(t, 2*time.Second, "both idle", func() bool {
		return r.eng.State("2101") == blf.StateIdle && r.eng.State("2102") == blf.StateIdle
	})
}

// TestCallBusyAndCancel: an unknown number gets 404; CANCEL before the
// answer stops the callee's INVITE with a CANCEL.
func TestCallBusyAndCancel(t *testing.T) {
	r := newRig(t, twoPhones, nil)
	a, b := newRawUA(t, r.addr()), newRawUA(t, r.addr())
	register(t, r, a, "2101", 600, 1, "")
	register(t, r, b, "2102", 600, 1, "")

	a.sendBody("INVITE", "sip:7777@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=x1", "<sip:7777@127.0.0.1>", "call-404", 20,
		sdpAt(40010), "Contact: <sip:2101@"+a.addr()+">")
	if res := a.response("INVITE", 20); res.StatusCode != 404 {
		t.Errorf("unknown number: %d, want 404", res.StatusCode)
	}

	a.sendBody("INVITE", "sip:2102@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=x2", "<sip:2102@127.0.0.1>", "call-c", 30,
		sdpAt(40012), "Contact: <sip:2101@"+a.addr()+">")
	inv := b.waitRequest("INVITE")
	b.reply(inv, 180, "cb2", "")
	eventually(t, 2*time.Second, "2102 ringing", func() bool { return r.eng.State("2102") == blf.StateAlerting })
	// CANCEL repeats the INVITE's Via branch.
	a.cancelLast(t, "sip:2102@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=x2", "<sip:2102@127.0.0.1>", "call-c", 30)
	if res := a.response("INVITE", 30); res.StatusCode != 487 {
		t.Errorf("cancelled INVITE: %d, want 487", res.StatusCode)
	}
	c := b.waitRequest("CANCEL")
	b.reply(c, 200, "", "")
	b.reply(inv, 487, "cb2", "")
	eventually(t, 2*time.Second, "2102 idle", func() bool { return r.eng.State("2102") == blf.StateIdle })
}

// TestCallSIPToSCCPHold: a SIP phone calls an SCCP phone; the SIP phone's
// answer SDP points at the SCCP phone's receive address; hold and resume by
// re-INVITE (RFC 3264 §8.4) reach the core; the SCCP phone hanging up
// sends BYE to the SIP phone.
func TestCallSIPToSCCPHold(t *testing.T) {
	r := newRig(t, twoPhones+`
ephone-dn 1
 number 2001
 allow watch
ephone 1
 mac-address 0011.2233.4401
 type 7960
 button 1:1
`, nil)
	a := newRawUA(t, r.addr())
	register(t, r, a, "2101", 600, 1, "")
	sccp, dev := registerEphone(t, r, "0011.2233.4401")
	dev.AutoMedia(r.sw, sccp, netip.MustParseAddr("127.0.0.5"))

	a.sendBody("INVITE", "sip:2001@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=h1", "<sip:2001@127.0.0.1>", "call-h", 10,
		sdpAt(41000), "Contact: <sip:2101@"+a.addr()+">")
	var callID dn.CallID
	eventually(t, 2*time.Second, "the SCCP phone to ring", func() bool {
		e, ok := dev.Last("Ring")
		callID = e.Call
		return ok
	})
	if _, err := r.sw.Answer(sccp, 1, callID); err != nil {
		t.Fatal(err)
	}
	res := a.response("INVITE", 10)
	if res.StatusCode != 200 {
		t.Fatalf("INVITE: %d", res.StatusCode)
	}
	if got := mediaOf(t, res.Body()); got.Addr() != netip.MustParseAddr("127.0.0.5") {
		t.Errorf("SIP phone told to send to %v, want the SCCP phone's 127.0.0.5", got)
	}
	toTag := tagOf(res.To().Params)
	to := "<sip:2001@127.0.0.1>;tag=" + toTag
	a.send("ACK", "sip:2001@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=h1", to, "call-h", 10)
	eventually(t, 2*time.Second, "the SCCP phone to send to the SIP phone", func() bool {
		e, ok := dev.Last("StartMedia")
		return ok && e.Addr == netip.MustParseAddrPort("127.0.0.1:41000")
	})

	hold := strings.Replace(sdpAt(41000), "a=sendrecv", "a=sendonly", 1)
	a.sendBody("INVITE", "sip:2001@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=h1", to, "call-h", 11, hold,
		"Contact: <sip:2101@"+a.addr()+">")
	res = a.response("INVITE", 11)
	if res.StatusCode != 200 || !strings.Contains(string(res.Body()), "a=recvonly") {
		t.Fatalf("hold re-INVITE: %d\n%s", res.StatusCode, res.Body())
	}
	a.send("ACK", "sip:2001@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=h1", to, "call-h", 11)
	eventually(t, 2*time.Second, "the core to see the hold", func() bool {
		lines, _ := r.sw.Lines()
		for _, l := range lines {
			for _, ap := range l.Appearances {
				if l.Number == "2101" && ap.State == dn.LineHold {
					return true
				}
			}
		}
		return false
	})

	a.sendBody("INVITE", "sip:2001@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=h1", to, "call-h", 12, sdpAt(41002),
		"Contact: <sip:2101@"+a.addr()+">")
	res = a.response("INVITE", 12)
	if res.StatusCode != 200 || !strings.Contains(string(res.Body()), "a=sendrecv") {
		t.Fatalf("resume re-INVITE: %d\n%s", res.StatusCode, res.Body())
	}
	a.send("ACK", "sip:2001@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=h1", to, "call-h", 12)
	eventually(t, 2*time.Second, "media to the SIP phone's new port", func() bool {
		e, ok := dev.Last("StartMedia")
		return ok && e.Addr == netip.MustParseAddrPort("127.0.0.1:41002")
	})

	if _, err := r.sw.OnHook(sccp, 1); err != nil {
		t.Fatal(err)
	}
	bye := a.waitRequest("BYE")
	a.reply(bye, 200, "", "")
	eventually(t, 2*time.Second, "2101 idle", func() bool { return r.eng.State("2101") == blf.StateIdle })
}

// TestTrunkCallBetweenRouters: a SIP phone on router A calls SCCP DN 2001
// on router B over a dial-peer (session target = B): A INVITEs B with the
// phone's RTP address, B offers the call to its core with TrunkIncoming,
// the SCCP phone answers, and the SIP phone's 200 carries the SCCP phone's
// RTP address. The phone's BYE ends the call on B too.
func TestTrunkCallBetweenRouters(t *testing.T) {
	b := newRig(t, notifierConfig(""), nil)
	a := newRig(t, twoPhones+`
dial-peer voice 20 voip
 destination-pattern 200.
 session protocol sipv2
 session target ipv4:127.0.0.1:`+b.port()+"\n", nil)
	// B trusts A's INVITEs because a dial-peer points at A (trust.go).
	b.apply(notifierConfig("") + `
dial-peer voice 10 voip
 destination-pattern 210.
 session protocol sipv2
 session target ipv4:127.0.0.1:` + a.port() + "\n")
	sccp, dev := registerEphone(t, b, "0011.2233.4401")
	dev.AutoMedia(b.sw, sccp, netip.MustParseAddr("127.0.0.5"))
	phone := newRawUA(t, a.addr())
	register(t, a, phone, "2101", 600, 1, "")

	phone.sendBody("INVITE", "sip:2001@127.0.0.1:"+a.port(), "<sip:2101@127.0.0.1>;tag=t1", "<sip:2001@127.0.0.1>", "trunk-1", 10,
		sdpAt(42000), "Contact: <sip:2101@"+phone.addr()+">")
	var callID dn.CallID
	eventually(t, 3*time.Second, "the SCCP phone on B to ring", func() bool {
		e, ok := dev.Last("Ring")
		callID = e.Call
		return ok
	})
	if e, _ := dev.Last("Ring"); e.Info.Calling.Number != "2101" {
		t.Errorf("B's phone sees caller %q", e.Info.Calling.Number)
	}
	if _, err := b.sw.Answer(sccp, 1, callID); err != nil {
		t.Fatal(err)
	}
	res := phone.response("INVITE", 10)
	if res.StatusCode != 200 {
		t.Fatalf("INVITE: %d", res.StatusCode)
	}
	if got := mediaOf(t, res.Body()); got.Addr() != netip.MustParseAddr("127.0.0.5") {
		t.Errorf("SIP phone on A sends to %v, want B's SCCP phone 127.0.0.5", got)
	}
	eventually(t, 2*time.Second, "B's phone to send to the SIP phone", func() bool {
		e, ok := dev.Last("StartMedia")
		return ok && e.Addr == netip.MustParseAddrPort("127.0.0.1:42000")
	})
	to := "<sip:2001@127.0.0.1>;tag=" + tagOf(res.To().Params)
	phone.send("ACK", "sip:2001@127.0.0.1:"+a.port(), "<sip:2101@127.0.0.1>;tag=t1", to, "trunk-1", 10)
	phone.send("BYE", "sip:2001@127.0.0.1:"+a.port(), "<sip:2101@127.0.0.1>;tag=t1", to, "trunk-1", 11)
	if res := phone.response("BYE", 11); res.StatusCode != 200 {
		t.Fatalf("BYE: %d", res.StatusCode)
	}
	eventually(t, 3*time.Second, "the call to end on B", func() bool {
		_, ok := dev.Last("Released")
		return ok && b.eng.State("2001") == blf.StateIdle
	})
}
