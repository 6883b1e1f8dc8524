package sip

import (
	"strings"
	"testing"
)

// TestLegEventKindNames: every kind has its own name for debug output,
// so the name table keeps up with the constants.
func TestLegEventKindNames(t *testing.T) {
	seen := map[string]legEventKind{}
	for k := evDialing; k <= evAnswerAnyway; k++ {
		name := k.String()
		if name == "" || strings.HasPrefix(name, "legEventKind(") {
			t.Errorf("kind %d has no name", k)
		}
		if o, dup := seen[name]; dup {
			t.Errorf("kinds %d and %d are both %q", o, k, name)
		}
		seen[name] = k
	}
	if got := legEventKind(0).String(); got != "legEventKind(0)" {
		t.Errorf("zero kind = %q", got)
	}
	if got := (evAnswerAnyway + 1).String(); got != "legEventKind(13)" {
		t.Errorf("kind past the table = %q", got)
	}
}
