package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/dn"
)

// Trunk calls over `dial-peer voice N voip` (session target ipv4:A[:P],
// session protocol sipv2): the Server implements dn.Trunk. Outbound calls
// INVITE the session target with the caller phone's RTP address as the
// offer; inbound INVITEs from non-registered sources are offered to the
// core with TrunkIncoming. Both are B2BUA legs: the far end's SDP goes to
// the core, the core's addresses go into our SDP.

// TrunkSwitch is the part of *dn.Switch trunk calls use.
type TrunkSwitch interface {
	NewCallID() dn.CallID
	TrunkIncoming(in dn.InboundCall) (dn.CallID, error)
	TrunkProgress(id dn.CallID, ringing bool, early netip.AddrPort) error
	TrunkAnswered(id dn.CallID, remote netip.AddrPort) error
	TrunkMedia(id dn.CallID, remote netip.AddrPort) error
	TrunkFailed(id dn.CallID, cause dn.Cause) error
	TrunkHangup(id dn.CallID) error
}

var _ dn.Trunk = (*Server)(nil)

type trunkCall struct {
	id      dn.CallID
	inbound bool

	mu       sync.Mutex                 // guards the fields below; a leaf: read, unlock, then call sipgo or the Switch
	cancel   context.CancelFunc         // outbound before the answer: CANCEL
	uac      *sipgo.DialogClientSession // outbound
	uas      *sipgo.DialogServerSession // inbound
	answerC  chan netip.AddrPort        // inbound: Answered's local address
	ringC    chan struct{}              // inbound: Ringing
	hangupC  chan dn.Cause              // inbound before the answer
	local    netip.AddrPort             // our side's RTP (the phone's)
	version  uint64
	callID   string
	answered bool
}

type trunkTable struct {
	mu     sync.Mutex // guards byID and byCall; a leaf
	byID   map[dn.CallID]*trunkCall
	byCall map[string]*trunkCall
}

func (t *trunkTable) add(c *trunkCall) {
	t.mu.Lock()
	if t.byID == nil {
		t.byID, t.byCall = map[dn.CallID]*trunkCall{}, map[string]*trunkCall{}
	}
	t.byID[c.id] = c
	if c.callID != "" {
		t.byCall[c.callID] = c
	}
	t.mu.Unlock()
}

func (t *trunkTable) get(id dn.CallID) *trunkCall {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

func (t *trunkTable) byCallID(cid string) *trunkCall {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byCall[cid]
}

func (t *trunkTable) remove(c *trunkCall) {
	t.mu.Lock()
	if t.byID[c.id] == c {
		delete(t.byID, c.id)
	}
	if t.byCall[c.callID] == c {
		delete(t.byCall, c.callID)
	}
	t.mu.Unlock()
}

func (s *Server) trunkSw() TrunkSwitch {
	ts, _ := s.opts.Switch.(TrunkSwitch)
	return ts
}

func (c *trunkCall) sdp(addr netip.AddrPort, direction string) []byte {
	c.mu.Lock()
	c.version++
	v := c.version
	c.mu.Unlock()
	return buildSDP(addr, direction, v)
}

// statusCause maps a final response of the far end to a dn cause
// (dn.Switch.TrunkFailed doc).
func statusCause(code int) dn.Cause {
	switch code {
	case 486, 600:
		return dn.CauseBusy
	case 404, 484, 604:
		return dn.CauseUnassigned
	case 482, 483:
		return dn.CauseLoop
	case 603:
		return dn.CauseRejected
	case 408:
		return dn.CauseNoResponse
	}
	return dn.CauseUnavailable
}

// targetURI turns `session target ipv4:A[:P]` into sip:called@A:P.
func targetURI(target, called string) (sip.Uri, error) {
	hp, ok := strings.CutPrefix(target, "ipv4:")
	if !ok {
		return sip.Uri{}, errors.New("sip: unsupported session target " + target)
	}
	host, port := hp, 5060
	if h, p, err := net.SplitHostPort(hp); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil {
			return sip.Uri{}, err
		}
		host, port = h, n
	}
	return sip.Uri{Scheme: "sip", User: called, Host: host, Port: port}, nil
}

// Dial implements dn.Trunk: INVITE the dial-peer's session target.
func (s *Server) Dial(call dn.TrunkCall) {
	ctx, cancel := context.WithCancel(s.context())
	c := &trunkCall{id: call.ID, cancel: cancel, local: call.Offer}
	s.trunks.add(c)
	go s.dialTrunk(ctx, c, call)
}

func (s *Server) dialTrunk(ctx context.Context, c *trunkCall, call dn.TrunkCall) {
	defer c.cancel()
	ts := s.trunkSw()
	fail := func(cause dn.Cause) {
		s.trunks.remove(c)
		if ts != nil {
			_ = ts.TrunkFailed(c.id, cause)
		}
	}
	target, err := targetURI(call.Target, call.Called)
	if err != nil || ts == nil {
		fail(dn.CauseUnavailable)
		return
	}
	req := sip.NewRequest(sip.INVITE, target)
	req.SetTransport("UDP")
	from := &sip.FromHeader{DisplayName: call.Calling.Name, Address: sip.Uri{Scheme: "sip", User: call.Calling.Number, Host: s.host()},
		Params: sip.HeaderParams{}}
	from.Params.Add("tag", sip.GenerateTagN(12))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: call.Called, Host: target.Host}})
	req.AppendHeader(&sip.ContactHeader{Address: s.contactURI(call.Calling.Number, "udp")})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(c.sdp(call.Offer, "sendrecv"))
	s.prepare(req)
	dc, err := s.dcc.WriteInvite(ctx, req)
	if err != nil {
		fail(dn.CauseUnavailable)
		return
	}
	c.mu.Lock()
	c.uac, c.callID = dc, dc.InviteRequest.CallID().Value()
	c.mu.Unlock()
	s.trunks.add(c)
	var auth sipgo.AnswerOptions
	if ua := s.cfg().SIPUA; ua != nil {
		auth.Username, auth.Password = ua.AuthUsername, ua.AuthPassword
	}
	auth.OnResponse = func(res *sip.Response) error {
		if res.StatusCode == 180 || res.StatusCode == 183 {
			var early netip.AddrPort
			if m, err := ParseMedia(res.Body()); err == nil {
				early = m.Addr
			}
			go ts.TrunkProgress(c.id, res.StatusCode == 180, early)
		}
		return nil
	}
	if err := s.waitAnswer(ctx, dc, auth); err != nil {
		var de *sipgo.ErrDialogResponse
		switch {
		case ctx.Err() != nil: // our Hangup: CANCEL sent, the core knows
			s.trunks.remove(c)
		case errors.As(err, &de):
			fail(statusCause(de.Res.StatusCode))
		default:
			fail(dn.CauseUnavailable)
		}
		return
	}
	var remote netip.AddrPort
	if m, err := ParseMedia(dc.InviteResponse.Body()); err == nil {
		remote = m.Addr
	}
	if err := dc.Ack(ctx); err != nil {
		s.log.Debug("sip: trunk ACK failed", "err", err)
	}
	c.mu.Lock()
	c.answered, c.cancel = true, func() {}
	c.mu.Unlock()
	if err := ts.TrunkAnswered(c.id, remote); err != nil {
		s.byeTrunk(c)
	}
}

// Hangup implements dn.Trunk.
func (s *Server) Hangup(id dn.CallID, cause dn.Cause) {
	c := s.trunks.get(id)
	if c == nil {
		return
	}
	c.mu.Lock()
	answered, cancel, hc := c.answered, c.cancel, c.hangupC
	c.mu.Unlock()
	switch {
	case c.inbound && !answered:
		select {
		case hc <- cause:
		default:
		}
	case !answered && cancel != nil:
		cancel() // WaitAnswer sends CANCEL
	default:
		go s.byeTrunk(c)
	}
}

func (s *Server) byeTrunk(c *trunkCall) {
	s.trunks.remove(c)
	ctx, cancel := context.WithTimeout(s.context(), 5*time.Second)
	defer cancel()
	c.mu.Lock()
	uac, uas := c.uac, c.uas
	c.mu.Unlock()
	if uac != nil {
		_ = uac.Bye(ctx)
	} else if uas != nil {
		_ = uas.Bye(ctx)
	}
}

// UpdateMedia implements dn.Trunk: re-INVITE with the new address
// (sendonly when there is none: the local side holds).
func (s *Server) UpdateMedia(id dn.CallID, local netip.AddrPort) {
	c := s.trunks.get(id)
	if c == nil {
		return
	}
	go func() {
		c.mu.Lock()
		c.local = local
		uac, uas, answered := c.uac, c.uas, c.answered
		c.mu.Unlock()
		if !answered {
			return // the answer/ACK carries it
		}
		dir := "sendrecv"
		if !local.IsValid() {
			dir = "sendonly"
		}
		var target sip.Uri
		var do func(context.Context, *sip.Request) (*sip.Response, error)
		switch {
		case uac != nil && uac.InviteResponse != nil && uac.InviteResponse.Contact() != nil:
			target, do = uac.InviteResponse.Contact().Address, uac.Do
		case uas != nil && uas.InviteRequest.Contact() != nil:
			target, do = uas.InviteRequest.Contact().Address, uas.Do
		default:
			return
		}
		req := sip.NewRequest(sip.INVITE, target)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(c.sdp(local, dir))
		ctx, cancel := context.WithTimeout(s.context(), 10*time.Second)
		defer cancel()
		res, err := do(ctx, req)
		if err != nil || !res.IsSuccess() {
			return
		}
		ack := sip.NewRequest(sip.ACK, target)
		ack.AppendHeader(sip.HeaderClone(req.From()))
		ack.AppendHeader(sip.HeaderClone(res.To()))
		ack.AppendHeader(sip.HeaderClone(req.CallID()))
		ack.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.ACK})
		ack.SetTransport(req.Transport())
		s.prepare(ack)
		_ = s.client.WriteRequest(ack)
		if m, err := ParseMedia(res.Body()); err == nil {
			_ = s.trunkSw().TrunkMedia(c.id, m.Addr)
		}
	}()
}

// Ringing implements dn.Trunk (inbound call alerting: 180). The INVITE's
// handler goroutine sends it: a dialog's responses are not safe for
// concurrent use.
func (s *Server) Ringing(id dn.CallID) {
	if c := s.trunks.get(id); c != nil && c.inbound {
		select {
		case c.ringC <- struct{}{}:
		default:
		}
	}
}

// Answered implements dn.Trunk (inbound call answered: 200 with SDP).
func (s *Server) Answered(id dn.CallID, local netip.AddrPort) {
	c := s.trunks.get(id)
	if c == nil || !c.inbound {
		return
	}
	select {
	case c.answerC <- local:
	default:
	}
}

// onTrunkInvite offers an INVITE from a peer (not a registered phone) to
// the core (dn.Switch.TrunkIncoming) and answers it when the core does.
func (s *Server) onTrunkInvite(req *sip.Request, tx sip.ServerTransaction) {
	ts := s.trunkSw()
	if ts == nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
		return
	}
	var remote netip.AddrPort
	if len(req.Body()) > 0 {
		m, err := ParseMedia(req.Body())
		if err != nil {
			s.respond(tx, sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
			return
		}
		remote = m.Addr
	}
	ds, err := s.dsc.ReadInvite(req, tx)
	if err != nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	c := &trunkCall{id: ts.NewCallID(), inbound: true, uas: ds, callID: req.CallID().Value(),
		answerC: make(chan netip.AddrPort, 1), hangupC: make(chan dn.Cause, 1), ringC: make(chan struct{}, 1)}
	s.trunks.add(c)
	_ = ds.Respond(100, "Trying", nil)
	in := dn.InboundCall{ID: c.id, Called: req.Recipient.User, Remote: remote,
		Calling: dn.Party{Number: req.From().Address.User, Name: req.From().DisplayName}}
	if _, err := ts.TrunkIncoming(in); err != nil {
		s.trunks.remove(c)
		var re *dn.RejectError
		code, reason := 480, "Temporarily Unavailable"
		if errors.As(err, &re) {
			code, reason = causeStatus(re.Cause)
		}
		_ = ds.Respond(code, reason, nil)
		return
	}
	for {
		select {
		case <-c.ringC:
			_ = ds.Respond(180, "Ringing", nil)
			continue
		case local := <-c.answerC:
			c.mu.Lock()
			c.answered, c.local = true, local
			c.mu.Unlock()
			body := c.sdp(local, "sendrecv")
			if err := ds.Respond(200, "OK", body, sip.NewHeader("Content-Type", "application/sdp")); err != nil {
				s.log.Debug("sip: trunk 200 failed", "err", err)
			}
		case cause := <-c.hangupC:
			s.trunks.remove(c)
			code, reason := causeStatus(cause)
			_ = ds.Respond(code, reason, nil)
		case <-ds.Context().Done(): // CANCEL
			s.trunks.remove(c)
			_ = ts.TrunkHangup(c.id)
		}
		return
	}
}

// trunkBye handles BYE on a trunk dialog; false if it is not one.
func (s *Server) trunkBye(req *sip.Request, tx sip.ServerTransaction) bool {
	c := s.trunks.byCallID(req.CallID().Value())
	if c == nil {
		return false
	}
	s.respond(tx, sip.NewResponseFromRequest(req, 200, "OK", nil))
	s.trunks.remove(c)
	if ts := s.trunkSw(); ts != nil {
		_ = ts.TrunkHangup(c.id)
	}
	return true
}

// trunkReinvite handles a re-INVITE from a trunk peer (new media or hold).
func (s *Server) trunkReinvite(req *sip.Request, tx sip.ServerTransaction) bool {
	c := s.trunks.byCallID(req.CallID().Value())
	if c == nil {
		return false
	}
	m, err := ParseMedia(req.Body())
	if err != nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return true
	}
	c.mu.Lock()
	local := c.local
	c.mu.Unlock()
	dir := "sendrecv"
	if m.OnHold() {
		dir = "recvonly"
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", c.sdp(local, dir))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(&sip.ContactHeader{Address: s.contactURI("", req.Transport())})
	s.respond(tx, res)
	if ts := s.trunkSw(); ts != nil {
		remote := m.Addr
		if m.OnHold() {
			remote = netip.AddrPort{}
		}
		_ = ts.TrunkMedia(c.id, remote)
	}
	return true
}
