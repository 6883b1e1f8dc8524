package dn

import (
	"slices"
	"strings"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
)

// Call park (docs/cme-behaviour.md §Call-park). A park slot is an
// ephone-dn with `park-slot`, on no phone. A parked call keeps its call
// and its id: the parking phone's leg is replaced by a leg on the slot DN
// that holds the call, so the parked party hears music on hold
// (syncMedia) and the slot's presentity is in use while it is there.
// Dialling the slot number (or pressing a BLF speed-dial on it) from a
// phone retrieves the call; a call transferred or forwarded to a free
// slot is parked there (directed park).

// parkState is what a slot leg knows about its parked call.
type parkState struct {
	parker    string // number of the DN that parked the call: the recall target
	parkerDev string // the phone that parked it: the reminder goes there
	reminders int
}

// ParkReminder is optionally implemented by a Device that can give the
// short reminder ring of a call parked too long (`park-slot timeout T
// limit N`, docs/cme-behaviour.md §Call-park).
type ParkReminder interface {
	ParkReminder(slot string)
}

// Park parks call callID (0: the connected one) of line (0: any) at the
// slot with number slot ("": the first free slot, in slot order) and
// returns the slot number, which the phone displays (Park softkey, FAC
// **6 + slot). ErrLineBusy: no free slot (CME plays busy tone).
func (s *Switch) Park(id DeviceID, line int, callID CallID, slot string) (string, error) {
	var out string
	err := s.do(func() error {
		var err error
		out, err = s.park(id, line, callID, slot)
		return err
	})
	return out, err
}

func (s *Switch) park(id DeviceID, line int, callID CallID, slot string) (string, error) {
	d, err := s.lookup(id)
	if err != nil {
		return "", err
	}
	var h *leg
	for _, l := range s.boundLegs(d.id.Name, line) {
		if (callID == 0 && l.state == LineConnected) || (callID != 0 && l.cid == callID) {
			h = l
			break
		}
	}
	if h == nil {
		return "", ErrNoCall
	}
	if !party(peer(h)) || (h.state != LineConnected && h.state != LineHold) {
		return "", ErrBadState
	}
	sd := s.freeSlot(slot)
	if sd == nil {
		return "", ErrLineBusy
	}
	c := h.call
	p := peer(h)
	parker := s.party(h.dn)
	parkerDev := h.dev
	s.dropLeg(h, CauseTransferred, "")
	c.a, c.b = p, nil
	c.redirecting = parker
	s.parkInto(c, sd, parker.Number, parkerDev)
	return sd.number, nil
}

// freeSlot is the park slot with number slot, or the first one ("") in
// preference and tag order, that holds no call.
func (s *Switch) freeSlot(slot string) *dnConf {
	var slots []*dnConf
	for _, d := range s.dnConf {
		if d.park != nil && d.number != "" && (slot == "" || d.number == slot || d.secondary == slot) {
			slots = append(slots, d)
		}
	}
	slices.SortFunc(slots, func(a, b *dnConf) int {
		if a.preference != b.preference {
			return a.preference - b.preference
		}
		return a.key.Tag - b.key.Tag
	})
	for _, d := range slots {
		if len(s.legs[d.key]) == 0 && (d.park.ReservedFor == "" || slot != "") {
			return d
		}
	}
	return nil
}

// parkInto puts call c (caller side c.a, the party to park; no callee
// leg) on slot DN sd.
func (s *Switch) parkInto(c *call, sd *dnConf, parker, parkerDev string) {
	pl := &leg{call: c, cid: c.id, dn: sd.key, start: s.now(), state: LineHold,
		parked: &parkState{parker: parker, parkerDev: parkerDev}}
	c.b = pl
	c.hops, c.visited = 0, nil
	s.legs[sd.key] = append(s.legs[sd.key], pl)
	pl.gen++
	s.markLeg(pl)
	if a := c.a; a != nil && a.state == LineRingback {
		_ = s.setState(a, InPeerAnswer) // a forward to the slot: the slot "answers"
		a.answered = s.now()
		s.emit(a.dev, effect{kind: effTone, line: a.line, id: a.cid, tone: ToneNone})
		s.emit(a.dev, effect{kind: effCallState, line: a.line, id: a.cid, st: LineConnected})
	}
	s.tellPeer(pl, true)
	s.armPark(pl, sd)
}

// armPark starts the reminder timer of a parked call: every `timeout`
// seconds a reminder to the phone that parked it (and the `notify` DN's
// phones); after `limit` reminders the call goes to the `transfer` DN,
// or with `recall` back to the parker's DN. Without `timeout` the call
// stays parked until someone retrieves it or the caller hangs up.
func (s *Switch) armPark(pl *leg, sd *dnConf) {
	ps := sd.park
	if ps == nil || ps.Timeout <= 0 {
		return
	}
	callID, gen := pl.call.id, pl.gen
	pl.stopTimer()
	pl.timer = time.AfterFunc(time.Duration(ps.Timeout)*time.Second, func() {
		s.post(func() error {
			c := s.calls[callID]
			if c == nil || c.b != pl || pl.gen != gen || pl.parked == nil {
				return nil // retrieved or gone
			}
			s.parkTimeout(pl)
			return nil
		})
	})
}

func (s *Switch) parkTimeout(pl *leg) {
	sd := s.dnConf[pl.dn]
	if sd == nil || sd.park == nil {
		return
	}
	ps := pl.parked
	ps.reminders++
	limit := max(sd.park.Limit, 1)
	if ps.reminders >= limit {
		target := sd.park.Transfer
		if target == "" && sd.park.Recall {
			target = ps.parker
		}
		if target != "" {
			s.unpark(pl, target)
			return
		}
	}
	if !sd.park.NotifyOnly {
		s.remind(ps.parkerDev, sd.number)
	}
	if sd.park.Notify != "" {
		for _, d := range s.candidates(sd.park.Notify) {
			for _, a := range s.registeredApps(d.key) {
				s.remind(a.device, sd.number)
			}
		}
	}
	if ps.reminders < limit {
		pl.gen++
		s.armPark(pl, sd)
	}
}

func (s *Switch) remind(dev, slot string) {
	s.emit(dev, effect{kind: effParkReminder, num: slot})
}

// unpark sends a parked call on to number (recall or `transfer`), like a
// blind transfer from the slot.
func (s *Switch) unpark(pl *leg, number string) {
	c := pl.call
	p := peer(pl)
	slot := s.party(pl.dn)
	s.dropLeg(pl, CauseForwarded, "")
	c.a, c.b = p, nil
	c.redirecting = slot
	if p == nil {
		s.releaseCall(c, CauseNormal, "")
		return
	}
	if cause, ok := s.route(c, number); !ok {
		s.releaseCall(c, cause, "")
	}
}

// parkRoute is route's answer for a park slot DN d: a phone that dialled
// the slot retrieves the call parked there; a call sent to a free slot
// by a transfer or a forward is parked there.
func (s *Switch) parkRoute(c *call, d *dnConf) (Cause, bool) {
	var pl *leg
	if ls := s.legs[d.key]; len(ls) > 0 {
		pl = ls[0]
	}
	a := c.a
	switch {
	case a != nil && a.dev != "" && a.state == LineDialing:
		if pl == nil || pl.parked == nil || !party(peer(pl)) {
			return CauseUnavailable, false // nothing parked there
		}
		s.connectInto(pl.call, peer(pl), pl, a, CauseNormal)
		return 0, true
	case pl == nil && party(a) && a.state != LineDialing:
		parker := c.redirecting.Number
		s.parkInto(c, d, parker, s.phoneOf(parker))
		return 0, true
	}
	return CauseBusy, false
}

// phoneOf is the first registered phone with a DN numbered number.
func (s *Switch) phoneOf(number string) string {
	for _, d := range s.candidates(number) {
		if apps := s.registeredApps(d.key); len(apps) > 0 {
			return apps[0].device
		}
	}
	return ""
}

// connectInto answers call c1 on new leg nl (a phone's dialing leg, or
// its new leg): the far end far is joined to nl and old, the leg nl takes
// over (a slot's parked leg, a ringing leg that is picked up), leaves the
// call with cause. The call nl was dialing is gone; nl's phone keeps its
// call id (leg.cid).
func (s *Switch) connectInto(c1 *call, far, old, nl *leg, cause Cause) {
	c2 := nl.call
	s.huntAnswered(c1)
	old.alerted = nil // taken over: no missed call
	s.dropLeg(old, cause, "")
	if c2 != c1 {
		delete(s.calls, c2.id)
		c2.a, c2.b = nil, nil
	}
	nl.stopTimer()
	nl.xferOf = nil
	s.join(c1, far, nl, old)
	if nl.state == LineDialing {
		_ = s.setState(nl, InDigitsComplete)
	}
	if s.setState(nl, InPeerAnswer) == nil {
		nl.answered = s.now()
		s.emit(nl.dev, effect{kind: effTone, line: nl.line, id: nl.cid, tone: ToneNone})
		s.emit(nl.dev, effect{kind: effCallState, line: nl.line, id: nl.cid, st: LineConnected})
	}
	if far.state == LineRingback && s.setState(far, InPeerAnswer) == nil {
		far.answered = s.now()
		s.emit(far.dev, effect{kind: effTone, line: far.line, id: far.cid, tone: ToneNone})
		s.emit(far.dev, effect{kind: effCallState, line: far.line, id: far.cid, st: LineConnected})
	}
	s.setRemotes(nl)
	s.markLeg(nl)
	s.markLeg(far)
}

// ParkSlots is the park slots and the calls parked in them, for show.
type ParkSlotStatus struct {
	DN        DNKey
	Number    string
	Call      CallID // 0: free
	Parked    Party  // the parked party
	Parker    string
	Reminders int
}

// ParkSlots returns every park slot by tag.
func (s *Switch) ParkSlots() ([]ParkSlotStatus, error) {
	var out []ParkSlotStatus
	err := s.do(func() error {
		for _, k := range sortedDNKeys(s.dnConf) {
			d := s.dnConf[k]
			if d.park == nil {
				continue
			}
			st := ParkSlotStatus{DN: k, Number: d.number}
			if ls := s.legs[k]; len(ls) > 0 && ls[0].parked != nil {
				st.Call, st.Parker, st.Reminders = ls[0].call.id, ls[0].parked.parker, ls[0].parked.reminders
				if p := peer(ls[0]); p != nil {
					st.Parked = s.legParty(p)
				}
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// facPark reports whether number is the park FAC (`fac standard` **6,
// optionally followed by a slot number) and the slot.
func facPark(t *config.Telephony, number string) (string, bool) {
	for _, f := range t.FACs() {
		if f.Feature == config.FACPark {
			if rest, ok := strings.CutPrefix(number, f.Code); ok {
				return rest, true
			}
		}
	}
	return "", false
}
