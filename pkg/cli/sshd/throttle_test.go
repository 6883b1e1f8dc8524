package sshd

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cmed-project/cmed/pkg/netx/throttle"
)

// sshRig is a Server on loopback with one user, alice/right.
type sshRig struct {
	addr     string
	mu       sync.Mutex // guards failures; a leaf
	failures map[string]int
}

func newSSHRig(tb testing.TB, p throttle.Policy) *sshRig {
	tb.Helper()
	r := &sshRig{failures: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r.addr = l.Addr().String()
	s := &Server{
		HostKeys: &memKeys{},
		Password: func(user, pw string) (int, bool) { return 15, user == "alice" && pw == "right" },
		Handle:   func(context.Context, *Session) error { return nil },
		Throttle: throttle.New(p),
		OnAuthFailure: func(_, _, reason string) {
			r.mu.Lock()
			r.failures[reason]++
			r.mu.Unlock()
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Serve(ctx, l); close(done) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			tb.Error("Serve did not return")
		}
	})
	return r
}

func (r *sshRig) count(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures[reason]
}

// login tries one password on a new connection; nil when it is accepted.
func (r *sshRig) login(pw string) error {
	c, err := ssh.Dial("tcp", r.addr, &ssh.ClientConfig{
		User: "alice", Auth: []ssh.AuthMethod{ssh.Password(pw)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		return err
	}
	return c.Close()
}

// After `login block-for` blocks the source, even the right password is
// refused until the block runs out, and every refusal is reported with
// its reason.
func TestSSHBlockAfterFailures(t *testing.T) {
	r := newSSHRig(t, throttle.Policy{Attempts: 3, Within: time.Minute, BlockFor: time.Hour})
	for i := range 3 {
		if err := r.login("wrong"); err == nil {
			t.Fatalf("wrong password %d accepted", i)
		}
	}
	if err := r.login("right"); err == nil {
		t.Fatal("right password accepted while blocked")
	}
	if r.count("bad-password") != 3 || r.count("blocked") != 1 {
		t.Fatalf("failures reported: %v", r.failures)
	}
}

// A right password after wrong ones is accepted (no block configured) and
// ends the streak.
func TestSSHRightPasswordAccepted(t *testing.T) {
	r := newSSHRig(t, throttle.Policy{Base: time.Millisecond, Max: 2 * time.Millisecond})
	for range 2 {
		if err := r.login("wrong"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	if err := r.login("right"); err != nil {
		t.Fatalf("right password refused: %v", err)
	}
}

// BenchmarkSSHPasswords shows the delay policy at work: 20 wrong
// passwords take longer than 20 right ones. The policy is scaled down
// (1 ms doubling to 16 ms, instead of DefaultPolicy's 250 ms to 4 s) so
// the benchmark runs in seconds; compare the two ns/op.
func BenchmarkSSHPasswords(b *testing.B) {
	p := throttle.Policy{Base: time.Millisecond, Max: 16 * time.Millisecond}
	for _, tc := range []struct{ name, pw string }{{"right20", "right"}, {"wrong20", "wrong"}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				r := newSSHRig(b, p) // fresh books each round
				b.StartTimer()
				for range 20 {
					err := r.login(tc.pw)
					if (err == nil) != (tc.pw == "right") {
						b.Fatalf("%s: %v", tc.pw, err)
					}
				}
			}
		})
	}
}
