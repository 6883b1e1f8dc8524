package dialplan

import (
	"errors"
	"testing"

	"github.com/cmed-project/cmed/pkg/config"
)

func TestTranslationRule(t *testing.T) {
	tests := []struct {
		match, replace, in, want string
		ok                       bool
	}{
		{"^9", "", "95551234", "5551234", true},                                    // rule 1 /^9/ //
		{"^9", "", "85551234", "85551234", false},                                  // no match
		{"^5550105", "14085550105", "5550105", "14085550105", true},                // docs/cme-cli.md §Trunks-and-translation
		{`^\(555\)\(....\)`, `408\1\2`, "5551234", "4085551234", true},             // sets
		{`^\(...\)\(....\)$`, `\2`, "5551234", "1234", true},                       // keep the extension
		{"^.*", "1000", "2001", "1000", true},                                      // catch-all
		{"1", "9", "1111", "9111", true},                                           // first occurrence only
		{"^+1", "001", "+14085550100", "+14085550100", false},                      // + is a metachar
		{`^\+1`, "001", "+14085550100", "0014085550100", true},                     // escaped +
		{"^0", `\0\0`, "0123", "00123", true},                                      // whole match
		{"^9", "$1", "91", "$11", true},                                            // $ is literal
		{`^\(2\)`, `\1\1`, "2001", "22001", true},                                  // repeat a set
		{"^[2-4]..$", "8&", "300", "8&", true},                                     // & is literal in IOS
		{"^1001$", "2001", "10011", "10011", false},                                // anchored
		{`^\([0-9]*\)#$`, `\1`, "1234#", "1234", true},                             // strip trailing #
		{"^[^0]", "X", "0", "0", false},                                            // negated class
		{`^\(.\)`, `\1`, "", "", false},                                            // empty number
		{"", "9", "1234", "91234", true},                                           // empty match prefixes
		{"^1234$", "", "1234", "", true},                                           // delete all
		{"^9011", "+", "9011491234", "+491234", true},                              // international
		{"^\\(9\\)\\(1\\)", "\\2", "91408", "1408", true},                          // backslash sets
		{"^4089023139$", "23139", "4089023139", "23139", true},                     // docs/cme-behaviour.md §Dialing-rules
		{"^408902", "", "4089023139", "3139", true},                                // strip area code+prefix
		{"^\\(408\\)\\(90\\)\\(.....\\)$", "\\3", "4089023139", "23139", true},     // same with sets
		{"^\\(408\\)\\(90\\)\\(.....\\)$", "\\3", "408902313", "408902313", false}, // wrong length
	}
	for _, tt := range tests {
		r, err := CompileRule(1, tt.match, tt.replace)
		if err != nil {
			t.Fatalf("CompileRule(%q, %q): %v", tt.match, tt.replace, err)
		}
		got, ok := r.Apply(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("/%s/ /%s/ on %q = %q, %v; want %q, %v", tt.match, tt.replace, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTranslationRuleErrors(t *testing.T) {
	for _, r := range [][2]string{{"^(9", ""}, {"^9", `\1`}, {"[", ""}, {string(make([]byte, 300)), ""}} {
		if _, err := CompileRule(1, r[0], r[1]); !errors.Is(err, ErrBadRule) {
			t.Errorf("CompileRule(%q, %q) err = %v", r[0], r[1], err)
		}
	}
}

func TestTranslator(t *testing.T) {
	cfg := &config.Config{
		TranslationRules: []config.TranslationRule{
			{Tag: 1, Rules: []config.TranslationRuleLine{
				{Index: 2, Match: "^9", Replace: ""},
				{Index: 1, Match: "^91", Replace: "+1"},
			}},
			{Tag: 2, Rules: []config.TranslationRuleLine{{Index: 1, Match: "^....$", Replace: "408555&"}}},
			{Tag: 3, Rules: []config.TranslationRuleLine{{Index: 1, Match: "^(", Replace: ""}}},
		},
		TranslationProfiles: []config.TranslationProfile{{Name: "out", Called: 1, Calling: 2}},
	}
	tr, errs := NewTranslator(cfg)
	if len(errs) != 1 {
		t.Fatalf("errs = %v, want one (rule 3)", errs)
	}
	tests := []struct {
		profile string
		f       Field
		in      string
		want    string
	}{
		{"out", Called, "914085550100", "+14085550100"}, // rule index 1 first
		{"out", Called, "95550100", "5550100"},
		{"out", Called, "5550100", "5550100"},
		{"out", Calling, "1001", "408555&"},
		{"out", RedirectCalled, "91", "91"}, // no rule for the field
		{"none", Called, "91", "91"},
	}
	for _, tt := range tests {
		if got := tr.Translate(tt.profile, tt.f, tt.in); got != tt.want {
			t.Errorf("Translate(%s, %d, %q) = %q, want %q", tt.profile, tt.f, tt.in, got, tt.want)
		}
	}
	if tr.Rule(3) == nil || len(tr.Rule(3).Rules) != 0 {
		t.Errorf("bad rule kept: %+v", tr.Rule(3))
	}
}

// TestDialRules encodes the examples of docs/cme-behaviour.md
// §Dialing-rules.
func TestDialRules(t *testing.T) {
	appRules := []DialRule{
		{NumDigits: 7, Prefix: "9"},                      // 9 before 7-digit numbers
		{BeginsWith: "1", NumDigits: 10, Remove: 6},      // outbound: remove area code (1234567890 -> 7890)
		{BeginsWith: "1800", NumDigits: 11, Prefix: "9"}, // toll-free via the outside line
	}
	lookupRules := []DialRule{
		{BeginsWith: "408", NumDigits: 10, Remove: 5},     // 4089023139 -> 23139
		{BeginsWith: "7", NumDigits: 4, Prefix: "123456"}, // 7890 -> 1234567890 (DID in AD)
	}
	tests := []struct {
		name  string
		rules []DialRule
		in    string
		want  string
	}{
		{"keypad letters", nil, "1800-GOTMILK", "18004686455"},
		{"keypad lower case", nil, "1-800-gotmilk", "18004686455"},
		{"punctuation removed", nil, "(408) 902-3139", "4089023139"},
		{"plus kept", nil, "+1 (408) 555-0100", "+14085550100"},
		{"seven digits get 9", appRules, "555-0100", "95550100"},
		{"area code removed", appRules, "123-456-7890", "7890"},
		{"letters then rule", appRules, "1800-GOTMILK", "918004686455"},
		{"no rule matches", appRules, "4089023139", "4089023139"},
		{"directory lookup", lookupRules, "4089023139", "23139"},
		{"directory lookup other area", lookupRules, "6505551234", "6505551234"},
		{"directory lookup extension", lookupRules, "7890", "1234567890"},
		{"remove more than length", []DialRule{{Remove: 9}}, "123", ""},
	}
	for _, tt := range tests {
		got := ApplyDialRules(tt.rules, tt.in)
		if tt.rules != nil && tt.rules[0].BeginsWith == "408" {
			got = DirectoryLookup(tt.rules, tt.in)
		}
		if got != tt.want {
			t.Errorf("%s: %q -> %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestDialPeers(t *testing.T) {
	p, _ := FromConfig(&config.Config{DialPeers: []config.DialPeer{
		{Tag: 1, DestinationPattern: "9T", Preference: 1},
		{Tag: 2, DestinationPattern: "9T", Preference: 0},
		{Tag: 3, DestinationPattern: "91408.......", Preference: 5},
		{Tag: 4, DestinationPattern: "8T"},
	}})
	got := p.DialPeers("914085550100")
	var tags []int
	for _, t := range got {
		tags = append(tags, t.Tag)
	}
	if len(tags) != 3 || tags[0] != 3 || tags[1] != 2 || tags[2] != 1 {
		t.Errorf("hunt order %v, want [3 2 1]", tags)
	}
	if got := p.DialPeers("7"); len(got) != 0 {
		t.Errorf("no-match peers %v", got)
	}
}

// FuzzTranslationRule: compiling and applying arbitrary rules never
// panics, a non-matching rule leaves the number alone, and the result is
// bounded (one replacement, sets of at most the whole number).
func FuzzTranslationRule(f *testing.F) {
	f.Add("^9", "", "95551234")
	f.Add(`^\(555\)\(....\)`, `408\1\2`, "5551234")
	f.Add("^.*", "1000", "2001")
	f.Add(`^\(.\)\1`, `\1`, "11")
	f.Fuzz(func(t *testing.T, match, replace, number string) {
		r, err := CompileRule(1, match, replace)
		if err != nil {
			return
		}
		out, ok := r.Apply(number)
		if !ok && out != number {
			t.Fatalf("no match but %q -> %q", number, out)
		}
		if len(out) > len(number)+len(replace)*(len(number)+1)+len(replace) {
			t.Fatalf("result too long: %d from %d/%d", len(out), len(number), len(replace))
		}
	})
}

// FuzzDialRules: normalising never yields anything but digits (and a
// leading +), and is idempotent.
func FuzzDialRules(f *testing.F) {
	f.Add("1800-GOTMILK")
	f.Add("+1 (408) 902-3139")
	f.Fuzz(func(t *testing.T, s string) {
		n := KeypadDigits(s)
		for i := 0; i < len(n); i++ {
			if (n[i] < '0' || n[i] > '9') && !(i == 0 && n[i] == '+') {
				t.Fatalf("%q -> %q", s, n)
			}
		}
		if KeypadDigits(n) != n {
			t.Fatalf("not idempotent: %q", s)
		}
	})
}
