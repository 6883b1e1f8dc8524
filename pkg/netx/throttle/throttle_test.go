package throttle

import (
	"testing"
	"time"
)

func TestDelaySchedule(t *testing.T) {
	p := Policy{Base: 250 * time.Millisecond, Max: 4 * time.Second}
	want := []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 4 * time.Second, 4 * time.Second}
	for n, w := range want {
		if got := p.Delay(n); got != w {
			t.Errorf("Delay(%d) = %v, want %v", n, got, w)
		}
	}
	if (Policy{}).Delay(5) != 0 {
		t.Error("zero policy delays")
	}
}

func TestFailuresDelayPerKeyAndSuccessResets(t *testing.T) {
	th := New(Policy{Base: time.Second, Max: 8 * time.Second})
	now := time.Unix(1000, 0)
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if d, _ := th.Fail(now, "src:192.0.2.1", "user:alice"); d != want {
			t.Fatalf("failure %d: delay %v, want %v", i+1, d, want)
		}
	}
	// Another source guessing the same account gets the account's delay.
	if d, _ := th.Fail(now, "src:192.0.2.2", "user:alice"); d != 8*time.Second {
		t.Fatalf("account streak not shared: %v", d)
	}
	th.Succeed("src:192.0.2.1", "user:alice")
	if d, _ := th.Fail(now, "src:192.0.2.1", "user:alice"); d != time.Second {
		t.Fatalf("after success: %v", d)
	}
}

func TestBlockAfterAttemptsWithin(t *testing.T) {
	th := New(Policy{Attempts: 3, Within: 60 * time.Second, BlockFor: 120 * time.Second})
	t0 := time.Unix(1000, 0)
	// Two failures, then a third outside the window: no block.
	th.Fail(t0, "k")
	th.Fail(t0.Add(10*time.Second), "k")
	if _, b := th.Fail(t0.Add(70*time.Second), "k"); b {
		t.Fatal("blocked on failures spread over more than the window")
	}
	if _, b := th.Fail(t0.Add(71*time.Second), "k"); b {
		t.Fatal("blocked on two failures within the window")
	}
	if _, b := th.Fail(t0.Add(72*time.Second), "k"); !b {
		t.Fatal("third failure within 60 s did not block")
	}
	if ok, until := th.Blocked(t0.Add(73*time.Second), "other", "k"); !ok || !until.Equal(t0.Add(192*time.Second)) {
		t.Fatalf("Blocked = %v until %v", ok, until)
	}
	// A right password does not lift a block.
	th.Succeed("k")
	if ok, _ := th.Blocked(t0.Add(191*time.Second), "k"); !ok {
		t.Fatal("success lifted the block")
	}
	if ok, _ := th.Blocked(t0.Add(192*time.Second), "k"); ok {
		t.Fatal("still blocked after block-for")
	}
}

func TestBooksBounded(t *testing.T) {
	th := New(DefaultPolicy)
	now := time.Unix(0, 0)
	for i := range maxKeys + 10 {
		th.Fail(now.Add(time.Duration(i)), string(rune(i)))
	}
	th.mu.Lock()
	n := len(th.keys)
	th.mu.Unlock()
	if n > maxKeys {
		t.Fatalf("%d keys kept", n)
	}
}

func TestFromConfig(t *testing.T) {
	p := FromConfig(120, 5, 60)
	if p.Attempts != 5 || p.Within != time.Minute || p.BlockFor != 2*time.Minute || p.Base != DefaultPolicy.Base {
		t.Fatalf("%+v", p)
	}
	if p := FromConfig(0, 0, 0); p != DefaultPolicy {
		t.Fatalf("unconfigured: %+v", p)
	}
}

func TestHeldUntilTheDelayHasPassed(t *testing.T) {
	th := New(Policy{Base: time.Second, Max: 8 * time.Second})
	t0 := time.Unix(1000, 0)
	if held, _ := th.Held(t0, "src:a"); held {
		t.Fatal("held before any failure")
	}
	th.Fail(t0, "src:a", "user:x")
	th.Fail(t0, "src:a", "user:x") // streak 2: 2 s
	if held, until := th.Held(t0.Add(time.Second), "src:b", "user:x"); !held || !until.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("Held = %v until %v, want until t0+2s", held, until)
	}
	if held, _ := th.Held(t0.Add(2*time.Second), "src:a"); held {
		t.Fatal("still held once the delay has passed")
	}
	th.Succeed("src:a", "user:x")
	if held, _ := th.Held(t0.Add(time.Second), "src:a", "user:x"); held {
		t.Fatal("held after a success")
	}
}
