package sip

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/dn"
)

// Transfer by REFER (RFC 3515) from a registered phone, in one of its call
// dialogs. Refer-To names the target: a number (blind transfer, the
// core's BlindTransfer), or with a Replaces header parameter another of
// the phone's dialogs with cmed (attended transfer, RFC 3891 §3; the
// core's CompleteTransfer joins the far ends of both calls). cmed answers
// 202 and reports the outcome in NOTIFYs of the implicit subscription,
// message/sipfrag bodies (RFC 3515 §2.4.5): 100 Trying, then 200 OK or the
// failure. The phone then ends its dialogs with BYE (RFC 5589 §6).

// dialogDo is the target and the in-dialog request sender of the phone's
// dialog of l; ok is false before the dialog exists.
func (l *leg) dialogDo() (target sip.Uri, do func(context.Context, *sip.Request) (*sip.Response, error), ok bool) {
	switch {
	case l.uas != nil && l.uas.InviteRequest.Contact() != nil:
		return l.uas.InviteRequest.Contact().Address, l.uas.Do, true
	case l.uac != nil && l.uac.InviteResponse != nil && l.uac.InviteResponse.Contact() != nil:
		return l.uac.InviteResponse.Contact().Address, l.uac.Do, true
	}
	return sip.Uri{}, nil, false
}

// referTarget parses Refer-To (or its compact form r): the number and,
// for an attended transfer, the Call-ID of the dialog to replace.
func referTarget(req *sip.Request) (number, replaces string, err error) {
	h := req.GetHeader("Refer-To")
	if h == nil {
		h = req.GetHeader("r")
	}
	if h == nil {
		return "", "", errors.New("no Refer-To")
	}
	v := strings.TrimSpace(h.Value())
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return "", "", errors.New("bad Refer-To")
		}
		v = v[i+1 : i+j]
	}
	var u sip.Uri
	if err := sip.ParseUri(v, &u); err != nil {
		return "", "", err
	}
	if u.Headers != nil {
		if r, ok := u.Headers.Get("Replaces"); ok {
			r, err := url.QueryUnescape(r)
			if err != nil {
				return "", "", err
			}
			// Replaces: call-id;to-tag=..;from-tag=.. (RFC 3891 §6.1).
			replaces, _, _ = strings.Cut(r, ";")
		}
	}
	return u.User, strings.TrimSpace(replaces), nil
}

// onRefer handles REFER from a phone.
func (s *Server) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	l, ph := s.reg.legByCallID(req.CallID().Value())
	if l == nil || ph == nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	fs := s.featSw()
	if fs == nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 501, "Not Implemented", nil))
		return
	}
	number, replaces, err := referTarget(req)
	if err != nil || (number == "" && replaces == "") {
		s.respond(tx, sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	var other *leg
	if replaces != "" {
		o, oph := s.reg.legByCallID(replaces)
		if o == nil || oph != ph || o == l {
			// Not another call of this phone with cmed (RFC 3891 §3).
			s.respond(tx, sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
			return
		}
		other = o
	}
	// Refer-Sub: false asks for no subscription (RFC 4488 §4).
	notify := true
	if h := req.GetHeader("Refer-Sub"); h != nil && strings.EqualFold(strings.TrimSpace(h.Value()), "false") {
		notify = false
	}
	res := sip.NewResponseFromRequest(req, 202, "Accepted", nil)
	res.AppendHeader(&sip.ContactHeader{Address: s.contactURI("", req.Transport())})
	if !notify {
		res.AppendHeader(sip.NewHeader("Refer-Sub", "false"))
	}
	s.respond(tx, res)
	if notify {
		s.notifyRefer(l, "100 Trying", false)
	}

	// The legs leaving their calls wait for the phone's BYE instead of
	// sending one (calls.go runEstablished).
	l.setReferred(true)
	if other != nil {
		other.setReferred(true)
		err = fs.CompleteTransfer(ph.id, l.id, other.id)
	} else {
		err = fs.BlindTransfer(ph.id, l.id, number)
	}
	frag := "200 OK"
	if err != nil {
		l.setReferred(false)
		if other != nil {
			other.setReferred(false)
		}
		s.log.Debug("sip: REFER", "pool", ph.pool, "target", number, "replaces", replaces, "err", err)
		frag = referFailure(err)
	}
	if notify {
		s.notifyRefer(l, frag, true)
	}
}

// referFailure is the sipfrag status line of a transfer the core refused.
func referFailure(err error) string {
	switch {
	case errors.Is(err, dn.ErrBadNumber):
		return "404 Not Found"
	case errors.Is(err, dn.ErrNoCall):
		return "481 Call/Transaction Does Not Exist"
	case errors.Is(err, dn.ErrBadState):
		return "488 Not Acceptable Here"
	}
	return "503 Service Unavailable"
}

// notifyRefer sends a NOTIFY of the REFER's implicit subscription with a
// sipfrag of status (RFC 3515 §2.4.4-2.4.5); final ends the subscription.
func (s *Server) notifyRefer(l *leg, status string, final bool) {
	if l.ended() {
		return
	}
	target, do, ok := l.dialogDo()
	if !ok {
		return
	}
	req := sip.NewRequest(sip.NOTIFY, target)
	req.AppendHeader(sip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.AppendHeader(&sip.ContactHeader{Address: s.contactURI("", "udp")})
	req.SetBody([]byte("SIP/2.0 " + status + "\r\n"))
	ctx, cancel := context.WithTimeout(s.context(), 10*time.Second)
	defer cancel()
	if res, err := do(ctx, req); err != nil || !res.IsSuccess() {
		s.log.Debug("sip: NOTIFY refer", "status", status, "err", err)
	}
}
