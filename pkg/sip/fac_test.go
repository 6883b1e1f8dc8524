package sip

import (
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/dn"
)

const withFAC = twoPhones + `
telephony-service
 fac standard
 fac custom dnd *#9
`

// dialFAC dials code from phone u and expects cmed's 200 followed by its
// BYE (the feature is applied, there is no call).
func dialFAC(t *testing.T, r *rig, u *rawUA, code, callID string) {
	t.Helper()
	ruri := "sip:" + code + "@127.0.0.1:" + r.port()
	from, to := "<sip:2101@127.0.0.1>;tag=f-"+callID, "<sip:"+code+"@127.0.0.1>"
	u.sendBody("INVITE", ruri, from, to, callID, 1, sdpAt(46000), "Contact: <sip:2101@"+u.addr()+">")
	res := u.response("INVITE", 1)
	if res.StatusCode != 200 {
		t.Fatalf("FAC %s: %d", code, res.StatusCode)
	}
	u.send("ACK", ruri, from, "<sip:"+code+"@127.0.0.1>;tag="+tagOf(res.To().Params), callID, 1)
	u.reply(u.waitRequest("BYE"), 200, "", "")
}

func pool1(t *testing.T, r *rig) dn.DeviceStatus {
	t.Helper()
	devs, err := r.sw.Devices()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Kind == "pool" && d.Tag == 1 {
			return d
		}
	}
	t.Fatal("pool 1 not found")
	return dn.DeviceStatus{}
}

// TestFACFromSIPPhone: with `fac standard`, **1NUMBER sets call forward
// all on the SIP phone's DN and **2 cancels it; `fac custom dnd *#9`
// toggles DND, which the core applies (a call to the DN is refused busy)
// and reports for the pool (show voice register pool). Without a code
// the number is dialled as usual.
func TestFACFromSIPPhone(t *testing.T) {
	r := newRig(t, withFAC, nil)
	a, b := newRawUA(t, r.addr()), newRawUA(t, r.addr())
	register(t, r, a, "2101", 600, 1, "")
	register(t, r, b, "2102", 600, 1, "")
	key := dn.DNKey{Kind: dn.VoiceRegisterDN, Tag: 1}

	dialFAC(t, r, a, "**12102", "fac-1")
	if n, _ := r.sw.CallForwardAll(key); n != "2102" {
		t.Errorf("CFA after **12102: %q", n)
	}
	// **1 without a number is incomplete.
	a.sendBody("INVITE", "sip:**1@127.0.0.1:"+r.port(), "<sip:2101@127.0.0.1>;tag=f-fac-x", "<sip:**1@127.0.0.1>", "fac-x", 1,
		sdpAt(46000), "Contact: <sip:2101@"+a.addr()+">")
	if res := a.response("INVITE", 1); res.StatusCode != 484 {
		t.Errorf("**1 alone: %d, want 484", res.StatusCode)
	}
	dialFAC(t, r, a, "**2", "fac-2")
	if n, _ := r.sw.CallForwardAll(key); n != "" {
		t.Errorf("CFA after **2: %q", n)
	}

	dialFAC(t, r, a, "*#9", "fac-3")
	eventually(t, 2*time.Second, "pool 1 in DND", func() bool { return pool1(t, r).DND })
	b.sendBody("INVITE", "sip:2101@127.0.0.1:"+r.port(), "<sip:2102@127.0.0.1>;tag=f-dnd", "<sip:2101@127.0.0.1>", "fac-call", 1,
		sdpAt(46002), "Contact: <sip:2102@"+b.addr()+">")
	if res := b.response("INVITE", 1); res.StatusCode != 486 {
		t.Errorf("call to a DN in DND: %d, want 486", res.StatusCode)
	}
	dialFAC(t, r, a, "*#9", "fac-4")
	eventually(t, 2*time.Second, "pool 1 out of DND", func() bool { return !pool1(t, r).DND })
	if calls, _ := r.sw.Calls(); len(calls) != 0 {
		t.Errorf("calls left: %+v", calls)
	}
}
