package sip

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

const withEphone = twoPhones + `
ephone-dn 1
 number 2001
 allow watch
ephone 1
 mac-address 0011.2233.4401
 type 7960
 button 1:1
`

// dialog is the phone side of one call dialog of a rawUA, for in-dialog
// requests.
type dialog struct {
	u              *rawUA
	ruri, from, to string
	callID         string
	cseq           int
}

func (d *dialog) req(method string, body string, headers ...string) int {
	d.cseq++
	d.u.sendBody(method, d.ruri, d.from, d.to, d.callID, d.cseq, body, headers...)
	return d.cseq
}

// reinvite sends a re-INVITE with body, expects 200 and ACKs it.
func (d *dialog) reinvite(t *testing.T, body string) *sip.Response {
	t.Helper()
	n := d.req("INVITE", body, "Contact: <sip:"+d.u.addr()+">")
	res := d.u.response("INVITE", n)
	if res.StatusCode != 200 {
		t.Fatalf("re-INVITE: %d", res.StatusCode)
	}
	d.u.send("ACK", d.ruri, d.from, d.to, d.callID, n)
	return res
}

// callSCCP: phone u (number from) calls SCCP DN 2001, the SCCP phone
// answers; it returns the dialog and the core's call id.
func callSCCP(t *testing.T, r *rig, u *rawUA, from, callID string, port int, sccp dn.DeviceID, dev *dntest.Device) (*dialog, dn.CallID) {
	t.Helper()
	d := &dialog{u: u, ruri: "sip:2001@127.0.0.1:" + r.port(), from: "<sip:" + from + "@127.0.0.1>;tag=f-" + callID,
		to: "<sip:2001@127.0.0.1>", callID: callID, cseq: 10}
	u.sendBody("INVITE", d.ruri, d.from, d.to, callID, d.cseq, sdpAt(port), "Contact: <sip:"+from+"@"+u.addr()+">")
	var id dn.CallID
	eventually(t, 2*time.Second, "the SCCP phone to ring", func() bool {
		e, ok := dev.Last("Ring")
		id = e.Info.ID
		return ok
	})
	if _, err := r.sw.Answer(sccp, 1, id); err != nil {
		t.Fatal(err)
	}
	res := u.response("INVITE", d.cseq)
	if res.StatusCode != 200 {
		t.Fatalf("INVITE: %d", res.StatusCode)
	}
	d.to = "<sip:2001@127.0.0.1>;tag=" + tagOf(res.To().Params)
	u.send("ACK", d.ruri, d.from, d.to, callID, d.cseq)
	eventually(t, 2*time.Second, "the SCCP phone to send to the SIP phone", func() bool {
		e, ok := dev.Last("StartMedia")
		return ok && e.Addr.Port() == uint16(port)
	})
	return d, id
}

// answerCall: a SIP phone answers cmed's INVITE with its SDP at port.
func answerCall(t *testing.T, u *rawUA, number, tag string, port int) *sip.Request {
	t.Helper()
	inv := u.waitRequest("INVITE")
	u.reply(inv, 200, tag, sdpAt(port), "Contact: <sip:"+number+"@"+u.addr()+">")
	u.waitRequest("ACK")
	return inv
}

// answerReinvite: a phone accepts cmed's re-INVITE; it returns the offer.
func answerReinvite(t *testing.T, u *rawUA, port int, dir string) Media {
	t.Helper()
	inv := u.waitRequest("INVITE")
	m, err := ParseMedia(inv.Body())
	if err != nil {
		t.Fatalf("re-INVITE offer: %v\n%s", err, inv.Body())
	}
	u.reply(inv, 200, "", strings.Replace(sdpAt(port), "a=sendrecv", "a="+dir, 1))
	u.waitRequest("ACK")
	return m
}

func direction(t *testing.T, body []byte) string {
	t.Helper()
	m, err := ParseMedia(body)
	if err != nil {
		t.Fatalf("SDP: %v\n%s", err, body)
	}
	return m.Direction
}

func lineState(r *rig, number string) dn.LineState {
	lines, _ := r.sw.Lines()
	for _, l := range lines {
		if l.Number != number {
			continue
		}
		for _, ap := range l.Appearances {
			if ap.State != dn.LineIdle {
				return ap.State
			}
		}
	}
	return dn.LineIdle
}

// noCallsLeft: every call is gone, both lamps idle and the SCCP phone
// shows nothing (docs/sccp.md §Field-reports: no stuck lamps).
func noCallsLeft(t *testing.T, r *rig, dev *dntest.Device, numbers ...string) {
	t.Helper()
	eventually(t, 3*time.Second, "no call left", func() bool {
		calls, _ := r.sw.Calls()
		return len(calls) == 0
	})
	for _, n := range numbers {
		eventually(t, 2*time.Second, n+" idle", func() bool { return r.eng.State(n) == blf.StateIdle })
	}
	if dev != nil {
		if s := dev.Stuck(); len(s) > 0 {
			t.Errorf("SCCP phone still shows %v:\n%s", s, dev.Dump())
		}
	}
	if n := len(r.media.Active("MOH")); n != 0 {
		t.Errorf("%d music-on-hold streams still running", n)
	}
}

// TestHoldByReinvite: a SIP phone holds an SCCP phone with a=sendonly,
// then with RFC 2543 c=0.0.0.0, and resumes; the core holds the call (the
// lamp of the held line stays in use, docs/cme-behaviour.md
// §Presentity-state), the SCCP phone sees the hold and gets music on hold
// at its receive address, and cmed's answers mirror the offer (RFC 3264
// §6.1). Then the SCCP phone holds: the SIP phone is re-INVITEd sendonly
// and hears music on hold; on resume it is re-INVITEd sendrecv.
func TestHoldByReinvite(t *testing.T) {
	r := newRig(t, withEphone, nil)
	a := newRawUA(t, r.addr())
	register(t, r, a, "2101", 600, 1, "")
	sccp, dev := registerEphone(t, r, "0011.2233.4401")
	dev.AutoMedia(r.sw, sccp, netip.MustParseAddr("127.0.0.5"))
	d, id := callSCCP(t, r, a, "2101", "hold-1", 41000, sccp, dev)

	for _, hold := range []struct{ name, sdp, answer string }{
		{"sendonly", strings.Replace(sdpAt(41000), "a=sendrecv", "a=sendonly", 1), "recvonly"},
		{"inactive", strings.Replace(sdpAt(41000), "a=sendrecv", "a=inactive", 1), "inactive"},
		{"c=0.0.0.0", strings.Replace(sdpAt(41000), "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0", 1), "inactive"},
	} {
		res := d.reinvite(t, hold.sdp)
		if got := direction(t, res.Body()); got != hold.answer {
			t.Errorf("%s hold answered %s, want %s", hold.name, got, hold.answer)
		}
		eventually(t, 2*time.Second, hold.name+": the core holds 2101", func() bool { return lineState(r, "2101") == dn.LineHold })
		eventually(t, 2*time.Second, hold.name+": the SCCP phone sees the hold", func() bool {
			e, ok := dev.Last("CallInfo")
			return ok && e.Info.PeerHold
		})
		eventually(t, 2*time.Second, hold.name+": music on hold to the SCCP phone", func() bool {
			moh := r.media.Active("MOH")
			return len(moh) == 1 && moh[0].Dest == dev.RxAddr(id)
		})
		if st := r.eng.State("2101"); st != blf.StateInUse {
			t.Errorf("%s: lamp of the held line %v, want busy", hold.name, st)
		}
		res = d.reinvite(t, sdpAt(41000))
		if got := direction(t, res.Body()); got != "sendrecv" {
			t.Errorf("resume answered %s", got)
		}
		eventually(t, 2*time.Second, hold.name+": resumed", func() bool {
			e, _ := dev.Last("CallInfo")
			return lineState(r, "2101") == dn.LineConnected && !e.Info.PeerHold && len(r.media.Active("MOH")) == 0
		})
	}

	// The SCCP phone holds the SIP phone.
	if _, err := r.sw.Hold(sccp, 1, id); err != nil {
		t.Fatal(err)
	}
	if m := answerReinvite(t, a, 41000, "recvonly"); m.Direction != "sendonly" {
		t.Errorf("peer hold re-INVITE offers %s, want sendonly", m.Direction)
	}
	eventually(t, 2*time.Second, "music on hold to the SIP phone", func() bool {
		moh := r.media.Active("MOH")
		return len(moh) == 1 && moh[0].Dest == netip.MustParseAddrPort("127.0.0.1:41000")
	})
	if _, err := r.sw.Resume(sccp, 1, id); err != nil {
		t.Fatal(err)
	}
	m := answerReinvite(t, a, 41000, "sendrecv")
	if m.Direction != "sendrecv" || m.Addr != dev.RxAddr(id) {
		t.Errorf("resume re-INVITE offers %s %v, want sendrecv to the SCCP phone's %v", m.Direction, m.Addr, dev.RxAddr(id))
	}

	if _, err := r.sw.OnHook(sccp, 1); err != nil {
		t.Fatal(err)
	}
	a.reply(a.waitRequest("BYE"), 200, "", "")
	noCallsLeft(t, r, dev, "2101", "2001")
}

// TestSessionTimer: an INVITE asking for a session timer is answered
// with Session-Expires (the phone refreshes) and Require: timer (RFC 4028
// §9); a refresh by UPDATE gets 200; an interval below 90 s gets 422 with
// Min-SE.
func TestSessionTimer(t *testing.T) {
	r := newRig(t, withEphone, nil)
	a := newRawUA(t, r.addr())
	register(t, r, a, "2101", 600, 1, "")
	sccp, dev := registerEphone(t, r, "0011.2233.4401")
	dev.AutoMedia(r.sw, sccp, netip.MustParseAddr("127.0.0.5"))

	a.sendBody("INVITE", "sip:2001@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=st0", "<sip:2001@127.0.0.1>", "st-0", 1,
		sdpAt(41100), "Contact: <sip:2101@"+a.addr()+">", "Supported: timer", "Session-Expires: 30")
	if res := a.response("INVITE", 1); res.StatusCode != 422 || hdr(res, "Min-SE") != "90" {
		t.Fatalf("Session-Expires 30: %d Min-SE %q", res.StatusCode, hdr(res, "Min-SE"))
	}

	d := &dialog{u: a, ruri: "sip:2001@127.0.0.1:" + r.port(), from: "<sip:2101@127.0.0.1>;tag=st1",
		to: "<sip:2001@127.0.0.1>", callID: "st-1", cseq: 10}
	a.sendBody("INVITE", d.ruri, d.from, d.to, d.callID, d.cseq, sdpAt(41100), "Contact: <sip:2101@"+a.addr()+">",
		"Supported: timer", "Session-Expires: 1800")
	var id dn.CallID
	eventually(t, 2*time.Second, "the SCCP phone to ring", func() bool {
		e, ok := dev.Last("Ring")
		id = e.Info.ID
		return ok
	})
	if _, err := r.sw.Answer(sccp, 1, id); err != nil {
		t.Fatal(err)
	}
	res := a.response("INVITE", d.cseq)
	if res.StatusCode != 200 {
		t.Fatalf("INVITE: %d", res.StatusCode)
	}
	if se := hdr(res, "Session-Expires"); se != "1800;refresher=uac" || hdr(res, "Require") != "timer" {
		t.Errorf("200: Session-Expires %q Require %q", se, hdr(res, "Require"))
	}
	d.to = "<sip:2001@127.0.0.1>;tag=" + tagOf(res.To().Params)
	a.send("ACK", d.ruri, d.from, d.to, d.callID, d.cseq)

	n := d.req("UPDATE", "", "Supported: timer", "Session-Expires: 1800;refresher=uac")
	if res := a.response("UPDATE", n); res.StatusCode != 200 || hdr(res, "Session-Expires") != "1800;refresher=uac" {
		t.Errorf("UPDATE refresh: %d %q", res.StatusCode, hdr(res, "Session-Expires"))
	}
	res = d.reinvite(t, sdpAt(41100))
	if direction(t, res.Body()) != "sendrecv" || lineState(r, "2101") != dn.LineConnected {
		t.Errorf("re-INVITE refresh changed the call: %s %v", res.Body(), lineState(r, "2101"))
	}
	n = d.req("BYE", "")
	if res := a.response("BYE", n); res.StatusCode != 200 {
		t.Fatalf("BYE %d", res.StatusCode)
	}
	if _, err := r.sw.OnHook(sccp, 1); err != nil {
		t.Fatal(err)
	}
	noCallsLeft(t, r, dev, "2101", "2001")
}
