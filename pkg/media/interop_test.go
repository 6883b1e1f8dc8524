package media

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/repotest"

	"github.com/pion/rtp"
)

// requireTool skips when an external tool is missing, unless CMED_INTEROP=1 demands it (CI).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	return repotest.Tool(t, name)
}

// TestInteropTsharkMOH captures a music-on-hold stream on the loopback interface and has
// Wireshark's RTP stream analysis check it: no lost packets and no sequence errors.
func TestInteropTsharkMOH(t *testing.T) {
	tshark := requireTool(t, "tshark")
	srv, _ := newTestServer(t, nil)
	phone := listen(t)
	port := addrOf(phone).Port()
	pcap := filepath.Join(t.TempDir(), "moh.pcapng")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	capture := exec.CommandContext(ctx, tshark, "-i", "lo", "-f", fmt.Sprintf("udp port %d", port),
		"-a", "duration:3", "-w", pcap)
	stderr, err := capture.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	// dumpcap announces "Capturing on 'Loopback: lo'" once the filter is installed; stream only
	// after that, so the capture holds the stream from its first packet.
	ready := make(chan error, 1)
	var captureLog strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			captureLog.WriteString(sc.Text() + "\n")
			if !signalled && strings.Contains(sc.Text(), "Capturing on") {
				ready <- nil
				signalled = true
			}
		}
		if !signalled {
			ready <- fmt.Errorf("tshark ended without capturing")
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			capture.Wait()
			t.Fatalf("%v: %s", err, captureLog.String())
		}
	case <-ctx.Done():
		t.Fatal("tshark did not start capturing")
	}

	sess, err := srv.AttachMOH(addrOf(phone), PCMU)
	if err != nil {
		t.Fatal(err)
	}
	// A negative control in the same capture: a hand-made stream to the same port that skips
	// three sequence numbers half way. tshark must flag it, which shows the analysis below can
	// fail.
	control := listen(t)
	controlDone := make(chan struct{})
	go func() {
		defer close(controlDone)
		seq := uint16(100)
		for i := range 90 {
			if i == 45 {
				seq += 3
			}
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: controlSSRC, SequenceNumber: seq,
				Timestamp: uint32(i) * FrameSamples}, Payload: make([]byte, FrameSamples)}
			b, _ := pkt.Marshal()
			_, _ = control.WriteToUDPAddrPort(b, addrOf(phone)) // the analysis checks what arrived
			seq++
			time.Sleep(framePeriod)
		}
	}()
	go drain(t, phone, 2500*time.Millisecond)
	time.Sleep(2 * time.Second)
	sess.Close()
	<-controlDone
	sent := sess.Stats().PacketsSent
	if err := capture.Wait(); err != nil {
		t.Fatalf("tshark capture: %v\n%s", err, captureLog.String())
	}

	out, err := exec.CommandContext(ctx, tshark, "-r", pcap, "-d", fmt.Sprintf("udp.port==%d,rtp", port),
		"-q", "-z", "rtp,streams").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark analysis: %v\n%s", err, out)
	}
	t.Logf("tshark -z rtp,streams:\n%s", out)
	st, err := parseRTPStreams(string(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 {
		t.Fatalf("tshark found %d RTP streams, want 2 (MOH and the control)", len(st))
	}
	var s, ctl rtpStream
	for _, x := range st {
		if x.ssrc == controlSSRC {
			ctl = x
		} else {
			s = x
		}
	}
	if ctl.lost != 3 || !ctl.problem {
		t.Errorf("control stream: lost %d, problem %v; want 3 lost and flagged", ctl.lost, ctl.problem)
	}
	if s.payload != "g711U" {
		t.Errorf("payload %q, want g711U", s.payload)
	}
	if s.packets < 50 || uint64(s.packets) > sent {
		t.Errorf("captured %d packets of the %d sent", s.packets, sent)
	}
	if s.lost != 0 {
		t.Errorf("tshark reports %d lost packets", s.lost)
	}
	if s.problem {
		t.Errorf("tshark flags the stream as having a problem (sequence or timestamp errors)")
	}
	if s.meanDeltaMs < 15 || s.meanDeltaMs > 25 {
		t.Errorf("mean delta %.2f ms, want about 20", s.meanDeltaMs)
	}
}

const controlSSRC = 0xC0DE0001

type rtpStream struct {
	ssrc        uint64
	payload     string
	packets     int
	lost        int
	meanDeltaMs float64
	problem     bool
}

// parseRTPStreams reads the table of `tshark -q -z rtp,streams` (Wireshark 4.0 ui/cli/tap-rtp.c):
//
//	Start time  End time  Src IP addr  Port  Dest IP addr  Port  SSRC  Payload  Pkts  Lost
//	Min Delta(ms)  Mean Delta(ms)  Max Delta(ms)  Min Jitter(ms)  Mean Jitter(ms)
//	Max Jitter(ms)  Problem?
//
// where Lost is printed as "N (P%)" and Problem? is "X" when the stream has sequence or
// timestamp errors.
func parseRTPStreams(out string) ([]rtpStream, error) {
	var streams []rtpStream
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 16 || !strings.HasPrefix(f[6], "0x") {
			continue
		}
		var s rtpStream
		var err error
		if s.ssrc, err = strconv.ParseUint(f[6][2:], 16, 32); err != nil {
			return nil, fmt.Errorf("SSRC in %q: %w", line, err)
		}
		s.payload = f[7]
		if s.packets, err = strconv.Atoi(f[8]); err != nil {
			return nil, fmt.Errorf("packets in %q: %w", line, err)
		}
		if s.lost, err = strconv.Atoi(f[9]); err != nil {
			return nil, fmt.Errorf("lost in %q: %w", line, err)
		}
		// f[10] is the "(P%)" part of Lost.
		if s.meanDeltaMs, err = strconv.ParseFloat(f[12], 64); err != nil {
			return nil, fmt.Errorf("mean delta in %q: %w", line, err)
		}
		s.problem = len(f) > 17 && f[17] == "X"
		streams = append(streams, s)
	}
	if len(streams) == 0 {
		return nil, fmt.Errorf("no RTP stream in tshark output:\n%s", out)
	}
	return streams, nil
}
