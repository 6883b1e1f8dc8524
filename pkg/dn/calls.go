package dn

import (
	"cmp"
	"slices"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dialplan"
)

// ---- registration ----

func (s *Switch) register(info DeviceInfo, sink Device) (DeviceID, error) {
	dc := s.devConf[info.Name]
	if dc == nil {
		return DeviceID{}, ErrUnknownDevice
	}
	if old := s.devs[info.Name]; old != nil {
		s.detach(old, CauseUnregistered)
	}
	s.lastGen++
	d := &device{id: DeviceID{Name: info.Name, Gen: s.lastGen}, info: info, sink: sink, dnd: dc.dnd}
	s.devs[info.Name] = d
	s.markDevice(info.Name)
	s.attach(d)
	return d.id, nil
}

// attach shows a newly (re)registered phone the calls already on its DNs:
// remote-in-use for calls bound elsewhere, ringing for offered calls.
func (s *Switch) attach(d *device) {
	dc := s.devConf[d.id.Name]
	seen := map[DNKey]bool{}
	for _, a := range dc.apps {
		if a.monitor || seen[a.dn] {
			continue
		}
		seen[a.dn] = true
		for _, l := range s.legs[a.dn] {
			if l.dev != "" {
				s.setRemotes(l)
			}
		}
	}
	if !d.dnd {
		s.ringOn(d.id.Name)
	}
}

// ringOn rings every offered call on the phone's appearances that is not
// ringing there yet.
func (s *Switch) ringOn(dev string) {
	for _, id := range s.sortedCalls() {
		b := s.calls[id].b
		if b == nil || b.dev != "" || b.state != LineRinging {
			continue
		}
		for _, a := range s.dnApps[b.dn] {
			if a.device == dev && !slices.Contains(b.ringing, a) {
				b.ringing = append(b.ringing, a)
				s.emit(dev, effect{kind: effRing, line: a.button, info: s.info(b, a.button)})
				s.markLeg(b)
			}
		}
	}
}

// detach removes a phone from every call: calls bound to it are released,
// and it stops being rung or told about remote use. The phone's sink gets
// no messages: it is going away.
func (s *Switch) detach(d *device, cause Cause) {
	name := d.id.Name
	for _, id := range s.sortedCalls() {
		c := s.calls[id]
		if c == nil {
			continue
		}
		if (c.a != nil && c.a.dev == name) || (c.b != nil && c.b.dev == name) {
			s.releaseCall(c, cause, name)
		}
	}
	for _, id := range s.sortedCalls() {
		c := s.calls[id]
		for _, l := range []*leg{c.a, c.b} {
			if l == nil {
				continue
			}
			l.remote = removeApps(l.remote, name)
			if l.dev == "" && l.state == LineRinging && hasApp(l.ringing, name, 0) {
				l.ringing = removeApps(l.ringing, name)
				s.markLeg(l)
				if len(l.ringing) == 0 {
					s.releaseCall(c, CauseUnavailable, "")
				}
			}
		}
	}
	s.markDevice(name)
}

// ---- call set-up ----

func (s *Switch) offHook(id DeviceID, line int) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	name := d.id.Name
	if r := s.ringingLegs(name, line); len(r) > 0 {
		a, _ := appOn(r[0].ringing, name, line)
		return s.answerLeg(r[0], name, a.button)
	}
	for _, l := range s.boundLegs(name, line) {
		if l.state != LineHold {
			return ErrBadState // already off-hook on that line
		}
	}
	dc := s.devConf[name]
	for _, a := range dc.apps {
		if a.monitor || (line != 0 && a.button != line) {
			continue
		}
		if len(s.legs[a.dn]) >= s.dnConf[a.dn].calls {
			continue
		}
		if line == 0 && len(s.boundLegs(name, a.button)) > 0 {
			continue // "the phone decides": skip lines with a held call
		}
		s.lastCall++
		c := &call{id: s.lastCall, calling: s.party(a.dn), started: s.now()}
		l := &leg{call: c, dn: a.dn, dev: name, line: a.button}
		c.a = l
		if err := s.setState(l, InOffHook); err != nil {
			return err
		}
		s.calls[c.id] = c
		s.legs[a.dn] = append(s.legs[a.dn], l)
		s.emit(name, effect{kind: effCallState, line: a.button, id: c.id, st: LineDialing})
		s.emit(name, effect{kind: effTone, line: a.button, id: c.id, tone: ToneDial})
		s.setRemotes(l)
		s.armInterdigit(l, s.plan.Interdigit())
		return nil
	}
	if _, ok := appOn(dc.apps, name, line); !ok && line != 0 {
		return ErrNoLine
	}
	return ErrLineBusy
}

func (s *Switch) addDigits(id DeviceID, line int, digits string) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	legs := s.boundLegs(d.id.Name, line)
	var l *leg
	for _, x := range legs {
		if x.state == LineDialing {
			l = x
			break
		}
	}
	if l == nil {
		if len(legs) > 0 {
			return nil // DTMF during a call: media, not call control
		}
		return ErrNoCall
	}
	if l.digits == "" {
		s.emit(l.dev, effect{kind: effTone, line: l.line, id: l.call.id, tone: ToneNone})
	}
	l.digits += digits
	m := s.plan.Lookup(l.digits)
	switch m.Result {
	case dialplan.Partial, dialplan.Ambiguous:
		if err := s.setState(l, InDigitsPartial); err != nil {
			return err
		}
		s.armInterdigit(l, m.Timeout)
	case dialplan.Complete:
		s.place(l, m.Target)
	default:
		s.fail(l, InDigitsInvalid, ToneReorder)
	}
	return nil
}

func (s *Switch) armInterdigit(l *leg, d time.Duration) {
	callID, gen := l.call.id, l.gen
	time.AfterFunc(d, func() {
		s.post(func() error {
			c := s.calls[callID]
			if c == nil || c.a.gen != gen || c.a.state != LineDialing {
				return nil // stale timer
			}
			if m := s.plan.Expire(c.a.digits); m.Result == dialplan.Complete {
				s.place(c.a, m.Target)
			} else {
				s.fail(c.a, InDigitsInvalid, ToneReorder)
			}
			return nil
		})
	})
}

func (s *Switch) fail(l *leg, in Input, t Tone) {
	if s.setState(l, in) != nil {
		return
	}
	s.emit(l.dev, effect{kind: effCallState, line: l.line, id: l.call.id, st: LineBusy})
	s.emit(l.dev, effect{kind: effTone, line: l.line, id: l.call.id, tone: t})
}

// place offers a completed number to the called DN. Candidate DNs with the
// number are tried by preference then tag; huntstop (the ephone-dn
// default) stops at the first candidate (cme-cli.md §4.3).
func (s *Switch) place(l *leg, t dialplan.Target) {
	if t.Kind != dialplan.TargetDN {
		s.fail(l, InCalleeBusy, ToneReorder) // no trunks yet
		return
	}
	var cands []*dnConf
	for _, c := range s.dnConf {
		if c.number == t.Number || (c.secondary != "" && c.secondary == t.Number) {
			cands = append(cands, c)
		}
	}
	slices.SortFunc(cands, func(a, b *dnConf) int {
		return cmp.Or(cmp.Compare(a.preference, b.preference), cmp.Compare(a.key.Kind, b.key.Kind),
			cmp.Compare(a.key.Tag, b.key.Tag))
	})
	cause := CauseUnassigned
	for _, c := range cands {
		regApps := s.registeredApps(c.key)
		var ringable []appearance
		for _, a := range regApps {
			if !s.devs[a.device].dnd {
				ringable = append(ringable, a)
			}
		}
		switch {
		case len(regApps) == 0:
			cause = CauseUnavailable
		case len(s.legs[c.key]) >= c.calls:
			cause = CauseBusy
		case len(ringable) == 0:
			cause = CauseDND
		default:
			s.offer(l, c, ringable)
			return
		}
		if c.huntstop {
			break
		}
	}
	tone := ToneReorder
	if cause == CauseBusy || cause == CauseDND {
		tone = ToneBusy
	}
	s.fail(l, InCalleeBusy, tone)
}

func (s *Switch) offer(a *leg, c *dnConf, ringable []appearance) {
	call := a.call
	call.called = Party{Number: c.number, Name: c.name}
	b := &leg{call: call, dn: c.key}
	call.b = b
	_ = s.setState(b, InOffered)
	s.legs[c.key] = append(s.legs[c.key], b)
	b.ringing = ringable
	for _, r := range ringable {
		s.emit(r.device, effect{kind: effRing, line: r.button, info: s.info(b, r.button)})
	}
	s.markLeg(b)
	_ = s.setState(a, InDigitsComplete)
	s.emit(a.dev, effect{kind: effCallInfo, line: a.line, info: s.info(a, a.line)})
	s.emit(a.dev, effect{kind: effCallState, line: a.line, id: call.id, st: LineRingback})
	s.emit(a.dev, effect{kind: effTone, line: a.line, id: call.id, tone: ToneRingback})

	callID, gen := call.id, b.gen
	time.AfterFunc(s.ringTimeout, func() {
		s.post(func() error {
			c := s.calls[callID]
			if c != nil && c.b != nil && c.b.gen == gen && c.b.state == LineRinging {
				s.releaseCall(c, CauseNoAnswer, "")
			}
			return nil
		})
	})
}

func (s *Switch) answer(id DeviceID, line int, callID CallID) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	for _, b := range s.ringingLegs(d.id.Name, line) {
		if callID == 0 || b.call.id == callID {
			a, _ := appOn(b.ringing, d.id.Name, line)
			return s.answerLeg(b, d.id.Name, a.button)
		}
	}
	return ErrNoCall
}

// answerLeg connects an offered leg on dev/line. The other appearances stop
// ringing and show remote-in-use (cme-cli.md §4.3 shared lines).
func (s *Switch) answerLeg(b *leg, dev string, line int) error {
	s.markLeg(b) // the devices it rang on
	if err := s.setState(b, InAnswer); err != nil {
		return err
	}
	id := b.call.id
	for _, r := range b.ringing {
		s.emit(r.device, effect{kind: effStopRing, line: r.button, id: id})
	}
	b.ringing = nil
	b.dev, b.line = dev, line
	s.markLeg(b)
	s.emit(dev, effect{kind: effCallInfo, line: line, info: s.info(b, line)})
	s.emit(dev, effect{kind: effCallState, line: line, id: id, st: LineConnected})
	s.setRemotes(b)
	a := b.call.a
	if s.setState(a, InPeerAnswer) == nil {
		s.emit(a.dev, effect{kind: effTone, line: a.line, id: id, tone: ToneNone})
		s.emit(a.dev, effect{kind: effCallState, line: a.line, id: id, st: LineConnected})
	}
	return nil
}

// ---- in-call ----

func (s *Switch) onHook(id DeviceID, line int) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	for _, l := range s.boundLegs(d.id.Name, line) {
		if l.state != LineHold {
			s.releaseCall(l.call, CauseNormal, "")
			return nil
		}
	}
	return nil // on-hook with nothing active (or only held calls) is harmless
}

func (s *Switch) hold(id DeviceID, line int, callID CallID) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	for _, l := range s.boundLegs(d.id.Name, line) {
		if (callID == 0 && l.state == LineConnected) || l.call.id == callID {
			if err := s.setState(l, InHold); err != nil {
				return err
			}
			s.emit(l.dev, effect{kind: effCallState, line: l.line, id: l.call.id, st: LineHold})
			s.tellPeer(l, true)
			return nil
		}
	}
	return ErrNoCall
}

func (s *Switch) resume(id DeviceID, line int, callID CallID) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	name := d.id.Name
	for _, a := range s.devConf[name].apps {
		if a.monitor || (line != 0 && a.button != line) {
			continue
		}
		for _, l := range s.legs[a.dn] {
			if l.state != LineHold || (callID != 0 && l.call.id != callID) {
				continue
			}
			if err := s.setState(l, InResume); err != nil {
				return err
			}
			if l.dev != name || l.line != a.button {
				// Picked up on another appearance of a shared DN.
				s.emit(l.dev, effect{kind: effCallState, line: l.line, id: l.call.id, st: LineRemoteInUse})
				l.remote = append(l.remote, appearance{device: l.dev, button: l.line, dn: l.dn})
				s.markLeg(l)
				l.dev, l.line = name, a.button
				l.remote = slices.DeleteFunc(l.remote, func(r appearance) bool {
					return r.device == name && r.button == a.button
				})
				s.emit(name, effect{kind: effCallInfo, line: l.line, info: s.info(l, l.line)})
			}
			s.markLeg(l)
			s.emit(name, effect{kind: effCallState, line: l.line, id: l.call.id, st: LineConnected})
			s.setRemotes(l)
			s.tellPeer(l, false)
			return nil
		}
	}
	return ErrNoCall
}

func (s *Switch) tellPeer(l *leg, held bool) {
	p := l.call.a
	if p == l {
		p = l.call.b
	}
	if p == nil || p.dev == "" {
		return
	}
	info := s.info(p, p.line)
	info.PeerHold = held
	s.emit(p.dev, effect{kind: effCallInfo, line: p.line, info: info})
}

// releaseCall tears a call down on every appearance it touched: bound
// legs, ringing appearances and remote-in-use appearances all get a final
// message, so no lamp or ringer is left behind (sccp.md §10.2). skip names
// a phone that must not be messaged (it is unregistering).
func (s *Switch) releaseCall(c *call, cause Cause, skip string) {
	for _, l := range []*leg{c.a, c.b} {
		if l == nil {
			continue
		}
		s.markLeg(l)
		for _, r := range l.ringing {
			if r.device != skip {
				s.emit(r.device, effect{kind: effStopRing, line: r.button, id: c.id})
				s.emit(r.device, effect{kind: effReleased, line: r.button, id: c.id, cause: cause})
			}
		}
		if l.dev != "" && l.dev != skip {
			s.emit(l.dev, effect{kind: effTone, line: l.line, id: c.id, tone: ToneNone})
			s.emit(l.dev, effect{kind: effReleased, line: l.line, id: c.id, cause: cause})
		}
		for _, r := range l.remote {
			if r.device != skip {
				s.emit(r.device, effect{kind: effReleased, line: r.button, id: c.id, cause: cause})
			}
			s.dirtyDev[r.device] = struct{}{}
		}
		_ = s.setState(l, InRelease)
		l.ringing, l.remote = nil, nil
		s.legs[l.dn] = slices.DeleteFunc(s.legs[l.dn], func(x *leg) bool { return x == l })
		if len(s.legs[l.dn]) == 0 {
			delete(s.legs, l.dn)
		}
	}
	delete(s.calls, c.id)
}

// ---- DND ----

func (s *Switch) setDND(id DeviceID, on bool) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	if d.dnd == on {
		return nil
	}
	d.dnd = on
	name := d.id.Name
	s.markDevice(name)
	s.emit(name, effect{kind: effDND, on: on})
	if !on {
		s.ringOn(name)
		return nil
	}
	for _, b := range s.ringingLegs(name, 0) {
		for _, r := range b.ringing {
			if r.device == name {
				s.emit(name, effect{kind: effStopRing, line: r.button, id: b.call.id})
				s.emit(name, effect{kind: effReleased, line: r.button, id: b.call.id, cause: CauseDND})
			}
		}
		b.ringing = removeApps(b.ringing, name)
		s.markLeg(b)
		if len(b.ringing) == 0 {
			s.releaseCall(b.call, CauseDND, "")
		}
	}
	return nil
}

// ---- configuration ----

func (s *Switch) applyConfig(cfg *config.Config) {
	newDN, newDev := buildTables(cfg)
	s.markAll()
	// Calls on DNs that are gone end.
	for k, ls := range s.legs {
		if newDN[k] == nil {
			for _, l := range slices.Clone(ls) {
				if s.calls[l.call.id] != nil {
					s.releaseCall(l.call, CauseConfig, "")
				}
			}
		}
	}
	// Phones that are gone or whose buttons changed lose their calls and
	// are told to reset.
	var reattach []*device
	for _, name := range sortedKeys(s.devs) {
		d := s.devs[name]
		nc := newDev[name]
		if nc != nil && equalApps(nc.apps, s.devConf[name].apps) {
			continue
		}
		s.detach(d, CauseConfig)
		s.emit(name, effect{kind: effReset})
		if nc == nil {
			delete(s.devs, name)
		} else {
			reattach = append(reattach, d)
		}
	}
	s.cfg = cfg
	s.dnConf, s.devConf = newDN, newDev
	s.dnApps = make(map[DNKey][]appearance)
	for _, name := range sortedKeys(newDev) {
		for _, a := range newDev[name].apps {
			if !a.monitor {
				s.dnApps[a.dn] = append(s.dnApps[a.dn], a)
			}
		}
	}
	s.plan, _ = dialplan.FromConfig(cfg)
	s.ringTimeout = time.Duration(cfg.Telephony.RingingSeconds()) * time.Second
	for _, d := range reattach {
		s.attach(d)
	}
	// Bound legs re-evaluate their remote appearances against the new layout.
	for _, id := range s.sortedCalls() {
		for _, l := range []*leg{s.calls[id].a, s.calls[id].b} {
			if l != nil && l.dev != "" {
				s.setRemotes(l)
			}
		}
	}
	s.markAll()
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
