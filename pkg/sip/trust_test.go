package sip

import (
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/blf"
)

func portOf(t *testing.T, hp string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(hp)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// noMore fails if another final response to method/cseq arrives within d:
// a stateless 403 or 401 is sent once, not retransmitted (Timer G first
// fires after T1 = 500 ms, RFC 3261 §17.2.1).
func noMore(t *testing.T, u *rawUA, method string, cseq int, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, m := range u.inbox {
		if r, ok := m.(*sip.Response); ok && r.StatusCode >= 200 && r.CSeq() != nil &&
			int(r.CSeq().SeqNo) == cseq && string(r.CSeq().MethodName) == method {
			t.Errorf("%s %d answered again (%d): the rejection was retransmitted", method, cseq, r.StatusCode)
		}
	}
}

// TestUntrustedInviteForbidden: an INVITE from an address that is neither
// a registered phone nor a trusted peer gets one 403, for an assigned and
// an unassigned number alike, and rings nothing; OPTIONS answers both
// numbers alike (no enumeration, svwar).
func TestUntrustedInviteForbidden(t *testing.T) {
	r := newRig(t, notifierConfig(`
dial-peer voice 10 voip
 destination-pattern 3...
 session protocol sipv2
 session target ipv4:127.0.0.1:1
`), nil)
	_, dev := registerEphone(t, r, "0011.2233.4401")
	u := newRawUA(t, r.addr())
	var codes []int
	for i, number := range []string{"2001", "9999"} {
		cseq := 10 + i
		u.sendBody("INVITE", "sip:"+number+"@127.0.0.1:"+r.port(), "<sip:"+number+"@127.0.0.1>;tag=sv"+number,
			"<sip:"+number+"@127.0.0.1>", "scan-"+number, cseq, sdpAt(40000), "Contact: <sip:"+number+"@"+u.addr()+">")
		res := u.response("INVITE", cseq)
		codes = append(codes, res.StatusCode)
		u.send("OPTIONS", "sip:"+number+"@127.0.0.1:"+r.port(), "<sip:"+number+"@127.0.0.1>;tag=o"+number,
			"<sip:"+number+"@127.0.0.1>", "opt-"+number, 20+i)
		codes = append(codes, u.response("OPTIONS", 20+i).StatusCode)
	}
	if want := []int{403, 200, 403, 200}; !equalInts(codes, want) {
		t.Errorf("INVITE/OPTIONS to 2001 and 9999: %v, want %v", codes, want)
	}
	noMore(t, u, "INVITE", 10, 1200*time.Millisecond)
	if _, rang := dev.Last("Ring"); rang {
		t.Error("an untrusted INVITE rang the phone")
	}
	if st := r.eng.State("2001"); st != blf.StateIdle {
		t.Errorf("2001 is %v after the scan", st)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTrustedPeerInvite: the same INVITE from a dial-peer's session target
// (address and port) is a trunk call and rings the SCCP phone; with
// Options.TrustedPeers (`ip address trusted list`) any port of the listed
// address is trusted.
func TestTrustedPeerInvite(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dialPeer bool
		trusted  []netip.Prefix
	}{
		{"dial-peer", true, nil},
		{"trusted-list", false, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newRawUA(t, "127.0.0.1:1") // re-aimed below
			extra := ""
			if tc.dialPeer {
				extra = `
dial-peer voice 10 voip
 destination-pattern 3...
 session protocol sipv2
 session target ipv4:127.0.0.1:` + portOf(t, u.addr()) + "\n"
			}
			r := newRig(t, notifierConfig(extra), func(o *Options) { o.TrustedPeers = tc.trusted })
			u.to = mustUDPAddr(t, r.addr())
			_, dev := registerEphone(t, r, "0011.2233.4401")
			u.sendBody("INVITE", "sip:2001@127.0.0.1:"+r.port(), "<sip:3001@127.0.0.1>;tag=pe",
				"<sip:2001@127.0.0.1>", "peer-1", 10, sdpAt(40002), "Contact: <sip:3001@"+u.addr()+">")
			eventually(t, 3*time.Second, "the phone to ring", func() bool {
				e, ok := dev.Last("Ring")
				return ok && e.Info.Calling.Number == "3001"
			})
		})
	}
}

func mustUDPAddr(t *testing.T, s string) *net.UDPAddr {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPhoneInviteDigest: under `authenticate register` a registered
// phone's INVITE is challenged and placed once it answers with the pool's
// credentials; an unregistered source is challenged for every number alike
// (nothing to enumerate) and refused with wrong credentials.
func TestPhoneInviteDigest(t *testing.T) {
	r := newRig(t, registrarConfig, nil)
	_, dev := registerEphone(t, r, "0011.2233.4401")
	phone := newRawUA(t, r.addr())
	if code, _ := register(t, r, phone, "2101", 600, 1, "s3cret"); code != 200 {
		t.Fatalf("REGISTER: %d", code)
	}
	ruri := "sip:2001@127.0.0.1:" + r.port()
	from, to := "<sip:2101@127.0.0.1>;tag=ph", "<sip:2001@127.0.0.1>"
	contact := "Contact: <sip:2101@" + phone.addr() + ">"
	phone.sendBody("INVITE", ruri, from, to, "call-auth", 10, sdpAt(40004), contact)
	res := phone.response("INVITE", 10)
	if res.StatusCode != 401 {
		t.Fatalf("phone INVITE without credentials: %d, want 401", res.StatusCode)
	}
	phone.sendBody("INVITE", ruri, from, to, "call-auth", 11, sdpAt(40004), contact,
		authorize(t, res, "INVITE", ruri, "alice", "s3cret"))
	eventually(t, 3*time.Second, "the SCCP phone to ring", func() bool {
		e, ok := dev.Last("Ring")
		return ok && e.Info.Calling.Number == "2101"
	})

	stranger := newRawUA(t, r.addr())
	for i, number := range []string{"2001", "9999"} {
		cseq := 20 + i
		stranger.sendBody("INVITE", "sip:"+number+"@127.0.0.1:"+r.port(), "<sip:"+number+"@127.0.0.1>;tag=s"+strconv.Itoa(i),
			"<sip:"+number+"@127.0.0.1>", "stranger-"+number, cseq, sdpAt(40006))
		if res := stranger.response("INVITE", cseq); res.StatusCode != 401 {
			t.Errorf("stranger INVITE to %s: %d, want 401 like every number", number, res.StatusCode)
		}
	}
	noMore(t, stranger, "INVITE", 20, 1200*time.Millisecond)
	stranger.sendBody("INVITE", ruri, "<sip:2101@127.0.0.1>;tag=s9", to, "stranger-pw", 30, sdpAt(40006))
	res = stranger.response("INVITE", 30)
	stranger.sendBody("INVITE", ruri, "<sip:2101@127.0.0.1>;tag=s9", to, "stranger-pw", 31, sdpAt(40006),
		authorize(t, res, "INVITE", ruri, "alice", "guess"))
	if res := stranger.response("INVITE", 31); res.StatusCode != 401 {
		t.Errorf("stranger INVITE with a wrong password: %d, want 401", res.StatusCode)
	}
}

func TestParseSessionTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want trustEntry
		ok   bool
	}{
		{"ipv4:10.0.0.1", trustEntry{addr: netip.MustParseAddr("10.0.0.1")}, true},
		{"ipv4:10.0.0.1:5070", trustEntry{addr: netip.MustParseAddr("10.0.0.1"), port: 5070}, true},
		{"ipv4:10.0.0.1:99999", trustEntry{}, false},
		{"dns:cme.example.com", trustEntry{}, false},
		{"ipv4:cme.example.com", trustEntry{}, false},
		{"", trustEntry{}, false},
	} {
		got, ok := parseSessionTarget(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseSessionTarget(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseSessionTarget(f *testing.F) {
	for _, s := range []string{"ipv4:10.0.0.1", "ipv4:127.0.0.1:5070", "ipv4:[::1]:5060", "dns:x", "ipv4::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, ok := parseSessionTarget(s)
		if !ok {
			return
		}
		if !e.addr.IsValid() || e.addr.Is4In6() {
			t.Fatalf("%q: bad address %v", s, e.addr)
		}
		// What was parsed is what a session target renders back to.
		hp := e.addr.String()
		if e.port != 0 {
			hp = netip.AddrPortFrom(e.addr, e.port).String()
		}
		if again, ok := parseSessionTarget("ipv4:" + hp); !ok || again != e {
			t.Fatalf("%q -> %v does not round-trip (%v)", s, e, again)
		}
	})
}

// TestInviteFromNewAddressWithCredentials: a registered pool's phone that
// calls from another address (its NAT binding changed) is challenged and,
// with the pool's credentials, places the call as that pool.
func TestInviteFromNewAddressWithCredentials(t *testing.T) {
	r := newRig(t, registrarConfig, nil)
	_, dev := registerEphone(t, r, "0011.2233.4401")
	phone := newRawUA(t, r.addr())
	if code, _ := register(t, r, phone, "2101", 600, 1, "s3cret"); code != 200 {
		t.Fatalf("REGISTER: %d", code)
	}
	moved := newRawUA(t, r.addr())
	ruri := "sip:2001@127.0.0.1:" + r.port()
	from, to := "<sip:2101@127.0.0.1>;tag=mv", "<sip:2001@127.0.0.1>"
	moved.sendBody("INVITE", ruri, from, to, "moved-1", 10, sdpAt(40008))
	res := moved.response("INVITE", 10)
	if res.StatusCode != 401 {
		t.Fatalf("INVITE from a new address: %d, want 401", res.StatusCode)
	}
	moved.sendBody("INVITE", ruri, from, to, "moved-1", 11, sdpAt(40008), "Contact: <sip:2101@"+moved.addr()+">",
		authorize(t, res, "INVITE", ruri, "alice", "s3cret"))
	eventually(t, 3*time.Second, "the SCCP phone to ring", func() bool {
		e, ok := dev.Last("Ring")
		return ok && e.Info.Calling.Number == "2101"
	})
}

// TestRegisterUnknownNumberChallenged: under `authenticate register` a
// REGISTER for an unassigned number is challenged like an assigned one
// (svwar -m REGISTER cannot tell them apart); 404 comes only after valid
// credentials.
func TestRegisterUnknownNumberChallenged(t *testing.T) {
	r := newRig(t, registrarConfig, nil)
	u := newRawUA(t, r.addr())
	for i, number := range []string{"2101", "9999"} {
		aor := "<sip:" + number + "@127.0.0.1>"
		u.send("REGISTER", "sip:127.0.0.1:"+r.port(), aor+";tag=q"+number, aor, "scan-reg-"+number, 10+i,
			"Contact: <sip:"+number+"@"+u.addr()+">", "Expires: 600")
		if res := u.response("REGISTER", 10+i); res.StatusCode != 401 {
			t.Errorf("REGISTER %s without credentials: %d, want 401", number, res.StatusCode)
		}
	}
}
