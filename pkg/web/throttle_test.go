package web_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/netx/throttle"
	"github.com/cmed-project/cmed/pkg/web"
)

// loginRecorder collects OnAuthFailure reasons.
type loginRecorder struct {
	mu      sync.Mutex // guards reasons; a leaf
	reasons map[string]int
}

func (l *loginRecorder) fail(user, remote, reason string) {
	l.mu.Lock()
	l.reasons[reason]++
	l.mu.Unlock()
}

func (l *loginRecorder) count(reason string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reasons[reason]
}

// login sends GET /api/state from remote with Basic credentials; ctx may
// be canceled to stand for a client that has gone away.
func login(ctx context.Context, e *env, remote, user, pass string) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(ctx, "GET", "/api/state", nil)
	req.RemoteAddr = remote
	req.SetBasicAuth(user, pass)
	rec := httptest.NewRecorder()
	e.web.Handler().ServeHTTP(rec, req)
	return rec
}

// A wrong password earns its delay (docs/security.md §Guessing): the
// answer waits for it, and meanwhile credentials from that source or for
// that account are refused unchecked with 429. The delay here is an hour,
// and the failing client goes away (a canceled request), so nothing races
// a clock.
func TestLoginThrottled(t *testing.T) {
	rec := &loginRecorder{reasons: map[string]int{}}
	e := newEnv(t, web.Options{Throttle: throttle.New(throttle.Policy{Base: time.Hour, Max: time.Hour}), OnAuthFailure: rec.fail})
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	login(gone, e, "192.0.2.7:5000", "admin", "wrong")
	if rec.count("bad-password") != 1 {
		t.Fatalf("failure not reported: %v", rec.reasons)
	}
	for _, remote := range []string{"192.0.2.7:5001", "192.0.2.8:5000"} {
		r := login(context.Background(), e, remote, "admin", "s3cret")
		if r.Code != 429 {
			t.Fatalf("right password from %s while throttled: %d, want 429", remote, r.Code)
		}
		if ra, err := strconv.Atoi(r.Header().Get("Retry-After")); err != nil || ra < 1 || ra > 3600 {
			t.Fatalf("Retry-After %q", r.Header().Get("Retry-After"))
		}
	}
	if got := rec.count("throttled"); got != 2 {
		t.Errorf("throttled reported %d times, want 2 (%v)", got, rec.reasons)
	}
	// The board stays open to loopback, which is never throttled.
	req := httptest.NewRequest("GET", "/api/state", nil)
	req.RemoteAddr = "127.0.0.1:1"
	r := httptest.NewRecorder()
	e.web.Handler().ServeHTTP(r, req)
	if r.Code != 200 {
		t.Fatalf("loopback while throttled: %d", r.Code)
	}
}

// `login block-for SECONDS attempts N within SECONDS` of the running
// config blocks the source and the account: even the right password is
// then refused with 429.
func TestLoginBlockForFromConfig(t *testing.T) {
	rec := &loginRecorder{reasons: map[string]int{}}
	cfg := boardConfig()
	cfg.LoginBlock = config.LoginBlock{BlockFor: 3600, Attempts: 2, Within: 3600}
	e := newEnv(t, web.Options{Config: func() *config.Config { return cfg }, OnAuthFailure: rec.fail})
	for i := range 2 {
		// Default delays (250 ms, 500 ms): the 401 comes once each has
		// passed, so the next try is checked.
		if r := login(context.Background(), e, "192.0.2.7:5000", "admin", "wrong"); r.Code != 401 {
			t.Fatalf("wrong password %d: %d, want 401", i+1, r.Code)
		}
	}
	if r := login(context.Background(), e, "192.0.2.7:5000", "admin", "s3cret"); r.Code != 429 {
		t.Fatalf("right password while blocked: %d, want 429", r.Code)
	}
	if rec.count("bad-password") != 2 || rec.count("blocked") != 1 {
		t.Errorf("reasons %v, want 2 bad-password and 1 blocked", rec.reasons)
	}
}
