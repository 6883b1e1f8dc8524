package dialplan

import (
	"slices"
	"strings"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
)

// TargetKind says what a matched number leads to.
type TargetKind int

const (
	// TargetDN is a local directory number (ephone-dn or voice register dn);
	// Target.Number is the number and pkg/dn resolves it to DNs.
	TargetDN TargetKind = iota + 1
	// TargetDialPeer is a dial-peer's destination-pattern; Target.Tag is the
	// dial-peer tag.
	TargetDialPeer
	// TargetService is a number the call-control core answers itself (the
	// echo test); Target.Number says which.
	TargetService
)

// Entry is one number or pattern of the plan.
type Entry struct {
	Pattern    string
	Kind       TargetKind
	Tag        int // dial-peer tag (TargetDialPeer); informational for DNs
	Preference int // lower wins between equally specific matches
}

// Target is what a complete number routes to.
type Target struct {
	Kind    TargetKind
	Tag     int
	Pattern string
	Number  string // the dialled digits (without a terminating '#')
}

// Match is the answer to Plan.Lookup.
type Match struct {
	Result Result
	Target Target // valid when Result is Complete or Ambiguous
	// Timeout is how long to wait for the next digit before giving up
	// (Partial) or completing (Ambiguous); zero for Complete and NoMatch.
	Timeout time.Duration
}

type compiled struct {
	Entry
	p Pattern
}

// Plan is an immutable set of entries. Build one per config snapshot.
type Plan struct {
	entries    []compiled
	interdigit time.Duration
}

// New compiles entries; entries whose pattern does not compile are returned
// as errors and left out, so one bad dial-peer does not disable the plan.
func New(entries []Entry, interdigit time.Duration) (*Plan, []error) {
	p := &Plan{interdigit: interdigit}
	var errs []error
	for _, e := range entries {
		c, err := Compile(e.Pattern)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.entries = append(p.entries, compiled{Entry: e, p: c})
	}
	return p, errs
}

// FromConfig builds the plan of a config snapshot: every ephone-dn number
// and secondary number, every voice register dn number, and the
// destination-pattern of every dial-peer, plus extra entries (service
// numbers of the core). The interdigit timeout is `timeouts interdigit`
// (docs/cme-cli.md §Telephony-service).
func FromConfig(cfg *config.Config, extra ...Entry) (*Plan, []error) {
	var es []Entry
	for _, d := range cfg.EphoneDNs {
		if Dialable(d.Number) {
			es = append(es, Entry{Pattern: d.Number, Kind: TargetDN, Tag: d.Tag, Preference: d.Preference})
		}
		if Dialable(d.Secondary) {
			es = append(es, Entry{Pattern: d.Secondary, Kind: TargetDN, Tag: d.Tag, Preference: d.Preference})
		}
	}
	for _, d := range cfg.VoiceRegisterDNs {
		if d.Number != "" {
			es = append(es, Entry{Pattern: d.Number, Kind: TargetDN, Tag: d.Tag, Preference: d.Preference})
		}
	}
	for _, dp := range cfg.DialPeers {
		if dp.DestinationPattern != "" {
			es = append(es, Entry{Pattern: dp.DestinationPattern, Kind: TargetDialPeer, Tag: dp.Tag, Preference: dp.Preference})
		}
	}
	es = append(es, extra...)
	return New(es, time.Duration(cfg.Telephony.InterdigitSeconds())*time.Second)
}

// Dialable reports whether a DN number can be reached by dialling. CME
// intercom DNs are numbered with A-D on purpose (docs/cme-behaviour.md
// §Lines): no keypad sends those letters, so only the intercom button
// reaches them, and they are no part of the dial plan.
func Dialable(number string) bool {
	return number != "" && !strings.ContainsAny(number, "ABCDabcd")
}

// Interdigit is the plan's interdigit timeout.
func (p *Plan) Interdigit() time.Duration { return p.interdigit }

// Lookup matches dialled digits. A trailing '#' ends dialling: the digits
// before it are looked up as if the interdigit timer had expired.
func (p *Plan) Lookup(digits string) Match {
	if n := len(digits); n > 1 && digits[n-1] == '#' {
		return p.Expire(digits[:n-1])
	}
	best, bestRes, more := p.scan(digits)
	switch {
	case bestRes == NoMatch && more:
		return Match{Result: Partial, Timeout: p.interdigit}
	case bestRes == NoMatch:
		return Match{Result: NoMatch}
	case more || bestRes == Ambiguous:
		return Match{Result: Ambiguous, Target: p.target(best, digits), Timeout: p.interdigit}
	}
	return Match{Result: Complete, Target: p.target(best, digits)}
}

// Expire is the lookup when the interdigit timer fires: an Ambiguous match
// becomes Complete, anything else becomes NoMatch.
func (p *Plan) Expire(digits string) Match {
	best, bestRes, _ := p.scan(digits)
	if bestRes == NoMatch {
		return Match{Result: NoMatch}
	}
	return Match{Result: Complete, Target: p.target(best, digits)}
}

// scan returns the best complete entry (if any), its result, and whether
// some entry could still match with more digits.
func (p *Plan) scan(digits string) (best int, bestRes Result, more bool) {
	best = -1
	for i, e := range p.entries {
		switch r := e.p.Match(digits); r {
		case Partial:
			more = true
		case Complete, Ambiguous:
			if best < 0 || p.better(i, best) {
				best, bestRes = i, r
			}
		}
	}
	return best, bestRes, more
}

// kindRank orders target kinds: local DNs, then core services, then
// dial-peers (a local number always wins over a trunk pattern).
func kindRank(k TargetKind) int {
	switch k {
	case TargetDN:
		return 0
	case TargetService:
		return 1
	}
	return 2
}

// better: local DNs before services before dial-peers, then specificity,
// then preference.
func (p *Plan) better(a, b int) bool {
	ea, eb := p.entries[a], p.entries[b]
	if ra, rb := kindRank(ea.Kind), kindRank(eb.Kind); ra != rb {
		return ra < rb
	}
	if sa, sb := ea.p.Specificity(), eb.p.Specificity(); sa != sb {
		return sa > sb
	}
	return ea.Preference < eb.Preference
}

func (p *Plan) target(i int, digits string) Target {
	e := p.entries[i]
	return Target{Kind: e.Kind, Tag: e.Tag, Pattern: e.Pattern, Number: digits}
}

// Entries returns the plan's entries in order (for show commands).
func (p *Plan) Entries() []Entry {
	out := make([]Entry, len(p.entries))
	for i, e := range p.entries {
		out[i] = e.Entry
	}
	return slices.Clip(out)
}
