package daemon_test

import (
	"strings"
	"testing"

	"github.com/cmed-project/cmed/internal/cmedtest"
)

const small = `hostname lab
telephony-service
 ip source-address 127.0.0.1 port 0
ephone-dn 1
 number 1001
 allow watch
`

func TestShowRunningConfigThroughTheControlSocket(t *testing.T) {
	inst := cmedtest.Start(t, small)
	out := inst.CLI(t, "show running-config")
	for _, want := range []string{"Building configuration...", "hostname lab", "number 1001", "allow watch", "\nend"} {
		if !strings.Contains(out, want) {
			t.Errorf("show running-config lacks %q:\n%s", want, out)
		}
	}
	if !inst.Logs.Contains("listening", "service=cli") {
		t.Errorf("the control socket listener was not logged:\n%s", inst.Logs.String())
	}
}

func TestWriteMemoryThenRestartKeepsTheConfig(t *testing.T) {
	dir := t.TempDir()
	first := cmedtest.StartIn(t, dir, []byte(small))
	if out := first.CLI(t, "write memory"); !strings.Contains(out, "[OK]") {
		t.Fatalf("write memory: %q", out)
	}
	if out := first.CLI(t, "show startup-config"); !strings.Contains(out, "hostname lab") {
		t.Fatalf("show startup-config: %q", out)
	}
	running := first.CLI(t, "show running-config")
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	// No config given: the saved startup-config must come back.
	second := cmedtest.StartIn(t, dir, nil)
	if got := second.CLI(t, "show running-config"); got != running {
		t.Fatalf("after restart the running config differs:\n--- before\n%s\n--- after\n%s", running, got)
	}
}

func TestFirstBootUsesAndSavesTheEmbeddedDefault(t *testing.T) {
	dir := t.TempDir()
	inst := cmedtest.StartIn(t, dir, nil)
	out := inst.CLI(t, "show startup-config")
	if !strings.Contains(out, "telephony-service") || !strings.Contains(out, "presence") {
		t.Fatalf("first boot did not save the default config:\n%s", out)
	}
}

func TestInvalidConfigNeverReachesTheStore(t *testing.T) {
	dir := t.TempDir()
	ok := cmedtest.StartIn(t, dir, []byte(small))
	ok.CLI(t, "write memory")
	before := ok.CLI(t, "show startup-config")
	ok.Stop()

	_, err := startErr(dir, "ephone 1\n mac-address zz\n")
	if err == nil {
		t.Fatal("a bad config started the daemon")
	}
	again := cmedtest.StartIn(t, dir, nil)
	if after := again.CLI(t, "show startup-config"); after != before {
		t.Fatalf("startup-config changed after a refused config:\n%s", after)
	}
}
