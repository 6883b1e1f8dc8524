package sip

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
)

const registrarConfig = `
voice service voip
 allow-connections sip to sip
 sip
  registrar server expires max 600 min 60
voice register global
 mode cme
 source-address 127.0.0.1 port 5060
 authenticate register
 authenticate presence
voice register dn 1
 number 2101
 allow watch
voice register dn 2
 number 2102
voice register pool 1
 id mac 0015.6247.EF90
 type 7971
 number 1 dn 1
 number 2 dn 2
 username alice password s3cret
ephone-dn 1
 number 2001
 allow watch
ephone 1
 mac-address 0011.2233.4401
 type 7960
 button 1:1
presence
 watcher all
sip-ua
 presence enable
`

func register(t *testing.T, r *rig, u *rawUA, number string, expires, cseq int, pass string) (int, string) {
	t.Helper()
	ruri := "sip:127.0.0.1:" + r.port()
	aor := fmt.Sprintf("<sip:%s@127.0.0.1>", number)
	contact := fmt.Sprintf("Contact: <sip:%s@%s>", number, u.addr())
	callID := "reg-" + number + "@" + u.addr()
	u.send("REGISTER", ruri, aor+";tag=r"+number, aor, callID, cseq, contact, fmt.Sprintf("Expires: %d", expires))
	res := u.response("REGISTER", cseq)
	if res.StatusCode != 401 {
		return res.StatusCode, hdr(res, "Expires")
	}
	auth := authorize(t, res, "REGISTER", ruri, "alice", pass)
	u.send("REGISTER", ruri, aor+";tag=r"+number, aor, callID, cseq+1, contact, fmt.Sprintf("Expires: %d", expires), auth)
	res = u.response("REGISTER", cseq+1)
	if res.StatusCode == 423 {
		return 423, hdr(res, "Min-Expires")
	}
	return res.StatusCode, hdr(res, "Expires")
}

func TestRegistrar(t *testing.T) {
	r := newRig(t, registrarConfig, nil)
	u := newRawUA(t, r.addr())

	if st := r.eng.State("2101"); st != blf.StateUnknown {
		t.Fatalf("before REGISTER: %v", st)
	}
	if code, _ := register(t, r, u, "2101", 3600, 1, "wrong"); code != 401 {
		t.Fatalf("wrong password: %d, want 401", code)
	}
	if code, _ := register(t, r, u, "9999", 3600, 3, "s3cret"); code != 404 {
		t.Fatalf("unknown number: %d, want 404", code)
	}
	if code, minExp := register(t, r, u, "2101", 10, 5, "s3cret"); code != 423 || minExp != "60" {
		t.Fatalf("too brief: %d Min-Expires %q", code, minExp)
	}
	code, exp := register(t, r, u, "2101", 3600, 7, "s3cret")
	if code != 200 || exp != "600" {
		t.Fatalf("REGISTER: %d Expires %q, want 200 clamped to 600", code, exp)
	}
	b := r.srv.Bindings()
	if len(b) != 1 || b[0].Pool != 1 || b[0].Device != "SEP00156247EF90" || b[0].Number != "2101" || b[0].Source != u.addr() {
		t.Fatalf("bindings %+v", b)
	}
	if left := time.Until(b[0].Expires); left < 590*time.Second || left > 600*time.Second {
		t.Errorf("binding expires in %v", left)
	}
	// The SIP phone's DN now takes part in presence like an SCCP one.
	eventually(t, 2*time.Second, "2101 idle", func() bool { return r.eng.State("2101") == blf.StateIdle })
	devs, err := r.sw.Devices()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range devs {
		if d.Name == "SEP00156247EF90" {
			found = d.Registered
		}
	}
	if !found {
		t.Errorf("device not registered in dn: %+v", devs)
	}

	// Second line, then unregister both: the device goes away with the last.
	if code, _ := register(t, r, u, "2102", 120, 9, "s3cret"); code != 200 {
		t.Fatalf("line 2: %d", code)
	}
	if code, exp := register(t, r, u, "2101", 0, 11, "s3cret"); code != 200 || exp != "0" {
		t.Fatalf("unregister: %d %q", code, exp)
	}
	if st := r.eng.State("2101"); st != blf.StateIdle {
		t.Errorf("phone still has line 2, DN 2101 = %v", st)
	}
	if code, _ := register(t, r, u, "2102", 0, 13, "s3cret"); code != 200 {
		t.Fatalf("unregister line 2: %d", code)
	}
	if len(r.srv.Bindings()) != 0 {
		t.Errorf("bindings left: %+v", r.srv.Bindings())
	}
	eventually(t, 2*time.Second, "2101 unknown", func() bool { return r.eng.State("2101") == blf.StateUnknown })
}

func TestRegistrationExpires(t *testing.T) {
	r := newRig(t, registrarConfig, nil)
	u := newRawUA(t, r.addr())
	if code, _ := register(t, r, u, "2101", 60, 1, "s3cret"); code != 200 {
		t.Fatalf("REGISTER %d", code)
	}
	eventually(t, 2*time.Second, "2101 idle", func() bool { return r.eng.State("2101") == blf.StateIdle })
	// Age the binding instead of waiting a minute: the registrar's tick
	// must drop it and unregister the phone.
	r.srv.reg.mu.Lock()
	for _, p := range r.srv.reg.phones {
		for _, b := range p.bindings {
			b.Expires = time.Now().Add(-time.Second)
		}
	}
	r.srv.reg.mu.Unlock()
	eventually(t, 3*time.Second, "binding expiry", func() bool { return len(r.srv.Bindings()) == 0 })
	eventually(t, 2*time.Second, "2101 unknown", func() bool { return r.eng.State("2101") == blf.StateUnknown })
}

// TestLocalPhoneWatcher: a registered SIP phone SUBSCRIBEs without being
// challenged (authenticate presence applies to trunks only, docs/cme-behaviour.md
// §Presence-rules rule 3), gets 200 + a full-state NOTIFY, then a NOTIFY per change;
// a 481 to a NOTIFY removes the subscription (RFC 6665 §4.2.2).
func TestLocalPhoneWatcher(t *testing.T) {
	r := newRig(t, registrarConfig, nil)
	u := newRawUA(t, r.addr())
	if code, _ := register(t, r, u, "2101", 600, 1, "s3cret"); code != 200 {
		t.Fatalf("REGISTER %d", code)
	}
	sccp, _ := registerEphone(t, r, "0011.2233.4401")
	ruri := "sip:2001@127.0.0.1:" + r.port()
	u.send("SUBSCRIBE", ruri, "<sip:2101@127.0.0.1>;tag=w1", "<sip:2001@127.0.0.1>", "sub-1", 1,
		"Contact: <sip:2101@"+u.addr()+">", "Event: presence", "Accept: application/cpim-pidf+xml", "Expires: 7200")
	res := u.response("SUBSCRIBE", 1)
	if res.StatusCode != 200 || hdr(res, "Expires") != "3600" {
		t.Fatalf("SUBSCRIBE: %d Expires %q", res.StatusCode, hdr(res, "Expires"))
	}
	subs := r.eng.Subscriptions()
	if len(subs) != 1 || subs[0].Kind != blf.KindSIPPhone || subs[0].Watcher != "2101@127.0.0.1" {
		t.Fatalf("engine subscriptions %+v", subs)
	}
	n := u.waitNotify(1)
	if ct := hdr(n[0], "Content-Type"); ct != "application/cpim-pidf+xml" {
		t.Errorf("Content-Type %q", ct)
	}
	if b := string(n[0].Body()); !strings.Contains(b, "<basic>open</basic>") || strings.Contains(b, "on-the-phone") {
		t.Errorf("idle body:\n%s", b)
	}
	if ss := hdr(n[0], "Subscription-State"); !strings.HasPrefix(ss, "active;expires=") {
		t.Errorf("Subscription-State %q", ss)
	}
	toTag := tagOf(res.To().Params)
	if tagOf(n[0].From().Params) != toTag || tagOf(n[0].To().Params) != "w1" {
		t.Errorf("NOTIFY tags from=%q to=%q, want %q/w1", tagOf(n[0].From().Params), tagOf(n[0].To().Params), toTag)
	}

	if _, err := r.sw.OffHook(sccp, 1); err != nil {
		t.Fatal(err)
	}
	n = u.waitNotify(2)
	if b := string(n[1].Body()); !strings.Contains(b, "on-the-phone") {
		t.Errorf("off-hook body:\n%s", b)
	}
	if n[1].CSeq().SeqNo <= n[0].CSeq().SeqNo {
		t.Errorf("CSeq not increasing: %d then %d", n[0].CSeq().SeqNo, n[1].CSeq().SeqNo)
	}

	// The phone forgets the subscription: 481 removes it.
	u.setNotifyAnswer(481)
	if _, err := r.sw.OnHook(sccp, 1); err != nil {
		t.Fatal(err)
	}
	u.waitNotify(3)
	eventually(t, 3*time.Second, "subscription removal", func() bool {
		return len(r.srv.Subscriptions()) == 0 && len(r.eng.Subscriptions()) == 0
	})
}

// TestTrunkPolicy: trunk watchers need `watcher all`; unknown numbers are
// 404; refresh of an unknown dialog is 481; a refresh with Expires 0 ends
// with a terminated NOTIFY.
func TestTrunkPolicy(t *testing.T) {
	cfg := strings.Replace(registrarConfig, " authenticate presence\n", "", 1)
	r := newRig(t, strings.Replace(cfg, " watcher all\n", "", 1), trustLoopback)
	u := newRawUA(t, r.addr())
	sub := func(number, callID string, cseq int, extra ...string) int {
		h := append([]string{"Contact: <sip:w@" + u.addr() + ">", "Event: dialog"}, extra...)
		if !strings.Contains(strings.Join(extra, "\n"), "Expires:") {
			h = append(h, "Expires: 600")
		}
		to := "<sip:" + number + "@127.0.0.1>"
		for _, e := range extra {
			if t, ok := strings.CutPrefix(e, "X-To-Tag: "); ok {
				to += ";tag=" + t
			}
		}
		u.send("SUBSCRIBE", "sip:"+number+"@127.0.0.1:"+r.port(), "<sip:w@127.0.0.1>;tag=t"+callID, to, callID, cseq, h...)
		return u.response("SUBSCRIBE", cseq).StatusCode
	}
	if code := sub("2001", "a", 1); code != 403 {
		t.Fatalf("trunk without watcher all: %d, want 403", code)
	}
	r.apply(cfg)
	if code := sub("2001", "b", 2); code != 200 {
		t.Fatalf("trunk with watcher all: %d", code)
	}
	if code := sub("5555", "c", 3); code != 404 {
		t.Fatalf("unknown number: %d, want 404", code)
	}
	if code := sub("2001", "d", 4, "X-To-Tag: nosuchtag"); code != 481 {
		t.Fatalf("refresh of unknown dialog: %d, want 481", code)
	}
	n := u.waitNotify(1)
	tag := tagOf(n[0].From().Params)
	if code := sub("2001", "b", 5, "X-To-Tag: "+tag, "Expires: 0"); code != 200 {
		t.Fatalf("unsubscribe: %d", code)
	}
	n = u.waitNotify(2)
	if ss := hdr(n[len(n)-1], "Subscription-State"); !strings.HasPrefix(ss, "terminated") {
		t.Errorf("last NOTIFY %q", ss)
	}
	eventually(t, 2*time.Second, "cleanup", func() bool { return len(r.eng.Subscriptions()) == 0 && len(r.srv.Subscriptions()) == 0 })
}

// trustLoopback trusts the test's trunk peer at 127.0.0.1 (an unauthenticated
// trunk watcher must come from a trusted peer, docs/security.md
// §Presence-exposure); 127.0.0.2 stays untrusted.
func trustLoopback(o *Options) {
	o.TrustedPeers = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
}

// TestMaxSubscription: trunk watchers get at most three quarters of
// `max-subscription` (100, counted with SCCP watchers), so 200 external
// SUBSCRIBEs leave local BLF working; past the share, and past the cap, a
// SUBSCRIBE gets 503 with Retry-After (docs/sip-presence.md §Limits).
func TestMaxSubscription(t *testing.T) {
	r := newRig(t, strings.Replace(registrarConfig, " authenticate presence\n", "", 1), trustLoopback)
	u := newRawUA(t, r.addr())
	// One SCCP watcher counts too.
	if _, err := r.eng.Subscribe(blf.SubscribeRequest{Watcher: blf.NewMailbox(), Kind: blf.KindSCCPSpeedDial, Presentity: "2001"}); err != nil {
		t.Fatal(err)
	}
	granted := 0
	for i := 1; i <= 200; i++ {
		u.send("SUBSCRIBE", "sip:2001@127.0.0.1:"+r.port(), fmt.Sprintf("<sip:w@127.0.0.1>;tag=m%d", i), "<sip:2001@127.0.0.1>",
			fmt.Sprintf("max-%d", i), i, "Contact: <sip:w@"+u.addr()+">", "Event: dialog")
		switch res := u.response("SUBSCRIBE", i); res.StatusCode {
		case 200:
			granted++
		case 503:
			if hdr(res, "Retry-After") == "" {
				t.Fatalf("subscription %d: 503 without Retry-After", i)
			}
		default:
			t.Fatalf("subscription %d: %d", i, res.StatusCode)
		}
	}
	if granted != 75 {
		t.Fatalf("external subscriptions granted: %d, want 75 (three quarters of 100)", granted)
	}
	// Local phones still get their lamps, up to the cap itself.
	for i := 2; i <= 25; i++ {
		if _, err := r.eng.Subscribe(blf.SubscribeRequest{Watcher: blf.NewMailbox(), Kind: blf.KindSCCPSpeedDial, Presentity: "2001"}); err != nil {
			t.Fatalf("local BLF %d after the external flood: %v", i, err)
		}
	}
	if g := r.eng.Global(); g.Subscriptions != 100 {
		t.Errorf("engine counts %d", g.Subscriptions)
	}
	if _, err := r.eng.Subscribe(blf.SubscribeRequest{Watcher: blf.NewMailbox(), Kind: blf.KindSCCPSpeedDial, Presentity: "2001"}); err == nil {
		t.Errorf("local BLF past max-subscription accepted")
	}
}

// An untrusted, unauthenticated SUBSCRIBE cannot tell an existing DN from
// a missing one (docs/security.md §Presence-exposure).
func TestUntrustedSubscribeCannotEnumerate(t *testing.T) {
	r := newRig(t, strings.Replace(registrarConfig, " authenticate presence\n", "", 1), trustLoopback)
	u := newRawUAAt(t, "127.0.0.2", r.addr())
	answer := func(number string, cseq int) string {
		u.send("SUBSCRIBE", "sip:"+number+"@127.0.0.1:"+r.port(), "<sip:w@127.0.0.2>;tag=e", "<sip:"+number+"@127.0.0.1>",
			fmt.Sprintf("enum-%d", cseq), cseq, "Contact: <sip:w@"+u.addr()+">", "Event: dialog", "Expires: 600")
		res := u.response("SUBSCRIBE", cseq)
		var hs []string
		for _, h := range res.Headers() {
			switch strings.ToLower(h.Name()) {
			case "via", "from", "to", "call-id", "cseq", "content-length":
			default:
				hs = append(hs, h.Name()+": "+h.Value())
			}
		}
		return fmt.Sprintf("%d %s %v", res.StatusCode, res.Reason, hs)
	}
	exists, missing := answer("2001", 1), answer("5555", 2)
	if exists != missing || !strings.HasPrefix(exists, "403 ") {
		t.Fatalf("existing DN: %s\nmissing DN:  %s\nwant the same 403", exists, missing)
	}
	if len(r.eng.Subscriptions()) != 0 {
		t.Errorf("an untrusted SUBSCRIBE took a subscription: %+v", r.eng.Subscriptions())
	}
}

var _ dn.Device = (*phoneDevice)(nil)
