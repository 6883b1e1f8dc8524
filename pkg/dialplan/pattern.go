// Package dialplan is cmed's number analysis: it matches the digits a caller
// has dialled so far against the directory numbers and destination patterns
// of the configuration and answers "complete", "partial" (wait for more
// digits) or "no match".
//
// The pattern language is the subset of IOS destination-pattern syntax that
// CME configurations use (Cisco IOS Voice Command Reference, destination-pattern):
//
//	0-9 * # +   the literal digit
//	.           any one digit (0-9, *, #)
//	[1-5]       one digit from a set: ranges and single digits, [^...] negates
//	T           any number of further digits (zero or more); only last. The
//	            number is complete when the interdigit timeout expires or '#'
//	            is dialled.
//
// The package is pure: no goroutines, no timers. The caller (pkg/dn) owns the
// interdigit timer and asks again when it fires.
package dialplan

import (
	"errors"
	"fmt"
	"strings"
)

// Result is the outcome of matching dialled digits.
type Result int

const (
	// NoMatch: no number can start with these digits; play reorder.
	NoMatch Result = iota
	// Partial: more digits are needed; restart the interdigit timer.
	Partial
	// Ambiguous: the digits already complete a number, but a longer one is
	// also possible. The caller completes on the interdigit timeout (CME
	// behaviour for overlapping numbers such as 100 and 1001).
	Ambiguous
	// Complete: the digits complete a number and nothing longer can match.
	Complete
)

func (r Result) String() string {
	switch r {
	case NoMatch:
		return "no-match"
	case Partial:
		return "partial"
	case Ambiguous:
		return "ambiguous"
	case Complete:
		return "complete"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// ErrBadPattern is wrapped by every Compile error.
var ErrBadPattern = errors.New("dialplan: bad pattern")

// element is one position of a pattern: a set of accepted digits.
type element struct {
	set uint16 // bit i: digitIndex i accepted
}

// digitIndex maps a dialled character to a bit; -1 for a non-digit.
func digitIndex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c == '*':
		return 10
	case c == '#':
		return 11
	case c == '+':
		return 12
	}
	return -1
}

const anyDigit uint16 = 1<<12 - 1 // 0-9 * #; '+' only matches literally

// Pattern is a compiled destination pattern. The zero value matches nothing.
type Pattern struct {
	text     string
	elems    []element
	variable bool // trailing T
	literals int  // number of single-digit elements, for specificity
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.text }

// Specificity orders complete matches: more literal digits win, and a fixed
// length pattern beats a variable one (IOS longest-match rule).
func (p Pattern) Specificity() int {
	s := p.literals*2 + len(p.elems)
	if !p.variable {
		s++
	}
	return s
}

// Compile parses a destination pattern.
func Compile(s string) (Pattern, error) {
	p := Pattern{text: s}
	if s == "" {
		return p, fmt.Errorf("%w: empty", ErrBadPattern)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 'T' || c == 't':
			if i != len(s)-1 {
				return Pattern{}, fmt.Errorf("%w: %q: T must be last", ErrBadPattern, s)
			}
			p.variable = true
		case c == '.':
			p.elems = append(p.elems, element{set: anyDigit})
		case c == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return Pattern{}, fmt.Errorf("%w: %q: unclosed [", ErrBadPattern, s)
			}
			set, err := parseSet(s[i+1 : i+end])
			if err != nil {
				return Pattern{}, fmt.Errorf("%w: %q: %v", ErrBadPattern, s, err)
			}
			p.elems = append(p.elems, element{set: set})
			i += end
		default:
			d := digitIndex(c)
			if d < 0 {
				return Pattern{}, fmt.Errorf("%w: %q: unexpected %q", ErrBadPattern, s, c)
			}
			p.elems = append(p.elems, element{set: 1 << d})
			p.literals++
		}
	}
	return p, nil
}

// parseSet parses the inside of [...]: digits, ranges a-b, commas, leading ^.
func parseSet(body string) (uint16, error) {
	neg := false
	if strings.HasPrefix(body, "^") {
		neg = true
		body = body[1:]
	}
	var set uint16
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == ',' {
			continue
		}
		lo := digitIndex(c)
		if lo < 0 {
			return 0, fmt.Errorf("bad character %q in set", c)
		}
		if i+2 < len(body) && body[i+1] == '-' {
			hi := digitIndex(body[i+2])
			if hi < 0 || lo > 9 || hi > 9 || hi < lo {
				return 0, fmt.Errorf("bad range %q", body[i:i+3])
			}
			for d := lo; d <= hi; d++ {
				set |= 1 << d
			}
			i += 2
			continue
		}
		set |= 1 << lo
	}
	if neg {
		set = ^set & anyDigit
	}
	if set == 0 {
		return 0, errors.New("empty set")
	}
	return set, nil
}

// Match reports how digits relate to the pattern.
func (p Pattern) Match(digits string) Result {
	if len(p.elems) == 0 && !p.variable {
		return NoMatch
	}
	n := min(len(digits), len(p.elems))
	for i := range n {
		d := digitIndex(digits[i])
		if d < 0 || p.elems[i].set&(1<<d) == 0 {
			return NoMatch
		}
	}
	switch {
	case len(digits) < len(p.elems):
		return Partial
	case p.variable:
		for i := len(p.elems); i < len(digits); i++ {
			if d := digitIndex(digits[i]); d < 0 || d > 11 {
				return NoMatch
			}
		}
		return Ambiguous
	case len(digits) == len(p.elems):
		return Complete
	}
	return NoMatch
}
