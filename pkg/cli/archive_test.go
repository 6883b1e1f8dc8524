package cli

import (
	"strings"
	"testing"

	"github.com/cmed-project/cmed/pkg/config"
)

// copy running-config startup-config must wait for the answer on a
// terminal: nothing is saved before Enter, and a wrong name saves nothing.
func TestInteractiveCopyRunStartWaits(t *testing.T) {
	f := newFake(t, "hostname r1\n")
	tc := startTerm(t, f, 0, nil)
	tc.expect("r1#")
	tc.send("copy running-config startup-config\r")
	tc.expect("Destination filename [startup-config]? ")
	f.mu.Lock()
	saves := f.saves
	f.mu.Unlock()
	if saves != 0 {
		t.Fatalf("saved %d times before the question was answered", saves)
	}
	tc.send("\r")
	tc.expect("[OK]")
	tc.expect("r1#")
	tc.send("copy running-config startup-config\r")
	tc.expect("Destination filename [startup-config]? ")
	tc.send("other\r")
	tc.expect("%Error opening nvram:other")
	tc.expect("r1#")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.saves != 1 {
		t.Errorf("saves = %d, want 1", f.saves)
	}
}

// write erase asks [confirm]; `n` keeps the startup-config.
func TestInteractiveWriteEraseConfirm(t *testing.T) {
	f := newFake(t, "hostname r1\n")
	f.startup = "hostname r1\n"
	tc := startTerm(t, f, 0, nil)
	tc.expect("r1#")
	tc.send("write erase\r")
	tc.expect("firm]") // the question wraps at 80 columns
	tc.send("n\r")
	tc.expect("r1#")
	tc.send("write erase\r")
	tc.expect("firm]") // the question wraps at 80 columns
	tc.send("\r")
	tc.expect("Erase of nvram: complete")
	tc.expect("r1#")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.erased != 1 || f.startup != "" {
		t.Errorf("erased %d times, startup %q; want 1 and empty", f.erased, f.startup)
	}
}

// reload makes the startup-config running and resets every ephone and
// pool so the phones re-register (docs/cme-cli.md §Archive-and-reload).
func TestReloadAppliesStartupAndResetsPhones(t *testing.T) {
	f := newFake(t, "hostname before\n")
	f.startup = "hostname after\n"
	out := transcript(t, f, PrivMax, "reload")
	if !strings.Contains(out, "Proceed with reload? [confirm]") {
		t.Errorf("no confirm question:\n%s", out)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := f.running.HostnameOrDefault(); got != "after" {
		t.Errorf("running hostname after reload = %q, want after", got)
	}
	want := []config.DeviceAction{{Kind: "ephone"}, {Kind: "pool"}}
	if len(f.resets) != 2 || f.resets[0] != want[0] || f.resets[1] != want[1] {
		t.Errorf("resets = %+v, want %+v", f.resets, want)
	}
}
