package daemon_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/internal/repotest"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// Whole-daemon SIP acceptance (issues 6 and 9): sipp as an external
// watcher of the default office, and two daemons peering over a SIP trunk
// as the two CMEs of docs/peering.md.

// needSipp returns sipp's path and the dialog watcher scenario kept in the
// repository (test/peers/sipp, see test/peers/README.md).
func needSipp(t *testing.T) (sipp, scenario string) {
	t.Helper()
	return repotest.Tool(t, "sipp"), repotest.Peers(t, "sipp", "subscribe_dialog.xml")
}

// TestInteropSIPWatcherFollowsSCCPPhone: sipp's dialog watcher subscribes
// to 1002 on the default office while a fake SCCP phone on 1002 goes
// off-hook: the first NOTIFY says terminated (idle), a later one confirmed
// (in use).
func TestInteropSIPWatcherFollowsSCCPPhone(t *testing.T) {
	sipp, scenario := needSipp(t)
	inst := cmedtest.StartIn(t, t.TempDir(), configs.Default)
	sipAddr := inst.Addr("sip-udp")
	if sipAddr == nil {
		t.Fatal("no sip-udp listener")
	}
	phone := fakePhone(t, inst, "7961", "001122334402", netip.AddrPort{}) // 1002, button 1

	dir := t.TempDir()
	users := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(users, []byte("SEQUENTIAL\nw9001;1002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, sipAddr.String(), "-sf", scenario,
		"-inf", users, "-key", "sexp", "600", "-d", "4000", "-m", "1", "-timeout", "30s", "-nostdin", "-aa",
		"-i", "127.0.0.1", "-p", "0", "-trace_err", "-trace_logs", "-trace_msg")
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()

	// Off-hook once sipp holds its subscription (its "first-notify" line
	// is logged when the 200 and NOTIFY are both in).
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(readGlob(dir, "*_logs.log"), "first-notify") {
		if time.Now().After(deadline) {
			t.Fatalf("sipp never got its first NOTIFY\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := phone.OffHook(); err != nil {
		t.Fatal(err)
	}
	if err := <-waitErr; err != nil {
		t.Fatalf("sipp: %v\n%s\n%s", err, out.String(), readGlob(dir, "*_errors.log"))
	}
	logs, msgs := readGlob(dir, "*_logs.log"), readGlob(dir, "*_messages.log")
	if !strings.Contains(logs, "line=terminated") {
		t.Errorf("first NOTIFY for idle 1002 is not terminated:\n%s", logs)
	}
	if !strings.Contains(msgs, "<state>confirmed</state>") {
		t.Errorf("no NOTIFY with 1002 confirmed after the off-hook; sipp saw:\n%s", msgs)
	}
}

func readGlob(dir, pattern string) string {
	files, _ := filepath.Glob(filepath.Join(dir, pattern))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

// peerRouter is one CME of Figure 53: SCCP DNs local1 (phone 1, which
// watches remote on BLF speed dial 1) and local2 (phone 2); a SIP trunk
// to the peer at peerPort carries the remote range, and the peer is the
// presence server for it.
func peerRouter(host, local1, local2, remote, pattern string, peerPort int) string {
	return fmt.Sprintf(`hostname %s
voice service voip
 allow-connections sip to sip
 sip
  registrar server
voice register global
 mode cme
 source-address 127.0.0.1 port 5060
presence
 watcher all
 allow subscribe
 server 127.0.0.1
 sccp blf-speed-dial retry-interval 60 limit 10
sip-ua
 presence enable
dial-peer voice 100 voip
 destination-pattern %s
 session protocol sipv2
 session target ipv4:127.0.0.1:%d
telephony-service
 max-ephones 4
 max-dn 8
 ip source-address 127.0.0.1 port 2000
ephone-dn 1
 number %s
 allow watch
ephone-dn 2
 number %s
 allow watch
ephone 1
 mac-address 0011.2233.4401
 type 7965
 button 1:1
 blf-speed-dial 1 %s label "peer"
ephone 2
 mac-address 0011.2233.4402
 type 7961
 button 1:2
`, host, pattern, peerPort, local1, local2, remote)
}

func udpPort(t *testing.T, a net.Addr) int {
	t.Helper()
	u, ok := a.(*net.UDPAddr)
	if !ok {
		t.Fatalf("no SIP UDP listener (%v)", a)
	}
	return u.Port
}

func anyBLF(want msg.BLFStatus) func(sccptest.State) bool {
	return func(s sccptest.State) bool {
		for _, v := range s.BLF {
			if v == want {
				return true
			}
		}
		return false
	}
}

// TestInteropTwoRoutersOverTrunk: two whole daemons peer over a SIP trunk
// (each one's dial-peer and presence server is the other). Phone 1 on each
// watches the other router's DN on a BLF speed dial and its lamp follows
// the remote line; a call from A's phone 2 to B's 3001 rings B's phone 1.
func TestInteropTwoRoutersOverTrunk(t *testing.T) {
	// A starts with a placeholder peer port; B's config needs A's port.
	a := cmedtest.StartIn(t, t.TempDir(), []byte(peerRouter("cmeA", "1001", "1002", "3001", "3...", 9)))
	aPort := udpPort(t, a.Addr("sip-udp"))
	b := cmedtest.StartIn(t, t.TempDir(), []byte(peerRouter("cmeB", "3001", "3002", "1001", "1...", aPort)))
	bPort := udpPort(t, b.Addr("sip-udp"))
	next, err := config.Parse("cmeA.cfg", []byte(peerRouter("cmeA", "1001", "1002", "3001", "3...", bPort)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ApplyConfig(next); err != nil {
		t.Fatal(err)
	}

	a1 := fakePhone(t, a, "7965", "001122334401", netip.AddrPort{})
	a2 := fakePhone(t, a, "7961", "001122334402", netip.MustParseAddrPort("127.0.0.1:41000"))
	b1 := fakePhone(t, b, "7965", "001122334401", netip.MustParseAddrPort("127.0.0.1:41002"))

	// Each phone 1 lights its remote DN idle once the upstream
	// subscription is up (A's first attempt went to the placeholder port
	// and is retried after ApplyConfig wakes the watcher).
	wait(t, a1, "3001 (on B) idle on A's lamp", anyBLF(msg.BLFIdle))
	wait(t, b1, "1001 (on A) idle on B's lamp", anyBLF(msg.BLFIdle))

	// A's phone 1 goes off-hook: B's lamp for 1001 turns in use.
	if err := a1.OffHook(); err != nil {
		t.Fatal(err)
	}
	wait(t, b1, "1001 in use on B's lamp", anyBLF(msg.BLFInUse))
	if err := a1.OnHook(); err != nil {
		t.Fatal(err)
	}
	wait(t, b1, "1001 idle again on B's lamp", anyBLF(msg.BLFIdle))

	// Trunk call A 1002 -> B 3001: B's phone 1 rings, and A's lamp for
	// 3001 shows it.
	if err := a2.OffHook(); err != nil {
		t.Fatal(err)
	}
	if err := a2.Dial("3001"); err != nil {
		t.Fatal(err)
	}
	wait(t, a1, "3001 ringing on A's lamp", func(s sccptest.State) bool {
		return anyBLF(msg.BLFAlerting)(s) || anyBLF(msg.BLFInUse)(s)
	})
	wait(t, b1, "B's phone to ring", func(s sccptest.State) bool { return s.Ringer > msg.RingOff })
}
