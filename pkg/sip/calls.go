package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
)

// The B2BUA side for registered SIP phones. Every call leg of a phone is a
// SIP dialog between cmed and the phone; the other leg is whatever the line
// core connects it to (another SIP phone, an SCCP phone, music on hold).
// Media flows between the endpoints: the SDP cmed gives a phone carries the
// other endpoint's RTP address from dn's StartMedia (docs/sccp.md §Media-rules,
// dn.Device "Media").
//
// dn.Device methods run on the Switch goroutine and must not block, so they
// only post events to the leg; one goroutine per leg does the SIP work and
// calls back into the Switch.

// legEvent is one effect of the core on a leg.
type legEvent struct {
	kind   legEventKind
	remote netip.AddrPort // evStart: where the phone sends
	cause  dn.Cause       // evFailed, evReleased
}

// legEventKind is what happened to a leg: a core effect handed over by
// phoneDevice (registrar.go), or an event the leg's own goroutine posts.
type legEventKind uint8

const (
	evDialing      legEventKind = iota + 1 // the core collects digits (not posted to a leg)
	evRingback                             // far end alerting
	evConnected                            // the call is answered
	evOpen                                 // the core wants the phone's receive address (MediaReady)
	evStart                                // the phone sends to remote (peer address, or resume)
	evStopTx                               // the peer held: the phone stops sending (dn.TransmitStopper)
	evStopRing                             // an inbound call stops alerting the phone
	evReleased                             // the core released the call, with cause
	evFailed                               // the call failed, with cause; the phone gets a final response
	evBye                                  // the phone sent BYE
	evTimeout                              // leg.next waited its timeout out
	evAnswerAnyway                         // answer the phone without the peer's address (dn.TrunkMediaWait)
)

var legEventNames = [...]string{"", "dialing", "ringback", "connected", "open", "start", "stoptx",
	"stopring", "released", "failed", "bye", "timeout", "answer-anyway"}

func (k legEventKind) String() string {
	if int(k) < len(legEventNames) && k != 0 {
		return legEventNames[k]
	}
	return "legEventKind(" + strconv.Itoa(int(k)) + ")"
}

type leg struct {
	dev  *phoneDevice
	line int
	id   dn.CallID

	mu     sync.Mutex // guards events and the dialog fields below; a leaf, taken after phoneDevice.mu
	events []legEvent
	wake   chan struct{}

	// phone side
	uas      *sipgo.DialogServerSession // the phone called (we answer its INVITE)
	uac      *sipgo.DialogClientSession // we called the phone
	phoneRTP netip.AddrPort             // from the phone's SDP
	peerRTP  netip.AddrPort             // where the phone should send (StartMedia)
	version  uint64                     // SDP o= version
	answered bool
	callID   string // SIP Call-ID of the phone dialog
	byePeer  bool   // the phone sent BYE: the dialog is over (under mu)

	// Call features (under mu): peerHeld - the other party holds the
	// call and the phone was re-INVITEd sendonly; referred - a REFER of
	// the phone's is moving this call away (refer.go), so the core's
	// release waits for the phone's own BYE (RFC 5589 §6); gone - the core
	// has released this call, so the phone's BYE must not hang up
	// another call on the line.
	peerHeld bool
	referred bool
	gone     bool
}

// flags reads the feature flags.
func (l *leg) flags() (peerHeld, referred, gone bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peerHeld, l.referred, l.gone
}

func (l *leg) setPeerHeld(on bool) {
	l.mu.Lock()
	l.peerHeld = on
	l.mu.Unlock()
}

func (l *leg) setReferred(on bool) {
	l.mu.Lock()
	l.referred = on
	l.mu.Unlock()
}

// peerEnded marks the phone dialog as terminated by the phone's BYE (RFC
// 3261 §15.1.2); it reports whether it already was.
func (l *leg) peerEnded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	was := l.byePeer
	l.byePeer = true
	return was
}

// ended says whether the phone has ended the dialog: no request may be
// sent on it any more (RFC 3261 §15: the dialog is gone; the phone would
// answer 481).
func (l *leg) ended() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byePeer
}

func newLeg(d *phoneDevice, line int) *leg {
	return &leg{dev: d, line: line, wake: make(chan struct{}, 1)}
}

func (l *leg) post(e legEvent) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// The media fields are shared by the leg's goroutine and request handlers
// (re-INVITE, BYE): accessed under l.mu.
func (l *leg) phone() netip.AddrPort {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.phoneRTP
}

func (l *leg) setPhone(a netip.AddrPort) {
	l.mu.Lock()
	l.phoneRTP = a
	l.mu.Unlock()
}

func (l *leg) peer() netip.AddrPort {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peerRTP
}

func (l *leg) setPeer(a netip.AddrPort) {
	l.mu.Lock()
	l.peerRTP = a
	l.mu.Unlock()
}

// sdp builds the next SDP version for the phone.
func (l *leg) sdp(direction string) []byte {
	l.mu.Lock()
	l.version++
	v, peer := l.version, l.peerRTP
	l.mu.Unlock()
	return buildSDP(peer, direction, v)
}

// next waits for the next event, ctx end or timeout (0: none).
func (l *leg) next(ctx context.Context, timeout time.Duration) (legEvent, bool) {
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	for {
		l.mu.Lock()
		if len(l.events) > 0 {
			e := l.events[0]
			l.events = l.events[1:]
			l.mu.Unlock()
			return e, true
		}
		l.mu.Unlock()
		select {
		case <-l.wake:
		case <-ctx.Done():
			return legEvent{}, false
		case <-tc:
			return legEvent{kind: evTimeout}, true
		}
	}
}

// dispatch posts a core effect to the leg of call id.
func (d *phoneDevice) dispatch(line int, id dn.CallID, e legEvent) {
	d.mu.Lock()
	l := d.legs[id]
	d.mu.Unlock()
	if l != nil && e.kind != evDialing {
		if e.kind == evReleased {
			l.mu.Lock()
			l.gone = true
			l.mu.Unlock()
		}
		l.post(e)
	}
}

// causeStatus maps why a call ended before an answer to the SIP final
// response (dn.Trunk doc: suggested mapping; statusCause is its inverse).
func causeStatus(c dn.Cause) (int, string) {
	switch c {
	case dn.CauseBusy, dn.CauseDND:
		return 486, "Busy Here"
	case dn.CauseUnassigned:
		return 404, "Not Found"
	case dn.CauseLoop:
		return 482, "Loop Detected"
	case dn.CauseRejected:
		return 603, "Decline"
	case dn.CauseNoResponse:
		return 408, "Request Timeout"
	}
	return 480, "Temporarily Unavailable"
}

// lineFor is the pool line (`number N dn T`) whose DN has number.
func lineFor(cfg *config.Config, pool int, number string) int {
	for _, p := range cfg.VoiceRegisterPools {
		if p.Tag != pool {
			continue
		}
		for _, n := range p.Numbers {
			if d := cfg.VoiceRegisterDNByTag(n.DN); d != nil && d.Number == number {
				return n.Tag
			}
		}
		if len(p.Numbers) > 0 {
			return p.Numbers[0].Tag
		}
	}
	return 0
}

// onInvite: a call from a registered phone (initial INVITE), or a
// re-INVITE in one of its dialogs (hold/resume, RFC 3264 §8.4).
func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if req.To() != nil && tagOf(req.To().Params) != "" {
		if !s.trunkReinvite(req, tx) {
			s.onReinvite(req, tx)
		}
		return
	}
	pool, ok := s.inviteOrigin(req, tx)
	if !ok {
		return // answered: a trunk call, a challenge or 403
	}
	ph := s.reg.phone(pool)
	if ph == nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
		return
	}
	if !s.checkSessionTimer(req, tx) {
		return
	}
	line := lineFor(s.cfg(), pool, req.From().Address.User)
	if s.featureCode(ph, line, req.Recipient.User, req, tx) {
		return
	}
	media, err := ParseMedia(req.Body())
	if err != nil && len(req.Body()) > 0 {
		s.respond(tx, sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	ds, err := s.dsc.ReadInvite(req, tx)
	if err != nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	l := newLeg(ph.sink, line)
	l.uas, l.phoneRTP = ds, media.Addr
	s.reg.indexLeg(l, req.CallID().Value())
	d := ph.sink
	_ = ds.Respond(100, "Trying", nil)

	fail := func(code int, reason string) {
		d.forget(l)
		_ = ds.Respond(code, reason, nil)
	}
	// OffHook returns the call it opened, so the leg is filed under it
	// here; the core's callbacks for it until now (dialing, dial tone)
	// carry nothing the leg needs.
	ref, err := s.sw().OffHook(ph.id, line)
	if err != nil {
		fail(486, "Busy Here")
		return
	}
	if ref.State != dn.LineDialing {
		fail(500, "Server Internal Error") // the line was ringing: OffHook answered that call
		return
	}
	d.mu.Lock()
	l.id = ref.ID
	d.legs[ref.ID] = l
	d.mu.Unlock()
	// A result for another call means ours left dialing before the digits
	// came (its interdigit timer fired in between).
	if dref, err := s.sw().Digits(ph.id, line, req.Recipient.User); err != nil || dref.ID != ref.ID {
		_, _ = s.sw().OnHook(ph.id, line)
		fail(404, "Not Found")
		return
	}
	s.runOutgoing(ph, l)
}

// inviteOrigin decides who placed an initial INVITE. A registered phone
// (its source or Contact matches a binding) places a call on its line;
// under `authenticate register` it must answer a digest challenge with its
// pool's username/password, like its REGISTER (RFC 3261 §22.2). A trusted
// peer (trust.go) places a trunk call, handled here. Anything else is toll
// fraud or a scan: with `authenticate register` it is challenged like a
// phone - every number alike, so the answer reveals nothing - and may
// place the call as the pool whose username it proves, e.g. a phone whose
// NAT binding changed; without it gets 403. ok is false when the request
// has been answered.
func (s *Server) inviteOrigin(req *sip.Request, tx sip.ServerTransaction) (pool int, ok bool) {
	cfg := s.cfg()
	if b, ok := s.reg.localWatcher(req); ok {
		if authenticateRegister(cfg) {
			p := poolByTag(cfg, b.Pool)
			if p == nil {
				s.respond(tx, sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
				return 0, false
			}
			if _, ok := s.authenticate(req, tx, poolLookup(p)); !ok {
				return 0, false
			}
		}
		return b.Pool, true
	}
	if s.trustedSource(req) {
		s.onTrunkInvite(req, tx) // from a peer: dial-peer call
		return 0, false
	}
	if !authenticateRegister(cfg) {
		s.forbid(req, tx)
		return 0, false
	}
	user, ok := s.authenticateStateless(req, tx, anyPoolLookup(cfg))
	if !ok {
		return 0, false
	}
	proved := poolByUsername(cfg, user)
	if proved == nil || s.reg.phone(proved.Tag) == nil {
		s.forbid(req, tx)
		return 0, false
	}
	return proved.Tag, true
}

func (s *Server) sw() Switch { return s.opts.Switch }

// runOutgoing drives a call the phone placed until the final response to
// its INVITE, then keeps the leg for BYE/re-INVITE.
func (s *Server) runOutgoing(ph *phone, l *leg) {
	ds := l.uas
	ctx := ds.Context()
	connected := false
	for !l.answered {
		e, ok := l.next(ctx, 0)
		if !ok { // CANCEL (sipgo answered 200 + 487) or transaction end
			_, _ = s.sw().OnHook(ph.id, l.line)
			l.dev.forget(l)
			return
		}
		switch e.kind {
		case evRingback:
			_ = ds.Respond(180, "Ringing", nil)
		case evOpen:
			go s.sw().MediaReady(ph.id, l.line, l.id, l.phone())
		case evStart:
			l.setPeer(e.remote)
			if connected {
				s.answerPhone(l)
			}
		case evConnected:
			connected = true
			if l.peer().IsValid() {
				s.answerPhone(l)
			} else {
				// Wait briefly for StartMedia (dn.TrunkMediaWait), then
				// answer without media; a re-INVITE follows.
				go func() {
					time.Sleep(2 * time.Second)
					l.post(legEvent{kind: evAnswerAnyway})
				}()
			}
		case evAnswerAnyway:
			if connected && !l.answered {
				s.answerPhone(l)
			}
		case evReleased:
			l.dev.forget(l)
			code, reason := causeStatus(e.cause)
			_ = ds.Respond(code, reason, nil) // waits for the ACK
			return
		case evFailed:
			// The core leaves a failed call off-hook with a tone until the
			// phone hangs up; a SIP phone gets the final response instead.
			if _, err := s.sw().OnHook(ph.id, l.line); err != nil {
				s.log.Debug("sip: on-hook after a failed call", "pool", ph.pool, "line", l.line, "err", err)
			}
			l.dev.forget(l)
			code, reason := causeStatus(e.cause)
			_ = ds.Respond(code, reason, nil) // waits for the ACK
			return
		}
	}
	go s.runEstablished(ph, l)
}

func (s *Server) answerPhone(l *leg) {
	body := l.sdp("sendrecv")
	hdrs := []sip.Header{sip.NewHeader("Content-Type", "application/sdp")}
	hdrs = append(hdrs, sessionTimerHeaders(l.uas.InviteRequest)...)
	if err := l.uas.Respond(200, "OK", body, hdrs...); err != nil {
		s.log.Debug("sip: 200 to phone failed", "err", err)
	}
	l.answered = true
}

// runEstablished follows an answered leg: the core's release sends BYE; a
// new peer address (transfer, resume) re-INVITEs the phone.
func (s *Server) runEstablished(ph *phone, l *leg) {
	ctx := s.context()
	for {
		e, ok := l.next(ctx, 0)
		if !ok {
			return
		}
		switch e.kind {
		case evOpen:
			go s.sw().MediaReady(ph.id, l.line, l.id, l.phone())
		case evStart:
			// A new peer (transfer) or the peer's resume: the phone
			// sends again, to the peer's (possibly new) address.
			if held, _, _ := l.flags(); e.remote != l.peer() || held {
				l.setPeer(e.remote)
				l.setPeerHeld(false)
				s.reinvitePhone(l, "sendrecv")
			}
		case evStopTx:
			// The peer put the call on hold (dn.TransmitStopper): the
			// phone stops sending but keeps receiving music on hold,
			// which cmed's offer says with sendonly (RFC 3264 §8.4).
			if held, _, _ := l.flags(); !held {
				l.setPeerHeld(true)
				s.reinvitePhone(l, "sendonly")
			}
		case evReleased:
			if _, referred, _ := l.flags(); referred && !l.ended() {
				// Transferred by the phone's REFER: the phone ends the
				// dialog itself after the final NOTIFY (RFC 5589 §6);
				// cmed sends BYE only if it does not.
				s.awaitBye(ctx, l)
			}
			fallthrough
		case evBye:
			if e.kind == evReleased && !l.ended() {
				bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				if l.uas != nil {
					_ = l.uas.Bye(bctx)
				} else if l.uac != nil {
					_ = l.uac.Bye(bctx)
				}
				cancel()
			}
			l.dev.forget(l)
			return
		}
	}
}

// reinvitePhone sends a target-refresh INVITE with a new offer pointing the
// phone at its new peer (RFC 3261 §14.1).
func (s *Server) reinvitePhone(l *leg, direction string) {
	if l.ended() {
		return
	}
	var target sip.Uri
	var dlgDo func(context.Context, *sip.Request) (*sip.Response, error)
	if l.uas != nil {
		target = l.uas.InviteRequest.Contact().Address
		dlgDo = l.uas.Do
	} else if l.uac != nil && l.uac.InviteResponse != nil && l.uac.InviteResponse.Contact() != nil {
		target = l.uac.InviteResponse.Contact().Address
		dlgDo = l.uac.Do
	} else {
		return
	}
	req := sip.NewRequest(sip.INVITE, target)
	req.SetBody(l.sdp(direction))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ctx, cancel := context.WithTimeout(s.context(), 10*time.Second)
	defer cancel()
	res, err := dlgDo(ctx, req)
	if err != nil || !res.IsSuccess() {
		s.log.Debug("sip: re-INVITE to phone failed", "err", err)
		return
	}
	if m, err := ParseMedia(res.Body()); err == nil {
		l.setPhone(m.Addr)
	}
	ack := sip.NewRequest(sip.ACK, target)
	ack.AppendHeader(sip.HeaderClone(req.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(req.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
	ack.SetTransport(req.Transport())
	s.prepare(ack)
	_ = s.client.WriteRequest(ack)
}

// onReinvite handles a re-INVITE from a phone: hold (sendonly/inactive,
// or RFC 2543 c=0.0.0.0) and resume (sendrecv), RFC 3264 §8.4, mapped to
// dn Hold/Resume; the core plays music on hold to the held party and
// shows the hold on its phone (docs/sccp.md §Media-rules). Any other
// re-INVITE (a new address, a session refresh, RFC 4028 §7) reports the
// phone's address to the core. Without an offer cmed offers in the 200
// and takes the answer from the ACK (RFC 3261 §14.2).
func (s *Server) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	l, ph := s.reg.legByCallID(req.CallID().Value())
	if l == nil || ph == nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if !s.checkSessionTimer(req, tx) {
		return
	}
	dir := "sendrecv"
	if len(req.Body()) > 0 {
		m, err := ParseMedia(req.Body())
		if err != nil {
			s.respond(tx, sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
			return
		}
		dir = answerDirection(m.Direction)
		if m.OnHold() {
			if _, err := s.sw().Hold(ph.id, l.line, l.id); err != nil {
				s.log.Debug("sip: hold", "pool", ph.pool, "err", err) // already held: a refresh
			}
		} else {
			l.setPhone(m.Addr)
			if _, err := s.sw().Resume(ph.id, l.line, l.id); err != nil {
				// Not held: a new address or a refresh.
				_ = s.sw().MediaReady(ph.id, l.line, l.id, m.Addr)
			}
		}
	}
	if held, _, _ := l.flags(); held && dir == "sendrecv" {
		dir = "sendonly" // the peer still holds: only music on hold flows
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", l.sdp(dir))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(&sip.ContactHeader{Address: s.contactURI("", req.Transport())})
	sessionTimerAnswer(req, res)
	s.respond(tx, res)
}

// answerDirection is the direction of cmed's answer to an offer (RFC 3264
// §6.1): the reverse of a one-way offer, inactive for inactive.
func answerDirection(offer string) string {
	switch offer {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// onBye ends a phone's call (RFC 3261 §15.1.2).
func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if s.trunkBye(req, tx) {
		return
	}
	l, ph := s.reg.legByCallID(req.CallID().Value())
	if l == nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	s.respond(tx, sip.NewResponseFromRequest(req, 200, "OK", nil))
	if l.peerEnded() {
		return // a retransmitted BYE
	}
	// Before OnHook: the core's Released for this leg must not become a
	// BYE of our own on the dialog the phone just ended. A call the core
	// already released (transferred away by the phone's REFER) is not
	// hung up again: OnHook would take another call on the line.
	if _, _, gone := l.flags(); !gone {
		_, _ = s.sw().OnHook(ph.id, l.line)
	}
	l.post(legEvent{kind: evBye})
}

// ring calls the phone for an offered call (dn Ring): INVITE without an
// offer (RFC 3264 §5, the phone offers in its 200 and cmed answers in the
// ACK once the core has connected the media).
func (s *Server) ring(ph *phone, l *leg, info dn.CallInfo) {
	// refuse tells the core this appearance will not take the call, so the
	// caller learns at once instead of at `timeouts ringing`.
	refuse := func(cause dn.Cause, everywhere bool) {
		l.dev.forget(l)
		if err := s.sw().Reject(ph.id, l.line, l.id, cause, everywhere); err != nil {
			s.log.Debug("sip: reject", "pool", ph.pool, "line", l.line, "err", err)
		}
	}
	b := s.reg.bindingForLine(ph.pool, l.line)
	if b == nil {
		refuse(dn.CauseUnavailable, false)
		return
	}
	var target sip.Uri
	if err := sip.ParseUri(b.Contact, &target); err != nil {
		refuse(dn.CauseUnavailable, false)
		return
	}
	ctx, cancel := context.WithCancel(s.context())
	defer cancel()
	req := sip.NewRequest(sip.INVITE, target)
	req.SetTransport(b.Transport)
	from := &sip.FromHeader{DisplayName: info.Calling.Name, Address: sip.Uri{Scheme: "sip", User: info.Calling.Number, Host: s.host()},
		Params: sip.HeaderParams{}}
	from.Params.Add("tag", sip.GenerateTagN(12))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: b.Number, Host: s.host()}})
	req.AppendHeader(&sip.ContactHeader{Address: s.contactURI(info.Calling.Number, b.Transport)})
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY"))
	s.prepare(req)
	dc, err := s.dcc.WriteInvite(ctx, req)
	if err != nil {
		s.log.Debug("sip: INVITE to phone failed", "err", err)
		refuse(dn.CauseUnavailable, false)
		return
	}
	l.uac = dc
	s.reg.indexLeg(l, dc.InviteRequest.CallID().Value())
	answered := make(chan error, 1)
	go func() { answered <- s.waitAnswer(ctx, dc, sipgo.AnswerOptions{}) }()
	for {
		select {
		case err := <-answered:
			if err != nil {
				// Refused (the transaction layer ACKs a non-2xx final
				// response, RFC 3261 §17.1.1.3) or no answer at all (Timer
				// B, which a forking proxy counts as 408, RFC 3261
				// §16.7): the core decides what the caller hears.
				s.log.Debug("sip: phone did not answer", "err", err)
				if s.context().Err() != nil {
					l.dev.forget(l)
					return
				}
				var de *sipgo.ErrDialogResponse
				if errors.As(err, &de) {
					code := de.Res.StatusCode
					refuse(statusCause(code), code >= 600)
				} else {
					refuse(dn.CauseNoResponse, false)
				}
				return
			}
			s.answeredByPhone(ph, l)
			return
		case <-l.wake:
			l.mu.Lock()
			evs := l.events
			l.events = nil
			l.mu.Unlock()
			for _, e := range evs {
				if e.kind == evStopRing || e.kind == evReleased {
					cancel() // WaitAnswer sends CANCEL
					<-answered
					l.dev.forget(l)
					return
				}
			}
		}
	}
}

// answeredByPhone: the phone's 200 carries its offer; tell the core, wait
// for the peer's address, ACK with the answer.
func (s *Server) answeredByPhone(ph *phone, l *leg) {
	dc := l.uac
	if m, err := ParseMedia(dc.InviteResponse.Body()); err == nil {
		l.setPhone(m.Addr)
	}
	if _, err := s.sw().Answer(ph.id, l.line, l.id); err != nil {
		// Answered elsewhere meanwhile: ACK and hang up.
		s.ackPhone(l)
		ctx, cancel := context.WithTimeout(s.context(), 5*time.Second)
		_ = dc.Bye(ctx)
		cancel()
		l.dev.forget(l)
		return
	}
	ctx := s.context()
	for !l.peer().IsValid() {
		e, ok := l.next(ctx, 2*time.Second)
		if !ok || e.kind == evTimeout {
			break
		}
		switch e.kind {
		case evOpen:
			go s.sw().MediaReady(ph.id, l.line, l.id, l.phone())
		case evStart:
			l.setPeer(e.remote)
		case evReleased:
			s.ackPhone(l)
			l.post(e)
		}
	}
	s.ackPhone(l)
	l.answered = true
	s.runEstablished(ph, l)
}

func (s *Server) ackPhone(l *leg) {
	dc := l.uac
	res := dc.InviteResponse
	target := dc.InviteRequest.Recipient
	if c := res.Contact(); c != nil {
		target = c.Address
	}
	ack := sip.NewRequest(sip.ACK, target)
	ack.AppendHeader(sip.HeaderClone(dc.InviteRequest.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(dc.InviteRequest.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: dc.InviteRequest.CSeq().SeqNo, MethodName: sip.ACK})
	ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ack.SetBody(l.sdp("sendrecv"))
	ack.SetTransport(dc.InviteRequest.Transport())
	if err := dc.WriteAck(s.context(), ack); err != nil {
		s.log.Debug("sip: ACK failed", "err", err)
	}
}

// waitAnswer is dc.WaitAnswer made safe: sipgo v1.7.2 can dereference a
// nil response while it sends the CANCEL for a cancelled INVITE whose
// transaction is ending at that moment (seen once in a CI run: the whole
// daemon died). The panic happens on this goroutine, so it is recovered
// here and reported as a failed INVITE; the caller goes on as for any
// other failure.
func (s *Server) waitAnswer(ctx context.Context, dc *sipgo.DialogClientSession, opts sipgo.AnswerOptions) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("sip: recovered from a panic in sipgo while waiting for an answer", "panic", r)
			err = fmt.Errorf("sip: INVITE ended abnormally: %v", r)
		}
	}()
	return dc.WaitAnswer(ctx, opts)
}
