package sip

import (
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/sip/pidf"
	"github.com/cmed-project/cmed/pkg/sip/subs"
)

// onPublish handles PUBLISH (RFC 3903) for the presence package: a user's
// clients publish calendar and reachability presence for their DN, which
// SIP watchers of the DN see composed under the line state
// (docs/sip-presence.md §Rich-presence). The checks follow RFC 3903 §6:
// the resource (404), the package (489), authorisation (401/403), then the
// compositor's rules in subs.Table.OnPublish (412, 400, 423).
func (n *notifier) onPublish(req *sip.Request, tx sip.ServerTransaction) {
	s := n.s
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	cfg := s.cfg()
	number := req.Recipient.User
	if number == "" {
		number = req.To().Address.User
	}
	if !localDN(cfg, number) {
		s.respond(tx, sip.NewResponseFromRequest(req, 404, "Not Found", nil))
		return
	}
	var event string
	if h := req.GetHeader("Event"); h != nil {
		event = h.Value()
	}
	if tok, _, _ := strings.Cut(event, ";"); !strings.EqualFold(strings.TrimSpace(tok), "presence") {
		res := sip.NewResponseFromRequest(req, 489, "Bad Event", nil)
		res.AppendHeader(sip.NewHeader("Allow-Events", subs.PublishAllowEvents))
		s.respond(tx, res)
		return
	}
	if cfg.Presence == nil || cfg.SIPUA == nil || !cfg.SIPUA.PresenceEnable {
		// The presence service is off (docs/sip-presence.md §Policy-commands).
		s.respond(tx, sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
		return
	}
	if !n.publisherAllowed(req, tx, cfg, number) {
		return
	}

	info := subs.PublishInfo{Presentity: number, Event: event}
	if h := req.GetHeader("SIP-If-Match"); h != nil {
		info.IfMatch = strings.TrimSpace(h.Value())
	}
	if req.GetHeader("Expires") != nil {
		info.Expires, info.HasExpires = headerInt(req, "Expires")
		if !info.HasExpires {
			s.respond(tx, sip.NewResponseFromRequest(req, 400, "Bad Expires", nil))
			return
		}
	}
	if body := req.Body(); len(body) > 0 {
		ct := ""
		if h := req.ContentType(); h != nil {
			ct = pidf.BaseContentType(h.Value())
		}
		if ct != pidf.ContentTypePIDF && ct != pidf.ContentTypeCPIMPIDF {
			res := sip.NewResponseFromRequest(req, 415, "Unsupported Media Type", nil)
			res.AppendHeader(sip.NewHeader("Accept", pidf.ContentTypePIDF+", "+pidf.ContentTypeCPIMPIDF))
			s.respond(tx, res)
			return
		}
		r, err := pidf.ParsePublication(body)
		if err != nil {
			s.respond(tx, sip.NewResponseFromRequest(req, 400, "Bad Presence Document", nil))
			return
		}
		info.HasBody, info.Rich = true, r
	}

	dec := n.table.OnPublish(info, time.Now())
	res := sip.NewResponseFromRequest(req, dec.Status, dec.Reason, nil)
	switch dec.Status {
	case 200:
		if dec.ETag != "" {
			res.AppendHeader(sip.NewHeader("SIP-ETag", dec.ETag))
		}
		res.AppendHeader(sip.NewHeader("Expires", itoa(dec.Expires)))
	case 423:
		res.AppendHeader(sip.NewHeader("Min-Expires", itoa(dec.MinExpires)))
	case 489:
		res.AppendHeader(sip.NewHeader("Allow-Events", dec.AllowEvents))
	case 503:
		res.AppendHeader(sip.NewHeader("Retry-After", itoa(dec.RetryAfter)))
	}
	s.respond(tx, res)
	for _, nt := range dec.Notify {
		n.send(nt)
	}
}

// publisherAllowed decides who may publish a DN's presence: the DN's own
// registered SIP phone (its registration is its authorisation, as for
// SUBSCRIBE, docs/cme-behaviour.md §Presence-rules), or a client that
// passes the digest challenge with the credentials of the DN's owner: the
// `username`/`password` of the voice register pool carrying the DN or of
// an ephone with a button on it (CME's login for the user's presence
// client). Anyone else is challenged and, lacking such credentials, never
// gets further; a DN without an owner with credentials answers 403.
func (n *notifier) publisherAllowed(req *sip.Request, tx sip.ServerTransaction, cfg *config.Config, number string) bool {
	s := n.s
	if b, ok := s.reg.localWatcher(req); ok {
		if p := poolFor(cfg, number); p != nil && p.Tag == b.Pool {
			return true
		}
	}
	owners := ownerCredentials(cfg, number)
	if len(owners) == 0 {
		s.respond(tx, sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
		return false
	}
	_, ok := s.authenticate(req, tx, func(user string) (string, bool) {
		p, ok := owners[user]
		return p, ok
	})
	return ok
}

// localDN reports whether number is a DN of this router (an ephone-dn or
// a voice register dn).
func localDN(cfg *config.Config, number string) bool {
	if number == "" {
		return false
	}
	for i := range cfg.EphoneDNs {
		if cfg.EphoneDNs[i].Number == number {
			return true
		}
	}
	return poolFor(cfg, number) != nil
}

// ownerCredentials returns username → password of the DN's owners: the
// pool carrying it and every ephone with a button on an ephone-dn with
// that number, those that have a username and password.
func ownerCredentials(cfg *config.Config, number string) map[string]string {
	out := map[string]string{}
	if p := poolFor(cfg, number); p != nil && p.Username != "" && p.Password != "" {
		out[p.Username] = p.Password
	}
	for i := range cfg.Ephones {
		e := &cfg.Ephones[i]
		if e.Username == "" || e.Password == "" {
			continue
		}
		for _, b := range e.Buttons {
			for _, tag := range b.DNs {
				if d := cfg.EphoneDNByTag(tag); d != nil && d.Number == number {
					out[e.Username] = e.Password
				}
			}
		}
	}
	return out
}

// PresenceStatus is DN number's composed status as SIP watchers are told
// it, in words with its source ("In a meeting (calendar)",
// docs/sip-presence.md §Rich-presence), for `show presence subscription`
// and the web board; "" when no SIP watcher or publication makes cmed
// keep it.
func (s *Server) PresenceStatus(number string) string {
	st, ok := s.pres.table.State(number)
	if !ok || !st.Open() {
		return ""
	}
	return st.Summary() + " (" + st.Shown().String() + ")"
}
