package dialplan

import (
	"errors"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, digits string
		want            Result
	}{
		{"1001", "", Partial},
		{"1001", "1", Partial},
		{"1001", "100", Partial},
		{"1001", "1001", Complete},
		{"1001", "10011", NoMatch},
		{"1001", "2", NoMatch},
		{"10..", "1099", Complete},
		{"10..", "10*#", Complete},
		{"10..", "109", Partial},
		{"1[0-3]0", "120", Complete},
		{"1[0-3]0", "140", NoMatch},
		{"1[0-3,7]0", "170", Complete},
		{"1[^0-3]0", "120", NoMatch},
		{"1[^0-3]0", "150", Complete},
		{"1[135]", "13", Complete},
		{"1[135]", "12", NoMatch},
		{"9T", "9", Ambiguous},
		{"9T", "", Partial},
		{"9T", "95551234", Ambiguous},
		{"9T", "8", NoMatch},
		{"T", "", Ambiguous},
		{"+4930", "+4930", Complete},
		{"1001", "10a1", NoMatch},
	}
	for _, tt := range tests {
		p, err := Compile(tt.pattern)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.pattern, err)
		}
		if got := p.Match(tt.digits); got != tt.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tt.pattern, tt.digits, got, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, s := range []string{"", "1T2", "1[2", "1[]", "1[9-0]", "1x", "[a]", "[^0-9*#]"} {
		if _, err := Compile(s); !errors.Is(err, ErrBadPattern) {
			t.Errorf("Compile(%q) err = %v, want ErrBadPattern", s, err)
		}
	}
}

func TestPlanLookup(t *testing.T) {
	cfg := &config.Config{
		Telephony: &config.Telephony{TimeoutsInterdigit: 5},
		EphoneDNs: []config.EphoneDN{
			{Tag: 1, Number: "1001"}, {Tag: 2, Number: "1002", Secondary: "5002"}, {Tag: 3, Number: "100"},
		},
		VoiceRegisterDNs: []config.VoiceRegisterDN{{Tag: 1, Number: "2001"}},
		DialPeers: []config.DialPeer{
			{Tag: 10, DestinationPattern: "9T"},
			{Tag: 11, DestinationPattern: "2..."},
			{Tag: 12, DestinationPattern: "bad["},
		},
	}
	p, errs := FromConfig(cfg)
	if len(errs) != 1 {
		t.Fatalf("errs = %v, want one (dial-peer 12)", errs)
	}
	tests := []struct {
		digits string
		want   Result
		kind   TargetKind
		tag    int
	}{
		{"1", Partial, 0, 0},
		{"10", Partial, 0, 0},
		{"100", Ambiguous, TargetDN, 3}, // 100 complete, 1001 possible
		{"1001", Complete, TargetDN, 1},
		{"5002", Complete, TargetDN, 2},
		{"2001", Complete, TargetDN, 1}, // DN beats dial-peer 2...
		{"2002", Complete, TargetDialPeer, 11},
		{"955", Ambiguous, TargetDialPeer, 10},
		{"3", NoMatch, 0, 0},
		{"100#", Complete, TargetDN, 3},
		{"10#", NoMatch, 0, 0},
	}
	for _, tt := range tests {
		m := p.Lookup(tt.digits)
		if m.Result != tt.want || m.Target.Kind != tt.kind || m.Target.Tag != tt.tag {
			t.Errorf("Lookup(%q) = %+v, want %v kind %v tag %d", tt.digits, m, tt.want, tt.kind, tt.tag)
		}
		if (m.Result == Partial || m.Result == Ambiguous) && m.Timeout != 5*time.Second {
			t.Errorf("Lookup(%q).Timeout = %v, want 5s", tt.digits, m.Timeout)
		}
	}
	if m := p.Expire("100"); m.Result != Complete || m.Target.Number != "100" {
		t.Errorf("Expire(100) = %+v", m)
	}
	if m := p.Expire("10"); m.Result != NoMatch {
		t.Errorf("Expire(10) = %+v", m)
	}
	if got := len(p.Entries()); got != 7 {
		t.Errorf("Entries = %d, want 7", got)
	}
}

func TestDefaultInterdigit(t *testing.T) {
	p, _ := FromConfig(&config.Config{EphoneDNs: []config.EphoneDN{{Tag: 1, Number: "1001"}}})
	if got := p.Lookup("1").Timeout; got != 10*time.Second {
		t.Errorf("default interdigit = %v, want 10s", got)
	}
}

// FuzzCompile checks that Compile never panics and that a compiled pattern
// matches consistently: a Complete/Ambiguous string's prefixes are never
// NoMatch.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"1001", "9T", "1[0-3,7]0", "[^5].", "+49..T"} {
		f.Add(s, "1001")
	}
	f.Fuzz(func(t *testing.T, pattern, digits string) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		r := p.Match(digits)
		if r == Complete || r == Ambiguous {
			for i := range len(digits) {
				if p.Match(digits[:i]) == NoMatch {
					t.Fatalf("%q: %q matches but prefix %q does not", pattern, digits, digits[:i])
				}
			}
		}
	})
}
