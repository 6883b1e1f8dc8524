package daemon_test

import (
	"strings"
	"testing"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
)

// TestReadmeWalkthroughOnTheDefaultConfig runs the README's "Try it"
// commands against the embedded default office: adding ephone-dn 40 must
// work there as typed, and survive write memory and a restart.
func TestReadmeWalkthroughOnTheDefaultConfig(t *testing.T) {
	dir := t.TempDir()
	inst := cmedtest.StartIn(t, dir, configs.Default)
	out := inst.CLI(t, "conf t", "ephone-dn 40", "number 1040", "allow watch", "end", "write memory")
	if strings.Contains(out, "%") || !strings.Contains(out, "[OK]") {
		t.Fatalf("walkthrough failed:\n%s", out)
	}
	if err := inst.Stop(); err != nil {
		t.Fatal(err)
	}
	again := cmedtest.StartIn(t, dir, nil)
	got := again.CLI(t, "sh run | sec ephone-dn 40")
	if !strings.Contains(got, "number 1040") || !strings.Contains(got, "allow watch") {
		t.Fatalf("after restart:\n%s", got)
	}
}
