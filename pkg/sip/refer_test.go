package sip

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/dn"
)

// referNotifies waits for the REFER's NOTIFYs up to the final one and
// returns their sipfrag status lines.
func referNotifies(t *testing.T, u *rawUA) []string {
	t.Helper()
	var frags []string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		u.mu.Lock()
		ns := append(u.notifies[:0:0], u.notifies...)
		u.mu.Unlock()
		frags = frags[:0]
		final := false
		for _, n := range ns {
			if hdr(n, "Event") != "refer" {
				continue
			}
			if ct := hdr(n, "Content-Type"); !strings.HasPrefix(ct, "message/sipfrag") {
				t.Errorf("NOTIFY Content-Type %q", ct)
			}
			frags = append(frags, strings.TrimSpace(string(n.Body())))
			final = final || strings.HasPrefix(hdr(n, "Subscription-State"), "terminated")
		}
		if final {
			return frags
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no final NOTIFY for the REFER; got %v", frags)
	return nil
}

// TestReferBlindSIPTransfersSCCP: SIP phone 2101 talks to SCCP 2001 and
// REFERs it to SIP phone 2102 (blind, RFC 3515): 202, NOTIFYs 100 Trying
// then 200 OK; 2102 rings with 2001's media; 2101's BYE afterwards ends
// only its own dialog; at the end every lamp is idle.
func TestReferBlindSIPTransfersSCCP(t *testing.T) {
	r := newRig(t, withEphone, nil)
	a, c := newRawUA(t, r.addr()), newRawUA(t, r.addr())
	register(t, r, a, "2101", 600, 1, "")
	register(t, r, c, "2102", 600, 1, "")
	sccp, dev := registerEphone(t, r, "0011.2233.4401")
	dev.AutoMedia(r.sw, sccp, netip.MustParseAddr("127.0.0.5"))
	d, id := callSCCP(t, r, a, "2101", "refer-b", 42000, sccp, dev)
	d.reinvite(t, strings.Replace(sdpAt(42000), "a=sendrecv", "a=sendonly", 1))

	n := d.req("REFER", "", "Refer-To: <sip:2102@127.0.0.1>", "Referred-By: <sip:2101@127.0.0.1>",
		"Contact: <sip:2101@"+a.addr()+">")
	if res := a.response("REFER", n); res.StatusCode != 202 {
		t.Fatalf("REFER: %d", res.StatusCode)
	}
	inv := answerCall(t, c, "2102", "tc", 42002)
	if got := inv.From().Address.User; got != "2001" {
		t.Errorf("2102 sees caller %q, want the transferred 2001", got)
	}
	if frags := referNotifies(t, a); len(frags) != 2 || frags[0] != "SIP/2.0 100 Trying" || frags[1] != "SIP/2.0 200 OK" {
		t.Errorf("NOTIFY sipfrags %q", frags)
	}
	// The referer hangs up (RFC 5589 §6); cmed must not end it first.
	n = d.req("BYE", "")
	if res := a.response("BYE", n); res.StatusCode != 200 {
		t.Errorf("referer's BYE: %d", res.StatusCode)
	}
	eventually(t, 2*time.Second, "2001 sends to 2102", func() bool {
		e, ok := dev.Last("StartMedia")
		return ok && e.Addr == netip.MustParseAddrPort("127.0.0.1:42002") && e.Call == id
	})
	if st := lineState(r, "2102"); st != dn.LineConnected {
		t.Errorf("2102 %v", st)
	}
	if a.count("BYE") != 0 {
		t.Errorf("cmed sent BYE to the referer")
	}
	if _, err := r.sw.OnHook(sccp, 1); err != nil {
		t.Fatal(err)
	}
	c.reply(c.waitRequest("BYE"), 200, "", "")
	noCallsLeft(t, r, dev, "2101", "2102", "2001")
}

// TestReferAttended: SIP phone 2101 holds SCCP 2001, calls SIP 2102 and
// REFERs the held dialog with Replaces naming the consultation dialog
// (RFC 5589 §7, RFC 3891): the core joins 2001 and 2102 (2102 is
// re-INVITEd to 2001's media), 2101 gets 100 then 200 in NOTIFYs and
// hangs up both dialogs; nothing is left afterwards.
func TestReferAttended(t *testing.T) {
	r := newRig(t, withEphone, nil)
	a, c := newRawUA(t, r.addr()), newRawUA(t, r.addr())
	register(t, r, a, "2101", 600, 1, "")
	register(t, r, c, "2102", 600, 1, "")
	sccp, dev := registerEphone(t, r, "0011.2233.4401")
	dev.AutoMedia(r.sw, sccp, netip.MustParseAddr("127.0.0.5"))
	d1, id := callSCCP(t, r, a, "2101", "att-1", 43000, sccp, dev)
	d1.reinvite(t, strings.Replace(sdpAt(43000), "a=sendrecv", "a=sendonly", 1))
	eventually(t, 2*time.Second, "2101 holding", func() bool { return lineState(r, "2101") == dn.LineHold })

	// Consultation call 2101 -> 2102.
	d2 := &dialog{u: a, ruri: "sip:2102@127.0.0.1:" + r.port(), from: "<sip:2101@127.0.0.1>;tag=f-att-2",
		to: "<sip:2102@127.0.0.1>", callID: "att-2", cseq: 20}
	a.sendBody("INVITE", d2.ruri, d2.from, d2.to, d2.callID, d2.cseq, sdpAt(43002), "Contact: <sip:2101@"+a.addr()+">")
	answerCall(t, c, "2102", "tc2", 43004)
	res := a.response("INVITE", d2.cseq)
	if res.StatusCode != 200 {
		t.Fatalf("consultation INVITE: %d", res.StatusCode)
	}
	toTag := tagOf(res.To().Params)
	d2.to = "<sip:2102@127.0.0.1>;tag=" + toTag
	a.send("ACK", d2.ruri, d2.from, d2.to, d2.callID, d2.cseq)

	replaces := url.QueryEscape("att-2;to-tag=" + toTag + ";from-tag=f-att-2")
	n := d1.req("REFER", "", "Refer-To: <sip:2102@127.0.0.1?Replaces="+replaces+">", "Contact: <sip:2101@"+a.addr()+">")
	if res := a.response("REFER", n); res.StatusCode != 202 {
		t.Fatalf("REFER: %d", res.StatusCode)
	}
	// 2102's peer changes from 2101 to 2001.
	if m := answerReinvite(t, c, 43004, "sendrecv"); m.Addr != dev.RxAddr(id) {
		t.Errorf("2102 re-INVITEd to %v, want 2001's %v", m.Addr, dev.RxAddr(id))
	}
	if frags := referNotifies(t, a); len(frags) != 2 || frags[1] != "SIP/2.0 200 OK" {
		t.Errorf("NOTIFY sipfrags %q", frags)
	}
	for _, d := range []*dialog{d1, d2} {
		n := d.req("BYE", "")
		if res := a.response("BYE", n); res.StatusCode != 200 {
			t.Errorf("referer's BYE on %s: %d", d.callID, res.StatusCode)
		}
	}
	eventually(t, 2*time.Second, "2001 sends to 2102", func() bool {
		e, ok := dev.Last("StartMedia")
		return ok && e.Addr == netip.MustParseAddrPort("127.0.0.1:43004")
	})
	if st := lineState(r, "2101"); st != dn.LineIdle {
		t.Errorf("referer's line %v after the transfer", st)
	}
	if _, err := r.sw.OnHook(sccp, 1); err != nil {
		t.Fatal(err)
	}
	c.reply(c.waitRequest("BYE"), 200, "", "")
	noCallsLeft(t, r, dev, "2101", "2102", "2001")
}

// TestReferFailure: a REFER to a number that cannot be dialled reports the
// failure in the final NOTIFY and leaves the call up.
func TestReferFailure(t *testing.T) {
	r := newRig(t, withEphone, nil)
	a := newRawUA(t, r.addr())
	register(t, r, a, "2101", 600, 1, "")
	sccp, dev := registerEphone(t, r, "0011.2233.4401")
	dev.AutoMedia(r.sw, sccp, netip.MustParseAddr("127.0.0.5"))
	d, _ := callSCCP(t, r, a, "2101", "refer-f", 44000, sccp, dev)
	n := d.req("REFER", "", "Refer-To: <sip:bad!number@127.0.0.1>")
	if res := a.response("REFER", n); res.StatusCode != 202 {
		t.Fatalf("REFER: %d", res.StatusCode)
	}
	if frags := referNotifies(t, a); len(frags) != 2 || frags[1] != "SIP/2.0 404 Not Found" {
		t.Errorf("NOTIFY sipfrags %q", frags)
	}
	if st := lineState(r, "2101"); st != dn.LineConnected {
		t.Errorf("2101 %v after a failed transfer", st)
	}
	n = d.req("BYE", "")
	a.response("BYE", n)
	noCallsLeft(t, r, dev, "2101", "2001")
}

// TestSCCPTransfersBetweenSIPPhones: SIP 2101 calls SCCP 2001, which
// transfers it (consultative, Transfer softkey twice) to SIP 2102: both
// SIP phones are re-INVITEd to each other's media and the SCCP phone is
// left with nothing showing.
func TestSCCPTransfersBetweenSIPPhones(t *testing.T) {
	// Dual-line: a free call slot makes it a consultative transfer
	// (a single-line DN falls back to blind, docs/cme-behaviour.md §Transfer).
	r := newRig(t, strings.Replace(withEphone, "ephone-dn 1\n", "ephone-dn 1 dual-line\n", 1), nil)
	a, c := newRawUA(t, r.addr()), newRawUA(t, r.addr())
	register(t, r, a, "2101", 600, 1, "")
	register(t, r, c, "2102", 600, 1, "")
	sccp, dev := registerEphone(t, r, "0011.2233.4401")
	dev.AutoMedia(r.sw, sccp, netip.MustParseAddr("127.0.0.5"))
	d, id := callSCCP(t, r, a, "2101", "sccp-x", 45000, sccp, dev)

	x, err := r.sw.StartTransfer(sccp, 1, id)
	if err != nil {
		t.Fatal(err)
	}
	// 2101 is held by 2001: sendonly re-INVITE.
	if m := answerReinvite(t, a, 45000, "recvonly"); m.Direction != "sendonly" {
		t.Errorf("held SIP phone offered %s", m.Direction)
	}
	if _, err := r.sw.Digits(sccp, x.Consult.Line, "2102"); err != nil {
		t.Fatal(err)
	}
	answerCall(t, c, "2102", "tx", 45002)
	eventually(t, 2*time.Second, "2102 connected", func() bool { return lineState(r, "2102") == dn.LineConnected })
	if err := r.sw.CompleteTransfer(sccp, x.Held.ID, x.Consult.ID); err != nil {
		t.Fatal(err)
	}
	ma := answerReinvite(t, a, 45000, "sendrecv")
	mc := answerReinvite(t, c, 45002, "sendrecv")
	if ma.Addr != netip.MustParseAddrPort("127.0.0.1:45002") || ma.Direction != "sendrecv" {
		t.Errorf("2101 re-INVITEd to %v %s, want 2102's 127.0.0.1:45002", ma.Addr, ma.Direction)
	}
	if mc.Addr != netip.MustParseAddrPort("127.0.0.1:45000") {
		t.Errorf("2102 re-INVITEd to %v, want 2101's 127.0.0.1:45000", mc.Addr)
	}
	eventually(t, 2*time.Second, "2001 idle", func() bool { return lineState(r, "2001") == dn.LineIdle })
	n := d.req("BYE", "")
	if res := a.response("BYE", n); res.StatusCode != 200 {
		t.Errorf("BYE %d", res.StatusCode)
	}
	c.reply(c.waitRequest("BYE"), 200, "", "")
	noCallsLeft(t, r, dev, "2101", "2102", "2001")
}
