package daemon_test

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/internal/daemon"
)

const applyConfig = `hostname lab
telephony-service
 ip source-address 127.0.0.1 port 0
 load 7961 SCCP41.9-4-2SR3-1S
ephone-dn 1
 number 1001
ephone 1
 mac-address 0011.2233.4401
 type 7965
 button 1:1
dial-peer voice 10 voip
 destination-pattern 9T
 session protocol sipv2
 session target ipv4:127.0.0.1:5999
`

// TestCoreRefusalLeavesRunningConfig is issue 14's acceptance test: a
// destination-pattern config.Validate accepts but the core cannot dial
// (T not last) is refused by dn.Switch.Apply; the CLI prints why at the
// prompt, `show running-config` is unchanged, and the session stays usable
// for the next, valid, line.
func TestCoreRefusalLeavesRunningConfig(t *testing.T) {
	inst := cmedtest.Start(t, applyConfig)
	before := inst.CLI(t, "show running-config")
	if !strings.Contains(before, "destination-pattern 9T\n") {
		t.Fatalf("test config not running:\n%s", before)
	}
	out := inst.CLI(t, "configure terminal", "dial-peer voice 10 voip", "destination-pattern 9T1", "end")
	for _, want := range []string{"% Not applied, the running configuration is unchanged",
		"dial-peer voice 10 destination-pattern 9T1 cannot be dialled", "T must be last"} {
		if !strings.Contains(out, want) {
			t.Errorf("CLI output lacks %q:\n%s", want, out)
		}
	}
	if after := inst.CLI(t, "show running-config"); after != before {
		t.Errorf("running-config changed after a refused change:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The same session goes on in dial-peer mode with a line the core takes.
	out = inst.CLI(t, "configure terminal", "dial-peer voice 10 voip", "destination-pattern 9T1", "destination-pattern 8T", "end")
	if strings.Count(out, "% Not applied") != 1 {
		t.Errorf("want exactly one refusal:\n%s", out)
	}
	if got := inst.Running().DialPeers[0].DestinationPattern; got != "8T" {
		t.Errorf("destination-pattern %q after the valid line, want 8T", got)
	}

	// ApplyConfig (the programmatic path) refuses the same way.
	bad := inst.Running().Clone()
	bad.EphoneDNs[0].Number = "10[01"
	cur := inst.Running()
	var refused *daemon.RefusedError
	if err := inst.ApplyConfig(bad); !errors.As(err, &refused) {
		t.Fatalf("ApplyConfig of an undiallable number: %v, want a *RefusedError", err)
	}
	if inst.Running() != cur {
		t.Error("ApplyConfig changed the running config although the core refused")
	}
}

// TestStartupRefusesWhatTheCoreRefuses: a startup-config with a number the
// core cannot dial does not boot, naming the line, as Configure would refuse it.
func TestStartupRefusesWhatTheCoreRefuses(t *testing.T) {
	_, err := startErr(t.TempDir(), strings.Replace(applyConfig, "destination-pattern 9T", "destination-pattern 9[T", 1))
	if err == nil || !strings.Contains(err.Error(), "dial-peer voice 10 destination-pattern 9[T cannot be dialled") {
		t.Fatalf("Start: %v", err)
	}
}

// TestPhoneFilesRebuiltOnlyWhenTheirInputsChange: config lines that touch
// no phone file (hostname, a dial-peer) rebuild nothing; an ephone's type
// (whose firmware load differs) rebuilds once; the files name the port the SCCP listener really got.
func TestPhoneFilesRebuiltOnlyWhenTheirInputsChange(t *testing.T) {
	inst := cmedtest.Start(t, applyConfig)
	const sep = "SEP001122334401.cnf.xml"
	first, ok := inst.PhoneFile(sep)
	if !ok {
		t.Fatalf("%s not generated", sep)
	}
	out := inst.CLI(t, "configure terminal", "hostname lab2", "dial-peer voice 10 voip", "destination-pattern 7T", "end")
	if strings.Contains(out, "%") {
		t.Fatal(out)
	}
	if n := inst.PhoneFilesSettled(); n != 0 {
		t.Errorf("%d rebuilds for changes outside the phone files, want 0", n)
	}
	if now, _ := inst.PhoneFile(sep); string(now) != string(first) {
		t.Error("file changed without an input change")
	}
	out = inst.CLI(t, "configure terminal", "ephone 1", "type 7961", "end")
	if strings.Contains(out, "%") {
		t.Fatal(out)
	}
	if n := inst.PhoneFilesSettled(); n != 1 {
		t.Errorf("%d rebuilds after one ephone change, want 1", n)
	}
	if now, _ := inst.PhoneFile(sep); string(now) == string(first) {
		t.Error("file unchanged after the ephone type changed")
	}
	port := strconv.Itoa(inst.Addr("sccp").(*net.TCPAddr).Port)
	def, _ := inst.PhoneFile("XMLDefault.cnf.xml")
	if !strings.Contains(string(def), "<ethernetPhonePort>"+port+"</ethernetPhonePort>") {
		t.Errorf("XMLDefault.cnf.xml does not send phones to the SCCP listener's port %s:\n%s", port, def)
	}
}
