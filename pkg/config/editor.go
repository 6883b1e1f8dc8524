package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cmed-project/cmed/pkg/cmdtree"
)

// frame is one level of the mode stack: a mode and the object it edits.
type frame struct {
	mode Mode
	tag  int    // ephone, DN, pool, dial-peer, rule tag
	name string // translation-profile name
}

// section is the Source key of the object the frame edits ("" for global).
func (f frame) section() string {
	switch f.mode {
	case ModeTelephony:
		return "telephony-service"
	case ModeEphone:
		return fmt.Sprintf("ephone %d", f.tag)
	case ModeEphoneDN:
		return fmt.Sprintf("ephone-dn %d", f.tag)
	case ModeEphoneDNTemplate:
		return fmt.Sprintf("ephone-dn-template %d", f.tag)
	case ModeVoiceService:
		return "voice service voip"
	case ModeVoiceServiceSIP:
		return "voice service voip|sip"
	case ModeRegisterGlobal:
		return "voice register global"
	case ModeRegisterDN:
		return fmt.Sprintf("voice register dn %d", f.tag)
	case ModeRegisterPool:
		return fmt.Sprintf("voice register pool %d", f.tag)
	case ModeSIPUA:
		return "sip-ua"
	case ModePresence:
		return "presence"
	case ModeDialPeer:
		return fmt.Sprintf("dial-peer voice %d", f.tag)
	case ModeTranslationRule:
		return fmt.Sprintf("voice translation-rule %d", f.tag)
	case ModeTranslationProfile:
		return "voice translation-profile " + f.name
	case ModeEphoneTemplate:
		return fmt.Sprintf("ephone-template %d", f.tag)
	case ModeRegisterTemplate:
		return fmt.Sprintf("voice register template %d", f.tag)
	case ModeEphoneHunt:
		return fmt.Sprintf("ephone-hunt %d", f.tag)
	case ModeVoiceHuntGroup:
		return fmt.Sprintf("voice hunt-group %d", f.tag)
	case ModeVoiceClassCodec:
		return fmt.Sprintf("voice class codec %d", f.tag)
	}
	return ""
}

// Editor applies config-mode lines to a working Config the way IOS does:
// it tracks the mode stack, and a command that the current sub-mode does not
// know is tried in the enclosing modes, switching context (docs/cme-cli.md §Modes:
// pasted configs work without `exit`). The CLI uses it for `configure
// terminal`; Parse replays startup-config through it.
//
// An Editor is not safe for concurrent use.
type Editor struct {
	cfg   *Config
	stack []frame // stack[0] is always global config
	done  bool    // `end`, or `exit` from global config

	// actions are reset/restart requests made by the lines executed since
	// the last TakeActions (see actions.go).
	actions []DeviceAction

	// Parse bookkeeping: the line being executed and where to record it.
	lineNo int
	src    *Source
	// hash hashes a secret typed in clear (ParseOptions.HashSecret); nil:
	// HashSecret.
	hash func(string) string
}

// NewEditor edits a copy of c (nil: an empty config) in global config mode.
func NewEditor(c *Config) *Editor {
	if c == nil {
		c = &Config{}
	}
	return &Editor{cfg: c.Clone(), stack: []frame{{mode: ModeGlobal}}}
}

// Config is a snapshot of the working config; the caller may keep it.
func (e *Editor) Config() *Config { return e.cfg.Clone() }

// Mode is the current configuration mode.
func (e *Editor) Mode() Mode { return e.stack[len(e.stack)-1].mode }

// Done reports that the last line left configuration mode (`end`, or
// `exit` at global level). The next Exec starts again in global config.
func (e *Editor) Done() bool { return e.done }

// Exec applies one config-mode line. Blank lines and `!` comments do
// nothing. On error the config and the mode are unchanged; parse errors are
// *cmdtree.Error (IOS wording and caret offset), others *CommandError.
func (e *Editor) Exec(line string) error {
	if e.done {
		e.done = false
		e.stack = e.stack[:1]
	}
	trimmed := strings.TrimSpace(line)
	if trimmed == "" || strings.HasPrefix(trimmed, "!") {
		return nil
	}
	m, depth, err := e.match(line)
	if err != nil {
		return err
	}
	return e.run(m, depth)
}

// run applies a matched line at stack depth.
func (e *Editor) run(m *cmdtree.Match, depth int) error {
	// Actions check everything before they change anything, so a failing
	// action leaves the config as it was; only the mode stack needs saving.
	// (Cloning per line would make Parse quadratic.)
	savedStack := append([]frame(nil), e.stack...)
	e.stack = e.stack[:depth+1]
	at := e.stack[depth]
	if err := m.Run(e); err != nil {
		e.stack = savedStack
		return err
	}
	e.record(m, at, depth)
	return nil
}

// match finds the innermost mode on the stack whose grammar accepts line.
// A mode where the first word is spelled out wins over an inner mode where
// it is only an abbreviation: `ephone 1` typed in ephone-dn mode is the
// global `ephone`, not an abbreviated `ephone-dn-template`.
// When no mode accepts the line, the error that got furthest into it is
// returned (ties: the innermost mode's).
func (e *Editor) match(line string) (*cmdtree.Match, int, error) {
	m, depth, _, err := e.matchUnknown(line)
	return m, depth, err
}

// matchUnknown is match that also reports whether the line is a command
// no mode on the stack knows (every mode's error is cmdtree's Unknown),
// as opposed to a known command with bad arguments.
func (e *Editor) matchUnknown(line string) (*cmdtree.Match, int, bool, error) {
	unknown := true
	var best *cmdtree.Error
	bestProgress := -1
	var abbrev *cmdtree.Match
	abbrevDepth := 0
	// kept is a match of a mode's keep-the-line catch-all (addExtra): it
	// is used only when no enclosing mode knows the line.
	var kept *cmdtree.Match
	keptDepth := 0
	for depth := len(e.stack) - 1; depth >= 0; depth-- {
		tree := grammar[e.stack[depth].mode]
		m, err := tree.Parse(line)
		if err == nil {
			first := m.Tokens[0]
			if depth > 0 && catchAll[tree][first.Node.Word] {
				if kept == nil {
					kept, keptDepth = m, depth
				}
				continue
			}
			if strings.EqualFold(first.Text, first.Node.Word) || len(e.stack) == 1 {
				return m, depth, false, nil
			}
			if abbrev == nil {
				abbrev, abbrevDepth = m, depth
			}
			continue
		}
		var ce *cmdtree.Error
		if !errors.As(err, &ce) {
			return nil, 0, false, err
		}
		unknown = unknown && ce.Unknown
		progress := ce.Offset
		if ce.Kind == cmdtree.Incomplete {
			progress = len(line) + 1
		}
		if progress > bestProgress || (progress == bestProgress && ce.Kind == cmdtree.Ambiguous && best.Kind == cmdtree.Invalid) {
			best, bestProgress = ce, progress
		}
	}
	if abbrev != nil {
		return abbrev, abbrevDepth, false, nil
	}
	if kept != nil {
		return kept, keptDepth, false, nil
	}
	if best.Kind == cmdtree.Invalid && firstWordOffset(line) == best.Offset {
		best.Hint = fmt.Sprintf("not a command in %s mode or global configuration", e.Mode())
		if e.Mode() == ModeGlobal {
			best.Hint = "not a global configuration command"
		}
	}
	return nil, 0, unknown, best
}

func firstWordOffset(line string) int {
	return len(line) - len(strings.TrimLeft(line, " \t"))
}

// record notes the line of the section entered and of the command, for
// Validate messages.
func (e *Editor) record(m *cmdtree.Match, at frame, depth int) {
	if e.src == nil || e.lineNo == 0 {
		return
	}
	put := func(k string) {
		if _, ok := e.src.Lines[k]; !ok {
			e.src.Lines[k] = e.lineNo
		}
	}
	if m.Negated() {
		return
	}
	if len(e.stack) > depth+1 { // the command entered a section
		put(e.top().section())
		return
	}
	sec := at.section()
	kw := m.Keyword(0)
	put(sec + "|" + kw)
	if a := m.Args(); len(a) > 0 {
		put(sec + "|" + kw + " " + a[0])
	}
}

// Help answers `?` at the end of line: from the current mode, or, when the
// line is not a command there (`ephone ?` typed in ephone-dn mode), from the
// enclosing mode that knows it, as Exec would run it. The text is IOS's
// two-column layout; errors are *cmdtree.Error from the current mode.
func (e *Editor) Help(line string) (string, error) {
	var first error
	var fallback []cmdtree.HelpItem
	word := ""
	if f := strings.Fields(line); len(f) > 0 && (len(f) > 1 || strings.HasSuffix(line, " ")) {
		word = strings.ToLower(f[0])
	}
	for depth := len(e.stack) - 1; depth >= 0; depth-- {
		t := grammar[e.stack[depth].mode]
		items, err := t.Help(line)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		// As in match: a first word spelled out in an enclosing mode wins
		// over an abbreviation in an inner one (`ephone ?` in ephone-dn
		// mode is about the global ephone command).
		if word == "" || hasKeyword(t, word) {
			return cmdtree.FormatHelp(items), nil
		}
		if fallback == nil {
			fallback = items
		}
	}
	if fallback != nil {
		return cmdtree.FormatHelp(fallback), nil
	}
	return "", first
}

func hasKeyword(t *cmdtree.Tree, word string) bool {
	for _, c := range t.Root().Children {
		if c.Param == nil && c.Word == word {
			return true
		}
	}
	return false
}

// Complete answers Tab in the current mode, falling back to the enclosing
// modes like Exec does.
func (e *Editor) Complete(line string) (string, bool) {
	for depth := len(e.stack) - 1; depth >= 0; depth-- {
		if s, ok := grammar[e.stack[depth].mode].Complete(line); ok {
			return s, true
		}
	}
	return "", false
}

// CommandError is a command that parsed but cannot be applied, worded like
// IOS ("% ...").
type CommandError struct {
	Msg  string
	Hint string
}

func (e *CommandError) Error() string { return "% " + e.Msg }

func cmdErr(hint, format string, a ...any) error {
	return &CommandError{Msg: fmt.Sprintf(format, a...), Hint: hint}
}

// extraOf is the list a section keeps its unmodelled sub-commands in.
func (e *Editor) extraOf(f frame) *[]string {
	c := e.cfg
	switch f.mode {
	case ModeTelephony:
		return &c.Telephony.Extra
	case ModeEphone:
		return &find(c.Ephones, f.tag, ephoneTag).Extra
	case ModeEphoneDN:
		return &find(c.EphoneDNs, f.tag, ephoneDNTag).Extra
	case ModeEphoneDNTemplate:
		return &find(c.EphoneDNTemplates, f.tag, templateTag).Extra
	case ModeVoiceService:
		return &c.VoiceService.Extra
	case ModeVoiceServiceSIP:
		return &c.VoiceService.SIPExtra
	case ModeRegisterGlobal:
		return &c.VoiceRegisterGlobal.Extra
	case ModeRegisterDN:
		return &find(c.VoiceRegisterDNs, f.tag, regDNTag).Extra
	case ModeRegisterPool:
		return &find(c.VoiceRegisterPools, f.tag, poolTag).Extra
	case ModeSIPUA:
		return &c.SIPUA.Extra
	case ModePresence:
		return &c.Presence.Extra
	case ModeDialPeer:
		return &find(c.DialPeers, f.tag, dialPeerTag).Extra
	case ModeTranslationRule:
		return &find(c.TranslationRules, f.tag, ruleTag).Extra
	case ModeTranslationProfile:
		i := slices.IndexFunc(c.TranslationProfiles, func(p TranslationProfile) bool { return p.Name == f.name })
		return &c.TranslationProfiles[i].Extra
	case ModeEphoneTemplate:
		return &find(c.EphoneTemplates, f.tag, phoneTemplateTag).Extra
	case ModeRegisterTemplate:
		return &find(c.VoiceRegisterTemplates, f.tag, phoneTemplateTag).Extra
	case ModeEphoneHunt:
		return &find(c.EphoneHunts, f.tag, huntTag).Extra
	case ModeVoiceHuntGroup:
		return &find(c.VoiceHuntGroups, f.tag, huntTag).Extra
	case ModeVoiceClassCodec:
		return &find(c.VoiceClassCodecs, f.tag, codecClassTag).Extra
	}
	return nil
}
