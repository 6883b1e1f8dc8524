package dn

import (
	"github.com/cmed-project/cmed/pkg/dialplan"
)

// Transfers (docs/cme-cli.md §Telephony-service `transfer-system`). The transferor's legs
// leave both calls with CauseTransferred, so every appearance they touched
// gets a final message (no stuck lamps, docs/sccp.md §Field-reports); the far ends are
// joined in the held call, keeping the call ids their phones know.

func (s *Switch) startTransfer(id DeviceID, line int, callID CallID) (held, consult *leg, err error) {
	d, err := s.lookup(id)
	if err != nil {
		return nil, nil, err
	}
	name := d.id.Name
	var h *leg
	for _, l := range s.boundLegs(name, line) {
		if (callID == 0 && l.state == LineConnected) || (callID != 0 && l.cid == callID) {
			h = l
			break
		}
	}
	if h == nil {
		return nil, nil, ErrNoCall
	}
	if p := peer(h); !party(p) || (h.state != LineConnected && h.state != LineHold) {
		return nil, nil, ErrBadState
	}
	if h.state == LineConnected {
		if err := s.holdLeg(h); err != nil {
			return h, nil, err
		}
	}
	// The consultation call goes on the same DN if it has a free call
	// slot, else on the phone's next line with one. Without any, CME falls
	// back to a blind transfer (full-consult "if a second line is
	// available"): the consultation dials on the held call's own line and
	// completes blind.
	app := appearance{device: name, button: h.line, dn: h.dn}
	blind := s.xferBlind
	if len(s.legs[h.dn]) >= s.dnConf[h.dn].calls {
		found := false
		for _, a := range s.devConf[name].apps {
			if !a.monitor && len(s.legs[a.dn]) < s.dnConf[a.dn].calls && len(s.boundLegs(name, a.button)) == 0 {
				app, found = a, true
				break
			}
		}
		blind = blind || !found
	}
	c := s.newCall()
	l, err := s.newDialingLeg(c, app)
	if err != nil {
		return nil, nil, err
	}
	l.xferOf, l.xferBlind = h.call, blind
	s.consults[l] = struct{}{}
	return h, l, nil
}

func (s *Switch) completeTransfer(id DeviceID, held, consult CallID) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	name := d.id.Name
	h := s.findLeg(name, 0, held)
	if h == nil {
		return ErrNoCall
	}
	var k *leg
	if consult != 0 {
		k = s.findLeg(name, 0, consult)
	} else {
		for _, l := range s.boundLegs(name, 0) {
			if l.xferOf == h.call {
				k = l
				break
			}
		}
	}
	if k == nil || k.call == h.call {
		return ErrNoCall
	}
	a, c := peer(h), peer(k)
	if !party(a) || c == nil || (h.state != LineHold && h.state != LineConnected) {
		return ErrBadState // the consultation is still dialing, or nothing to join
	}
	if a.trunk != nil && c.trunk != nil {
		return ErrBadState // trunk to trunk (hairpin) is not supported
	}
	c1, c2 := h.call, k.call
	s.dropLeg(h, CauseTransferred, "")
	s.dropLeg(k, CauseTransferred, "")
	delete(s.calls, c2.id)
	s.join(c1, a, c, h)
	return nil
}

// join makes a and c the two ends of call c1 after transferor leg t left.
func (s *Switch) join(c1 *call, a, c, t *leg) {
	c1.a, c1.b = a, c
	c.call = c1
	c1.hops, c1.visited = 0, nil
	c1.calling, c1.called = s.legParty(a), s.legParty(c)
	c1.redirecting = s.party(t.dn)
	s.markLeg(a)
	s.markLeg(c)
	if c.dev == "" && c.state == LineRinging {
		// Transfer at alert: a hears ringback until c answers.
		s.callerAlerting(a)
		for _, r := range c.ringing {
			s.emit(r.device, effect{kind: effCallInfo, line: r.button, info: s.info(c, r.button)})
		}
		if c.trunk == nil {
			s.armRing(c)
		}
		return
	}
	for _, l := range []*leg{a, c} {
		info := s.info(l, l.line)
		info.PeerHold = peer(l).state == LineHold
		s.emit(l.dev, effect{kind: effCallInfo, line: l.line, info: info})
	}
}

func (s *Switch) blindTransfer(id DeviceID, callID CallID, number string) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	h := s.findLeg(d.id.Name, 0, callID)
	if h == nil {
		return ErrNoCall
	}
	if number == "" || !validNumber(number) {
		return ErrBadNumber
	}
	if a := peer(h); !party(a) {
		return ErrBadState
	}
	s.blindLeg(h, number)
	return nil
}

// blindLeg takes transferor leg h out of its call and routes the far end
// to number. If nothing alerts there, the far end's call ends with the
// cause (it hears busy or reorder from its phone).
func (s *Switch) blindLeg(h *leg, number string) {
	c := h.call
	a := peer(h)
	s.dropLeg(h, CauseTransferred, "")
	c.a, c.b = a, nil
	c.hops, c.visited = 0, nil
	c.calling = s.legParty(a)
	c.redirecting = s.party(h.dn)
	if slot, ok := facPark(s.cfg.Telephony, number); ok {
		// Transfer to the park FAC: park at the slot, or the first free
		// one (docs/cme-behaviour.md §Call-park, SIP phones).
		if sd := s.freeSlot(slot); sd != nil && party(a) {
			s.parkInto(c, sd, c.redirecting.Number, s.phoneOf(c.redirecting.Number))
		} else {
			s.releaseCall(c, CauseBusy, "")
		}
		return
	}
	if s.forwardOut(c, number) {
		return
	}
	if m := s.plan.Expire(number); m.Result != dialplan.Complete || m.Target.Kind != dialplan.TargetDN {
		s.releaseCall(c, CauseUnassigned, "")
		return
	}
	if cause, ok := s.route(c, number); !ok {
		s.releaseCall(c, cause, "")
	}
}

// blindFromConsult completes a transfer as soon as the consultation
// number is complete (`transfer-system blind|full-blind`, or no free line).
func (s *Switch) blindFromConsult(l *leg, held *call, number string) {
	var h *leg
	for _, x := range []*leg{held.a, held.b} {
		if x != nil && x.dev == l.dev && s.calls[held.id] == held {
			h = x
		}
	}
	if h == nil || !party(peer(h)) {
		l.xferOf = nil
		s.fail(l, InCalleeBusy, ToneReorder, CauseUnassigned)
		return
	}
	l.placed = "" // the consultation placed nothing itself
	s.releaseCall(l.call, CauseTransferred, "")
	s.blindLeg(h, number)
}

// party says whether l is a bound party a transfer can move: a phone's
// leg or a trunk.
func party(l *leg) bool { return l != nil && (l.dev != "" || l.trunk != nil) }

// legParty is the party a leg stands for on the other side's display.
func (s *Switch) legParty(l *leg) Party {
	if l.trunk != nil {
		return l.trunk.party
	}
	return s.party(l.dn)
}
