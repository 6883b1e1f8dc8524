package blf_test

import (
	"bytes"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
)

// lockingUpstream is an Upstream with a lock of its own, like the SIP
// adapter: Watch and Unwatch take it, and its worker reports states while
// holding it. It is the worst case the Engine must tolerate: the Engine
// may not hold its own lock while calling Watch or Unwatch.
type lockingUpstream struct {
	mu   sync.Mutex // guards want; held while calling eng.SetExternalState (on purpose)
	want map[string]int
	eng  *blf.Engine
}

func (u *lockingUpstream) Watch(n string) {
	u.mu.Lock()
	u.want[n]++
	u.mu.Unlock()
}

func (u *lockingUpstream) Unwatch(n string) {
	u.mu.Lock()
	u.want[n]--
	u.mu.Unlock()
}

// report is the worker: it holds its lock across the call into the engine.
func (u *lockingUpstream) report(n string, st blf.State) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.eng.SetExternalState(n, st)
}

// TestUpstreamCalledOutsideEngineLock: subscriptions to external numbers
// come and go while the upstream reports their states. Deadlocks (watchdog
// with a goroutine dump) if Subscribe/Unsubscribe call the Upstream with
// the engine lock held. Afterwards every Watch was matched by an Unwatch.
func TestUpstreamCalledOutsideEngineLock(t *testing.T) {
	cfg := baseConfig()
	cfg.Presence = &config.Presence{AllowSubscribe: true, Server: "10.0.0.9"}
	up := &lockingUpstream{want: map[string]int{}}
	eng := blf.New(cfg, up)
	up.eng = eng
	numbers := []string{"7001", "7002", "7003"}
	const rounds = 3000

	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mb := blf.NewMailbox()
			for i := range rounds {
				id, err := eng.Subscribe(blf.SubscribeRequest{Watcher: mb, Kind: blf.KindSCCPSpeedDial,
					Presentity: numbers[(i+w)%len(numbers)]})
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range rounds {
			up.report(numbers[i%len(numbers)], blf.State(1+i%3))
		}
	}()

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second): // deadlock watchdog, not a timing assertion
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
		t.Fatalf("deadlock: workers did not finish within 15s\n%s", buf.String())
	}
	// Upstream calls are made by the engine's own goroutine after the
	// callers return: give the queue a bounded while to drain.
	unbalanced := func() map[string]int {
		up.mu.Lock()
		defer up.mu.Unlock()
		out := map[string]int{}
		for n, c := range up.want {
			if c != 0 {
				out[n] = c
			}
		}
		return out
	}
	for end := time.Now().Add(5 * time.Second); len(unbalanced()) > 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	for n, c := range unbalanced() {
		t.Errorf("%s: %d more Watch than Unwatch after every watcher left", n, c)
	}
}
