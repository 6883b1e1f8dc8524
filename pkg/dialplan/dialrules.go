package dialplan

import (
	"strings"

	"github.com/cmed-project/cmed/pkg/config"
)

// Application dialing rules and directory lookup rules
// (docs/cme-behaviour.md §Dialing-rules): before a number taken from a directory is
// dialled, everything but letters and digits is removed, letters become
// keypad digits (1800-GOTMILK -> 18004686455), and the first dialing rule
// that matches the number's leading digits and length strips and prefixes
// digits (e.g. a 9 before 7-digit numbers). Directory lookup rules work the
// same way on an incoming caller ID to find it in the directory
// (4089023139 -> 23139).

// DialRule is one application dial rule or directory lookup rule.
type DialRule struct {
	BeginsWith string // the number starts with these digits ("" any)
	NumDigits  int    // the number has this many digits (0 any)
	Remove     int    // leading digits to strip
	Prefix     string // digits to put in front after stripping
}

// RulesFrom converts configured rules (`dial-rule application`,
// `dial-rule directory-lookup`), which are kept in tag order: the order they
// are tried in.
func RulesFrom(rs []config.DialRule) []DialRule {
	out := make([]DialRule, len(rs))
	for i, r := range rs {
		out[i] = DialRule{BeginsWith: r.BeginsWith, NumDigits: r.NumDigits, Remove: r.Remove, Prefix: r.Prefix}
	}
	return out
}

// Matches reports whether the rule applies to number.
func (r DialRule) Matches(number string) bool {
	return strings.HasPrefix(number, r.BeginsWith) && (r.NumDigits == 0 || len(number) == r.NumDigits)
}

// Apply strips and prefixes.
func (r DialRule) Apply(number string) string {
	n := min(max(r.Remove, 0), len(number))
	return r.Prefix + number[n:]
}

// keypad maps letters to the digit of their key on a US (ITU E.161)
// telephone keypad.
var keypad = [26]byte{
	'2', '2', '2', '3', '3', '3', '4', '4', '4', '5', '5', '5', '6', '6', '6',
	'7', '7', '7', '7', '8', '8', '8', '9', '9', '9', '9',
}

// KeypadDigits keeps the letters and digits of s and maps the letters to
// keypad digits. A leading '+' is kept (Personal Communicator 7.0 no
// longer strips the plus, docs/cme-behaviour.md §Dialing-rules).
func KeypadDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c >= 'a' && c <= 'z':
			b.WriteByte(keypad[c-'a'])
		case c >= 'A' && c <= 'Z':
			b.WriteByte(keypad[c-'A'])
		case c == '+' && b.Len() == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ApplyDialRules turns a directory number into the digits to dial:
// KeypadDigits, then the first matching rule.
func ApplyDialRules(rules []DialRule, number string) string {
	n := KeypadDigits(number)
	for _, r := range rules {
		if r.Matches(n) {
			return r.Apply(n)
		}
	}
	return n
}

// DirectoryLookup turns an incoming caller ID into a directory lookup key
// with the first matching directory lookup rule.
func DirectoryLookup(rules []DialRule, callerID string) string {
	return ApplyDialRules(rules, callerID)
}

// DialPeers returns every dial-peer whose destination-pattern matches a
// complete number, best first (specificity, then preference): the hunt
// order for trunk calls.
func (p *Plan) DialPeers(number string) []Target {
	type hit struct {
		i    int
		spec int
	}
	var hits []hit
	for i, e := range p.entries {
		if e.Kind != TargetDialPeer {
			continue
		}
		if r := e.p.Match(number); r == Complete || r == Ambiguous {
			hits = append(hits, hit{i, e.p.Specificity()})
		}
	}
	for i := 1; i < len(hits); i++ { // insertion sort: stable and tiny
		for j := i; j > 0 && p.better(hits[j].i, hits[j-1].i); j-- {
			hits[j], hits[j-1] = hits[j-1], hits[j]
		}
	}
	out := make([]Target, len(hits))
	for k, h := range hits {
		out[k] = p.target(h.i, number)
	}
	return out
}
