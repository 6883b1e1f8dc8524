package sip

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// newRawUAAt is newRawUA bound to another loopback address, a second host.
func newRawUAAt(t testing.TB, local, server string) *rawUA {
	t.Helper()
	conn, err := net.ListenPacket("udp", local+":0")
	if err != nil {
		t.Fatal(err)
	}
	to, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUA{t: t, conn: conn, to: to, notifyOK: 200, wake: make(chan struct{}, 1)}
	done := make(chan struct{})
	go u.read(done)
	t.Cleanup(func() { conn.Close(); <-done })
	return u
}

// authMetrics records AuthRejected reasons.
type authMetrics struct {
	listenerMetrics
	mu      sync.Mutex // guards reasons; a leaf
	reasons map[string]int
}

func (m *authMetrics) AuthRejected(method, reason string) {
	m.mu.Lock()
	m.reasons[method+" "+reason]++
	m.mu.Unlock()
}

// A REGISTER's Authorization captured on the wire is worth nothing to
// another host (the nonce is bound to the phone's address), nor to the
// phone's own address a second time (the nonce-count was used), and a
// REGISTER that moves the pool is logged and shown (docs/security.md
// §Digest).
func TestDigestReplayRefused(t *testing.T) {
	m := &authMetrics{reasons: map[string]int{}, listenerMetrics: listenerMetrics{events: map[string]int{}, up: map[string]bool{}}}
	r := newRig(t, registrarConfig, func(o *Options) { o.Metrics = m })
	phone := newRawUA(t, r.addr())
	thief := newRawUAAt(t, "127.0.0.2", r.addr())

	ruri := "sip:127.0.0.1:" + r.port()
	aor := "<sip:2101@127.0.0.1>"
	reg := func(u *rawUA, cseq int, auth string) *sip.Response {
		hs := []string{fmt.Sprintf("Contact: <sip:2101@%s>", u.addr()), "Expires: 600"}
		if auth != "" {
			hs = append(hs, auth)
		}
		u.send("REGISTER", ruri, aor+";tag=r", aor, "reg@"+u.addr(), cseq, hs...)
		return u.response("REGISTER", cseq)
	}
	ch := reg(phone, 1, "")
	if ch.StatusCode != 401 {
		t.Fatalf("first REGISTER: %d, want 401", ch.StatusCode)
	}
	auth := authorize(t, ch, "REGISTER", ruri, "alice", "s3cret")
	if res := reg(phone, 2, auth); res.StatusCode != 200 {
		t.Fatalf("phone REGISTER: %d", res.StatusCode)
	}

	// The thief replays the captured header from its own address.
	if res := reg(thief, 3, auth); res.StatusCode != 401 {
		t.Fatalf("replayed Authorization from another address: %d, want 401", res.StatusCode)
	}
	if b := r.srv.Bindings(); len(b) != 1 || b[0].Source != phone.addr() {
		t.Fatalf("binding after the replay: %+v, want the phone's", b)
	}
	// The same header again from the phone's own address (a replay by
	// someone spoofing it): the nonce-count is used up.
	res := reg(phone, 4, auth)
	if res.StatusCode != 401 || !strings.Contains(hdr(res, "WWW-Authenticate"), "stale=true") {
		t.Fatalf("replayed nonce-count: %d %q, want 401 stale", res.StatusCode, hdr(res, "WWW-Authenticate"))
	}
	m.mu.Lock()
	replays := m.reasons["REGISTER replay"]
	m.mu.Unlock()
	if replays != 1 {
		t.Errorf("replays counted: %v", m.reasons)
	}

	// The thief with the password (a real move, or a hijack with stolen
	// credentials) gets the pool; the move is recorded.
	ch = reg(thief, 5, "")
	if res := reg(thief, 6, authorize(t, ch, "REGISTER", ruri, "alice", "s3cret")); res.StatusCode != 200 {
		t.Fatalf("thief with the password: %d", res.StatusCode)
	}
	b := r.srv.Bindings()
	if len(b) != 1 || b[0].Source != thief.addr() || b[0].MovedFrom != phone.addr() {
		t.Fatalf("binding after the move: %+v, want moved from %s", b, phone.addr())
	}
	devs, err := r.sw.Devices()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Name == "SEP00156247EF90" && (d.Info.Addr != thief.addr() || !strings.HasPrefix(d.Info.Extra["moved-from"], phone.addr())) {
			t.Errorf("device info after the move: %+v", d.Info)
		}
	}
}
