package dn

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dialplan"
)

// Call pickup (docs/cme-behaviour.md §Call-pickup): a phone answers a
// call ringing on another DN. The picking phone gets a leg of its own
// (its dialing call, or a new one on its first free line) which takes
// over the ringing leg (connectInto): the ringing phones stop, the caller
// is connected to the picker and keeps its call id.

// PickupKind says which ringing call a pickup takes.
type PickupKind uint8

const (
	// PickupLocal: the oldest call ringing on a DN of the picker's own
	// pickup group (PickUp softkey without directed pickup, GPickUp *,
	// FAC **3).
	PickupLocal PickupKind = iota + 1
	// PickupGroup: the oldest call ringing in the pickup group named by
	// the number (GPickUp + group, FAC **4 + group).
	PickupGroup
	// PickupDirected: the oldest call ringing on the DN with the number
	// (PickUp + extension under `service directed-pickup`, BLF key).
	PickupDirected
)

// pickupKind on a dialing leg: the digits dialled are the number of a
// pickup of that kind, not a number to call.
type pickupKind = PickupKind

// Pickup answers on phone id, line (0: the phone's dialing call or first
// free line), the call ringing elsewhere that kind and number select.
// number "" with PickupGroup or PickupDirected does not pick up yet: the
// phone's dialing call collects the group or extension digits instead
// (GPickUp and PickUp softkeys), and the pickup happens when they are
// complete. ErrNoCall: nothing to pick up (the call is left as it was).
func (s *Switch) Pickup(id DeviceID, line int, kind PickupKind, number string) (CallRef, error) {
	return s.legCmd(func() (*leg, error) { return s.pickupCmd(id, line, kind, number) })
}

// PickupBLF is pressing a BLF speed-dial on number while a call rings
// there: with `service directed-pickup` it picks the call up, as CME does
// (docs/cme-behaviour.md §Call-pickup). ErrNoCall when directed pickup is
// off or nothing rings on number: the phone then calls the number.
func (s *Switch) PickupBLF(id DeviceID, number string) (CallRef, error) {
	return s.legCmd(func() (*leg, error) {
		if s.cfg.Telephony == nil || !s.cfg.Telephony.DirectedPickup {
			return nil, ErrNoCall
		}
		d, err := s.lookup(id)
		if err != nil {
			return nil, err
		}
		if s.ringingFor(d.id.Name, PickupDirected, number) == nil {
			return nil, ErrNoCall
		}
		return s.pickupCmd(id, 0, PickupDirected, number)
	})
}

func (s *Switch) pickupCmd(id DeviceID, line int, kind PickupKind, number string) (*leg, error) {
	d, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	name := d.id.Name
	if kind == PickupLocal {
		number = s.pickupGroupOf(name, line)
	}
	if number == "" && kind != PickupLocal {
		// Collect the group or extension on a dialing call.
		l, err := s.pickerLeg(name, line)
		if err != nil {
			return nil, err
		}
		l.pickup = kind
		l.digits = ""
		s.armPickupDigits(l)
		return l, nil
	}
	target := s.ringingFor(name, kind, number)
	if target == nil {
		return nil, ErrNoCall
	}
	l, err := s.pickerLeg(name, line)
	if err != nil {
		return nil, err
	}
	s.connectInto(target.call, target.call.a, target, l, CauseAnsweredElsewhere)
	return l, nil
}

// pickupGroupOf is the pickup group of the DN on the phone's line (0:
// the first line that has one).
func (s *Switch) pickupGroupOf(dev string, line int) string {
	for _, a := range s.devConf[dev].apps {
		if a.monitor || (line != 0 && a.button != line) {
			continue
		}
		if g := s.dnConf[a.dn].pickup; g != "" {
			return g
		}
	}
	return ""
}

// pickerLeg is the phone's dialing leg on line, or a new one on its first
// line with a free call slot.
func (s *Switch) pickerLeg(dev string, line int) (*leg, error) {
	for _, l := range s.boundLegs(dev, line) {
		if l.state == LineDialing {
			return l, nil
		}
	}
	for _, a := range s.devConf[dev].apps {
		if a.monitor || (line != 0 && a.button != line) {
			continue
		}
		if len(s.legs[a.dn]) >= s.dnConf[a.dn].calls || (line == 0 && len(s.boundLegs(dev, a.button)) > 0) {
			continue
		}
		return s.newDialingLeg(s.newCall(), a)
	}
	return nil, ErrLineBusy
}

// ringingFor is the call a pickup of kind/number by phone dev takes: the
// callee leg ringing unanswered the longest on a DN of the group (or with
// the number), not counting calls the picker placed or that ring on the
// picker itself, nor hunt calls' pilots (a member's ringing DN counts).
func (s *Switch) ringingFor(dev string, kind PickupKind, number string) *leg {
	if number == "" {
		return nil
	}
	var best *leg
	for _, d := range s.dnConf {
		switch kind {
		case PickupLocal, PickupGroup:
			if d.pickup != number {
				continue
			}
		case PickupDirected:
			if d.number != number && d.secondary != number {
				continue
			}
		}
		for _, l := range s.legs[d.key] {
			if l.dev != "" || l.state != LineRinging || l.parked != nil || hasApp(l.ringing, dev, 0) {
				continue
			}
			if a := l.call.a; a == nil || a.dev == dev {
				continue
			}
			if best == nil || cmp.Or(l.start.Compare(best.start), cmp.Compare(l.call.id, best.call.id)) < 0 {
				best = l
			}
		}
	}
	return best
}

// pickupDigits takes digits on a dialing leg that collects a pickup
// number: the group or extension is complete when it names a group (an
// extension) and no longer one starts with it, or on '#'; "*" alone is
// the picker's own group.
func (s *Switch) pickupDigits(l *leg, digits string) {
	l.digits += digits
	d := l.digits
	kind := l.pickup
	if d == "*" || d == "*#" {
		kind, d = PickupLocal, s.pickupGroupOf(l.dev, l.line)
		s.finishPickup(l, kind, d)
		return
	}
	ended := strings.HasSuffix(d, "#")
	d = strings.TrimSuffix(d, "#")
	var known []string
	for _, c := range s.dnConf {
		n := c.number
		if kind == PickupGroup {
			n = c.pickup
		}
		if n != "" && strings.HasPrefix(n, d) && !slices.Contains(known, n) {
			known = append(known, n)
		}
	}
	switch {
	case len(known) == 0:
		s.fail(l, InDigitsInvalid, ToneReorder, CauseUnassigned)
	case ended || (len(known) == 1 && known[0] == d):
		s.finishPickup(l, kind, d)
	default:
		_ = s.setState(l, InDigitsPartial)
		s.armPickupDigits(l)
	}
}

func (s *Switch) finishPickup(l *leg, kind PickupKind, number string) {
	l.pickup = 0
	target := s.ringingFor(l.dev, kind, number)
	if target == nil {
		s.fail(l, InDigitsInvalid, ToneReorder, CauseUnassigned)
		return
	}
	s.connectInto(target.call, target.call.a, target, l, CauseAnsweredElsewhere)
}

// armPickupDigits completes a pickup number on the interdigit timeout.
func (s *Switch) armPickupDigits(l *leg) {
	callID, gen := l.call.id, l.gen
	l.stopTimer()
	l.timer = time.AfterFunc(s.plan.Interdigit(), func() {
		s.post(func() error {
			c := s.calls[callID]
			if c == nil || c.a != l || l.gen != gen || l.state != LineDialing || l.pickup == 0 {
				return nil
			}
			s.finishPickup(l, l.pickup, strings.TrimSuffix(l.digits, "#"))
			return nil
		})
	})
}

// facDigits handles a FAC dialled on an SCCP or SIP phone's dialing leg
// (`fac standard`, docs/cme-behaviour.md §Feature-access-codes): pickup
// local group (**3) at once, pickup group (**4) by collecting the group
// digits. It reports whether the digits were (the start of) such a code.
func (s *Switch) facDigits(l *leg) bool {
	facs := s.cfg.Telephony.FACs()
	if len(facs) == 0 {
		return false
	}
	prefix := false
	for _, f := range facs {
		if f.Feature != config.FACPickupLocal && f.Feature != config.FACPickupGroup {
			continue
		}
		switch {
		case l.digits == f.Code && f.Feature == config.FACPickupLocal:
			l.digits = ""
			s.finishPickup(l, PickupLocal, s.pickupGroupOf(l.dev, l.line))
			return true
		case strings.HasPrefix(l.digits, f.Code) && f.Feature == config.FACPickupGroup:
			rest := strings.TrimPrefix(l.digits, f.Code)
			l.pickup, l.digits = PickupGroup, ""
			if rest == "" {
				_ = s.setState(l, InDigitsPartial)
				s.armPickupDigits(l)
			} else {
				s.pickupDigits(l, rest)
			}
			return true
		case strings.HasPrefix(f.Code, l.digits):
			prefix = true
		}
	}
	if prefix && s.plan.Lookup(l.digits).Result == dialplan.NoMatch {
		_ = s.setState(l, InDigitsPartial)
		s.armInterdigit(l, s.plan.Interdigit())
		return true
	}
	return false
}
