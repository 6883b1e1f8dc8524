package config

import "testing"

// TestFACs: `fac standard` puts the standard codes in force, `fac custom`
// adds or replaces one; the lines round-trip as typed; Match takes a
// call-forward target after **1 only.
func TestFACs(t *testing.T) {
	cfg, err := Parse("t", []byte("telephony-service\n fac standard\n fac custom callfwd-cancel *#2\n fac custom dnd *#9\n"))
	if err != nil {
		t.Fatal(err)
	}
	tab := cfg.Telephony.FACs()
	for _, tc := range []struct {
		number string
		f      FACFeature
		arg    string
		ok     bool
	}{
		{"**12001", FACCallForward, "2001", true},
		{"**1", FACCallForward, "", true},
		{"*#2", FACCallForwardCancel, "", true},
		{"**2", "", "", false}, // replaced by the custom code
		{"*#9", FACDND, "", true},
		{"*#91", "", "", false},
		{"2001", "", "", false},
	} {
		f, arg, ok := tab.Match(tc.number)
		if f != tc.f || arg != tc.arg || ok != tc.ok {
			t.Errorf("Match(%q) = %q %q %v, want %q %q %v", tc.number, f, arg, ok, tc.f, tc.arg, tc.ok)
		}
	}
	if got := (&Telephony{}).FACs(); got != nil {
		t.Errorf("no fac lines: %v", got)
	}
}
