package config

import (
	"errors"
	"fmt"
	"strings"

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

// Parse reads startup-config text into a Config. Lines are replayed in
// config mode exactly as if typed (IOS context rules decide the section, so
// indentation is optional); blank lines and `!` lines are skipped, and
// `end` stops reading. All errors (up to MaxErrors) are returned as an
// ErrorList whose lines read `FILE:LINE: message - hint`; the Config is nil
// then. Parse does not call Validate.
func Parse(filename string, text []byte) (*Config, error) {
	e := NewEditor(nil)
	e.src = &Source{File: filename, Lines: map[string]int{}}
	var errs ErrorList
	for i, raw := range strings.Split(string(text), "\n") {
		raw = strings.TrimRight(raw, "\r")
		e.lineNo = i + 1
		if err := e.Exec(raw); err != nil {
			if !errs.add(&Error{File: filename, Line: i + 1, Msg: Describe(raw, err)}) {
				break
			}
		}
		if e.done {
			break
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	c := e.cfg
	c.Source = e.src
	return c, nil
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
