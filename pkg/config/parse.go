package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cmed-project/cmed/pkg/cmdtree"
)

// MaxErrors caps how many errors Parse and Validate report.
const MaxErrors = 20

// Error is one problem in a config file.
type Error struct {
	File string
	Line int // 0 when unknown (a Config built in code)
	Msg  string
}

// Error reads "FILE:LINE: message", leaving out what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found, one per line in Error().
type ErrorList []*Error

func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap lets errors.As reach the individual errors.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

func (l *ErrorList) add(e *Error) bool {
	if len(*l) == MaxErrors {
		*l = append(*l, &Error{File: e.File, Msg: "too many errors; stopping"})
		return false
	}
	if len(*l) > MaxErrors {
		return false
	}
	*l = append(*l, e)
	return true
}

// Parse reads startup-config text, or a whole `show running-config` copied
// from a router, into a Config. Lines are replayed in config mode exactly
// as if typed (IOS context rules decide the section, so indentation is
// optional for what cmed models, except that a `!` at the margin ends the
// section before it, as show running-config prints them); `end` stops
// reading. Parse does not call Validate.
//
// What cmed does not model is kept, not refused, so that the config of the
// router being replaced loads whole:
//
//   - The show-command header (`Building configuration...`, `Current
//     configuration : N bytes`) is output, not configuration: it is
//     skipped, and RenderRunning prints a fresh one.
//   - A top-level line no mode knows (`version 15.1`, `interface
//     FastEthernet0/0`, `ip route ...`, `voice-port 0/0/0`, `line vty 0 4`)
//     is kept verbatim together with the indented lines under it, which are
//     not parsed at all. A `banner` runs to its closing delimiter (`^C` or
//     the character after the banner type), blank lines included.
//     Consecutive kept lines form one Block, with a "!" entry where a `!`
//     line stood between them.
//   - Each Block remembers the modelled section it followed (Block.After).
//     Render prints it right after that section, so kept lines keep their
//     place relative to the sections around them as far as cmed's fixed
//     section order (the order of show running-config) allows; blocks that
//     stood before every modelled section come first. Blocks after the same
//     section are merged, in file order.
//   - An indented line that no mode knows, inside a modelled section (an
//     unknown sub-command of telephony-service, say), is kept verbatim in
//     that section's Extra, after the section's modelled commands.
//
// A line that names a command cmed models but gets its arguments wrong
// (`number hello`, `mac-address 0012.7F57`, `ephone-dn abc`) is an error,
// as are ambiguous abbreviations, incomplete commands and an unclosed
// banner. All errors (up to MaxErrors) are returned as an ErrorList whose
// lines read `FILE:LINE: message - hint`; the Config is nil then.
func Parse(filename string, text []byte) (*Config, error) {
	return ParseWithOptions(filename, text, ParseOptions{})
}

// ParseOptions change how Parse stores what it reads.
type ParseOptions struct {
	// HashSecret hashes a secret typed in clear (`enable secret WORD`,
	// `username NAME secret 0 WORD`); it must return a type 5, 8 or 9
	// hash ("$8$SALT$HASH", see secret.go). nil: HashSecret, PBKDF2 with
	// 20000 rounds, which is what a secret deserves and what makes a
	// fuzzer crawl: FuzzParse passes a cheap stand-in.
	HashSecret func(clear string) string
}

// ParseWithOptions is Parse with opts.
func ParseWithOptions(filename string, text []byte, opts ParseOptions) (*Config, error) {
	l := &loader{e: NewEditor(nil)}
	l.e.hash = opts.HashSecret
	l.e.src = &Source{File: filename, Lines: map[string]int{}}
	var errs ErrorList
	for i, raw := range strings.Split(string(text), "\n") {
		raw = strings.TrimRight(raw, "\r")
		// A stray carriage return, vertical tab or form feed inside a line
		// is white space; left in, it hid an abbreviation on the first
		// parse but not on the second (FuzzParse findings: the CLI's
		// tokenizer splits on space and tab only, while the indentation
		// and blank-line checks trimmed every kind of white space).
		raw = otherBlanks.Replace(raw)
		l.e.lineNo = i + 1
		if err := l.line(raw); err != nil {
			if !errs.add(&Error{File: filename, Line: i + 1, Msg: Describe(raw, err)}) {
				break
			}
		}
		if l.e.done {
			break
		}
	}
	if l.delim != "" && len(errs) <= MaxErrors {
		errs.add(&Error{File: filename, Line: l.bannerLine,
			Msg: fmt.Sprintf("banner is not closed - end its text with %s", l.delim)})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	c := l.e.cfg
	c.Unmodelled = normalizeBlocks(c, l.blocks)
	c.Source = l.e.src
	return c, nil
}

// loader is Parse's state between lines.
type loader struct {
	e      *Editor
	blocks []Block
	open   bool   // no modelled top-level command since the last kept line
	inside bool   // indented lines belong to the last kept top-level line
	bang   bool   // a `!` line came after the last kept line
	closed bool   // the last non-blank line was a `!` at the margin
	anchor string // RenderKeys key of the last modelled top-level section
	// delim is the closing delimiter of the banner being read ("" when
	// not in a banner); bannerLine is where it started.
	delim      string
	bannerLine int
}

// otherBlanks turns the ASCII white space the tokenizer does not split on
// into spaces.
var otherBlanks = strings.NewReplacer("\r", " ", "\v", " ", "\f", " ")

var showHeader = regexp.MustCompile(`^(Building configuration\.\.\.|Current configuration\s*:\s*\d+\s*bytes)$`)

func (l *loader) line(raw string) error {
	if l.delim != "" {
		l.keep(raw)
		if strings.Contains(raw, l.delim) {
			l.delim = ""
		}
		return nil
	}
	// Blank as the tokenizer sees it (space and tab), so that what is
	// kept verbatim reads back the same.
	trimmed := strings.Trim(raw, " \t")
	if trimmed == "" {
		return nil
	}
	indent := len(raw) - len(strings.TrimLeft(raw, " \t"))
	if trimmed[0] == '!' {
		if indent > 0 && l.inside {
			l.keep(raw) // a separator inside a kept section (router bgp ...)
			return nil
		}
		l.bang, l.inside = true, false
		l.closed = indent == 0
		return nil
	}
	closed := l.closed
	l.closed = false
	if indent == 0 && closed {
		// A `!` at the margin ends the section before it, as in every
		// show running-config: the unindented line after it is a global
		// command. Without this a kept global line printed after a
		// section read back as that section's sub-command (a FuzzParse
		// finding: "A" after voice service voip, incomplete there).
		l.e.stack = l.e.stack[:1]
	}
	if indent > 0 && l.inside {
		l.keep(raw)
		return nil
	}
	if indent == 0 && showHeader.MatchString(trimmed) {
		return nil
	}
	m, depth, unknown, err := l.e.matchUnknown(raw)
	if err == nil {
		err = l.e.run(m, depth)
		var ke *keptError
		if errors.As(err, &ke) {
			err, unknown = nil, true
		} else if err == nil {
			if depth == 0 {
				l.modelled(m)
			}
			l.open, l.inside = false, false
			return nil
		}
	}
	if err != nil && !unknown {
		return err
	}
	base := len(l.e.stack) - 1
	if indent == 0 || base == 0 {
		l.topLevel(raw)
		return nil
	}
	// An unknown sub-command: keep it in the section its indentation puts
	// it in, with the indentation beyond that section's own.
	d := min(indent, base)
	if p := l.e.extraOf(l.e.stack[d]); p != nil {
		text := strings.Repeat(" ", indent-d) + trimmed
		if !slices.Contains(*p, text) {
			*p = append(*p, text)
		}
	}
	return nil
}

// modelled notes a modelled global command: kept lines that follow are
// anchored after its section.
func (l *loader) modelled(m *cmdtree.Match) {
	if len(l.e.stack) > 1 {
		l.anchor = l.e.top().section()
		return
	}
	if k, ok := globalKeys[m.Keyword(0)]; ok && !m.Negated() {
		l.anchor = k
	}
}

// globalKeys map single-line global commands to their RenderKeys section.
var globalKeys = map[string]string{"hostname": "hostname", "enable": "enable secret", "username": "username",
	"ip": "ip", "tftp-server": "tftp-server", "limit": "limit"}

func (l *loader) topLevel(raw string) {
	l.e.stack = l.e.stack[:1] // IOS would be in the kept line's own mode now
	if l.open && len(l.blocks) > 0 {
		b := &l.blocks[len(l.blocks)-1]
		if l.bang {
			b.Lines = append(b.Lines, "!")
		}
		b.Lines = append(b.Lines, raw)
	} else {
		// A new block starts at the margin whatever its indentation was:
		// show running-config prints it as a top-level line, and an
		// indented first line would read back as a sub-command of the
		// section printed before it (a FuzzParse finding).
		l.blocks = append(l.blocks, Block{After: l.anchor, Lines: []string{strings.TrimLeft(raw, " \t")}})
	}
	l.open, l.inside, l.bang = true, true, false
	if d, closed := bannerDelim(raw); d != "" && !closed {
		l.delim, l.bannerLine = d, l.e.lineNo
	}
}

func (l *loader) keep(raw string) {
	b := &l.blocks[len(l.blocks)-1]
	b.Lines = append(b.Lines, raw)
}

// bannerDelim finds the delimiter of a `banner [TYPE] D text D` line and
// whether the text is closed on the same line. IOS shows the ETX
// delimiter as the two characters ^C.
func bannerDelim(line string) (delim string, closed bool) {
	rest := strings.TrimLeft(line, " \t")
	if len(rest) < 6 || !strings.EqualFold(rest[:6], "banner") {
		return "", false
	}
	rest = strings.TrimLeft(rest[6:], " \t")
	if j := strings.IndexAny(rest, " \t"); j > 0 && strings.Trim(rest[:j], "abcdefghijklmnopqrstuvwxyz-") == "" {
		rest = strings.TrimLeft(rest[j:], " \t")
	}
	if rest == "" {
		return "", false
	}
	switch {
	case strings.HasPrefix(rest, "^C"):
		delim = "^C"
	default:
		_, n := utf8.DecodeRuneInString(rest)
		delim = rest[:n]
	}
	return delim, strings.Contains(rest[len(delim):], delim)
}

// normalizeBlocks puts kept blocks in the order Render prints them, so
// that Parse(Render(c)) gives the same blocks back: a block whose section
// no longer exists moves after the last section, blocks are ordered by
// their section's place, and blocks after the same section are merged.
func normalizeBlocks(c *Config, blocks []Block) []Block {
	if len(blocks) == 0 {
		return nil
	}
	saved := c.Unmodelled
	c.Unmodelled = nil
	keys := RenderKeys(c)
	c.Unmodelled = saved
	pos := map[string]int{"": -1}
	for i, k := range keys {
		pos[k] = i
	}
	last := ""
	if len(keys) > 0 {
		last = keys[len(keys)-1]
	}
	for i := range blocks {
		if _, ok := pos[blocks[i].After]; !ok {
			blocks[i].After = last
		}
	}
	slices.SortStableFunc(blocks, func(a, b Block) int { return pos[a.After] - pos[b.After] })
	out := blocks[:1]
	for _, b := range blocks[1:] {
		if prev := &out[len(out)-1]; prev.After == b.After {
			prev.Lines = append(append(prev.Lines, "!"), b.Lines...)
			continue
		}
		out = append(out, b)
	}
	return out
}

// Describe words an Exec error for a log or a config-file report: the IOS
// message, the command, and a hint what to do, e.g.
//
//	% Invalid input detected at '^' marker: "mac-address 0012.7F57.62" - a MAC is H.H.H, e.g. 0012.7F57.62A5
func Describe(line string, err error) string {
	cmd := strings.TrimSpace(line)
	var ce *cmdtree.Error
	if errors.As(err, &ce) {
		msg := strings.TrimSuffix(ce.Error(), ".")
		if ce.Kind == cmdtree.Ambiguous {
			msg = "% Ambiguous command"
		}
		s := fmt.Sprintf("%s: %q", msg, cmd)
		if ce.Kind == cmdtree.Invalid {
			s += fmt.Sprintf(" at column %d", ce.Offset-firstWordOffset(line)+1)
		}
		if ce.Hint != "" {
			s += " - " + ce.Hint
		}
		return s
	}
	var me *CommandError
	if errors.As(err, &me) {
		s := fmt.Sprintf("%s: %q", me.Error(), cmd)
		if me.Hint != "" {
			s += " - " + me.Hint
		}
		return s
	}
	return fmt.Sprintf("%v: %q", err, cmd)
}
