package sip

import (
	"bytes"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
)

// waitOrDump waits for wg; if it has not finished after limit the test
// fails with every goroutine's stack, which shows who holds which lock.
// The limit is a deadlock watchdog, not a timing assertion: the work is a
// few thousand lock round-trips that finish in well under a second.
func waitOrDump(t *testing.T, wg *sync.WaitGroup, limit time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
		t.Fatalf("deadlock: workers did not finish within %v\n%s", limit, buf.String())
	}
}

// TestPresenceUpstreamLockOrder drives, at the same time, what the three
// sides of external presence do in production: BLF keys subscribing to and
// leaving external numbers (Engine.Subscribe/Unsubscribe, which tell the
// upstream adapter Watch/Unwatch), the upstream worker giving up on an
// external number after its retry limit (reconcile -> SetExternalState,
// docs/cme-cli.md §Presence-commands) and the dn switch publishing line changes
// (LineChanged). If one side calls the other while holding its own lock,
// the two locks are taken in opposite orders and the switch goroutine
// stops; the watchdog then fails the test with the goroutine dump.
func TestPresenceUpstreamLockOrder(t *testing.T) {
	// A UDP socket nobody answers on, so the presence server address is
	// on loopback and nothing is ever sent elsewhere.
	cfg := &config.Config{
		Presence: &config.Presence{AllowSubscribe: true, Server: "127.0.0.1", BLFRetryLimit: 1},
		SIPUA:    &config.SIPUA{PresenceEnable: true},
		EphoneDNs: []config.EphoneDN{
			{Tag: 1, Number: "1001", AllowWatch: true},
		},
	}
	up := &upstreamProxy{}
	eng := blf.New(cfg, up)
	srv, err := New(Options{Switch: dn.New(cfg, eng), Presence: eng, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	up.srv.Store(srv)
	u := srv.up
	numbers := []string{"7001", "7002", "7003", "7004"}
	const rounds = 3000
	ctx := t.Context()

	var wg sync.WaitGroup
	// BLF keys on external numbers come and go.
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mb := blf.NewMailbox()
			for i := range rounds {
				id, err := eng.Subscribe(blf.SubscribeRequest{Watcher: mb, WatcherName: "ephone-" + strconv.Itoa(w),
					Kind: blf.KindSCCPSpeedDial, Presentity: numbers[(i+w)%len(numbers)]})
				if err != nil {
					t.Errorf("subscribe: %v", err)
					return
				}
				mb.Drain(nil)
				if err := eng.Unsubscribe(id); err != nil {
					t.Errorf("unsubscribe: %v", err)
					return
				}
			}
		}()
	}
	// The upstream worker: every outbound subscription has used up its
	// retries, so each round that still wants the number marks it failed
	// and reports the lamp unknown. Each number has a record before
	// reconcile runs, so no SUBSCRIBE is ever started.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range rounds {
			u.mu.Lock()
			for _, n := range numbers {
				u.outs[n] = &outSub{number: n, state: outRetry, failures: 1, server: "127.0.0.1:5060"}
			}
			u.mu.Unlock()
			u.reconcile(ctx, time.Now())
		}
	}()
	// The dn switch publishes line changes.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range rounds {
			p := dn.PresenceIdle
			if i%2 == 1 {
				p = dn.PresenceInUse
			}
			eng.LineChanged(dn.LineEvent{Key: dn.DNKey{Kind: dn.EphoneDN, Tag: 1}, Number: "1001", AllowWatch: true, Presence: p})
		}
	}()
	waitOrDump(t, &wg, 15*time.Second)

	// Every BLF key left: the upstream adapter must want nothing. The
	// engine makes Upstream calls from its own goroutine after the
	// callers return (pkg/blf/doc.go), so give it a bounded while.
	wanted := func() []string {
		u.mu.Lock()
		defer u.mu.Unlock()
		var out []string
		for n := range u.want {
			out = append(out, n)
		}
		return out
	}
	for end := time.Now().Add(5 * time.Second); len(wanted()) > 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	for _, n := range wanted() {
		t.Errorf("upstream still wants %s after every watcher left", n)
	}
}
