package sip

import (
	"net/netip"
	"sync/atomic"

	"github.com/cmed-project/cmed/pkg/dn"
)

// TrunkForwarder is a dn.Trunk that forwards to a Server set later. The
// switch takes its Trunk when it is built, before the SIP server (which
// needs the switch) exists; until Set is called, trunk requests are dropped
// and dial-peer calls fail as unroutable.
type TrunkForwarder struct{ srv atomic.Pointer[Server] }

// Set points the forwarder at srv.
func (p *TrunkForwarder) Set(srv *Server) { p.srv.Store(srv) }

func (p *TrunkForwarder) Dial(c dn.TrunkCall) {
	if s := p.srv.Load(); s != nil {
		s.Dial(c)
	}
}

func (p *TrunkForwarder) UpdateMedia(id dn.CallID, a netip.AddrPort) {
	if s := p.srv.Load(); s != nil {
		s.UpdateMedia(id, a)
	}
}

func (p *TrunkForwarder) Ringing(id dn.CallID) {
	if s := p.srv.Load(); s != nil {
		s.Ringing(id)
	}
}

func (p *TrunkForwarder) Answered(id dn.CallID, a netip.AddrPort) {
	if s := p.srv.Load(); s != nil {
		s.Answered(id, a)
	}
}

func (p *TrunkForwarder) Hangup(id dn.CallID, c dn.Cause) {
	if s := p.srv.Load(); s != nil {
		s.Hangup(id, c)
	}
}
