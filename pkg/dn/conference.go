package dn

import (
	"net/netip"
	"strings"
)

// Ad hoc conferences (docs/cme-behaviour.md §Conference): CME's software
// three-party conference. The initiator, connected to A, presses Confrn: A
// is held and a new call is opened; once B answers, Confrn again joins the
// three. The initiator's call with A leaves its phone (as a transfer does),
// so the phone shows one call; A stays alone in its call (the side call)
// and B in the initiator's (the main call). Media of all three goes to a
// Mixer from the MediaServer: each hears the other two.

// ConferenceMixer is implemented by a MediaServer that can bridge
// conferences (pkg/media's software mixer in the daemon).
type ConferenceMixer interface {
	// StartMixer opens a mixer with n participants.
	StartMixer(p MediaParams, n int) (Mixer, error)
}

// Mixer is a running conference bridge. Participant i sends to Local(i);
// SetRemote(i, addr) sends it the mix of the others (the zero address takes
// it out of the mix). Stop must not block long.
type Mixer interface {
	Local(i int) netip.AddrPort
	SetRemote(i int, addr netip.AddrPort)
	Stop()
}

// conference is one three-party conference.
type conference struct {
	main, side *call
	// legs in mixer order: the initiator's leg (in main), A (alone in
	// side), B (in main, the party added last).
	legs [3]*leg
	mix  Mixer
	keep bool // keep-conference: the initiator may leave the other two connected
}

// confState is the Switch's conference bookkeeping; owned by the Run goroutine.
type confState struct {
	byCall  map[*call]*conference
	pending map[*leg]*leg // Confrn consultation leg -> the held leg it will join
}

func (cs *confState) init() {
	if cs.byCall == nil {
		cs.byCall = map[*call]*conference{}
		cs.pending = map[*leg]*leg{}
	}
}

// Conference is the Confrn softkey on call callID (0: the connected call on
// line): on a plain connected call it holds it and opens a call to dial the
// third party; on that call once answered it joins the three; pressed by the
// initiator during a conference it drops the party added last, as CME's
// default does (docs/cme-behaviour.md §Conference). It returns the call made
// or acted on.
func (s *Switch) Conference(id DeviceID, line int, callID CallID) (CallRef, error) {
	return s.legCmd(func() (*leg, error) { return s.conference(id, line, callID) })
}

// live says whether l is still in a call the Switch knows.
func (s *Switch) live(l *leg) bool {
	return l != nil && s.calls[l.call.id] == l.call && (l.call.a == l || l.call.b == l)
}

func (s *Switch) conference(id DeviceID, line int, callID CallID) (*leg, error) {
	d, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	s.conf.init()
	for k, h := range s.conf.pending {
		if !s.live(k) || !s.live(h) {
			delete(s.conf.pending, k)
		}
	}
	name := d.id.Name
	var l *leg
	for _, x := range s.boundLegs(name, line) {
		if (callID == 0 && x.state == LineConnected) || (callID != 0 && x.cid == callID) {
			l = x
			break
		}
	}
	if l == nil {
		return nil, ErrNoCall
	}
	if cf := s.conf.byCall[l.call]; cf != nil {
		if l != cf.legs[0] {
			return l, ErrBadState // only the initiator controls the conference
		}
		s.confLeave(cf, cf.legs[2], CauseNormal)
		return l, nil
	}
	if h := s.conf.pending[l]; h != nil {
		return l, s.completeConference(h, l)
	}
	for k, h := range s.conf.pending {
		if h == l {
			return l, s.completeConference(h, k)
		}
	}
	return s.startConference(l)
}

// phoneParty says whether l is a registered phone's leg: conferences bridge
// phones only (a trunk's media is anchored elsewhere).
func phoneParty(l *leg) bool { return l != nil && l.dev != "" && l.trunk == nil }

func (s *Switch) startConference(h *leg) (*leg, error) {
	if !phoneParty(peer(h)) || (h.state != LineConnected && h.state != LineHold) {
		return h, ErrBadState
	}
	if _, ok := s.media.(ConferenceMixer); !ok || s.media == nil {
		return h, ErrBadState // no bridge: the key does nothing
	}
	// The new call goes on the same DN if it has a free call slot, else
	// on the phone's next free line, as a transfer's consultation does.
	app := appearance{device: h.dev, button: h.line, dn: h.dn}
	if len(s.legs[h.dn]) >= s.dnConf[h.dn].calls {
		found := false
		for _, a := range s.devConf[h.dev].apps {
			if !a.monitor && len(s.legs[a.dn]) < s.dnConf[a.dn].calls && len(s.boundLegs(h.dev, a.button)) == 0 {
				app, found = a, true
				break
			}
		}
		if !found {
			return h, ErrBadState
		}
	}
	if h.state == LineConnected {
		if err := s.holdLeg(h); err != nil {
			return h, err
		}
	}
	l, err := s.newDialingLeg(s.newCall(), app)
	if err != nil {
		return h, err
	}
	s.conf.pending[l] = h
	return l, nil
}

func (s *Switch) completeConference(h, k *leg) error {
	a, b := peer(h), peer(k)
	if !phoneParty(a) || !phoneParty(b) || k.state != LineConnected || b.state != LineConnected ||
		(h.state != LineHold && h.state != LineConnected) || h.call == k.call {
		return ErrBadState // the third party has not answered yet
	}
	cm, ok := s.media.(ConferenceMixer)
	if !ok {
		return ErrBadState
	}
	mix, err := cm.StartMixer(s.params, 3)
	if err != nil {
		return err
	}
	delete(s.conf.pending, k)
	side, main := h.call, k.call
	// The initiator's held call leaves its phone, which then shows one call
	// (its lamp stays lit for the conference).
	s.dropLeg(h, CauseTransferred, "")
	if side.a == nil {
		side.a, side.b = a, nil
	}
	cf := &conference{main: main, side: side, legs: [3]*leg{k, a, b}, mix: mix, keep: s.keepConference(k.dev)}
	s.conf.byCall[main], s.conf.byCall[side] = cf, cf
	// A was held: it hears the conference now, not music, and its display
	// drops the hold indication.
	s.emit(a.dev, effect{kind: effCallInfo, line: a.line, info: s.info(a, a.line)})
	for _, l := range cf.legs {
		s.markLeg(l)
	}
	return nil
}

// keepConference reads `keep-conference` from the ephone-template of the
// phone named dev (docs/cme-behaviour.md §Conference).
func (s *Switch) keepConference(dev string) bool {
	if s.cfg == nil {
		return false
	}
	for i := range s.cfg.Ephones {
		e := &s.cfg.Ephones[i]
		if DeviceName(e.MAC) != dev || e.Template == 0 {
			continue
		}
		for _, t := range s.cfg.EphoneTemplates {
			if t.Tag != e.Template {
				continue
			}
			for _, x := range t.Extra {
				if f := strings.Fields(x); len(f) > 0 && f[0] == "keep-conference" {
					return true
				}
			}
		}
	}
	return false
}

// confHangup handles a conference member going on-hook; false if l is in
// no conference. The initiator ends the conference for everyone, unless
// keep-conference joins the other two; a party leaving leaves the other
// two in a plain call.
func (s *Switch) confHangup(l *leg) bool {
	cf := s.conf.byCall[l.call]
	if cf == nil {
		return false
	}
	switch {
	case l == cf.legs[0] && cf.keep:
		a, b := cf.legs[1], cf.legs[2]
		s.endConference(cf)
		s.dropLeg(l, CauseNormal, "")
		delete(s.calls, cf.side.id)
		s.join(cf.main, b, a, l)
	case l == cf.legs[0]:
		s.endConference(cf)
		s.releaseCall(cf.main, CauseNormal, "")
		s.releaseCall(cf.side, CauseNormal, "")
	default:
		s.confLeave(cf, l, CauseNormal)
	}
	return true
}

// confLeave takes party p (A or B) out: the initiator and the other party
// go on as a plain call in the main call.
func (s *Switch) confLeave(cf *conference, p *leg, cause Cause) {
	init, other := cf.legs[0], cf.legs[1]
	if p == cf.legs[1] {
		other = cf.legs[2]
	}
	s.endConference(cf)
	s.dropLeg(p, cause, "")
	delete(s.calls, cf.side.id)
	main := cf.main
	main.a, main.b = init, other
	other.call = main
	main.calling, main.called = s.legParty(init), s.legParty(other)
	for _, l := range []*leg{init, other} {
		info := s.info(l, l.line)
		info.PeerHold = peer(l).state == LineHold
		s.emit(l.dev, effect{kind: effCallInfo, line: l.line, info: info})
		s.markLeg(l)
	}
}

// endConference stops the bridge and forgets the conference; the legs' media
// is re-derived as plain calls.
func (s *Switch) endConference(cf *conference) {
	if s.conf.byCall[cf.main] == cf {
		delete(s.conf.byCall, cf.main)
	}
	if s.conf.byCall[cf.side] == cf {
		delete(s.conf.byCall, cf.side)
	}
	if cf.mix != nil {
		cf.mix.Stop()
		cf.mix = nil
	}
	for _, l := range cf.legs {
		s.markLeg(l)
	}
}

// confMedia derives the media of a call in a conference (syncMedia's rules
// with the mixer as every leg's peer) and reports whether c is one. A
// conference a member left some other way (its phone unregistered) ends
// for all.
func (s *Switch) confMedia(c *call) bool {
	cf := s.conf.byCall[c]
	if cf == nil {
		return false
	}
	for _, l := range cf.legs {
		if !s.live(l) || (l.call != cf.main && l.call != cf.side) {
			s.endConference(cf)
			for _, x := range []*call{cf.main, cf.side} {
				if s.calls[x.id] == x {
					s.releaseCall(x, CauseNormal, "")
				}
			}
			return true
		}
	}
	for i, l := range cf.legs {
		want := l.state == LineConnected
		switch {
		case want && !l.open:
			l.open, l.rx, l.tx = true, zeroAddr, zeroAddr
			s.emit(l.dev, effect{kind: effOpenMedia, line: l.line, id: l.cid})
		case !want && l.open:
			l.open, l.rx, l.tx = false, zeroAddr, zeroAddr
			s.emit(l.dev, effect{kind: effStopMedia, line: l.line, id: l.cid})
		}
		if l.moh != nil {
			l.moh.Stop()
			l.moh = nil
		}
		var dest, rx netip.AddrPort
		if l.open && l.rx.IsValid() {
			dest, rx = cf.mix.Local(i), l.rx
		}
		switch {
		case dest.IsValid() && dest != l.tx:
			s.emit(l.dev, effect{kind: effStartMedia, line: l.line, id: l.cid, addr: dest})
		case !dest.IsValid() && l.tx.IsValid() && l.open:
			s.emit(l.dev, effect{kind: effStopTransmit, line: l.line, id: l.cid})
		}
		l.tx = dest
		cf.mix.SetRemote(i, rx)
	}
	return true
}
