package daemon_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/repotest"
)

// interopTool returns the path of an external tool, skipping the test when
// it is missing unless CMED_INTEROP=1 makes that a failure (CI).
func interopTool(t *testing.T, name string) string {
	t.Helper()
	return repotest.Tool(t, name)
}

// loCapture is a tshark capture on the loopback interface, written to a
// pcapng file until stop.
type loCapture struct {
	tshark string
	path   string
	cmd    *exec.Cmd
	done   chan error
	// stopped is set by stop; only the test goroutine touches it.
	stopped bool

	mu  sync.Mutex
	log strings.Builder
}

// startLoCapture starts `tshark -i lo -f filter -w FILE` and returns once
// packets matching the filter really reach the file, so that what the test
// sends next is captured from its first packet. dumpcap's "Capturing on"
// comes a little before that, so the capture also takes datagrams to a
// sync socket of its own, and they are sent until tshark (-P -l) prints one.
// The -a duration bound ends a capture the test forgets to stop.
func startLoCapture(t *testing.T, tshark, filter string) *loCapture {
	t.Helper()
	syncConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer syncConn.Close()
	syncAddr := syncConn.LocalAddr()
	filter = fmt.Sprintf("(%s) or (udp and dst port %d)", filter, syncAddr.(*net.UDPAddr).Port)

	c := &loCapture{tshark: tshark, path: filepath.Join(t.TempDir(), "lo.pcapng"), done: make(chan error, 1)}
	c.cmd = exec.Command(tshark, "-i", "lo", "-f", filter, "-a", "duration:90", "-P", "-l", "-w", c.path)
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := make(chan struct{})
	go func() {
		// Any packet line means the capture is live; the rest is drained.
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			if !signalled {
				close(seen)
				signalled = true
			}
		}
	}()
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			c.mu.Lock()
			c.log.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
		}
		c.done <- c.cmd.Wait()
	}()
	t.Cleanup(func() { c.stop(t) })
	probe, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for {
		_, _ = probe.WriteTo([]byte("cmed capture sync"), syncAddr)
		select {
		case <-seen:
			return c
		case err := <-c.done:
			c.done <- err
			t.Fatalf("tshark ended before capturing: %v\n%s", err, c.stderr())
		case <-deadline:
			t.Fatalf("tshark did not start capturing:\n%s", c.stderr())
		case <-tick.C:
		}
	}
}

func (c *loCapture) stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

// stop ends the capture with SIGINT (tshark then flushes and closes the
// file) and waits for it; it is idempotent.
func (c *loCapture) stop(t *testing.T) {
	t.Helper()
	if c.stopped {
		return
	}
	c.stopped = true
	// Give the last packets time to pass through dumpcap's buffer.
	time.Sleep(300 * time.Millisecond)
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("tshark capture: %v\n%s", err, c.stderr())
		}
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		t.Errorf("tshark did not stop on SIGINT:\n%s", c.stderr())
	}
	// CMED_KEEP_PCAP=DIR keeps the capture for a look in Wireshark.
	if dir := os.Getenv("CMED_KEEP_PCAP"); dir != "" {
		if b, err := os.ReadFile(c.path); err == nil {
			keep := filepath.Join(dir, t.Name()+".pcapng")
			if err := os.WriteFile(keep, b, 0o644); err == nil {
				t.Logf("capture kept in %s", keep)
			}
		}
	}
}

// read runs tshark on the capture file with args and returns its output.
func (c *loCapture) read(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.tshark, append([]string{"-r", c.path}, args...)...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("tshark %v: %v\n%s", args, err, stderr)
	}
	return string(out)
}

// Wireshark expert-info values (epan/proto.h): the Sequence group holds
// TCP's own analysis (retransmissions, D-SACK, window), and warning is the
// lowest severity the capture checks fail on.
const (
	expertGroupSequence  = "33554432" // PI_SEQUENCE, 0x02000000
	expertSeverityWarnAt = 6291456    // PI_WARN, 0x00600000
)

// flaggedFrames lists the frames matching from that tshark marks malformed
// or with an expert warning or error, one line each. TCP sequence analysis
// (the Sequence group) is left out: a retransmission or a D-SACK on a
// loaded loopback is the kernel's doing, not a byte cmed wrote, while
// every dissector's own complaint still counts.
func flaggedFrames(t *testing.T, c *loCapture, decode []string, from string) []string {
	t.Helper()
	var bad []string
	malformed := c.read(t, append(cloneArgs(decode), "-Y", from+" && _ws.malformed",
		"-T", "fields", "-e", "frame.number", "-e", "_ws.col.Protocol", "-e", "_ws.col.Info")...)
	for line := range strings.Lines(malformed) {
		if l := strings.TrimSpace(line); l != "" {
			bad = append(bad, "malformed: "+l)
		}
	}
	expert := c.read(t, append(cloneArgs(decode), "-Y", from+" && _ws.expert.severity >= warning",
		"-T", "fields", "-e", "frame.number", "-e", "_ws.col.Protocol", "-e", "_ws.col.Info",
		"-e", "_ws.expert.group", "-e", "_ws.expert.severity", "-e", "_ws.expert.message", "-E", "aggregator=|")...)
	for line := range strings.Lines(expert) {
		f := strings.Split(strings.TrimRight(line, "\r\n"), "\t")
		if len(f) < 6 {
			continue
		}
		groups, sevs, msgs := strings.Split(f[3], "|"), strings.Split(f[4], "|"), strings.Split(f[5], "|")
		for i := range min(len(groups), len(sevs)) {
			sev, _ := strconv.Atoi(sevs[i])
			if sev < expertSeverityWarnAt {
				continue
			}
			if groups[i] == expertGroupSequence {
				t.Logf("tshark: TCP sequence analysis on frame %s (not counted): %s", f[0], f[5])
				continue
			}
			msg := f[5]
			if i < len(msgs) {
				msg = msgs[i]
			}
			bad = append(bad, strings.Join(f[:3], "\t")+"\t"+msg)
			break
		}
	}
	return bad
}

// portRange finds n consecutive free UDP ports on 127.0.0.1 below the
// kernel's ephemeral range (so listeners on port 0 elsewhere in the test
// binary never land in it) and returns the first. Capturing on that range
// keeps other tests' loopback traffic out of the capture.
func portRange(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(10000)
		free := true
		for p := base; p < base+n && free; p++ {
			c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				free = false
				continue
			}
			c.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free UDP port range on 127.0.0.1")
	return 0
}

// sccpCapture captures cmed's SCCP listener on loopback from before the
// first phone connects, so every TCP stream is seen from its start and the
// skinny dissector never has to resync mid-stream. Without tshark it
// returns nil and the feature test runs without the capture, unless
// CMED_INTEROP=1 makes tshark mandatory (repotest.Tool).
func sccpCapture(t *testing.T, sccpPort int) *loCapture {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil && !repotest.Interop() {
		t.Log("tshark not installed: no capture of the SCCP stream")
		return nil
	}
	return startLoCapture(t, repotest.Tool(t, "tshark"), fmt.Sprintf("tcp port %d", sccpPort))
}

// checkSCCPCapture stops c and checks what cmed sent from sccpPort: tshark
// decodes it as SKINNY (at least minSkinny frames, so the check can fail
// for want of a capture) and flags no frame as malformed or with an expert
// warning or error: tshark's Skinny dissector is the independent decoder
// of docs/sccp.md §Captures (the 7965 phones of these tests register
// above header version 0, so none of its accepted exceptions applies).
func checkSCCPCapture(t *testing.T, c *loCapture, sccpPort, minSkinny int) {
	t.Helper()
	if c == nil {
		return
	}
	c.stop(t)
	decode := []string{"-d", fmt.Sprintf("tcp.port==%d,skinny", sccpPort)}
	fromCmed := fmt.Sprintf("tcp.srcport==%d", sccpPort)
	for _, line := range flaggedFrames(t, c, decode, fromCmed) {
		t.Errorf("tshark flags a frame from cmed: %s", line)
	}
	counts := c.read(t, append(cloneArgs(decode), "-Y", fromCmed+" && skinny", "-T", "fields", "-e", "skinny.messageId")...)
	var frames, messages int
	for line := range strings.Lines(counts) {
		if l := strings.TrimSpace(line); l != "" {
			frames++
			messages += len(strings.Split(l, ","))
		}
	}
	t.Logf("tshark: %d SKINNY frames (%d messages) from cmed", frames, messages)
	if frames < minSkinny {
		t.Errorf("tshark decoded %d SKINNY frames from cmed, want at least %d: the capture missed the test", frames, minSkinny)
	}
}

// TestFlaggedFramesCountsDissectorWarnings: on a real CallManager capture
// (pkg/sccp/msg/testdata, docs/sccp.md §Captures) Wireshark's Skinny
// dissector warns "Trailing stray characters" on some frames (its known
// mis-decodes) and they are flagged; the CallManager's registration
// answers before them are clean. So dropping TCP's own analysis leaves the
// check able to fail.
func TestFlaggedFramesCountsDissectorWarnings(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if repotest.Interop() {
			t.Fatal("tshark not installed")
		}
		t.Skip("tshark not installed")
	}
	c := &loCapture{tshark: tshark, path: filepath.Join(repotest.Root(t), "pkg/sccp/msg/testdata/pyskinny_cm_cap.pcapng")}
	decode := []string{"-d", "tcp.port==2000,skinny"}
	phone := flaggedFrames(t, c, decode, "tcp.srcport==3893")
	if len(phone) == 0 || !strings.Contains(phone[0], "Trailing stray characters") {
		t.Errorf("phone frames flagged: %q", phone)
	}
	if cm := flaggedFrames(t, c, decode, "tcp.srcport==2000 && frame.number < 50"); len(cm) != 0 {
		t.Errorf("CallManager frames flagged: %q", cm)
	}
}
