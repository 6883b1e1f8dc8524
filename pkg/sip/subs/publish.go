package subs

import (
	"crypto/rand"
	"strings"
	"time"

	"github.com/cmed-project/cmed/pkg/sip/pidf"
)

// The event state compositor of RFC 3903 for the presence package: the
// publications (calendar, reachability) a user's clients PUBLISH for a
// DN, each under its entity-tag, composed with the line state into what
// watchers are told (docs/sip-presence.md §Rich-presence). The Table owns
// them so that one lock and one presentity record hold all of a DN's
// presence.

// Publication limits. RFC 3903 leaves them to the compositor.
const (
	// MaxPublications bounds the publications of one presentity (one per
	// client and source in practice); more get 503 + Retry-After.
	MaxPublications = 16
	// pruneAfter is how long a presentity with neither subscriptions nor
	// publications keeps its recorded line state (for a subscription
	// being set up at that moment) before Tick forgets it.
	pruneAfter = 30 * time.Second
)

// PublishAllowEvents is the Allow-Events of a 489 to PUBLISH: only the
// presence package composes rich state (RFC 3903 §6 step 2).
const PublishAllowEvents = "presence"

type publication struct {
	etag      string
	rich      pidf.Rich
	expiresAt time.Time
	seq       uint64 // order of the last modification (later wins)
}

// PublishInfo is what the wiring extracts from an authorised PUBLISH.
type PublishInfo struct {
	Presentity string
	Event      string // Event header value
	IfMatch    string // SIP-If-Match; empty for an initial publication
	Expires    int
	HasExpires bool
	// HasBody: the request carries a publication; Rich is its parsed
	// content (pidf.ParsePublication). Without a body the request is a
	// refresh, or a removal with Expires 0 (RFC 3903 §4.2-§4.4).
	HasBody bool
	Rich    pidf.Rich
}

// PublishDecision is the answer to a PUBLISH and the NOTIFYs it causes.
type PublishDecision struct {
	Status      int
	Reason      string
	ETag        string // SIP-ETag of a 2xx (RFC 3903 §11.3.1)
	Expires     int    // Expires of a 2xx
	MinExpires  int    // 423
	AllowEvents string // 489
	RetryAfter  int    // 503
	Notify      []Notify
}

// OnPublish applies RFC 3903 §6: 489 for a package other than presence,
// 412 for an unknown or expired entity-tag, 400 for an initial PUBLISH
// without body, 423 below MinExpires, Expires clamped to MaxExpires (and
// DefaultExpires when absent), a new entity-tag on every success, Expires
// 0 removing the publication.
func (t *Table) OnPublish(req PublishInfo, now time.Time) PublishDecision {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pkg, _ := parseEvent(req.Event); pkg != PackagePresence {
		return PublishDecision{Status: 489, Reason: "Bad Event", AllowEvents: PublishAllowEvents}
	}
	p := t.pres[req.Presentity]
	var pub *publication
	if req.IfMatch != "" {
		if p != nil {
			pub = p.pubs[req.IfMatch]
		}
		if pub == nil || !now.Before(pub.expiresAt) {
			return PublishDecision{Status: 412, Reason: "Conditional Request Failed"}
		}
	} else if !req.HasBody {
		return PublishDecision{Status: 400, Reason: "Missing Body"}
	}
	expires := t.cfg.DefaultExpires
	if req.HasExpires {
		switch {
		case req.Expires == 0:
			expires = 0
		case req.Expires < t.cfg.MinExpires:
			return PublishDecision{Status: 423, Reason: "Interval Too Brief", MinExpires: t.cfg.MinExpires}
		default:
			expires = min(req.Expires, t.cfg.MaxExpires)
		}
	}
	if expires == 0 {
		// Removal (RFC 3903 §4.4); an initial PUBLISH with Expires 0
		// publishes nothing that would outlive its answer.
		d := PublishDecision{Status: 200, Reason: "OK"}
		if pub != nil {
			delete(p.pubs, pub.etag)
			t.nPubs--
			d.Notify = t.recompose(p, nil, now)
		}
		return d
	}
	if pub == nil {
		if p == nil {
			p = &presentity{name: req.Presentity, recorded: now}
			t.pres[req.Presentity] = p
		}
		if len(p.pubs) >= MaxPublications {
			return PublishDecision{Status: 503, Reason: "Service Unavailable", RetryAfter: t.cfg.RetryAfter}
		}
		if p.pubs == nil {
			p.pubs = make(map[string]*publication)
		}
		pub = &publication{}
		t.nPubs++
	} else {
		delete(p.pubs, pub.etag)
	}
	// A fresh entity-tag on every success, refreshes included (RFC 3903
	// §6 step 8), so a stale If-Match is told 412.
	pub.etag = newETag()
	p.pubs[pub.etag] = pub
	pub.expiresAt = now.Add(time.Duration(expires) * time.Second)
	if req.HasBody {
		t.pubSeq++
		pub.rich, pub.seq = req.Rich, t.pubSeq
	}
	return PublishDecision{Status: 200, Reason: "OK", ETag: pub.etag, Expires: expires, Notify: t.recompose(p, nil, now)}
}

// Publications returns the number of live publications (all presentities).
func (t *Table) Publications() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nPubs
}

// Rich returns the composed rich presence of a presentity.
func (t *Table) Rich(presentityKey string) pidf.Rich {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.pres[presentityKey]; p != nil {
		return p.state.Rich
	}
	return pidf.Rich{}
}

// compose builds the rich status from p's live publications: the latest
// publication with a meeting not yet over gives the calendar source, the
// latest with a reachability status the reachability source
// (docs/sip-presence.md §Rich-presence).
func compose(p *presentity, now time.Time) pidf.Rich {
	var r pidf.Rich
	var calSeq, reachSeq uint64
	for _, pub := range p.pubs {
		if !now.Before(pub.expiresAt) {
			continue
		}
		pr := pub.rich
		if pr.Meeting && (pr.MeetingUntil.IsZero() || now.Before(pr.MeetingUntil)) && pub.seq > calSeq {
			r.Meeting, r.MeetingUntil, calSeq = true, pr.MeetingUntil, pub.seq
		}
		if (pr.Reach != pidf.ReachNone || pr.Note != "") && pub.seq > reachSeq {
			r.Reach, r.Note, reachSeq = pr.Reach, pr.Note, pub.seq
		}
	}
	return r
}

// recompose drops p's expired publications, recomposes its rich status
// and, when it changed, notifies p's subscriptions.
func (t *Table) recompose(p *presentity, out []Notify, now time.Time) []Notify {
	for tag, pub := range p.pubs {
		if !now.Before(pub.expiresAt) {
			delete(p.pubs, tag)
			t.nPubs--
		}
	}
	r := compose(p, now)
	if r.Equal(p.state.Rich) {
		return out
	}
	old := p.state.Visible()
	p.state.Rich = r
	if old.Equal(p.state.Visible()) {
		return out // hidden behind the phone or the calendar: no NOTIFY
	}
	p.gen++
	return t.notifyAll(p, out, now)
}

// tickPresentities expires publications and meetings whose end has come,
// and forgets presentities nobody watches or publishes for any more.
func (t *Table) tickPresentities(out []Notify, now time.Time) []Notify {
	for name, p := range t.pres {
		if len(p.pubs) > 0 || !p.state.Rich.Zero() {
			out = t.recompose(p, out, now)
		}
		if len(p.subs) == 0 && len(p.pubs) == 0 && !p.dirty && now.Sub(p.recorded) >= pruneAfter {
			delete(t.pres, name)
		}
	}
	return out
}

// newETag makes an entity-tag: random, so tags are not guessable across
// presentities or restarts.
func newETag() string { return strings.ToLower(rand.Text()[:20]) }

// State returns a presentity's composed state as its SIP watchers see it.
func (t *Table) State(presentityKey string) (pidf.LineState, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pres[presentityKey]
	if p == nil {
		return pidf.LineState{}, false
	}
	return cloneState(p.state), true
}
