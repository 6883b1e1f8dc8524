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

// CheckConferences runs checkConferences on the switch's loop, for the
// external property test.
func CheckConferences(s *Switch) error {
	return s.do(func() error { return s.checkConferences() })
}

// checkConferences: every conference the Switch keeps has both its calls
// and all three members live and a bridge, and a phone connected in a call
// has somebody with it (the other leg, the echo test or, for the side call
// of a conference, the bridge). A conference release path that forgets a
// call or a member leaves a phone connected to nobody until it hangs up,
// which the quiescence check of the property test cannot see.
func (s *Switch) checkConferences() error {
	for c, cf := range s.conf.byCall {
		if c != cf.main && c != cf.side {
			return fmt.Errorf("call %d is indexed under a conference it is not in", c.id)
		}
		if s.calls[cf.main.id] != cf.main || s.calls[cf.side.id] != cf.side {
			return fmt.Errorf("conference of calls %d/%d: a call is gone", cf.main.id, cf.side.id)
		}
		if s.conf.byCall[cf.main] != cf || s.conf.byCall[cf.side] != cf || cf.mix == nil {
			return fmt.Errorf("conference of calls %d/%d: half indexed or no bridge", cf.main.id, cf.side.id)
		}
		for i, l := range cf.legs {
			if !s.live(l) || (l.call != cf.main && l.call != cf.side) {
				return fmt.Errorf("conference of calls %d/%d: member %d left", cf.main.id, cf.side.id, i)
			}
		}
	}
	for _, c := range s.calls {
		if c.echo || s.conf.byCall[c] != nil {
			continue
		}
		for _, l := range []*leg{c.a, c.b} {
			if l == nil || l.dev == "" || l.state != LineConnected {
				continue
			}
			// The other leg is a phone or trunk, a park slot's leg
			// (park.go) or a callee still ringing (a blind transfer's
			// target, transfer.go).
			if p := peer(l); !party(p) && (p == nil || (p.parked == nil && p.state != LineRinging)) {
				var with string
				if p != nil {
					with = fmt.Sprintf(" (other leg: %v %v)", p.dn, p.state)
				}
				return fmt.Errorf("call %d: %s connected to nobody%s", c.id, l.dev, with)
			}
		}
	}
	return nil
}
