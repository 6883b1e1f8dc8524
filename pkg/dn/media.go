package dn

import "net/netip"

var zeroAddr netip.AddrPort

func (s *Switch) mediaReady(id DeviceID, line int, callID CallID, addr netip.AddrPort) error {
	d, err := s.lookup(id)
	if err != nil {
		return err
	}
	l := s.findLeg(d.id.Name, line, callID)
	if l == nil {
		return ErrNoCall
	}
	if !l.open {
		return nil // an answer to an OpenMedia the call has moved past
	}
	l.rx = addr
	s.markLeg(l)
	return nil
}

// syncMedia derives the media of a call from its state and issues the
// difference to what the phones were told (docs/sccp.md §Media-rules):
//
//   - a bound leg that is connected (not holding) has a receive channel;
//     any other bound leg has none.
//   - a leg with a known receive address sends to its peer's, once both
//     are known; on the echo test it sends to the MediaServer's echo.
//   - a leg whose peer holds the call hears music on hold at its receive
//     address (the holder's own media is closed).
func (s *Switch) syncMedia(c *call) {
	if s.confMedia(c) {
		return
	}
	if s.calls[c.id] != c {
		return
	}
	legs := [2]*leg{c.a, c.b}
	for _, l := range legs {
		if l == nil || l.dev == "" {
			continue
		}
		// A caller to a trunk opens its receive channel at once: the
		// address is the SDP offer, and early media may arrive.
		p := peer(l)
		want := l.state == LineConnected || (l.state == LineRingback && p != nil && p.trunk != nil)
		switch {
		case want && !l.open:
			l.open, l.rx, l.tx = true, zeroAddr, zeroAddr
			s.emit(l.dev, effect{kind: effOpenMedia, line: l.line, id: l.cid})
		case !want && l.open:
			l.open, l.rx, l.tx = false, zeroAddr, zeroAddr
			s.emit(l.dev, effect{kind: effStopMedia, line: l.line, id: l.cid})
		}
	}
	if c.echo && c.echoH == nil && s.media != nil && c.a != nil && c.a.open && c.a.rx.IsValid() {
		addr, h, err := s.media.StartEcho(s.params)
		if err != nil {
			h = nopHandle{}
		}
		c.echoAddr, c.echoH = addr, h
	}
	for _, l := range legs {
		if l == nil || (l.dev == "" && l.trunk == nil) {
			continue
		}
		p := peer(l)
		if l.trunk != nil {
			s.syncTrunk(l)
		} else {
			var dest netip.AddrPort
			if l.open && l.rx.IsValid() {
				switch {
				case c.echo:
					dest = c.echoAddr
				case p != nil && (p.dev != "" || p.trunk != nil) && p.open && p.rx.IsValid():
					dest = p.rx
				}
			}
			peerHolds := p != nil && p.state == LineHold
			switch {
			case dest.IsValid() && dest != l.tx:
				s.emit(l.dev, effect{kind: effStartMedia, line: l.line, id: l.cid, addr: dest})
				l.heldTold = false
			case !dest.IsValid() && l.open && (l.tx.IsValid() || (peerHolds && l.rx.IsValid() && !l.heldTold)):
				// The peer closed its side (it put us on hold): stop
				// sending into its closed port but keep receiving, so
				// music on hold reaches us (CUCM stops the held phone's
				// transmission the same way, docs/sccp.md §Media-rules).
				// Also when the hold came while our media was being
				// re-opened (no StartMedia yet): a SIP phone must still
				// learn of it (its sendonly re-INVITE).
				s.emit(l.dev, effect{kind: effStopTransmit, line: l.line, id: l.cid})
				l.heldTold = peerHolds
			}
			l.tx = dest
		}

		moh := s.media != nil && l.open && l.rx.IsValid() && p != nil && p.state == LineHold
		switch {
		case moh && l.moh == nil:
			h, err := s.media.StartMOH(l.rx, s.params)
			if err != nil || h == nil {
				h = nopHandle{}
			}
			l.moh = h
		case !moh && l.moh != nil:
			l.moh.Stop()
			l.moh = nil
		}
	}
}
