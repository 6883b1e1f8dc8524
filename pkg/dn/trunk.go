package dn

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dialplan"
)

// Trunk calls (docs/cme-cli.md §Trunks-and-translation): a number whose best match is a `dial-peer
// voice N voip` destination-pattern goes to the peer's `session target`
// through the Trunk; calls from a trunk are offered to local DNs. The far
// side is a leg without DN or device (leg.trunk), so that the call code
// (hold, transfer, release, records) treats a trunk call like any other:
//
//   - outbound, the trunk leg is the callee: offered (ringing) until
//     TrunkAnswered, then connected. The caller's receive channel opens as
//     soon as the call is placed, because the SDP offer carries its address
//     and the far end may send early media to it.
//   - inbound, the trunk leg is the caller: dialing until an offer alerts
//     (Trunk.Ringing), ringback, connected once a phone answered
//     (Trunk.Answered with the phone's receive address).
//
// Translation profiles apply to trunk calls only: outbound, the calling
// DN's `translation-profile outgoing` and then the dial-peer's rewrite the
// called and calling numbers after the dial-peer was chosen on the dialled
// digits; inbound, the inbound dial-peer's `translation-profile incoming`
// rewrites both before the called number is routed, and the answering DN's
// `translation-profile incoming` rewrites the calling number it displays.

// applyTrunkConfig indexes the dial-peers and translation profiles of a
// snapshot. Only voip peers with a session target can carry calls.
func (s *Switch) applyTrunkConfig(cfg *config.Config) {
	s.peers = make(map[int]*config.DialPeer)
	for i := range cfg.DialPeers {
		dp := &cfg.DialPeers[i]
		s.peers[dp.Tag] = dp
	}
	s.xlate, _ = dialplan.NewTranslator(cfg) // bad rules are reported by config validation
	s.appRules = dialplan.RulesFrom(cfg.ApplicationDialRules)
	s.lookupRules = dialplan.RulesFrom(cfg.DirectoryLookupRules)
}

// lookupCaller is the caller ID a trunk call shows: the directory lookup
// rules' result when it is a local number, so that call lists, and the
// call-list BLF of their entries, name the internal DN
// (docs/cme-behaviour.md §Dialing-rules); else the number as received.
func (s *Switch) lookupCaller(number string) string {
	if len(s.lookupRules) == 0 || number == "" {
		return number
	}
	if key := dialplan.DirectoryLookup(s.lookupRules, number); key != number && len(s.candidates(key)) > 0 {
		return key
	}
	return number
}

// usablePeer is a dial-peer the core can send a call to.
func (s *Switch) usablePeer(tag int) *config.DialPeer {
	dp := s.peers[tag]
	if dp == nil || dp.Kind != "voip" || dp.SessionTarget == "" {
		return nil
	}
	return dp
}

func (s *Switch) translate(profile string, f dialplan.Field, number string) string {
	if profile == "" || s.xlate == nil {
		return number
	}
	return s.xlate.Translate(profile, f, number)
}

// ---- outbound ----

// placeTrunk sends the call of leg a to the dial-peers matching number,
// best first: a phone that dialled it, a party blind-transferred to it, or
// a caller forwarded to it. It reports false when there is no trunk or no
// usable peer; a trunk caller is not sent back out (no hairpin).
func (s *Switch) placeTrunk(a *leg, number string) bool {
	if s.trunk == nil || a.trunk != nil || a.call.b != nil {
		return false
	}
	var hunt []int
	for _, t := range s.plan.DialPeers(number) {
		if s.usablePeer(t.Tag) != nil && !slices.Contains(hunt, t.Tag) {
			hunt = append(hunt, t.Tag)
		}
	}
	if len(hunt) == 0 {
		return false
	}
	c := a.call
	c.called = Party{Number: number}
	b := &leg{call: c, dn: DNKey{}, start: s.now(), open: true,
		trunk: &trunkSide{number: number, hunt: hunt, party: Party{Number: number}}}
	c.b = b
	_ = s.setState(b, InOffered)
	switch a.state {
	case LineDialing:
		_ = s.setState(a, InDigitsComplete)
	case LineConnected:
		_ = s.setState(a, InRedirected) // blind transfer
	}
	s.emit(a.dev, effect{kind: effCallInfo, line: a.line, info: s.info(a, a.line)})
	s.emit(a.dev, effect{kind: effCallState, line: a.line, id: a.cid, st: LineRingback})
	s.markLeg(a)
	s.nextPeer(b)
	return true
}

// nextPeer makes b an attempt on the first dial-peer left in its hunt
// list, under a new trunk call id. syncTrunk dials it once the caller's
// receive address is known.
func (s *Switch) nextPeer(b *leg) {
	ts := b.trunk
	ts.peer, ts.hunt = ts.hunt[0], ts.hunt[1:]
	ts.started, ts.waited, ts.gone, ts.alerted, ts.local = false, false, false, false, zeroAddr
	b.rx = zeroAddr
	b.stopTimer()
	b.cid = s.NewCallID()
	s.trunks[b.cid] = b
	s.markLeg(b)
}

// trunkCall is the Dial request of outbound trunk leg b.
func (s *Switch) trunkCall(b *leg, offer netip.AddrPort) TrunkCall {
	ts, c := b.trunk, b.call
	dp := s.usablePeer(ts.peer)
	called, calling := ts.number, c.calling
	if a := c.a; a != nil {
		if dc := s.dnConf[a.dn]; dc != nil {
			called = s.translate(dc.xout, dialplan.Called, called)
			calling.Number = s.translate(dc.xout, dialplan.Calling, calling.Number)
		}
	}
	tc := TrunkCall{ID: b.cid, Call: c.id, Peer: ts.peer, Called: called, Calling: calling, Media: s.params,
		Offer: offer}
	if dp != nil {
		tc.Target = dp.SessionTarget
		tc.Called = s.translate(dp.TranslationProfileOut, dialplan.Called, tc.Called)
		tc.Calling.Number = s.translate(dp.TranslationProfileOut, dialplan.Calling, tc.Calling.Number)
	}
	return tc
}

// outbound is the live outbound trunk leg with id, if any.
func (s *Switch) outbound(id CallID) *leg {
	b := s.trunks[id]
	if b == nil || b.trunk.inbound || s.calls[b.call.id] != b.call {
		return nil
	}
	return b
}

func (s *Switch) trunkProgress(id CallID, ringing bool, early netip.AddrPort) error {
	b := s.outbound(id)
	if b == nil {
		return ErrNoCall
	}
	if b.state != LineRinging {
		return nil // a late 18x after the answer
	}
	a := b.call.a
	if early.IsValid() && early != b.rx {
		// Early media: the phone hears the far end instead of its own tone.
		b.rx = early
		s.markLeg(b)
		if b.trunk.alerted && a != nil {
			s.emit(a.dev, effect{kind: effTone, line: a.line, id: a.cid, tone: ToneNone})
		}
		b.trunk.alerted = true
		return nil
	}
	if ringing && !b.trunk.alerted && a != nil && a.state == LineRingback {
		b.trunk.alerted = true
		if !b.rx.IsValid() {
			s.emit(a.dev, effect{kind: effTone, line: a.line, id: a.cid, tone: ToneRingback})
		}
	}
	return nil
}

func (s *Switch) trunkAnswered(id CallID, remote netip.AddrPort) error {
	b := s.outbound(id)
	if b == nil {
		return ErrNoCall
	}
	if b.state != LineRinging {
		return s.trunkMedia(id, remote) // a repeated 200 OK
	}
	if err := s.setState(b, InAnswer); err != nil {
		return err
	}
	b.answered = s.now()
	if remote.IsValid() {
		b.rx = remote
	}
	b.trunk.party = Party{Number: b.trunk.number}
	if a := b.call.a; a != nil && s.setState(a, InPeerAnswer) == nil {
		a.answered = s.now()
		s.emit(a.dev, effect{kind: effTone, line: a.line, id: a.cid, tone: ToneNone})
		s.emit(a.dev, effect{kind: effCallState, line: a.line, id: a.cid, st: LineConnected})
	}
	return nil
}

func (s *Switch) trunkMedia(id CallID, remote netip.AddrPort) error {
	l := s.trunks[id]
	if l == nil || s.calls[l.call.id] != l.call {
		return ErrNoCall
	}
	if remote != l.rx {
		l.rx = remote
		if l.moh != nil { // restart music on hold toward the new address
			l.moh.Stop()
			l.moh = nil
		}
		s.markLeg(l)
	}
	return nil
}

// huntOn says whether a failed attempt moves on to the next dial-peer:
// IOS hunts on every failure except an unassigned number.
// huntOn: a failure the next dial-peer may fix. A declined call is final
// (RFC 3261 §21.6.2: the callee does not wish to participate).
func huntOn(c Cause) bool { return c != CauseUnassigned && c != CauseNormal && c != CauseRejected }

func (s *Switch) trunkFailed(id CallID, cause Cause) error {
	l := s.trunks[id]
	if l == nil || s.calls[l.call.id] != l.call {
		return ErrNoCall
	}
	if l.trunk.inbound || l.state != LineRinging {
		return s.trunkHangup(id) // a failure after the answer is a hang-up
	}
	delete(s.trunks, id)
	l.trunk.gone = true
	a := l.call.a
	// Peers removed from the configuration since the call started are
	// skipped.
	l.trunk.hunt = slices.DeleteFunc(l.trunk.hunt, func(tag int) bool { return s.usablePeer(tag) == nil })
	if huntOn(cause) && len(l.trunk.hunt) > 0 && a != nil {
		if l.trunk.alerted {
			s.emit(a.dev, effect{kind: effTone, line: a.line, id: a.cid, tone: ToneNone})
		}
		s.nextPeer(l)
		return nil
	}
	s.dropLeg(l, cause, "")
	if a == nil {
		s.releaseCall(l.call, cause, "")
		return nil
	}
	tone := ToneReorder
	if cause == CauseBusy || cause == CauseDND || cause == CauseRejected {
		tone = ToneBusy
	}
	s.fail(a, InCalleeBusy, tone, cause)
	return nil
}

func (s *Switch) trunkHangup(id CallID) error {
	l := s.trunks[id]
	if l == nil || s.calls[l.call.id] != l.call {
		return ErrNoCall
	}
	l.trunk.gone = true
	s.releaseCall(l.call, CauseNormal, "")
	return nil
}

// ---- inbound ----

// inboundPeer is the dial-peer an inbound call matches when the adapter
// does not say: the first voip peer whose destination-pattern matches the
// calling number (IOS inbound matching without `incoming called-number`).
func (s *Switch) inboundPeer(calling string) int {
	if calling == "" {
		return 0
	}
	for _, t := range s.plan.DialPeers(calling) {
		if dp := s.peers[t.Tag]; dp != nil && dp.Kind == "voip" {
			return t.Tag
		}
	}
	return 0
}

func (s *Switch) trunkIncoming(in InboundCall) (CallID, error) {
	if s.trunk == nil {
		return 0, ErrNoTrunk
	}
	id := in.ID
	switch {
	case id == 0:
		id = s.NewCallID()
	case uint64(id) > s.lastCall.Load() || s.calls[id] != nil || s.trunks[id] != nil:
		return 0, ErrBadCallID
	}
	peerTag := in.DialPeer
	if peerTag == 0 {
		peerTag = s.inboundPeer(in.Calling.Number)
	}
	called, calling := strings.TrimSuffix(in.Called, "#"), in.Calling
	if dp := s.peers[peerTag]; dp != nil {
		called = s.translate(dp.TranslationProfileIn, dialplan.Called, called)
		calling.Number = s.translate(dp.TranslationProfileIn, dialplan.Calling, calling.Number)
	}
	c := &call{id: id, started: s.now(), calling: calling, called: Party{Number: called}}
	a := &leg{call: c, cid: id, outbound: true, start: s.now(), open: true, rx: in.Remote,
		trunk: &trunkSide{inbound: true, peer: peerTag, party: calling, number: called}}
	c.a = a
	_ = s.setState(a, InOffHook)
	s.calls[id] = c
	s.trunks[id] = a
	if called != "" && called == s.echo {
		s.answerEcho(c)
		return id, nil
	}
	cause, ok := s.route(c, called)
	if !ok {
		// Nothing was offered: leave no trace, the adapter answers the
		// INVITE with the cause.
		a.trunk.gone = true
		a.stopTimer()
		delete(s.calls, id)
		delete(s.trunks, id)
		delete(s.dirtyCalls, c)
		return 0, &RejectError{Cause: cause}
	}
	return id, nil
}

// displayCalling is the calling party an offer on DN d shows: for a call
// from a trunk, after the DN's `translation-profile incoming` and the
// directory lookup rules.
func (s *Switch) displayCalling(c *call, d *dnConf) Party {
	a := c.a
	if a == nil || a.trunk == nil || !a.trunk.inbound {
		return c.calling
	}
	p := a.trunk.party
	p.Number = s.lookupCaller(s.translate(d.xin, dialplan.Calling, p.Number))
	return p
}

// ---- media ----

// trunkWait arms the TrunkMediaWait timer of trunk leg l: when it fires
// before the phone reported its address, syncTrunk goes ahead without.
func (s *Switch) trunkWait(l *leg) {
	if l.timer != nil || l.trunk.waited {
		return
	}
	id := l.cid
	l.timer = time.AfterFunc(TrunkMediaWait, func() {
		s.post(func() error {
			if s.trunks[id] == l && !l.trunk.started {
				l.timer = nil
				l.trunk.waited = true
				s.markLeg(l)
			}
			return nil
		})
	})
}

// syncTrunk tells the trunk where to send RTP for trunk leg l (the local
// party's receive address), called from syncMedia: the Dial offer, the
// Answered answer, then UpdateMedia for every change.
func (s *Switch) syncTrunk(l *leg) {
	ts, c := l.trunk, l.call
	if ts.gone {
		return
	}
	var local netip.AddrPort
	p := peer(l)
	switch {
	case c.echo:
		local = c.echoAddr
	case p != nil && p.dev != "" && p.open && p.rx.IsValid():
		local = p.rx
	}
	ready := !ts.inbound || l.state == LineConnected
	switch {
	case !ready:
	case !ts.started && !local.IsValid() && !ts.waited:
		s.trunkWait(l)
	case !ts.started:
		l.stopTimer()
		ts.started, ts.local = true, local
		if ts.inbound {
			s.emitTrunk(effect{kind: effTrunkAnswered, id: l.cid, addr: local})
		} else {
			s.emitTrunk(effect{kind: effTrunkDial, tc: s.trunkCall(l, local)})
		}
	case local != ts.local:
		ts.local = local
		s.emitTrunk(effect{kind: effTrunkUpdate, id: l.cid, addr: local})
	}
}

// forwardOut sends call c to an external number (call-forward or blind
// transfer to a number that only dial-peers match).
func (s *Switch) forwardOut(c *call, number string) bool {
	if c.a == nil || len(s.candidates(number)) > 0 {
		return false
	}
	m := s.plan.Expire(number)
	return m.Result == dialplan.Complete && m.Target.Kind == dialplan.TargetDialPeer && s.placeTrunk(c.a, number)
}
