package dn

import (
	"fmt"
	"slices"
)

// CheckIndexes runs checkIndexes on the switch's loop, for the external
// property test.
func CheckIndexes(s *Switch) error {
	return s.do(func() error { return s.checkIndexes() })
}

// scanRingingLegs is ringingLegs as it was before deviceCalls: every call,
// in id order. Kept as the reference the index must agree with.
func (s *Switch) scanRingingLegs(dev string, line int) []*leg {
	var out []*leg
	for _, id := range s.sortedCalls() {
		c := s.calls[id]
		if b := c.b; b != nil && b.dev == "" && b.state == LineRinging && hasApp(b.ringing, dev, line) {
			out = append(out, b)
		}
	}
	return out
}

// scanConcerns lists, in id order, every call with a leg that is bound
// to dev or rings or shows remote-in-use on one of its appearances: the
// calls deviceCalls must not miss.
func (s *Switch) scanConcerns(dev string) []*call {
	var out []*call
	for _, id := range s.sortedCalls() {
		c := s.calls[id]
		for _, l := range []*leg{c.a, c.b} {
			if l != nil && (l.dev == dev || hasApp(l.ringing, dev, 0) || hasApp(l.remote, dev, 0)) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// checkIndexes compares the per-device lookups with full scans for every
// configured device.
func (s *Switch) checkIndexes() error {
	for name, dc := range s.devConf {
		lines := []int{0}
		for _, a := range dc.apps {
			lines = append(lines, a.button)
		}
		for _, line := range lines {
			if got, want := s.ringingLegs(name, line), s.scanRingingLegs(name, line); !slices.Equal(got, want) {
				return fmt.Errorf("ringingLegs(%s, %d): %d legs, scan finds %d", name, line, len(got), len(want))
			}
		}
		have := s.deviceCalls(name)
		if !slices.IsSortedFunc(have, func(a, b *call) int { return int(a.id) - int(b.id) }) {
			return fmt.Errorf("deviceCalls(%s) not in call order", name)
		}
		for _, c := range s.scanConcerns(name) {
			if !slices.Contains(have, c) {
				return fmt.Errorf("deviceCalls(%s) misses call %d", name, c.id)
			}
		}
	}
	return nil
}
