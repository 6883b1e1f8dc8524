package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestCmedExtensions: `dnd-mode` and the dialing rules parse into the
// model, render back, and round-trip (docs/cme-behaviour.md §DND,
// §Dialing-rules).
func TestCmedExtensions(t *testing.T) {
	e := NewEditor(nil)
	mustExec(t, e,
		"dial-rule application 2 begins-with 1 num-digits 11 remove 1",
		"dial-rule application 1 num-digits 7 prefix 9",
		"dial-rule directory-lookup 1 begins-with 408902 num-digits 10 remove 5",
		"dial-rule directory-lookup 5 begins-with +1 prefix 0",
		"ephone 1", "mac-address 0011.2233.4401", "dnd-mode ringer-off",
		"voice register pool 1", "dnd-mode soft-phone")
	c := e.Config()
	wantApp := []DialRule{{Tag: 1, NumDigits: 7, Prefix: "9"}, {Tag: 2, BeginsWith: "1", NumDigits: 11, Remove: 1}}
	wantDir := []DialRule{{Tag: 1, BeginsWith: "408902", NumDigits: 10, Remove: 5}, {Tag: 5, BeginsWith: "+1", Prefix: "0"}}
	if d := cmp.Diff(wantApp, c.ApplicationDialRules); d != "" {
		t.Errorf("application rules (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantDir, c.DirectoryLookupRules); d != "" {
		t.Errorf("lookup rules (-want +got):\n%s", d)
	}
	if c.Ephones[0].DNDMode != DNDModeRingerOff || c.VoiceRegisterPools[0].DNDMode != DNDModeSoftPhone {
		t.Errorf("dnd-mode: ephone %q pool %q", c.Ephones[0].DNDMode, c.VoiceRegisterPools[0].DNDMode)
	}
	out := Render(c)
	for _, l := range []string{
		"dial-rule application 1 num-digits 7 prefix 9\n",
		"dial-rule application 2 begins-with 1 num-digits 11 remove 1\n",
		"dial-rule directory-lookup 1 begins-with 408902 num-digits 10 remove 5\n",
		"dial-rule directory-lookup 5 begins-with +1 prefix 0\n",
		" dnd-mode ringer-off\n", " dnd-mode soft-phone\n",
	} {
		if !strings.Contains(out, l) {
			t.Errorf("render lacks %q:\n%s", l, out)
		}
	}
	back, err := Parse("r", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(c, back, cmpopts.IgnoreFields(Config{}, "Source"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}

	// no forms remove; a bad digit string is refused.
	mustExec(t, e, "ephone 1", "no dnd-mode", "no dial-rule directory-lookup 5", "no dial-rule application 1",
		"no dial-rule application 2")
	c = e.Config()
	if c.Ephones[0].DNDMode != DNDModeCME || len(c.DirectoryLookupRules) != 1 || c.ApplicationDialRules != nil {
		t.Errorf("after no: mode %q dir %v app %v", c.Ephones[0].DNDMode, c.DirectoryLookupRules, c.ApplicationDialRules)
	}
	if err := e.Exec("dial-rule application 3 prefix 9x"); err == nil {
		t.Errorf("prefix 9x accepted")
	}
	if err := e.Exec("ephone 1"); err != nil {
		t.Fatal(err)
	}
	if err := e.Exec("dnd-mode loud"); err == nil {
		t.Errorf("dnd-mode loud accepted")
	}
}
