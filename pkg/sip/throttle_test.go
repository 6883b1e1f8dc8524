package sip

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/netx/throttle"
)

// throttleRig is a registrar whose digest throttle has policy p, with a
// REGISTER helper for pool alice (registrarConfig).
func throttleRig(t *testing.T, p throttle.Policy) (*rig, *authMetrics, func(u *rawUA, cseq int, pw string) *sip.Response) {
	t.Helper()
	m := &authMetrics{reasons: map[string]int{}, listenerMetrics: listenerMetrics{events: map[string]int{}, up: map[string]bool{}}}
	r := newRig(t, registrarConfig, func(o *Options) { o.Metrics = m; o.AuthThrottle = throttle.New(p) })
	ruri := "sip:127.0.0.1:" + r.port()
	aor := "<sip:2101@127.0.0.1>"
	reg := func(u *rawUA, cseq int, pw string) *sip.Response {
		hs := []string{fmt.Sprintf("Contact: <sip:2101@%s>", u.addr()), "Expires: 600"}
		u.send("REGISTER", ruri, aor+";tag=r", aor, "reg@"+u.addr(), cseq, hs...)
		ch := u.response("REGISTER", cseq)
		if ch.StatusCode != 401 {
			t.Fatalf("REGISTER without credentials: %d, want 401", ch.StatusCode)
		}
		hs = append(hs, authorize(t, ch, "REGISTER", ruri, "alice", pw))
		u.send("REGISTER", ruri, aor+";tag=r", aor, "reg@"+u.addr(), cseq+1, hs...)
		return u.response("REGISTER", cseq+1)
	}
	return r, m, reg
}

func (m *authMetrics) count(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reasons[key]
}

// A wrong digest password earns its delay (docs/security.md §Guessing):
// until it has passed, credentials from that source, or for that account
// from anywhere, are answered 503 with Retry-After without being checked,
// even right ones. The policy's delay is an hour, so nothing here races a
// clock.
func TestDigestFailureThrottled(t *testing.T) {
	r, m, reg := throttleRig(t, throttle.Policy{Base: time.Hour, Max: time.Hour})
	phone := newRawUA(t, r.addr())
	other := newRawUAAt(t, "127.0.0.2", r.addr())

	if res := reg(phone, 1, "wrong"); res.StatusCode != 401 {
		t.Fatalf("wrong password: %d, want 401", res.StatusCode)
	}
	res := reg(phone, 3, "s3cret")
	if res.StatusCode != 503 {
		t.Fatalf("right password while throttled: %d, want 503", res.StatusCode)
	}
	if ra, err := strconv.Atoi(hdr(res, "Retry-After")); err != nil || ra < 1 || ra > 3600 {
		t.Fatalf("Retry-After %q, want 1..3600 seconds", hdr(res, "Retry-After"))
	}
	// The account is throttled from another address too.
	if res := reg(other, 5, "s3cret"); res.StatusCode != 503 {
		t.Fatalf("same account from another address: %d, want 503", res.StatusCode)
	}
	if n := len(r.srv.Bindings()); n != 0 {
		t.Fatalf("%d bindings while throttled", n)
	}
	if got := m.count("REGISTER bad-password"); got != 1 {
		t.Errorf("bad-password counted %d times, want 1 (%v)", got, m.reasons)
	}
	if got := m.count("REGISTER throttled"); got != 2 {
		t.Errorf("throttled counted %d times, want 2 (%v)", got, m.reasons)
	}
}

// `login block-for` blocks a source and account after Attempts wrong
// digests within Within: then even the right password gets 503.
func TestDigestBlockFor(t *testing.T) {
	r, m, reg := throttleRig(t, throttle.Policy{Attempts: 2, Within: time.Hour, BlockFor: time.Hour})
	phone := newRawUA(t, r.addr())
	// No delays in this policy: the first right password goes through,
	// and resets the streak but not the window's count.
	if res := reg(phone, 1, "wrong"); res.StatusCode != 401 {
		t.Fatalf("first wrong password: %d, want 401", res.StatusCode)
	}
	if res := reg(phone, 3, "s3cret"); res.StatusCode != 200 {
		t.Fatalf("right password before the block: %d, want 200", res.StatusCode)
	}
	for i, cseq := range []int{5, 7} {
		if res := reg(phone, cseq, "wrong"); res.StatusCode != 401 {
			t.Fatalf("wrong password %d: %d, want 401", i+2, res.StatusCode)
		}
	}
	if res := reg(phone, 9, "s3cret"); res.StatusCode != 503 {
		t.Fatalf("right password while blocked: %d, want 503", res.StatusCode)
	}
	if got := m.count("REGISTER blocked"); got != 1 {
		t.Errorf("blocked counted %d times, want 1 (%v)", got, m.reasons)
	}
	if got := m.count("REGISTER bad-password"); got != 3 {
		t.Errorf("bad-password counted %d times, want 3 (%v)", got, m.reasons)
	}
}
