package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

func runCalls(ctx context.Context, o options) error {
	f, rep, before, err := connect(ctx, o, "calls")
	if err != nil {
		return err
	}
	defer f.Close()
	rep.add("calls rate=%.0f hold=%v d=%v", o.rate, o.hold, o.dur)
	reg := readProc(o.pid)
	callPairs(ctx, o, f, rep, 1)
	rep.proc(before, reg, f.wall, f.Registered())
	rep.add("during calls:")
	rep.proc(reg, readProc(o.pid), o.dur, 0)
	fmt.Fprint(o.stdout, rep.String())
	return nil
}

// callPairs places calls between phone pairs taken from the last share of
// the fleet (the BLF churn of `mixed` uses the rest) at o.rate calls per
// second for o.dur: A off hook, dials B, B rings, B answers, A sees
// connected, both hang up after o.hold.
func callPairs(ctx context.Context, o options, f *Fleet, rep *report, share float64) {
	first := len(f.phones) - int(float64(len(f.phones))*share)
	f.churnLimit = first
	var pairs [][2]int
	for i := first; i+1 < len(f.phones); i += 2 {
		if f.phones[i] != nil && f.phones[i+1] != nil {
			pairs = append(pairs, [2]int{i, i + 1})
		}
	}
	if len(pairs) == 0 {
		rep.add("calls: no phone pairs")
		return
	}
	tokens := make(chan struct{}, len(pairs))
	stop := make(chan struct{})
	var offered, busy atomic.Int64
	start := time.Now()
	go func() {
		// Tokens are issued by the clock, not one per tick: a ticker
		// drops the ticks its goroutine is too late for, and on a loaded
		// machine a 1 ms ticker gave ~15 % fewer calls than asked for.
		t := time.NewTicker(max(time.Millisecond, time.Duration(float64(time.Second)/max(o.rate, 0.1))))
		defer t.Stop()
		end := time.After(o.dur)
		issue := func(elapsed time.Duration) {
			due := int64(min(elapsed, o.dur).Seconds() * o.rate)
			for offered.Load() < due {
				offered.Add(1)
				select {
				case tokens <- struct{}{}:
				default: // every pair busy: the offered rate is not met
					busy.Add(1)
				}
			}
		}
		for {
			select {
			case now := <-t.C:
				issue(now.Sub(start))
			case <-end:
				issue(o.dur)
				close(stop)
				return
			case <-ctx.Done():
				close(stop)
				return
			}
		}
	}()
	var mu sync.Mutex // guards setup and answer; a leaf
	var setup, answer []time.Duration
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for _, pr := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, b := f.phones[pr[0]], f.phones[pr[1]]
			for {
				select {
				case <-tokens: // a token issued before stop is a call offered: placed
				default:
					select {
					case <-tokens:
					case <-stop:
						return
					}
				}
				s, an, err := oneCall(ctx, a, b, f.office.Number(pr[1]), o.hold)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					// Reset both phones for the next try.
					a.OnHook()
					b.OnHook()
					time.Sleep(200 * time.Millisecond)
					continue
				}
				ok.Add(1)
				mu.Lock()
				setup, answer = append(setup, s), append(answer, an)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	// Calls per second of the offered window: the calls started in it
	// finish within a hold time of its end (wall includes that tail).
	rep.add("calls ok=%d failed=%d (%.1f calls/s over the %v offered; wall %.1fs) offered=%d not-placed(all pairs busy)=%d pairs=%d dial->ring p50=%s p99=%s answer->connected p50=%s p99=%s",
		ok.Load(), failed.Load(), float64(ok.Load())/o.dur.Seconds(), o.dur, wall.Seconds(), offered.Load(), busy.Load(), len(pairs),
		ms(percentile(setup, 50)), ms(percentile(setup, 99)), ms(percentile(answer, 50)), ms(percentile(answer, 99)))
	if e := firstErr.Load(); e != nil {
		rep.add("calls first error: %s", e)
	}
}

func callState(p *sccptest.Phone, want msg.CallState) func(sccptest.State) bool {
	return func(s sccptest.State) bool {
		for _, c := range s.Calls {
			if c.State == want {
				return true
			}
		}
		return false
	}
}

func idle(s sccptest.State) bool {
	for _, c := range s.Calls {
		if c.State != msg.CallOnHook && c.State != msg.CallIdle {
			return false
		}
	}
	return true
}

func oneCall(ctx context.Context, a, b *sccptest.Phone, number string, hold time.Duration) (setup, answer time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	t0 := time.Now()
	if err := a.OffHook(); err != nil {
		return 0, 0, err
	}
	if _, err := a.WaitState(ctx, callState(a, msg.CallOffHook)); err != nil {
		return 0, 0, fmt.Errorf("caller off hook: %w", err)
	}
	if err := a.Dial(number); err != nil {
		return 0, 0, err
	}
	if _, err := b.WaitState(ctx, callState(b, msg.CallRingIn)); err != nil {
		return 0, 0, fmt.Errorf("callee never rang: %w", err)
	}
	setup = time.Since(t0)
	t1 := time.Now()
	if err := b.Answer(); err != nil {
		return 0, 0, err
	}
	if _, err := a.WaitState(ctx, callState(a, msg.CallConnected)); err != nil {
		return 0, 0, fmt.Errorf("caller never connected: %w", err)
	}
	answer = time.Since(t1)
	time.Sleep(hold)
	if err := a.OnHook(); err != nil {
		return 0, 0, err
	}
	if _, err := b.WaitState(ctx, func(s sccptest.State) bool { return !callState(b, msg.CallConnected)(s) }); err != nil {
		return 0, 0, fmt.Errorf("callee still connected: %w", err)
	}
	b.OnHook()
	if _, err := a.WaitState(ctx, idle); err != nil {
		return 0, 0, fmt.Errorf("caller not idle: %w", err)
	}
	if _, err := b.WaitState(ctx, idle); err != nil {
		return 0, 0, fmt.Errorf("callee not idle: %w", err)
	}
	return setup, answer, nil
}
