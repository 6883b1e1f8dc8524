package dialplan

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cmed-project/cmed/pkg/config"
)

// ErrBadRule is wrapped by every translation-rule compile error.
var ErrBadRule = errors.New("dialplan: bad translation rule")

// maxRuleLen bounds a rule's match and replace strings; IOS limits the
// whole `rule` line far below this.
const maxRuleLen = 256

// Rule is one compiled `rule N /match/ /replace/` of a `voice
// translation-rule` (docs/cme-cli.md §Trunks-and-translation, Cisco IOS Voice Command Reference
// "rule (voice translation-rule)"). The match is an IOS regular
// expression: SED style, `\(` `\)` delimit a substring ("set"); the
// replacement may refer to sets with `\1`..`\9` and `\0` (the whole match).
// Only the first occurrence is replaced, as in sed without /g.
type Rule struct {
	Index   int
	Match   string
	Replace string
	re      *regexp.Regexp
	tmpl    string // Go regexp template
}

// CompileRule compiles one rule.
func CompileRule(index int, match, replace string) (Rule, error) {
	if len(match) > maxRuleLen || len(replace) > maxRuleLen {
		return Rule{}, fmt.Errorf("%w: rule %d too long", ErrBadRule, index)
	}
	var re strings.Builder
	for i := 0; i < len(match); i++ {
		c := match[i]
		if c == '\\' && i+1 < len(match) {
			n := match[i+1]
			i++
			switch n {
			case '(', ')':
				re.WriteByte(n) // IOS \( \) is a group
			default:
				re.WriteString(regexp.QuoteMeta(string(n)))
			}
			continue
		}
		re.WriteByte(c)
	}
	rx, err := regexp.Compile(re.String())
	if err != nil {
		return Rule{}, fmt.Errorf("%w: rule %d /%s/: %v", ErrBadRule, index, match, err)
	}
	var t strings.Builder
	for i := 0; i < len(replace); i++ {
		c := replace[i]
		switch {
		case c == '\\' && i+1 < len(replace) && replace[i+1] >= '0' && replace[i+1] <= '9':
			g := int(replace[i+1] - '0')
			if g > rx.NumSubexp() {
				return Rule{}, fmt.Errorf("%w: rule %d: \\%d without a matching set", ErrBadRule, index, g)
			}
			fmt.Fprintf(&t, "${%d}", g)
			i++
		case c == '\\' && i+1 < len(replace):
			t.WriteString(strings.ReplaceAll(string(replace[i+1]), "$", "$$"))
			i++
		case c == '$':
			t.WriteString("$$")
		default:
			t.WriteByte(c)
		}
	}
	return Rule{Index: index, Match: match, Replace: replace, re: rx, tmpl: t.String()}, nil
}

// Apply rewrites number if the rule matches it.
func (r Rule) Apply(number string) (string, bool) {
	if r.re == nil {
		return number, false
	}
	m := r.re.FindStringSubmatchIndex(number)
	if m == nil {
		return number, false
	}
	out := r.re.ExpandString(nil, r.tmpl, number, m)
	return number[:m[0]] + string(out) + number[m[1]:], true
}

// RuleSet is a `voice translation-rule TAG`: its rules by index; the
// first rule that matches is applied and the rest are skipped.
type RuleSet struct {
	Tag   int
	Rules []Rule
}

// Translate applies the first matching rule.
func (s *RuleSet) Translate(number string) (string, bool) {
	if s == nil {
		return number, false
	}
	for _, r := range s.Rules {
		if out, ok := r.Apply(number); ok {
			return out, true
		}
	}
	return number, false
}

// Field selects which number a translation profile rewrites (`translate
// called|calling|redirect-called RULE`).
type Field int

const (
	Called Field = iota + 1
	Calling
	RedirectCalled
)

// Translator holds the translation rules and profiles of a config
// snapshot.
type Translator struct {
	sets     map[int]*RuleSet
	profiles map[string]config.TranslationProfile
}

// NewTranslator compiles every `voice translation-rule` and indexes the
// `voice translation-profile`s. Rules that do not compile are reported and
// left out.
func NewTranslator(cfg *config.Config) (*Translator, []error) {
	t := &Translator{sets: map[int]*RuleSet{}, profiles: map[string]config.TranslationProfile{}}
	var errs []error
	for _, tr := range cfg.TranslationRules {
		set := &RuleSet{Tag: tr.Tag}
		for _, l := range tr.Rules {
			r, err := CompileRule(l.Index, l.Match, l.Replace)
			if err != nil {
				errs = append(errs, fmt.Errorf("voice translation-rule %d: %w", tr.Tag, err))
				continue
			}
			set.Rules = append(set.Rules, r)
		}
		slices.SortFunc(set.Rules, func(a, b Rule) int { return cmp.Compare(a.Index, b.Index) })
		t.sets[tr.Tag] = set
	}
	for _, p := range cfg.TranslationProfiles {
		t.profiles[p.Name] = p
	}
	return t, errs
}

// Rule returns a translation rule set by tag.
func (t *Translator) Rule(tag int) *RuleSet { return t.sets[tag] }

// Translate rewrites number with the rule profile names for field. An
// unknown profile, or one without a rule for the field, leaves the number
// as it is.
func (t *Translator) Translate(profile string, f Field, number string) string {
	p, ok := t.profiles[profile]
	if !ok {
		return number
	}
	tag := 0
	switch f {
	case Called:
		tag = p.Called
	case Calling:
		tag = p.Calling
	case RedirectCalled:
		tag = p.RedirectCalled
	}
	out, _ := t.sets[tag].Translate(number)
	return out
}
