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
	d := &device{id: DeviceID{Name: info.Name, Gen: s.lastGen}, info: info, sink: sink, dnd: s.dndState[info.Name]}
	s.devs[info.Name] = d
	s.markDevice(info.Name)
	s.attach(d)
	return d.id, nil
}

// attach shows a newly (re)registered phone the calls already on its DNs:
// remote-in-use for calls bound elsewhere, ringing for offered calls, and
// call-forward all in force.
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
		if n := s.cfa[a.dn]; n != "" {
			s.emit(d.id.Name, effect{kind: effCallForward, line: a.button, num: n})
		}
	}
	if d.dnd {
		s.emit(d.id.Name, effect{kind: effDND, on: true})
	}
	s.ringOn(d.id.Name)
}

// alert says whether and how an offered call alerts on appearance a
// (docs/cme-behaviour.md §DND for a phone in DND):
//
//   - CME DND (no `dnd-mode`) on an SCCP phone: the call is presented
//     without ringing and can be answered; on an `f` button of an ephone
//     with `dnd feature-ring` it still rings with the feature ring.
//   - CME DND on a SIP pool: the phone refuses the call itself.
//   - `dnd-mode call-reject` and `soft-phone`: not presented.
//   - `dnd-mode ringer-off`: presented without ringing.
func (s *Switch) alert(a appearance) (Alert, bool) {
	d := s.devs[a.device]
	if d == nil || a.monitor {
		return 0, false
	}
	if d.dnd {
		dc := s.devConf[a.device]
		switch dc.dndMode {
		case config.DNDModeCallReject, config.DNDModeSoftPhone:
			return 0, false
		case config.DNDModeRingerOff:
			return AlertSilent, true
		}
		if s.protocolOf(d) != SCCP {
			return 0, false
		}
		if a.mode == config.ButtonFeature && dc.dndFeatureRing {
			return AlertFeature, true
		}
		return AlertSilent, true
	}
	switch a.mode {
	case config.ButtonFeature:
		return AlertFeature, true
	case config.ButtonBeep:
		return AlertBeep, true
	case config.ButtonSilent:
		return AlertSilent, true
	}
	return AlertNormal, true
}

func (s *Switch) ringApp(b *leg, a appearance, al Alert) {
	info := s.info(b, a.button)
	info.Alert = al
	s.emit(a.device, effect{kind: effRing, line: a.button, info: info})
	if !slices.Contains(b.ringing, a) {
		b.ringing = append(b.ringing, a)
	}
	if !slices.Contains(b.alerted, a) {
		b.alerted = append(b.alerted, a)
	}
	s.markLeg(b)
}

// ringOn rings every offered call on the phone's appearances that is not
// ringing there yet.
func (s *Switch) ringOn(dev string) {
	for _, c := range s.deviceCalls(dev) {
		b := c.b
		if b == nil || b.dev != "" || b.state != LineRinging {
			continue
		}
		for _, a := range s.dnApps[b.dn] {
			if a.device != dev || slices.Contains(b.ringing, a) {
				continue
			}
			if al, ok := s.alert(a); ok {
				s.ringApp(b, a, al)
			}
		}
	}
}

// detach removes a phone from every call: calls bound to it are released,
// and it stops being rung or told about remote use. The phone's sink gets
// no messages: it is going away.
func (s *Switch) detach(d *device, cause Cause) {
	name := d.id.Name
	for _, c := range s.deviceCalls(name) {
		if s.calls[c.id] != c {
			continue // released with an earlier one
		}
		if (c.a != nil && c.a.dev == name) || (c.b != nil && c.b.dev == name) {
			s.releaseCall(c, cause, name)
		}
	}
	for _, c := range s.deviceCalls(name) {
		for _, l := range []*leg{c.a, c.b} {
			if l == nil {
				continue
			}
			l.remote = removeApps(l.remote, name)
			if l.dev == "" && l.state == LineRinging && hasApp(l.ringing, name, 0) {
				l.ringing = removeApps(l.ringing, name)
				s.markLeg(l)
				if len(l.ringing) == 0 {
					if c.hunt != nil && c.b == l {
						s.huntAdvance(c, CauseUnavailable)
					} else {
						s.releaseCall(c, CauseUnavailable, "")
					}
				}
			}
		}
	}
	s.markDevice(name)
}

// ---- call set-up ----

func (s *Switch) newCall() *call {
	return &call{id: s.NewCallID(), started: s.now()}
}

// newDialingLeg takes appearance a off-hook with dial tone for call c.
func (s *Switch) newDialingLeg(c *call, a appearance) (*leg, error) {
	c.calling = s.party(a.dn)
	l := &leg{call: c, cid: c.id, dn: a.dn, dev: a.device, line: a.button, outbound: true, start: s.now()}
	c.a = l
	if err := s.setState(l, InOffHook); err != nil {
		return nil, err
	}
	s.calls[c.id] = c
	s.legs[a.dn] = append(s.legs[a.dn], l)
	s.emit(a.device, effect{kind: effCallState, line: a.button, id: c.id, st: LineDialing})
	s.emit(a.device, effect{kind: effTone, line: a.button, id: c.id, tone: ToneDial})
	s.setRemotes(l)
	s.armInterdigit(l, s.plan.Interdigit())
	return l, nil
}

func (s *Switch) offHook(id DeviceID, line int) (*leg, error) {
	d, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	name := d.id.Name
	if r := s.ringingLegs(name, line); len(r) > 0 {
		a, _ := appOn(r[0].ringing, name, line)
		return r[0], s.answerLeg(r[0], name, a.button)
	}
	for _, l := range s.boundLegs(name, line) {
		if l.state != LineHold {
			return nil, ErrBadState // already off-hook on that line
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
		return s.newDialingLeg(s.newCall(), a)
	}
	if _, ok := appOn(dc.apps, name, line); !ok && line != 0 {
		return nil, ErrNoLine
	}
	return nil, ErrLineBusy
}

func (s *Switch) addDigits(id DeviceID, line int, digits string) (*leg, error) {
	d, err := s.lookup(id)
	if err != nil {
		return nil, err
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
			return nil, nil // DTMF during a call: media, not call control
		}
		return nil, ErrNoCall
	}
	if l.digits == "" {
		s.emit(l.dev, effect{kind: effTone, line: l.line, id: l.cid, tone: ToneNone})
	}
	if l.pickup != 0 {
		s.pickupDigits(l, digits) // the group or extension of a pickup (pickup.go)
		return l, nil
	}
	l.digits += digits
	if s.facDigits(l) {
		return l, nil
	}
	m := s.plan.Lookup(l.digits)
	switch m.Result {
	case dialplan.Partial, dialplan.Ambiguous:
		if err := s.setState(l, InDigitsPartial); err != nil {
			return l, err
		}
		s.armInterdigit(l, m.Timeout)
	case dialplan.Complete:
		s.place(l, m.Target)
	default:
		s.fail(l, InDigitsInvalid, ToneReorder, CauseUnassigned)
	}
	return l, nil
}

func (s *Switch) armInterdigit(l *leg, d time.Duration) {
	callID, gen := l.call.id, l.gen
	l.stopTimer()
	l.timer = time.AfterFunc(d, func() {
		s.post(func() error {
			c := s.calls[callID]
			if c == nil || c.a != l || l.gen != gen || l.state != LineDialing {
				return nil // stale timer
			}
			if m := s.plan.Expire(l.digits); m.Result == dialplan.Complete {
				s.place(l, m.Target)
			} else {
				s.fail(l, InDigitsInvalid, ToneReorder, CauseUnassigned)
			}
			return nil
		})
	})
}

// stopTimer cancels the leg's pending timer; a timer that already fired
// is ignored by its generation check.
func (l *leg) stopTimer() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}

func (s *Switch) fail(l *leg, in Input, t Tone, cause Cause) {
	if s.setState(l, in) != nil {
		return
	}
	s.emit(l.dev, effect{kind: effCallFailed, line: l.line, id: l.cid, cause: cause})
	s.emit(l.dev, effect{kind: effCallState, line: l.line, id: l.cid, st: LineBusy})
	s.emit(l.dev, effect{kind: effTone, line: l.line, id: l.cid, tone: t})
}

// place routes a completed number dialled on leg l.
func (s *Switch) place(l *leg, t dialplan.Target) {
	c := l.call
	l.placed = t.Number
	if held := l.xferOf; held != nil && l.xferBlind {
		s.blindFromConsult(l, held, t.Number)
		return
	}
	if t.Kind == dialplan.TargetService && t.Number == s.echo && s.echo != "" {
		s.answerEcho(c)
		return
	}
	if t.Kind == dialplan.TargetDialPeer && s.placeTrunk(l, t.Number) {
		return
	}
	if t.Kind != dialplan.TargetDN {
		s.fail(l, InCalleeBusy, ToneReorder, CauseUnavailable) // no trunk, or no usable dial-peer
		return
	}
	if cause, ok := s.route(c, t.Number); !ok {
		tone := ToneReorder
		if cause == CauseBusy || cause == CauseDND || cause == CauseLoop {
			tone = ToneBusy
		}
		s.fail(l, InCalleeBusy, tone, cause)
	}
}

// answerEcho connects the caller to the echo test: the core answers at
// once and syncMedia loops the caller's RTP through the MediaServer.
func (s *Switch) answerEcho(c *call) {
	a := c.a
	c.echo = true
	c.called = Party{Number: s.echo, Name: "Echo test"}
	_ = s.setState(a, InDigitsComplete)
	_ = s.setState(a, InPeerAnswer)
	a.answered = s.now()
	s.emit(a.dev, effect{kind: effCallInfo, line: a.line, info: s.info(a, a.line)})
	s.emit(a.dev, effect{kind: effCallState, line: a.line, id: a.cid, st: LineConnected})
}

// candidates are the DNs with a number, in hunt order: preference, then
// ephone-dns before voice register dns, then tag (docs/cme-cli.md §Ephone-dn).
func (s *Switch) candidates(number string) []*dnConf {
	if number == "" {
		return nil
	}
	// The index is rebuilt with dnConf at each config (indexNumbers); a
	// scan of every DN per dialled digit was most of the core's routing
	// cost with 1,000 phones (BenchmarkCallSetupTeardown idle=1000).
	return slices.Clone(s.byNumber[number])
}

// indexNumbers builds byNumber from dnConf: every DN under its number and
// its secondary number, in hunt order (preference, then kind and tag,
// docs/cme-behaviour.md §Lines).
func (s *Switch) indexNumbers() {
	s.byNumber = make(map[string][]*dnConf, len(s.dnConf))
	for _, c := range s.dnConf {
		if c.number != "" {
			s.byNumber[c.number] = append(s.byNumber[c.number], c)
		}
		if c.secondary != "" && c.secondary != c.number {
			s.byNumber[c.secondary] = append(s.byNumber[c.secondary], c)
		}
	}
	for _, cands := range s.byNumber {
		slices.SortFunc(cands, func(a, b *dnConf) int {
			return cmp.Or(cmp.Compare(a.preference, b.preference), cmp.Compare(a.key.Kind, b.key.Kind),
				cmp.Compare(a.key.Tag, b.key.Tag))
		})
	}
}

// route offers call c (caller side c.a, no callee leg) to number. DNs with
// the number are tried in hunt order (docs/cme-behaviour.md §Lines):
//
//   - call-forward all on a DN sends the call on at once; it beats DND and
//     busy (docs/cme-behaviour.md §DND: "If DND and CFA are both on, CFA wins"). A CFA
//     chain that loops back rings the DN where the loop closed.
//   - a DN that can alert somewhere is offered the call.
//   - a DN that cannot: busy (no free call slot) forwards to its CFB
//     target; DND on every appearance to the target dndTarget picks
//     (docs/cme-behaviour.md §DND); no registered phone to CFNA, else CFB. Without a target, huntstop (the ephone-dn default) ends
//     the hunt, `no huntstop` tries the next DN.
//
// It reports the cause of the last failure when nothing alerts.
func (s *Switch) route(c *call, number string) (Cause, bool) {
	if g := s.huntPilot(number); g != nil {
		return s.startHunt(c, g)
	}
	cands := s.candidates(number)
	cause := CauseUnassigned
	for _, d := range cands {
		if slices.Contains(c.visited, d.key) {
			cause = CauseLoop
			continue
		}
		if d.park != nil {
			return s.parkRoute(c, d)
		}
		if t := s.cfa[d.key]; t != "" {
			if fc, ok := s.forward(c, d, t); ok || fc != CauseLoop {
				return fc, ok
			}
			// Loop: ring here instead (CFA loop breakout).
		}
		regApps := s.registeredApps(d.key)
		var ringable []appearance
		for _, a := range regApps {
			if _, ok := s.alert(a); ok {
				ringable = append(ringable, a)
			}
		}
		var target string
		switch {
		case len(regApps) == 0:
			cause, target = CauseUnavailable, cmp.Or(d.cfna, d.cfb)
		case len(s.legs[d.key]) >= d.calls:
			cause, target = CauseBusy, d.cfb
		case len(ringable) == 0:
			cause, target = CauseDND, s.dndTarget(d)
		default:
			s.offer(c, d, ringable)
			return 0, true
		}
		if target != "" {
			if fc, ok := s.forward(c, d, target); ok {
				return fc, ok
			}
			return cause, false
		}
		if d.huntstop {
			break
		}
	}
	return cause, false
}

// forward sends call c on from DN from to number, guarding against loops:
// at most maxHops forwards per call, and never back to a DN the call was
// already forwarded away from (cause CauseLoop). The hunt in route skips
// such DNs, so a local number is a loop only when every DN with it is one
// of them; a hunt group with a DN the call has not visited still rings.
func (s *Switch) forward(c *call, from *dnConf, number string) (Cause, bool) {
	if c.hops >= s.maxHops {
		return CauseLoop, false
	}
	if cands := s.candidates(number); len(cands) > 0 && !slices.ContainsFunc(cands, func(d *dnConf) bool {
		return d.key != from.key && !slices.Contains(c.visited, d.key)
	}) {
		return CauseLoop, false
	}
	c.hops++
	c.visited = append(c.visited, from.key)
	if c.original == (Party{}) {
		c.original = Party{Number: from.number, Name: from.name}
	}
	c.redirecting = Party{Number: from.number, Name: from.name}
	if number == s.echo && s.echo != "" && c.a.state == LineDialing {
		s.answerEcho(c)
		return 0, true
	}
	if s.forwardOut(c, number) {
		return 0, true
	}
	return s.route(c, number)
}

// offer creates the callee leg of c on DN d and alerts it on ringable.
func (s *Switch) offer(c *call, d *dnConf, ringable []appearance) {
	c.called = Party{Number: d.number, Name: d.name}
	c.calling = s.displayCalling(c, d)
	b := &leg{call: c, cid: c.id, dn: d.key, start: s.now()}
	c.b = b
	_ = s.setState(b, InOffered)
	s.legs[d.key] = append(s.legs[d.key], b)
	for _, r := range ringable {
		al, _ := s.alert(r)
		s.ringApp(b, r, al)
	}
	s.markLeg(b)
	s.callerAlerting(c.a)
	s.armRing(b)
}

// callerAlerting moves the caller side to ringback: from dialing (a new
// call), from connected (transfer), or just new display data (forward).
func (s *Switch) callerAlerting(a *leg) {
	switch a.state {
	case LineDialing:
		_ = s.setState(a, InDigitsComplete)
	case LineConnected:
		_ = s.setState(a, InRedirected)
	}
	s.emit(a.dev, effect{kind: effCallInfo, line: a.line, info: s.info(a, a.line)})
	if a.state == LineRingback {
		s.emit(a.dev, effect{kind: effCallState, line: a.line, id: a.cid, st: LineRingback})
		s.emit(a.dev, effect{kind: effTone, line: a.line, id: a.cid, tone: ToneRingback})
		if ts := a.trunk; ts != nil && ts.inbound && !ts.alerted && !ts.started {
			ts.alerted = true
			s.emitTrunk(effect{kind: effTrunkRinging, id: a.cid})
		}
	}
	s.markLeg(a)
}

// armRing starts the no-answer timer of an offered leg: the DN's CFNA
// timeout when it has a no-answer target, else `timeouts ringing`.
func (s *Switch) armRing(b *leg) {
	d := s.ringTimeout
	if c := b.call; c.hunt != nil && c.b == b {
		d = s.huntTimeout(c) // the group's timeout, not the member's CFNA
	} else if dc := s.dnConf[b.dn]; dc != nil && dc.cfna != "" && dc.cfnaTimeout > 0 {
		d = dc.cfnaTimeout
	}
	callID, gen := b.call.id, b.gen
	b.stopTimer()
	b.timer = time.AfterFunc(d, func() {
		s.post(func() error {
			c := s.calls[callID]
			if c != nil && c.b == b && b.gen == gen && b.state == LineRinging {
				if b.refused {
					// A refusal beats the silence of the rest (RFC
					// 3261 §16.7: the best response wins).
					s.rejected(c, b.refusal)
					return nil
				}
				s.unanswered(c, CauseNoAnswer)
			}
			return nil
		})
	})
}

// unanswered ends an offer nobody took: on to the DN's CFNA target if it
// has one (docs/cme-behaviour.md §DND), else the call ends with cause;
// except that an offer only ringer-off DND phones were shown is rejected
// and its caller hears busy (docs/cme-behaviour.md §DND, ringer off
// without a CFNA target).
func (s *Switch) unanswered(c *call, cause Cause) {
	if c.hunt != nil {
		s.huntAdvance(c, cause)
		return
	}
	b := c.b
	dc := s.dnConf[b.dn]
	if dc != nil && dc.cfna != "" {
		s.dropLeg(b, CauseForwarded, "")
		c.b = nil
		if _, ok := s.forward(c, dc, dc.cfna); ok {
			return
		}
	} else if cause == CauseNoAnswer && s.ringerOffOnly(b) {
		s.dropLeg(b, CauseDND, "")
		c.b = nil
		if a := c.a; a != nil && a.trunk == nil && a.state == LineRingback {
			s.fail(a, InCalleeBusy, ToneBusy, CauseDND)
			return
		}
		s.releaseCall(c, CauseDND, "")
		return
	}
	s.releaseCall(c, cause, "")
}

// ringerOffOnly reports whether every appearance offer b alerted on is a
// phone in `dnd-mode ringer-off` DND.
func (s *Switch) ringerOffOnly(b *leg) bool {
	if len(b.alerted) == 0 {
		return false
	}
	for _, a := range b.alerted {
		d := s.devs[a.device]
		if d == nil || !d.dnd || s.devConf[a.device].dndMode != config.DNDModeRingerOff {
			return false
		}
	}
	return true
}

// dndTarget is where a call goes when every registered appearance of DN d
// refused it for DND (docs/cme-behaviour.md §DND): call reject on any of
// them, the CFB target; soft-phone DND on all of them, the CFNA target;
// otherwise (a SIP phone refusing the call itself, as busy) CFB, else
// CFNA. "" means the caller hears busy.
func (s *Switch) dndTarget(d *dnConf) string {
	soft := true
	for _, a := range s.registeredApps(d.key) {
		switch s.devConf[a.device].dndMode {
		case config.DNDModeCallReject:
			return d.cfb
		case config.DNDModeSoftPhone:
		default:
			soft = false
		}
	}
	if soft {
		return d.cfna
	}
	return cmp.Or(d.cfb, d.cfna)
}

// rejectRank orders the refusals of a shared line's appearances: the
// highest wins (RFC 3261 §16.7 leaves the choice among 4xx to the proxy;
// the caller should learn the line is busy before anything vaguer).
func rejectRank(c Cause) int {
	switch c {
	case CauseBusy, CauseDND:
		return 4
	case CauseRejected:
		return 3
	case CauseUnassigned:
		return 2
	case CauseNoResponse:
		return 1
	}
	return 0
}

func (s *Switch) reject(id DeviceID, line int, callID CallID, cause Cause, everywhere bool) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	for _, b := range s.ringingLegs(d.id.Name, line) {
		if callID != 0 && b.cid != callID {
			continue
		}
		r, _ := appOn(b.ringing, d.id.Name, line)
		s.markLeg(b)
		s.emit(r.device, effect{kind: effStopRing, line: r.button, id: b.cid})
		s.emit(r.device, effect{kind: effReleased, line: r.button, id: b.cid, cause: cause})
		b.ringing = slices.DeleteFunc(b.ringing, func(x appearance) bool { return x == r })
		if !b.refused || rejectRank(cause) > rejectRank(b.refusal) {
			b.refused, b.refusal = true, cause
		}
		if everywhere {
			b.refusal = cause
		}
		if len(b.ringing) == 0 || everywhere {
			s.rejected(b.call, b.refusal)
		}
		return nil
	}
	return ErrNoCall
}

// rejected ends an offer its appearances refused: on to the DN's CFB
// (busy, declined) or CFNA target, else the caller fails like a call to a
// busy number (place).
func (s *Switch) rejected(c *call, cause Cause) {
	if c.hunt != nil {
		s.huntAdvance(c, cause)
		return
	}
	b := c.b
	dc := s.dnConf[b.dn]
	s.dropLeg(b, cause, "")
	c.b = nil
	if dc != nil {
		target := dc.cfna
		if rejectRank(cause) >= rejectRank(CauseRejected) {
			target = dc.cfb
		}
		if target != "" {
			if _, ok := s.forward(c, dc, target); ok {
				return
			}
		}
	}
	a := c.a
	if a == nil || a.trunk != nil || a.state != LineRingback {
		// A trunk caller learns the cause from Hangup; a leg past
		// ringback (none today) just ends.
		s.releaseCall(c, cause, "")
		return
	}
	tone := ToneReorder
	if rejectRank(cause) >= rejectRank(CauseRejected) {
		tone = ToneBusy
	}
	s.fail(a, InCalleeBusy, tone, cause)
}

func (s *Switch) answer(id DeviceID, line int, callID CallID) (*leg, error) {
	d, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	for _, b := range s.ringingLegs(d.id.Name, line) {
		if callID == 0 || b.cid == callID {
			a, _ := appOn(b.ringing, d.id.Name, line)
			return b, s.answerLeg(b, d.id.Name, a.button)
		}
	}
	return nil, ErrNoCall
}

// answerLeg connects an offered leg on dev/line. The other appearances stop
// ringing and show remote-in-use (docs/cme-behaviour.md §Lines shared lines).
func (s *Switch) answerLeg(b *leg, dev string, line int) error {
	s.markLeg(b) // the devices it rang on
	if err := s.setState(b, InAnswer); err != nil {
		return err
	}
	id := b.cid
	for _, r := range b.ringing {
		s.emit(r.device, effect{kind: effStopRing, line: r.button, id: id})
	}
	b.ringing = nil
	b.stopTimer()
	b.dev, b.line = dev, line
	b.answered = s.now()
	s.markLeg(b)
	s.huntAnswered(b.call)
	s.emit(dev, effect{kind: effCallInfo, line: line, info: s.info(b, line)})
	s.emit(dev, effect{kind: effCallState, line: line, id: id, st: LineConnected})
	s.setRemotes(b)
	a := b.call.a
	if s.setState(a, InPeerAnswer) == nil {
		a.answered = s.now()
		s.emit(a.dev, effect{kind: effTone, line: a.line, id: a.cid, tone: ToneNone})
		s.emit(a.dev, effect{kind: effCallState, line: a.line, id: a.cid, st: LineConnected})
	}
	return nil
}

// ---- in-call ----

func (s *Switch) onHook(id DeviceID, line int) (*leg, error) {
	d, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	for _, l := range s.boundLegs(d.id.Name, line) {
		if l.state != LineHold {
			if s.confHangup(l) {
				return l, nil
			}
			s.releaseCall(l.call, CauseNormal, "")
			return l, nil
		}
	}
	return nil, nil // on-hook with nothing active (or only held calls) is harmless
}

// findLeg is the leg bound to dev whose call id is callID.
func (s *Switch) findLeg(dev string, line int, callID CallID) *leg {
	for _, l := range s.boundLegs(dev, line) {
		if l.cid == callID {
			return l
		}
	}
	return nil
}

func (s *Switch) hold(id DeviceID, line int, callID CallID) (*leg, error) {
	d, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	for _, l := range s.boundLegs(d.id.Name, line) {
		if (callID == 0 && l.state == LineConnected) || l.cid == callID {
			return l, s.holdLeg(l)
		}
	}
	return nil, ErrNoCall
}

func (s *Switch) holdLeg(l *leg) error {
	if err := s.setState(l, InHold); err != nil {
		return err
	}
	s.emit(l.dev, effect{kind: effCallState, line: l.line, id: l.cid, st: LineHold})
	s.tellPeer(l, true)
	return nil
}

func (s *Switch) resume(id DeviceID, line int, callID CallID) (*leg, error) {
	d, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	name := d.id.Name
	for _, a := range s.devConf[name].apps {
		if a.monitor || (line != 0 && a.button != line) {
			continue
		}
		for _, l := range s.legs[a.dn] {
			if l.state != LineHold || (callID != 0 && l.cid != callID) {
				continue
			}
			if err := s.setState(l, InResume); err != nil {
				return l, err
			}
			if l.dev != name || l.line != a.button {
				// Picked up on another appearance of a shared DN.
				if l.open {
					s.emit(l.dev, effect{kind: effStopMedia, line: l.line, id: l.cid})
					l.open, l.rx, l.tx = false, zeroAddr, zeroAddr
				}
				s.emit(l.dev, effect{kind: effCallState, line: l.line, id: l.cid, st: LineRemoteInUse})
				l.remote = append(l.remote, appearance{device: l.dev, button: l.line, dn: l.dn})
				s.markLeg(l)
				l.dev, l.line = name, a.button
				l.remote = slices.DeleteFunc(l.remote, func(r appearance) bool {
					return r.device == name && r.button == a.button
				})
				s.emit(name, effect{kind: effCallInfo, line: l.line, info: s.info(l, l.line)})
			}
			s.markLeg(l)
			s.emit(name, effect{kind: effCallState, line: l.line, id: l.cid, st: LineConnected})
			s.setRemotes(l)
			s.tellPeer(l, false)
			return l, nil
		}
	}
	return nil, ErrNoCall
}

func peer(l *leg) *leg {
	if l.call.a == l {
		return l.call.b
	}
	return l.call.a
}

func (s *Switch) tellPeer(l *leg, held bool) {
	p := peer(l)
	if p == nil || p.dev == "" {
		return
	}
	s.markLeg(p)
	info := s.info(p, p.line)
	info.PeerHold = held
	s.emit(p.dev, effect{kind: effCallInfo, line: p.line, info: info})
}

// ---- teardown ----

// releaseCall tears a call down on every appearance it touched: bound
// legs, ringing appearances and remote-in-use appearances all get a final
// message, so no lamp or ringer is left behind (docs/sccp.md §Field-reports). skip names
// a phone that must not be messaged (it is unregistering).
func (s *Switch) releaseCall(c *call, cause Cause, skip string) {
	for _, l := range []*leg{c.a, c.b} {
		if l != nil && l.call == c {
			s.dropLeg(l, cause, skip)
		}
	}
	if c.echoH != nil {
		c.echoH.Stop()
		c.echoH = nil
	}
	if c.hunt != nil {
		s.huntCounters(c.hunt.key).Abandoned++
		s.endHunt(c)
	}
	delete(s.calls, c.id)
	// A consultation call that outlives its held call stays a plain call.
	// Only the consultation legs are looked at, not every call: this runs
	// on every hang-up.
	for o := range s.consults {
		if o.xferOf == c && o.call.a == o && s.calls[o.call.id] == o.call {
			o.xferOf = nil
		}
	}
}

// dropLeg takes one leg out of its call: every appearance it touched gets
// its final message, media stops, and the phone's call record is written.
// The call itself is left to the caller.
func (s *Switch) dropLeg(l *leg, cause Cause, skip string) {
	c := l.call
	s.markLeg(l)
	for _, r := range l.ringing {
		if r.device != skip {
			s.emit(r.device, effect{kind: effStopRing, line: r.button, id: l.cid})
			s.emit(r.device, effect{kind: effReleased, line: r.button, id: l.cid, cause: cause})
		}
	}
	if l.dev != "" && l.dev != skip {
		if l.open {
			s.emit(l.dev, effect{kind: effStopMedia, line: l.line, id: l.cid})
		}
		s.emit(l.dev, effect{kind: effTone, line: l.line, id: l.cid, tone: ToneNone})
		s.emit(l.dev, effect{kind: effReleased, line: l.line, id: l.cid, cause: cause})
	}
	for _, r := range l.remote {
		if r.device != skip {
			s.emit(r.device, effect{kind: effReleased, line: r.button, id: l.cid, cause: cause})
		}
		s.dirtyDev[r.device] = struct{}{}
	}
	if ts := l.trunk; ts != nil {
		if !ts.gone && (ts.inbound || ts.started) {
			s.emitTrunk(effect{kind: effTrunkHangup, id: l.cid, cause: cause})
		}
		ts.gone = true
		if s.trunks[l.cid] == l {
			delete(s.trunks, l.cid)
		}
	}
	s.recordLeg(l)
	l.stopTimer()
	if l.moh != nil {
		l.moh.Stop()
		l.moh = nil
	}
	l.open, l.rx, l.tx = false, zeroAddr, zeroAddr
	_ = s.setState(l, InRelease)
	l.ringing, l.remote = nil, nil
	delete(s.consults, l)
	s.legs[l.dn] = slices.DeleteFunc(s.legs[l.dn], func(x *leg) bool { return x == l })
	if len(s.legs[l.dn]) == 0 {
		delete(s.legs, l.dn)
		if l.trunk == nil {
			s.idleSince[l.dn] = s.now()
		}
	}
	l.parked = nil
	if c.a == l {
		c.a = nil
	}
	if c.b == l {
		c.b = nil
	}
	if !l.outbound {
		s.endCallDND(l.cid)
	}
}

// recordLeg writes the call records of a leg leaving its call (see
// CallRecord for the rules).
func (s *Switch) recordLeg(l *leg) {
	if s.rec == nil {
		return
	}
	c := l.call
	now := s.now()
	line := ""
	if dc := s.dnConf[l.dn]; dc != nil {
		line = dc.number
	}
	var talk time.Duration
	if !l.answered.IsZero() {
		talk = now.Sub(l.answered)
	}
	switch {
	case l.dev != "" && l.outbound && l.placed != "":
		s.records = append(s.records, CallRecord{Phone: l.dev, Kind: RecordPlaced, Number: l.placed,
			Name: c.called.Name, Line: line, Button: l.line, Start: l.start, Duration: talk})
	case l.dev != "" && !l.outbound && !l.answered.IsZero():
		other := c.calling
		if p := peer(l); p != nil && p.trunk != nil && !p.trunk.inbound {
			other = p.trunk.party
		} else if p != nil && p.trunk == nil {
			other = s.party(p.dn)
		}
		s.records = append(s.records, CallRecord{Phone: l.dev, Kind: RecordReceived, Number: other.Number,
			Name: other.Name, Line: line, Button: l.line, Start: l.start, Duration: talk})
	case l.dev == "" && l.answered.IsZero():
		// An offer nobody on this DN answered: missed on each phone it
		// alerted, once per phone.
		seen := map[string]bool{}
		for _, a := range l.alerted {
			if seen[a.device] {
				continue
			}
			seen[a.device] = true
			s.records = append(s.records, CallRecord{Phone: a.device, Kind: RecordMissed,
				Number: c.calling.Number, Name: c.calling.Name, Line: line, Button: a.button, Start: l.start})
		}
	}
}

// ---- DND ----

// setDND switches DND on a phone and on every other phone of the same
// user: ephones and pools with the same non-empty `username` are one user,
// so DND set on one applies to all of them and clearing it clears all
// (docs/cme-behaviour.md §DND: Cisco Unified Presence passes DND between
// a user's devices). In a `dnd-mode`, clearing also clears the phones that
// share a line with the user's phones (the seed's "even if the endpoint is
// shared by other users").
//
// CME DND on an SCCP phone (docs/cme-behaviour.md §DND): switched on
// while a call rings, it applies to that call only and ends with it; while
// a call rings on a phone already in DND, the softkey cannot change it
// (ErrBadState).
func (s *Switch) setDND(id DeviceID, on bool) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	name := d.id.Name
	dc := s.devConf[name]
	var oneCall CallID
	if s.cmeDND(d) {
		if ringing := s.ringingLegs(name, 0); len(ringing) > 0 {
			if d.dnd {
				return ErrBadState
			}
			if on {
				oneCall = ringing[0].cid
			}
		}
	}
	names := s.userDevices(name)
	if !on && dc.dndMode != config.DNDModeCME {
		names = append(names, s.sharedEndpoints(names)...)
	}
	for _, n := range names {
		s.dndState[n] = on
		if dv := s.devs[n]; dv != nil {
			dv.dndCall = 0
			if n == name {
				dv.dndCall = oneCall
			}
			s.applyDND(dv, on)
		}
	}
	return nil
}

// cmeDND reports whether d is an SCCP phone with CME's DND (no `dnd-mode`).
func (s *Switch) cmeDND(d *device) bool {
	return s.devConf[d.id.Name].dndMode == config.DNDModeCME && s.protocolOf(d) == SCCP
}

// userDevices is name and every other configured device with its
// non-empty `username`, in name order after name.
func (s *Switch) userDevices(name string) []string {
	names := []string{name}
	if u := s.devConf[name].username; u != "" {
		for _, n := range sortedKeys(s.devConf) {
			if n != name && s.devConf[n].username == u {
				names = append(names, n)
			}
		}
	}
	return names
}

// sharedEndpoints are the devices not in names that carry a line (DN) of
// one of them, in name order.
func (s *Switch) sharedEndpoints(names []string) []string {
	lines := map[DNKey]bool{}
	for _, n := range names {
		for _, a := range s.devConf[n].apps {
			if !a.monitor {
				lines[a.dn] = true
			}
		}
	}
	var out []string
	for _, n := range sortedKeys(s.devConf) {
		if slices.Contains(names, n) {
			continue
		}
		if slices.ContainsFunc(s.devConf[n].apps, func(a appearance) bool { return !a.monitor && lines[a.dn] }) {
			out = append(out, n)
		}
	}
	return out
}

// endCallDND ends the one-call DND of the phones whose DND softkey was
// pressed while call id rang on them, once the call left them
// (docs/cme-behaviour.md §DND).
func (s *Switch) endCallDND(id CallID) {
	// Runs at every call's end: find the few phones first and sort only
	// those (sorting every device here was a fifth of the core's CPU at
	// 800 calls/s with 1,000 phones, BENCHMARKS.md).
	var names []string
	for n, d := range s.devs {
		if d.dndCall == id {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		if d := s.devs[n]; d.dndCall == id {
			d.dndCall = 0
			for _, u := range s.userDevices(n) {
				s.dndState[u] = false
				if dv := s.devs[u]; dv != nil {
					s.applyDND(dv, false)
				}
			}
		}
	}
}

func (s *Switch) applyDND(d *device, on bool) {
	if d.dnd == on {
		return
	}
	d.dnd = on
	name := d.id.Name
	s.markDevice(name)
	s.emit(name, effect{kind: effDND, on: on})
	if !on {
		s.ringOn(name)
		return
	}
	// DND while a call rings applies to that call (docs/cme-behaviour.md
	// §DND): CME DND sends it to the DN's CFNA target if it has one, else
	// keeps it without ringing; a ringer-off appearance keeps it silently;
	// a call-reject one drops it. A call left alerting nowhere goes to
	// CFNA or ends.
	cme := s.cmeDND(d)
	for _, b := range s.ringingLegs(name, 0) {
		toCFNA := cme && s.dnConf[b.dn] != nil && s.dnConf[b.dn].cfna != ""
		for _, r := range slices.Clone(b.ringing) {
			if r.device != name {
				continue
			}
			if al, ok := s.alert(r); ok && !toCFNA {
				s.ringApp(b, r, al)
				continue
			}
			s.emit(name, effect{kind: effStopRing, line: r.button, id: b.cid})
			s.emit(name, effect{kind: effReleased, line: r.button, id: b.cid, cause: CauseDND})
			b.ringing = slices.DeleteFunc(b.ringing, func(x appearance) bool { return x == r })
			b.alerted = slices.DeleteFunc(b.alerted, func(x appearance) bool { return x == r })
		}
		s.markLeg(b)
		if len(b.ringing) == 0 {
			s.unanswered(b.call, CauseDND)
		}
	}
}

// ---- call forward all (softkey) ----

func (s *Switch) setCallForwardAll(id DeviceID, line int, number string) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	var app appearance
	found := false
	for _, a := range s.devConf[d.id.Name].apps {
		if !a.monitor && (line == 0 || a.button == line) {
			app, found = a, true
			break
		}
	}
	if !found {
		return ErrNoLine
	}
	if !validNumber(number) || (number != "" && number == s.dnConf[app.dn].number) {
		return ErrBadNumber
	}
	s.setCFA(app.dn, number)
	return nil
}

func validNumber(n string) bool {
	if len(n) > 32 {
		return false
	}
	for i := range len(n) {
		c := n[i]
		if (c < '0' || c > '9') && c != '*' && c != '#' && c != '+' {
			return false
		}
	}
	return true
}

// setCFA puts CFA for DN k in force and shows it on every phone with k.
func (s *Switch) setCFA(k DNKey, number string) {
	if s.cfa[k] == number {
		return
	}
	if number == "" {
		delete(s.cfa, k)
	} else {
		s.cfa[k] = number
	}
	for _, a := range s.registeredApps(k) {
		s.emit(a.device, effect{kind: effCallForward, line: a.button, num: number})
	}
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
	// DND: a device new to the config, or whose configured `dnd` changed,
	// takes the configured value; otherwise the run-time toggle stays.
	for name, nc := range newDev {
		if oc := s.devConf[name]; oc == nil || oc.dnd != nc.dnd {
			s.dndState[name] = nc.dnd
		}
	}
	for name := range s.dndState {
		if newDev[name] == nil {
			delete(s.dndState, name)
		}
	}
	s.cfg = cfg
	s.dnConf, s.devConf = newDN, newDev
	s.indexNumbers()
	s.applyHuntConfig(cfg)
	s.dnApps = make(map[DNKey][]appearance)
	for _, name := range sortedKeys(newDev) {
		for _, a := range newDev[name].apps {
			if !a.monitor {
				s.dnApps[a.dn] = append(s.dnApps[a.dn], a)
			}
		}
	}
	var extra []dialplan.Entry
	if s.echo != "" {
		extra = append(extra, dialplan.Entry{Pattern: s.echo, Kind: dialplan.TargetService})
	}
	for _, k := range sortedDNKeys(s.hunts) {
		// A pilot is dialled like a DN; route hands it to the group.
		for _, n := range []string{s.hunts[k].pilot, s.hunts[k].secondary} {
			if dialplan.Dialable(n) {
				extra = append(extra, dialplan.Entry{Pattern: n, Kind: dialplan.TargetDN, Tag: k.Tag})
			}
		}
	}
	s.plan, _ = dialplan.FromConfig(cfg, extra...)
	s.applyTrunkConfig(cfg)
	s.ringTimeout = time.Duration(cfg.Telephony.RingingSeconds()) * time.Second
	s.xferBlind = false
	if cfg.Telephony != nil {
		switch cfg.Telephony.TransferSystem {
		case "blind", "full-blind":
			s.xferBlind = true
		}
	}
	for _, d := range reattach {
		s.attach(d)
	}
	// CFA: a changed `call-forward all` line wins over the softkey (the
	// most recent setting wins, docs/cme-behaviour.md §Forwarding).
	for k := range s.cfa {
		if newDN[k] == nil {
			delete(s.cfa, k)
		}
	}
	for _, k := range sortedDNKeys(newDN) {
		nc := newDN[k]
		if old, had := s.cfaConf[k]; !had || old != nc.cfa {
			s.setCFA(k, nc.cfa)
		}
	}
	s.cfaConf = make(map[DNKey]string, len(newDN))
	for k, nc := range newDN {
		s.cfaConf[k] = nc.cfa
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

func sortedDNKeys[V any](m map[DNKey]V) []DNKey {
	ks := make([]DNKey, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b DNKey) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Tag, b.Tag))
	})
	return ks
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
