// Package throttle slows password guessing: it counts failed logins per
// source address and per account, says how long to delay the next answer,
// and blocks a key for a while after too many failures (IOS `login
// block-for`, docs/security.md §Guessing). It only keeps the books;
// callers sleep and refuse. Time is passed in, so the policy is testable
// without clocks.
package throttle

import (
	"sync"
	"time"
)

// Policy is how failures turn into delays and blocks.
type Policy struct {
	// Base is the delay after the first failure; each further failure
	// doubles it up to Max. Zero Base: no delays.
	Base, Max time.Duration
	// Attempts failures within Within block the key for BlockFor
	// (`login block-for BlockFor attempts Attempts within Within`).
	// Zero Attempts: no blocking.
	Attempts int
	Within   time.Duration
	BlockFor time.Duration
}

// DefaultPolicy delays without blocking: 250 ms after the first failure,
// doubling to 4 s, so 20 wrong passwords cost about a minute while a
// single typo costs a quarter of a second.
var DefaultPolicy = Policy{Base: 250 * time.Millisecond, Max: 4 * time.Second}

// Delay is the delay after n failures in a row.
func (p Policy) Delay(n int) time.Duration {
	if n <= 0 || p.Base <= 0 {
		return 0
	}
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, max(p.Max, p.Base))
}

// maxKeys bounds the books: past it, the oldest-touched keys are dropped
// (an attacker rotating addresses fills the table, not the memory).
const maxKeys = 65536

type entry struct {
	fails   []time.Time // failures within the window, oldest first
	streak  int         // failures since the last success
	blocked time.Time   // refused until then
	touched time.Time   // the last failure
}

// Throttle keeps the books for one service.
type Throttle struct {
	mu     sync.Mutex // guards policy and keys; a leaf
	policy Policy
	keys   map[string]*entry
}

// New returns a Throttle with policy p.
func New(p Policy) *Throttle {
	return &Throttle{policy: p, keys: map[string]*entry{}}
}

// SetPolicy replaces the policy (a configuration change); the books stay.
func (t *Throttle) SetPolicy(p Policy) {
	t.mu.Lock()
	t.policy = p
	t.mu.Unlock()
}

// Policy returns the policy in force.
func (t *Throttle) Policy() Policy {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.policy
}

// Blocked reports whether any of keys is blocked at now, and until when.
func (t *Throttle) Blocked(now time.Time, keys ...string) (bool, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var until time.Time
	for _, k := range keys {
		if e := t.keys[k]; e != nil && now.Before(e.blocked) && e.blocked.After(until) {
			until = e.blocked
		}
	}
	return !until.IsZero(), until
}

// Held reports whether any of keys is still inside the delay its last
// failure earned (the delay Fail returned, counted from that failure), and
// until when. It is for services that cannot hold an answer back, such as
// SIP over UDP: they refuse until then instead of sleeping
// (docs/security.md §Guessing).
func (t *Throttle) Held(now time.Time, keys ...string) (bool, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var until time.Time
	for _, k := range keys {
		e := t.keys[k]
		if e == nil || e.streak == 0 {
			continue
		}
		if u := e.touched.Add(t.policy.Delay(e.streak)); now.Before(u) && u.After(until) {
			until = u
		}
	}
	return !until.IsZero(), until
}

// Fail records a failure for each key at now and returns the delay to
// apply before answering (the longest of the keys') and whether this
// failure blocked one of them.
func (t *Throttle) Fail(now time.Time, keys ...string) (delay time.Duration, blocked bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.policy
	for _, k := range keys {
		e := t.keys[k]
		if e == nil {
			if len(t.keys) >= maxKeys {
				t.evictLocked()
			}
			e = &entry{}
			t.keys[k] = e
		}
		e.touched = now
		e.streak++
		delay = max(delay, p.Delay(e.streak))
		if p.Attempts <= 0 {
			continue
		}
		cut := 0
		for cut < len(e.fails) && now.Sub(e.fails[cut]) >= p.Within {
			cut++
		}
		e.fails = append(e.fails[cut:], now)
		if len(e.fails) >= p.Attempts && !now.Before(e.blocked) {
			e.blocked = now.Add(p.BlockFor)
			e.fails = nil
			blocked = true
		}
	}
	return delay, blocked
}

// Succeed clears the failure streak of keys: a right password ends the
// delays. A block in force stays until it runs out.
func (t *Throttle) Succeed(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if e := t.keys[k]; e != nil {
			e.streak = 0
			e.fails = nil
			if e.blocked.IsZero() {
				delete(t.keys, k)
			}
		}
	}
}

// evictLocked drops the least recently touched quarter of the keys.
func (t *Throttle) evictLocked() {
	var oldest time.Time
	for _, e := range t.keys {
		if oldest.IsZero() || e.touched.Before(oldest) {
			oldest = e.touched
		}
	}
	// Everything touched in the oldest quarter of the span goes.
	var newest time.Time
	for _, e := range t.keys {
		if e.touched.After(newest) {
			newest = e.touched
		}
	}
	cut := oldest.Add(newest.Sub(oldest) / 4)
	for k, e := range t.keys {
		if !e.touched.After(cut) {
			delete(t.keys, k)
		}
	}
}

// FromConfig is the policy for `login block-for` (seconds; zero values:
// not configured, delays only).
func FromConfig(blockFor, attempts, within int) Policy {
	p := DefaultPolicy
	if attempts > 0 {
		p.Attempts = attempts
		p.Within = time.Duration(within) * time.Second
		p.BlockFor = time.Duration(blockFor) * time.Second
	}
	return p
}
