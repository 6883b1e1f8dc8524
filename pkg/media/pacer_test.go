package media

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestPacer runs the pacer on synctest's fake clock, so the schedule is checked exactly rather
// than with timed assertions.
func TestPacer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		p := newPacer(start, framePeriod)
		// On time: frame n is released at exactly start + n·20 ms.
		for n := range 100 {
			skipped, err := p.wait(ctx)
			if err != nil || skipped != 0 {
				t.Fatalf("frame %d: skipped %d, err %v", n, skipped, err)
			}
			if got := time.Since(start); got != time.Duration(n)*framePeriod {
				t.Fatalf("frame %d released at %v, want %v", n, got, time.Duration(n)*framePeriod)
			}
			// Work that takes part of the period does not delay the schedule (no drift).
			time.Sleep(7 * time.Millisecond)
		}
		// A 50 ms stall: it is now 2.037 s (the last 7 ms of work plus 50). Frames 100 (due
		// 2.00 s) and 101 (2.02 s) are released at once, none skipped; frame 102 waits for 2.04 s.
		time.Sleep(50 * time.Millisecond)
		for range 2 {
			if skipped, _ := p.wait(ctx); skipped != 0 || time.Since(start) != 2037*time.Millisecond {
				t.Fatalf("overdue frame: skipped %d at %v, want 0 at once", skipped, time.Since(start))
			}
		}
		if skipped, _ := p.wait(ctx); skipped != 0 || time.Since(start) != 2040*time.Millisecond {
			t.Fatalf("frame 102: skipped %d at %v, want 0 at 2.04 s", skipped, time.Since(start))
		}
		// A 1 s stall: 50 frames overdue; maxCatchUp are sent, the rest skipped.
		time.Sleep(time.Second)
		skipped, _ := p.wait(ctx)
		now := time.Since(start)
		due := int64(now / framePeriod) // frames due by now, counting from 0
		if want := due - 103 - maxCatchUp; skipped != want {
			t.Fatalf("after a 1 s stall skipped %d frames, want %d", skipped, want)
		}
		for range maxCatchUp {
			if s, _ := p.wait(ctx); s != 0 || time.Since(start) != now {
				t.Fatalf("catch-up frame skipped %d or waited", s)
			}
		}
		// Back on schedule: the next frame waits for its slot.
		p.wait(ctx)
		if got := time.Since(start); got != time.Duration(due+1)*framePeriod {
			t.Fatalf("after catching up, next frame at %v, want %v", got, time.Duration(due+1)*framePeriod)
		}
		// Cancellation wakes a waiting pacer.
		go func() {
			time.Sleep(5 * time.Millisecond)
			cancel()
		}()
		if _, err := p.wait(ctx); err == nil {
			t.Fatal("wait returned no error after cancel")
		}
		p.stop()
	})
}
