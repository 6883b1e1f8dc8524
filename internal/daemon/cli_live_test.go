package daemon_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// TestAllowWatchAppliesLive: `allow watch` typed in config mode turns an
// unknown lamp into the DN's real state without a restart, and `no allow
// watch` turns it back (issue 7).
func TestAllowWatchAppliesLive(t *testing.T) {
	inst := cmedtest.Start(t, `hostname lab
presence
telephony-service
 ip source-address 127.0.0.1 port 0
ephone-dn 1
 number 1001
ephone 1
 mac-address 0011.2233.4401
 button 1:1
`)
	if _, err := inst.Switch().RegisterDevice(dn.DeviceInfo{Name: dn.DeviceName("0011.2233.4401"), Protocol: dn.SCCP}, dntest.Nop{}); err != nil {
		t.Fatal(err)
	}
	waitState := func(want blf.State) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if inst.Presence().State("1001") == want {
				return
			}
		}
		t.Fatalf("presentity 1001 is %v, want %v", inst.Presence().State("1001"), want)
	}
	waitState(blf.StateUnknown)
	if out := inst.CLI(t, "configure terminal", "ephone-dn 1", "allow watch", "end"); strings.Contains(out, "%") {
		t.Fatal(out)
	}
	waitState(blf.StateIdle)
	if out := inst.CLI(t, "conf t", "ephone-dn 1", "no allow watch", "end"); strings.Contains(out, "%") {
		t.Fatal(out)
	}
	waitState(blf.StateUnknown)
}

func TestDebugCommandsReachTheSwitchboard(t *testing.T) {
	inst := cmedtest.Start(t, "hostname lab\n")
	out := inst.CLI(t, "debug ephone blf", "debug presence all", "show debugging", "undebug all", "show debugging")
	for _, want := range []string{"EPHONE BLF debugging is enabled", "Debugging is on for:\n  ephone blf\n  presence\n",
		"All possible debugging has been turned off"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Count(out, "Debugging is on for:") != 1 {
		t.Errorf("undebug all left debugging on:\n%s", out)
	}
}
