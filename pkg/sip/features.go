package sip

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
)

// Phone features on top of the calls in calls.go: the peer's hold shown
// to a SIP phone, session timers (RFC 4028) and feature access codes
// (docs/cme-behaviour.md §Feature-access-codes).

var _ dn.TransmitStopper = (*phoneDevice)(nil)

// FeatureSwitch is the part of *dn.Switch phone features use, beyond
// Switch: transfers (refer.go), DND and call forward all (feature access
// codes). A Switch without it answers REFER and codes with an error.
type FeatureSwitch interface {
	SetDND(id dn.DeviceID, on bool) error
	SetCallForwardAll(id dn.DeviceID, line int, number string) error
	BlindTransfer(id dn.DeviceID, callID dn.CallID, number string) error
	CompleteTransfer(id dn.DeviceID, held, consult dn.CallID) error
}

var _ FeatureSwitch = (*dn.Switch)(nil)

func (s *Server) featSw() FeatureSwitch {
	fs, _ := s.opts.Switch.(FeatureSwitch)
	return fs
}

// StopTransmit implements dn.TransmitStopper: the other party put the call
// on hold; the leg re-INVITEs the phone sendonly so that it listens to
// music on hold (calls.go runEstablished).
func (d *phoneDevice) StopTransmit(line int, id dn.CallID) {
	d.dispatch(line, id, legEvent{kind: evStopTx})
}

// referByeWait bounds how long a transferred leg waits for the phone's
// BYE after the final NOTIFY (RFC 5589 §6) before cmed ends the dialog.
const referByeWait = 8 * time.Second

// awaitBye waits for the phone's BYE on a leg the core has released.
func (s *Server) awaitBye(ctx context.Context, l *leg) {
	deadline := time.Now().Add(referByeWait)
	for !l.ended() {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		e, ok := l.next(ctx, left)
		if !ok || e.kind == evTimeout || e.kind == evBye {
			return
		}
	}
}

// ---- session timers (RFC 4028) ----

// minSE is the smallest session interval cmed accepts (RFC 4028 §4: Min-SE
// defaults to and may not be below 90 seconds).
const minSE = 90

// sessionExpires reads Session-Expires (or its compact form x): the
// interval and the refresher parameter.
func sessionExpires(req *sip.Request) (secs int, refresher string, ok bool) {
	h := req.GetHeader("Session-Expires")
	if h == nil {
		h = req.GetHeader("x")
	}
	if h == nil {
		return 0, "", false
	}
	parts := strings.Split(h.Value(), ";")
	n, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || n <= 0 {
		return 0, "", false
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return n, refresher, true
}

// supportsTimer says whether the request lists the timer option tag in
// Supported (or its compact form k).
func supportsTimer(req *sip.Request) bool {
	for _, name := range []string{"Supported", "k"} {
		for _, h := range req.GetHeaders(name) {
			for _, tag := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(tag), "timer") {
					return true
				}
			}
		}
	}
	return false
}

// checkSessionTimer answers 422 with Min-SE to a session interval below
// minSE (RFC 4028 §8.1); false when it has answered.
func (s *Server) checkSessionTimer(req *sip.Request, tx sip.ServerTransaction) bool {
	if n, _, ok := sessionExpires(req); ok && n < minSE {
		res := sip.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
		res.AppendHeader(sip.NewHeader("Min-SE", strconv.Itoa(minSE)))
		s.respond(tx, res)
		return false
	}
	return true
}

// sessionTimerHeaders are the session-timer headers of cmed's 2xx to a
// request: when the phone asked for a timer and supports the extension,
// cmed accepts its interval and leaves the refreshes to the phone unless
// it asked otherwise (RFC 4028 §9); cmed answers each refresh (re-INVITE
// or UPDATE) like any other. Without Supported: timer cmed does not use
// the timer at all (§9 allows the UAS to ignore it).
func sessionTimerHeaders(req *sip.Request) []sip.Header {
	n, refresher, ok := sessionExpires(req)
	if !ok || !supportsTimer(req) {
		return nil
	}
	if refresher != "uas" {
		refresher = "uac"
	}
	return []sip.Header{
		sip.NewHeader("Session-Expires", strconv.Itoa(n)+";refresher="+refresher),
		sip.NewHeader("Require", "timer"),
	}
}

func sessionTimerAnswer(req *sip.Request, res *sip.Response) {
	for _, h := range sessionTimerHeaders(req) {
		res.AppendHeader(h)
	}
}

// onUpdate answers UPDATE in a call dialog (RFC 3311): a session refresh
// without a body (RFC 4028 §7.4), or a new offer handled like a
// re-INVITE's.
func (s *Server) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if c := s.trunks.byCallID(req.CallID().Value()); c != nil && len(req.Body()) == 0 {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		sessionTimerAnswer(req, res)
		s.respond(tx, res)
		return
	}
	l, _ := s.reg.legByCallID(req.CallID().Value())
	if l == nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if len(req.Body()) > 0 {
		s.onReinvite(req, tx)
		return
	}
	if !s.checkSessionTimer(req, tx) {
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(&sip.ContactHeader{Address: s.contactURI("", req.Transport())})
	sessionTimerAnswer(req, res)
	s.respond(tx, res)
}

// ---- feature access codes ----

// featureCode handles a number a SIP phone dialled that is a feature
// access code (`fac standard`, `fac custom`, docs/cme-behaviour.md
// §Feature-access-codes): the feature is applied in the core and the call
// answered and ended at once (the phone shows a short connected call, as
// CME's confirmation tone would); a code missing its number gets 484
// (RFC 3261 §21.4.22). It reports whether number was a code.
func (s *Server) featureCode(ph *phone, line int, number string, req *sip.Request, tx sip.ServerTransaction) bool {
	cfg := s.cfg()
	if cfg.Telephony == nil {
		return false
	}
	f, arg, ok := cfg.Telephony.FACs().Match(number)
	if !ok {
		return false
	}
	fs := s.featSw()
	if fs == nil {
		return false
	}
	var err error
	switch f {
	case config.FACCallForward:
		if arg == "" {
			s.respond(tx, sip.NewResponseFromRequest(req, 484, "Address Incomplete", nil))
			return true
		}
		err = fs.SetCallForwardAll(ph.id, line, arg)
	case config.FACCallForwardCancel:
		err = fs.SetCallForwardAll(ph.id, line, "")
	case config.FACDND:
		ph.sink.mu.Lock()
		on := !ph.sink.dnd
		ph.sink.mu.Unlock()
		err = fs.SetDND(ph.id, on)
	default:
		return false // a code cmed knows but does not implement: dialled as a number
	}
	if err != nil {
		s.log.Debug("sip: feature access code", "pool", ph.pool, "feature", f, "err", err)
		s.respond(tx, sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
		return true
	}
	ds, err := s.dsc.ReadInvite(req, tx)
	if err != nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return true
	}
	body := buildSDP(netip.AddrPort{}, "inactive", 1)
	if err := ds.Respond(200, "OK", body, sip.NewHeader("Content-Type", "application/sdp")); err != nil {
		s.log.Debug("sip: feature access code 200", "err", err)
		return true
	}
	// Bye waits for the ACK (RFC 3261 §15: not before the 2xx is ACKed).
	ctx, cancel := context.WithTimeout(s.context(), 10*time.Second)
	defer cancel()
	_ = ds.Bye(ctx)
	return true
}
