package config

import (
	"fmt"
	"strings"

	"github.com/cmed-project/cmed/pkg/cmdtree"
)

// cmed's own configuration commands that CME does not have, registered on
// the same command trees as the CME grammar (grammar.go):
//
//   - `dnd-mode {call-reject|ringer-off|soft-phone}` under `ephone` and
//     `voice register pool`: the CallManager-style DND of the seed table
//     instead of CME's (docs/cme-behaviour.md §DND).
//   - `dial-rule application N ...` and `dial-rule directory-lookup N ...` in
//     global configuration: application dialing rules and directory
//     lookup rules (docs/cme-behaviour.md §Dialing-rules).
//   - `ip http pprof` in global configuration: Go's profiler on the HTTP
//     listener, for loopback clients only (docs/architecture.md §Profiling).

// DNDMode selects how a phone in do-not-disturb treats an offered call
// (docs/cme-behaviour.md §DND). The zero value is CME's DND.
type DNDMode string

const (
	DNDModeCME        DNDMode = ""            // CME: no ring, call shown and answerable
	DNDModeCallReject DNDMode = "call-reject" // not presented; all sharers in DND: CFB
	DNDModeRingerOff  DNDMode = "ringer-off"  // presented silently; unanswered: CFNA, else busy
	DNDModeSoftPhone  DNDMode = "soft-phone"  // not presented; all sharers in DND: CFNA, else busy
)

// DialRule is one application dial rule or directory lookup rule: a number
// that starts with BeginsWith ("" any) and has NumDigits digits (0 any)
// loses its first Remove digits and gets Prefix in front.
type DialRule struct {
	Tag        int
	BeginsWith string
	NumDigits  int
	Remove     int
	Prefix     string
}

func dialRuleTag(x *DialRule) int { return x.Tag }

// String is the rule's arguments as `show running-config` prints them.
func (r DialRule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", r.Tag)
	if r.BeginsWith != "" {
		b.WriteString(" begins-with " + r.BeginsWith)
	}
	if r.NumDigits != 0 {
		fmt.Fprintf(&b, " num-digits %d", r.NumDigits)
	}
	if r.Remove != 0 {
		fmt.Fprintf(&b, " remove %d", r.Remove)
	}
	if r.Prefix != "" {
		b.WriteString(" prefix " + r.Prefix)
	}
	return b.String()
}

func init() { addCmedExtensions(&grammar) }

func addCmedExtensions(g *[numModes]*cmdtree.Tree) {
	const modes = "{call-reject|ringer-off|soft-phone}"
	modeHelp := []string{"dnd-mode", "DND behaviour (cmed extension)",
		"call-reject", "Calls are not presented; all sharers in DND forward busy",
		"ringer-off", "Calls are presented without ringing",
		"soft-phone", "Calls are not presented; all sharers in DND forward no-answer"}
	e := g[ModeEphone]
	e.Describe(modeHelp...)
	e.MustAdd("dnd-mode ! "+modes, act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.ephone().DNDMode, DNDMode(m.Keyword(1)))
		return nil
	}))
	p := g[ModeRegisterPool]
	p.Describe(modeHelp...)
	p.MustAdd("dnd-mode ! "+modes, act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.pool().DNDMode, DNDMode(m.Keyword(1)))
		return nil
	}))

	gl := g[ModeGlobal]
	gl.Describe("dial-rule", "Application dialing and directory lookup rules (cmed extension)",
		"application", "Rule for numbers dialled from call lists and directories",
		"directory-lookup", "Rule for incoming caller numbers",
		"begins-with", "Leading digits the number starts with", "num-digits", "Number of digits the number has",
		"remove", "Leading digits to remove", "prefix", "Digits to put in front")
	const rule = " <1-100> ! [begins-with WORD] [num-digits <1-32>] [remove <1-32>] [prefix WORD]"
	addRule := func(kw string, get func(c *Config) *[]DialRule) {
		gl.MustAdd(kw+rule, act(func(e *Editor, m *cmdtree.Match) error {
			rules := get(e.cfg)
			tag := m.Int(0)
			if m.Negated() {
				*rules = removeKey(*rules, tag, dialRuleTag)
				if len(*rules) == 0 {
					*rules = nil
				}
				return nil
			}
			r := DialRule{Tag: tag}
			r.BeginsWith, _ = m.After("begins-with")
			r.Prefix, _ = m.After("prefix")
			for _, d := range []string{r.BeginsWith, r.Prefix} {
				if !isDialDigits(d) {
					return fmt.Errorf("%% Invalid digits %q: use 0-9, * and # (a leading + is allowed)", d)
				}
			}
			if n, ok := m.After("num-digits"); ok {
				r.NumDigits = atoi(n)
			}
			if n, ok := m.After("remove"); ok {
				r.Remove = atoi(n)
			}
			*rules = upsert(*rules, r, dialRuleTag)
			return nil
		}), "<1-100>=Rule tag (rules are tried in tag order)", "WORD=Digits")
	}
	addRule("dial-rule application", func(c *Config) *[]DialRule { return &c.ApplicationDialRules })
	addRule("dial-rule directory-lookup", func(c *Config) *[]DialRule { return &c.DirectoryLookupRules })

	gl.Describe("pprof", "Serve Go profiles on /debug/pprof to loopback clients (cmed extension)")
	gl.MustAdd("ip http pprof", act(func(e *Editor, m *cmdtree.Match) error {
		e.cfg.Services.HTTPPprof = !m.Negated()
		return nil
	}))
}

// isDialDigits accepts "" and dial digits with an optional leading '+'.
func isDialDigits(s string) bool {
	for i, c := range s {
		if !(c >= '0' && c <= '9' || c == '*' || c == '#' || c == '+' && i == 0) {
			return false
		}
	}
	return true
}

// renderDialRules prints the dialing rules as one section.
func renderDialRules(r *renderer, c *Config) {
	r.section("dial-rule", func() {
		for _, d := range c.ApplicationDialRules {
			r.line("dial-rule application %s", d)
		}
		for _, d := range c.DirectoryLookupRules {
			r.line("dial-rule directory-lookup %s", d)
		}
	})
}
