package sip

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/config"
)

// Toll-fraud prevention. IOS 15.1(2)T and later accept a call from a SIP
// peer only when the peer's address is trusted: the session target of a
// voip dial-peer, a registrar/presence server the router talks to, or an
// `ip address trusted list` entry; anything else is answered 403 Forbidden
// without ringing anything. cmed does the same for out-of-dialog INVITEs
// that do not come from a registered phone. Without it an INVITE scan
// (sipvicious svwar -m INVITE) enumerates DNs by the different answers of
// existing and unassigned numbers (404 vs 180/486), and anyone who can
// reach port 5060 can place calls through the dial-peers.
//
// A trusted entry is an address with an optional port. An entry with a
// port (`session target ipv4:A:P`) matches a request whose source is A
// and whose source port, or top Via sent-by port, is P: over TCP the
// source port is ephemeral and the Via names the peer's listener (RFC 3261
// §18.2.1). This matters when several SIP endpoints share an address, as
// on one host in a lab; routers normally have addresses of their own.

// trustEntry is one trusted peer: an address, a port (0: any).
type trustEntry struct {
	addr netip.Addr
	port uint16
}

// parseSessionTarget reads `session target ipv4:A[:P]`.
func parseSessionTarget(target string) (trustEntry, bool) {
	hp, ok := strings.CutPrefix(target, "ipv4:")
	if !ok {
		return trustEntry{}, false
	}
	host, port := hp, uint16(0)
	if h, p, err := net.SplitHostPort(hp); err == nil {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return trustEntry{}, false
		}
		host, port = h, uint16(n)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return trustEntry{}, false
	}
	return trustEntry{addr: a.Unmap(), port: port}, true
}

// trustedPeers lists the peers cfg trusts: every dial-peer's session
// target and the presence `server` (any port: the server names no port,
// and its NOTIFYs and calls may come from any of its listeners).
func trustedPeers(cfg *config.Config) []trustEntry {
	var out []trustEntry
	for _, dp := range cfg.DialPeers {
		if e, ok := parseSessionTarget(dp.SessionTarget); ok {
			out = append(out, e)
		}
	}
	if p := cfg.Presence; p != nil && p.Server != "" {
		if a, err := netip.ParseAddr(p.Server); err == nil {
			out = append(out, trustEntry{addr: a.Unmap()})
		}
	}
	return out
}

// trustedSource reports whether req comes from a trusted peer: one of
// cfg's (trustedPeers) or of Options.TrustedPeers.
func (s *Server) trustedSource(req *sip.Request) bool {
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return false
	}
	addr := src.Addr().Unmap()
	for _, p := range s.opts.TrustedPeers {
		if p.Contains(addr) {
			return true
		}
	}
	var viaPort uint16
	if v := req.Via(); v != nil && v.Port > 0 && v.Port <= 65535 {
		viaPort = uint16(v.Port)
	}
	for _, e := range trustedPeers(s.cfg()) {
		if e.addr != addr {
			continue
		}
		if e.port == 0 || e.port == src.Port() || e.port == viaPort {
			return true
		}
	}
	return false
}

// forbid answers 403 and drops the transaction at once, so the answer is
// not retransmitted (RFC 3261 §8.2.7 stateless UAS behaviour): a scan
// leaves no state behind, and a retransmitted request gets a fresh 403.
// Every number gets the same answer, so nothing can be enumerated.
func (s *Server) forbid(req *sip.Request, tx sip.ServerTransaction) {
	s.log.Info("sip: request from an untrusted source refused (toll-fraud prevention)",
		"method", req.Method, "from", req.Source(), "to", req.Recipient.User)
	s.authFailure(string(req.Method))
	s.respond(statelessTx{tx}, sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
}

// authenticateRegister reports whether `authenticate register` is on:
// then a phone's INVITE is digest-authenticated like its REGISTER.
func authenticateRegister(cfg *config.Config) bool {
	return cfg.VoiceRegisterGlobal != nil && cfg.VoiceRegisterGlobal.AuthenticateRegister
}

// poolLookup is the digest credential lookup of one pool.
func poolLookup(pool *config.VoiceRegisterPool) func(string) (string, bool) {
	return func(u string) (string, bool) {
		return pool.Password, pool.Username != "" && u == pool.Username
	}
}

// poolByTag is `voice register pool TAG`, or nil.
func poolByTag(cfg *config.Config, tag int) *config.VoiceRegisterPool {
	for i := range cfg.VoiceRegisterPools {
		if cfg.VoiceRegisterPools[i].Tag == tag {
			return &cfg.VoiceRegisterPools[i]
		}
	}
	return nil
}

// statelessTx drops its transaction after a final response, so the
// response is not retransmitted (RFC 3261 §8.2.7): for answers to sources
// that are neither registered nor trusted.
type statelessTx struct{ sip.ServerTransaction }

func (t statelessTx) Respond(res *sip.Response) error {
	err := t.ServerTransaction.Respond(res)
	if res.StatusCode >= 200 {
		t.Terminate()
	}
	return err
}

// authenticateStateless is authenticate with a stateless challenge.
func (s *Server) authenticateStateless(req *sip.Request, tx sip.ServerTransaction, lookup func(string) (string, bool)) (string, bool) {
	return s.authenticate(req, statelessTx{tx}, lookup)
}

// anyPoolLookup accepts the username/password of any pool.
func anyPoolLookup(cfg *config.Config) func(string) (string, bool) {
	return func(u string) (string, bool) {
		if p := poolByUsername(cfg, u); p != nil {
			return p.Password, true
		}
		return "", false
	}
}

// poolByUsername is the pool whose `username` is user, or nil.
func poolByUsername(cfg *config.Config, user string) *config.VoiceRegisterPool {
	for i := range cfg.VoiceRegisterPools {
		if p := &cfg.VoiceRegisterPools[i]; p.Username != "" && p.Username == user {
			return p
		}
	}
	return nil
}

// hostItself reports a request from 127.0.0.1 or ::1: a process on the
// router's own host (a switchboard, a load generator), which can read the
// configuration anyway. Presence treats it as a trusted peer
// (docs/security.md §Presence-exposure); other loopback addresses are not.
func hostItself(req *sip.Request) bool {
	a := sourceIP(req)
	return a == netip.IPv6Loopback() || a == netip.AddrFrom4([4]byte{127, 0, 0, 1})
}
