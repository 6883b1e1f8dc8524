package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"net/netip"

	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
)

// `authenticate credential N flash:FILE` names a file in the router's
// flash, the state directory (docs/peering.md "flash:peers.csv (in A's
// state directory)"), whatever the daemon's working directory.

// withCredential adds `authenticate presence` and a flash: credential file
// to a peerRouter config.
func withCredential(cfg, location string) string {
	return strings.Replace(cfg, " source-address 127.0.0.1 port 5060\n",
		" source-address 127.0.0.1 port 5060\n authenticate presence\n authenticate credential 1 "+location+"\n", 1)
}

// withTrunkAuth adds the digest credentials a router answers challenges with.
func withTrunkAuth(cfg, user, pass string) string {
	return strings.Replace(cfg, "sip-ua\n presence enable\n", "sip-ua\n presence enable\n authentication username "+user+" password "+pass+"\n", 1)
}

// TestCredentialFlashIsStateDir: router B challenges A's presence
// subscription and checks A's answer against flash:peers.csv in B's state
// directory. The test process's working directory (the package directory,
// set by go test; no chdir, so parallel tests are unaffected) has no
// peers.csv: only the state directory can make A's lamp light.
func TestCredentialFlashIsStateDir(t *testing.T) {
	if _, err := os.Stat("peers.csv"); err == nil {
		t.Fatal("peers.csv in the working directory would hide the bug this test is for")
	}
	aDir, bDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(bDir, "peers.csv"), []byte("cmeA,trunkA\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	aCfg := func(port int) string {
		return withTrunkAuth(peerRouter("cmeA", "1001", "1002", "3001", "3...", port), "cmeA", "trunkA")
	}
	a := cmedtest.StartIn(t, aDir, []byte(aCfg(9)))
	aPort := udpPort(t, a.Addr("sip-udp"))
	b := cmedtest.StartIn(t, bDir, []byte(withCredential(peerRouter("cmeB", "3001", "3002", "1001", "1...", aPort), "flash:peers.csv")))
	bPort := udpPort(t, b.Addr("sip-udp"))
	next, err := config.Parse("cmeA.cfg", []byte(aCfg(bPort)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ApplyConfig(next); err != nil {
		t.Fatal(err)
	}
	a1 := fakePhone(t, a, "7965", "001122334401", netip.AddrPort{})
	fakePhone(t, b, "7965", "001122334401", netip.AddrPort{}) // 3001 registered on B
	wait(t, a1, "3001 (on B, behind digest) idle on A's lamp", anyBLF(msg.BLFIdle))
}

// TestCredentialMissingRefused: a credential file that is not in flash
// refuses the config, at start and on a live change, naming the file and
// where flash: is.
func TestCredentialMissingRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := withCredential(peerRouter("cmeB", "3001", "3002", "1001", "1...", 9), "flash:nope.csv")
	_, err := startErr(dir, cfg)
	if err == nil || !strings.Contains(err.Error(), "flash:nope.csv") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("start with a missing credential file: %v", err)
	}

	inst := cmedtest.StartIn(t, t.TempDir(), []byte(peerRouter("cmeB", "3001", "3002", "1001", "1...", 9)))
	next, err := config.Parse("b.cfg", []byte(withCredential(peerRouter("cmeB", "3001", "3002", "1001", "1...", 9), "flash:nope.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.ApplyConfig(next); err == nil || !strings.Contains(err.Error(), "flash:nope.csv") {
		t.Fatalf("live change to a missing credential file: %v", err)
	}
	if g := inst.Running().VoiceRegisterGlobal; g != nil && len(g.Credentials) != 0 {
		t.Errorf("refused config is running: %+v", g.Credentials)
	}
}

type nopWatcher struct{}

func (nopWatcher) Deliver(blf.Update) {}

// TestLinesKnownWhenListening: once the daemon has started (its listeners
// are up), the BLF engine knows every configured number, so a trunk
// watcher's first SUBSCRIBE is not refused as "no such user" (seen in CI:
// a peer router subscribed in the first milliseconds and got 404).
func TestLinesKnownWhenListening(t *testing.T) {
	for i := range 5 {
		inst := cmedtest.StartIn(t, t.TempDir(), []byte(peerRouter("cmeB", "3001", "3002", "1001", "1...", 9)))
		id, err := inst.Presence().Subscribe(blf.SubscribeRequest{Watcher: nopWatcher{}, WatcherName: "peer",
			Kind: blf.KindSIPTrunk, Presentity: "3001"})
		if err != nil {
			t.Fatalf("start %d: trunk SUBSCRIBE for 3001 right after start: %v", i, err)
		}
		_ = inst.Presence().Unsubscribe(id)
	}
}
