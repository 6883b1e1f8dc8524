package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// rtpSocket is a fake phone's RTP receive socket on loopback.
func rtpSocket(t *testing.T) (*net.UDPConn, netip.AddrPort) {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// ringing reports whether the phone's active call is ringing in.
func ringing(s sccptest.State) bool {
	c := s.Calls[s.ActiveCall]
	return c != nil && c.State == msg.CallRingIn
}

// rtpArrival is one RTP packet as a phone's socket got it.
type rtpArrival struct {
	from netip.AddrPort
	at   time.Time
	pkt  rtp.Packet
}

// readRTP reads RTP packets on c until keep has accepted n of them or the
// time limit passes; keep sees every packet that parses.
func readRTP(c *net.UDPConn, n int, limit time.Duration, keep func(rtpArrival) bool) []rtpArrival {
	var out []rtpArrival
	end := time.Now().Add(limit)
	buf := make([]byte, 1500)
	for len(out) < n && time.Now().Before(end) {
		c.SetReadDeadline(end)
		m, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			break
		}
		a := rtpArrival{from: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), at: time.Now()}
		if a.pkt.Unmarshal(bytes.Clone(buf[:m])) != nil {
			continue
		}
		if keep(a) {
			out = append(out, a)
		}
	}
	return out
}

// quietFrom reads c until no packet from src arrived for quiet, and reports
// whether that happened within limit.
func quietFrom(c *net.UDPConn, src netip.AddrPort, quiet, limit time.Duration) bool {
	end := time.Now().Add(limit)
	last := time.Now()
	buf := make([]byte, 1500)
	for time.Now().Before(end) {
		c.SetReadDeadline(time.Now().Add(quiet / 4))
		_, from, err := c.ReadFromUDPAddrPort(buf)
		if err == nil && netip.AddrPortFrom(from.Addr().Unmap(), from.Port()) == src {
			last = time.Now()
		}
		if time.Since(last) >= quiet {
			return true
		}
	}
	return false
}

func lastStartMedia(s sccptest.State) netip.AddrPort {
	if len(s.StartMedia) == 0 {
		return netip.AddrPort{}
	}
	sm := s.StartMedia[len(s.StartMedia)-1]
	return netip.AddrPortFrom(sm.RemoteAddr, uint16(sm.RemotePort))
}

// rtpReaches sends one small RTP packet from `from` to dest and checks that
// `to` receives it from fromAddr.
func rtpReaches(t *testing.T, from *net.UDPConn, fromAddr netip.AddrPort, dest netip.AddrPort, to *net.UDPConn, ssrc uint32) {
	t.Helper()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 7, Timestamp: 160, SSRC: ssrc},
		Payload: bytes.Repeat([]byte{0xff}, 160)}
	b, _ := pkt.Marshal()
	// The peer may still be draining music; look for this SSRC only.
	for range 3 {
		if _, err := from.WriteToUDPAddrPort(b, dest); err != nil {
			t.Fatal(err)
		}
		got := readRTP(to, 1, time.Second, func(a rtpArrival) bool { return a.pkt.SSRC == ssrc })
		if len(got) == 1 {
			if got[0].from != fromAddr {
				t.Errorf("RTP with SSRC %#x came from %v, want %v", ssrc, got[0].from, fromAddr)
			}
			return
		}
	}
	t.Errorf("RTP with SSRC %#x sent to %v never arrived", ssrc, dest)
}

// TestHeldPartyHearsMOHAndResumeRestoresDirectRTP boots the default office,
// calls 1001 -> 1002 between two fake SCCP phones with real RTP sockets,
// and holds the call from 1001: 1002 must then receive music on hold from
// cmed's media server as G.711 µ-law (payload type 0), 160-byte frames paced
// at 20 ms with sequence numbers +1 and timestamps +160 (RFC 3550 §5.1, RFC
// 3551 §4.5.14), which Wireshark's RTP stream analysis also finds free of
// loss and sequence errors. Resume stops the music and cmed sends
// StartMediaTransmission again so the phones talk directly (docs/sccp.md §Media-rules).
func TestHeldPartyHearsMOHAndResumeRestoresDirectRTP(t *testing.T) {
	inst := cmedtest.StartIn(t, t.TempDir(), configs.Default)
	rtpA, addrA := rtpSocket(t)
	rtpB, addrB := rtpSocket(t)
	a := fakePhone(t, inst, "7960", "001122334401", addrA) // 1001
	b := fakePhone(t, inst, "7961", "001122334402", addrB) // 1002

	must(t, a.OffHook())
	must(t, a.Dial("1002"))
	wait(t, b, "B rings", ringing)
	must(t, b.Answer())
	wait(t, a, "A sends to B", func(s sccptest.State) bool { return lastStartMedia(s) == addrB })
	wait(t, b, "B sends to A", func(s sccptest.State) bool { return lastStartMedia(s) == addrA })
	startsA, startsB := len(a.State().StartMedia), len(b.State().StartMedia)

	// The Go-side checks run everywhere; tshark's analysis where it is
	// installed (and must be with CMED_INTEROP=1).
	var capture *loCapture
	if tshark, err := exec.LookPath("tshark"); err == nil {
		capture = startLoCapture(t, tshark, fmt.Sprintf("udp and dst host 127.0.0.1 and dst port %d", addrB.Port()))
	} else if os.Getenv("CMED_INTEROP") == "1" {
		t.Fatalf("tshark is required with CMED_INTEROP=1: %v", err)
	}

	must(t, a.PressSoftKey(msg.LabelHold))
	wait(t, a, "A holds", func(s sccptest.State) bool {
		c := s.Calls[s.ActiveCall]
		return c != nil && c.State == msg.CallHold
	})
	// The held phone stops sending into A's closed port but keeps its
	// receive channel for the music (no CloseReceiveChannel).
	ctxStop, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
	if _, err := b.WaitFor(ctxStop, func(m msg.Message) bool { _, ok := m.(*msg.StopMediaTransmission); return ok }); err != nil {
		t.Fatalf("held phone B was not told to stop transmitting: %v", err)
	}
	cancelStop()
	for _, r := range b.Messages() {
		if _, ok := r.Msg.(*msg.CloseReceiveChannel); ok {
			t.Fatal("held phone B's receive channel was closed: music on hold cannot reach it")
		}
	}

	// A negative control for the tshark analysis, in the same capture: a
	// hand-made stream to B that skips three sequence numbers.
	const controlSSRC = 0xC0DE0002
	controlDone := make(chan struct{})
	if capture != nil {
		ctl, _ := rtpSocket(t)
		go func() {
			defer close(controlDone)
			seq := uint16(1000)
			for i := range 60 {
				if i == 30 {
					seq += 3
				}
				p := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: controlSSRC, SequenceNumber: seq,
					Timestamp: uint32(i) * 160}, Payload: make([]byte, 160)}
				b, _ := p.Marshal()
				_, _ = ctl.WriteToUDPAddrPort(b, addrB)
				seq++
				time.Sleep(20 * time.Millisecond)
			}
		}()
	} else {
		close(controlDone)
	}

	// Music from cmed: not from A, not the control.
	const n = 60
	moh := readRTP(rtpB, n, 10*time.Second, func(r rtpArrival) bool {
		return r.from != addrA && r.pkt.SSRC != controlSSRC
	})
	<-controlDone
	if capture != nil {
		capture.stop(t)
	}
	if len(moh) < n {
		t.Fatalf("B received %d music-on-hold packets in 10 s, want %d", len(moh), n)
	}
	src := moh[0].from
	if !src.Addr().IsLoopback() || src == addrA {
		t.Errorf("music comes from %v, want cmed's media address on loopback", src)
	}
	skips := 0
	for i, r := range moh {
		if r.from != src || r.pkt.SSRC != moh[0].pkt.SSRC {
			t.Fatalf("packet %d from %v SSRC %#x: the music is not one stream", i, r.from, r.pkt.SSRC)
		}
		if r.pkt.PayloadType != 0 || len(r.pkt.Payload) != 160 {
			t.Errorf("packet %d: payload type %d, %d bytes; want PCMU (0), 160 bytes", i, r.pkt.PayloadType, len(r.pkt.Payload))
		}
		if i == 0 {
			continue
		}
		prev := moh[i-1].pkt
		if r.pkt.SequenceNumber != prev.SequenceNumber+1 {
			t.Errorf("packet %d: sequence %d after %d", i, r.pkt.SequenceNumber, prev.SequenceNumber)
		}
		// +160 per packet (20 ms at 8 kHz). After a stall of more than
		// three frames media's pacer skips frames rather than bursting
		// them, advancing the timestamp but not the sequence number
		// (RFC 3550 §5.1; pkg/media maxCatchUp): a whole number of
		// frames, and rare.
		switch d := r.pkt.Timestamp - prev.Timestamp; {
		case d == 160:
		case d > 160 && d%160 == 0 && d < 8000:
			skips++
		default:
			t.Errorf("packet %d: timestamp %d after %d, want +160", i, r.pkt.Timestamp, prev.Timestamp)
		}
	}
	if skips > len(moh)/4 {
		t.Errorf("timestamps skipped frames %d times in %d packets: the music is not paced", skips, len(moh))
	}
	// Pacing over 50 intervals; loose bounds, since a loaded CI host
	// delays reads (the timed target is media's pacer benchmark).
	span := moh[len(moh)-1].at.Sub(moh[len(moh)-51].at)
	mean := span / 50
	if mean < 15*time.Millisecond || mean > 30*time.Millisecond {
		t.Errorf("mean interval %v over 50 packets, want about 20 ms", mean)
	}
	t.Logf("music on hold: %d packets from %v, mean interval %v, %d skips after stalls", len(moh), src, mean, skips)

	if capture != nil {
		checkMOHCapture(t, capture, addrB, moh[0].pkt.SSRC, controlSSRC)
	}

	// Resume: media is set up again between the phones and the music stops.
	must(t, a.PressSoftKey(msg.LabelResume))
	wait(t, a, "A connected again", func(s sccptest.State) bool {
		c := s.Calls[s.ActiveCall]
		return c != nil && c.State == msg.CallConnected
	})
	wait(t, a, "A told to send to B again", func(s sccptest.State) bool {
		return len(s.StartMedia) > startsA && lastStartMedia(s) == addrB
	})
	wait(t, b, "B told to send to A again", func(s sccptest.State) bool {
		return len(s.StartMedia) > startsB && lastStartMedia(s) == addrA
	})
	if !quietFrom(rtpB, src, 500*time.Millisecond, 5*time.Second) {
		t.Fatalf("music from %v still reaches B after resume", src)
	}
	rtpReaches(t, rtpA, addrA, lastStartMedia(a.State()), rtpB, 0xA0A0A0A0)
	rtpReaches(t, rtpB, addrB, lastStartMedia(b.State()), rtpA, 0xB0B0B0B0)
	must(t, a.OnHook())
	wait(t, b, "B's call ends", func(s sccptest.State) bool {
		c := s.Calls[s.ActiveCall]
		return c == nil || c.State != msg.CallConnected
	})
}

// checkMOHCapture has tshark's RTP stream analysis (-z rtp,streams) look at
// what reached B's port: the music stream has no loss and no sequence
// problem, while the control stream's three skipped numbers are found.
func checkMOHCapture(t *testing.T, c *loCapture, dest netip.AddrPort, mohSSRC, controlSSRC uint32) {
	t.Helper()
	out := c.read(t, "-d", fmt.Sprintf("udp.port==%d,rtp", dest.Port()), "-q", "-z", "rtp,streams")
	t.Logf("tshark -z rtp,streams:\n%s", out)
	streams, err := tsharkRTPStreams(out)
	if err != nil {
		t.Fatal(err)
	}
	music, ok := streams[mohSSRC]
	if !ok {
		t.Fatalf("tshark did not find the music stream (SSRC %#x)", mohSSRC)
	}
	ctl, ok := streams[controlSSRC]
	if !ok {
		t.Fatalf("tshark did not find the control stream (SSRC %#x)", controlSSRC)
	}
	if ctl.lost != 3 || !ctl.problem {
		t.Errorf("control stream: lost %d, problem %v; want 3 and flagged (the analysis must be able to fail)", ctl.lost, ctl.problem)
	}
	if music.payload != "g711U" {
		t.Errorf("music payload %q in tshark, want g711U", music.payload)
	}
	if music.packets < 50 {
		t.Errorf("tshark saw %d music packets, want at least 50", music.packets)
	}
	if music.lost != 0 || music.problem {
		t.Errorf("tshark: music lost %d, problem flagged %v; want 0 and none", music.lost, music.problem)
	}
	if music.meanDeltaMs < 15 || music.meanDeltaMs > 30 {
		t.Errorf("tshark: music mean delta %.2f ms, want about 20", music.meanDeltaMs)
	}
}

// tsharkStream is one row of `tshark -q -z rtp,streams`.
type tsharkStream struct {
	payload     string
	packets     int
	lost        int
	meanDeltaMs float64
	problem     bool
}

// tsharkRTPStreams parses the rtp,streams table of Wireshark 4.0
// (ui/cli/tap-rtp.c): start, end, source address and port, destination
// address and port, SSRC (0x...), payload, packets, lost as "N (P%)", min,
// mean and max delta, min, mean and max jitter, and "X" when the stream has
// sequence or timestamp problems.
func tsharkRTPStreams(out string) (map[uint32]tsharkStream, error) {
	streams := map[uint32]tsharkStream{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 16 || !strings.HasPrefix(f[6], "0x") {
			continue
		}
		ssrc, err := strconv.ParseUint(f[6][2:], 16, 32)
		if err != nil {
			return nil, fmt.Errorf("SSRC in %q: %w", line, err)
		}
		s := tsharkStream{payload: f[7]}
		if s.packets, err = strconv.Atoi(f[8]); err != nil {
			return nil, fmt.Errorf("packets in %q: %w", line, err)
		}
		if s.lost, err = strconv.Atoi(f[9]); err != nil {
			return nil, fmt.Errorf("lost in %q: %w", line, err)
		}
		if s.meanDeltaMs, err = strconv.ParseFloat(f[12], 64); err != nil {
			return nil, fmt.Errorf("mean delta in %q: %w", line, err)
		}
		s.problem = len(f) > 17 && f[17] == "X"
		streams[uint32(ssrc)] = s
	}
	if len(streams) == 0 {
		return nil, fmt.Errorf("no RTP stream in tshark output:\n%s", out)
	}
	return streams, nil
}

// TestEchoTestSendsThePhonesOwnPacketsBack dials the echo-test number *43
// (CME's "echo test" service): cmed must answer, tell the phone to send to
// its echo address (not back to the phone itself) and return each packet
// from there with the same payload type and payload.
func TestEchoTestSendsThePhonesOwnPacketsBack(t *testing.T) {
	inst := cmedtest.StartIn(t, t.TempDir(), configs.Default)
	sock, addr := rtpSocket(t)
	p := fakePhone(t, inst, "7965", "001122334403", addr) // 1003
	must(t, p.OffHook())
	must(t, p.Dial("*43"))
	wait(t, p, "echo answers", func(s sccptest.State) bool {
		c := s.Calls[s.ActiveCall]
		return c != nil && c.State == msg.CallConnected && len(s.StartMedia) > 0
	})
	echo := lastStartMedia(p.State())
	if !echo.Addr().IsLoopback() || echo == addr || echo.Port() == 0 {
		t.Fatalf("told to send to %v; want cmed's echo address on loopback (the phone is %v)", echo, addr)
	}
	const n = 10
	for i := range n {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(100 + i),
			Timestamp: uint32(i) * 160, SSRC: 0xE0E0E0E0}, Payload: bytes.Repeat([]byte{byte(i)}, 160)}
		b, _ := pkt.Marshal()
		if _, err := sock.WriteToUDPAddrPort(b, echo); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	back := readRTP(sock, n, 5*time.Second, func(a rtpArrival) bool { return true })
	if len(back) != n {
		t.Fatalf("%d of %d packets came back", len(back), n)
	}
	for i, a := range back {
		if a.from != echo {
			t.Errorf("packet %d came from %v, want the echo address %v", i, a.from, echo)
		}
		if a.pkt.PayloadType != 0 || !bytes.Equal(a.pkt.Payload, bytes.Repeat([]byte{byte(i)}, 160)) {
			t.Errorf("packet %d: payload type %d, payload %x…; want packet %d's", i, a.pkt.PayloadType, a.pkt.Payload[:4], i)
		}
		if i > 0 && a.pkt.SequenceNumber != back[i-1].pkt.SequenceNumber+1 {
			t.Errorf("packet %d: echo sequence %d after %d", i, a.pkt.SequenceNumber, back[i-1].pkt.SequenceNumber)
		}
	}
	must(t, p.OnHook())
	wait(t, p, "idle", func(s sccptest.State) bool { return s.ActiveCall == 0 })
}

// TestTransferLeavesEveryLampIdle runs a consultative transfer between
// three fake phones of the default office (1001 calls 1002, consults 1003,
// completes the transfer; then 1002 and 1003 hang up) while the fourth
// phone watches all three lines: every lamp shows the calls as they happen
// and is idle at the end (no lamp stuck in use after a transfer).
func TestTransferLeavesEveryLampIdle(t *testing.T) {
	inst := cmedtest.StartIn(t, t.TempDir(), configs.Default)
	_, addrA := rtpSocket(t)
	_, addrB := rtpSocket(t)
	_, addrC := rtpSocket(t)
	a := fakePhone(t, inst, "7960", "001122334401", addrA) // 1001, dual-line
	b := fakePhone(t, inst, "7961", "001122334402", addrB) // 1002
	c := fakePhone(t, inst, "7965", "001122334403", addrC) // 1003
	w := fakePhone(t, inst, "7970", "001122334404", netip.AddrPort{})
	// Ephone 4's blf-speed-dials watch 1001, 1002 and 1003; find their
	// feature indexes by label.
	index := map[string]uint32{}
	for i, l := range w.State().BLFLabel {
		index[l] = i
	}
	watched := []uint32{index["Reception"], index["Alice"], index["Bob"]}
	if watched[0] == 0 || watched[1] == 0 || watched[2] == 0 {
		t.Fatalf("ephone 4's BLF labels %v lack Reception, Alice or Bob", w.State().BLFLabel)
	}
	lamps := func(want ...msg.BLFStatus) func(sccptest.State) bool {
		return func(s sccptest.State) bool {
			for i, st := range want {
				if s.BLF[watched[i]] != st {
					return false
				}
			}
			return true
		}
	}
	idle, inUse := msg.BLFIdle, msg.BLFInUse
	wait(t, w, "all idle at start", lamps(idle, idle, idle))

	connected := func(s sccptest.State) bool {
		cl := s.Calls[s.ActiveCall]
		return cl != nil && cl.State == msg.CallConnected
	}
	must(t, a.OffHook())
	must(t, a.Dial("1002"))
	wait(t, b, "B rings", ringing)
	must(t, b.Answer())
	wait(t, a, "A connected", connected)
	wait(t, w, "1001 and 1002 in use", lamps(inUse, inUse, idle))

	must(t, a.PressSoftKey(msg.LabelTransfer))
	wait(t, a, "consultation dial tone", func(s sccptest.State) bool {
		cl := s.Calls[s.ActiveCall]
		return cl != nil && cl.State == msg.CallOffHook && s.Tone == msg.ToneInsideDial
	})
	must(t, a.Dial("1003"))
	wait(t, c, "C rings", ringing)
	wait(t, w, "1003 alerting", lamps(inUse, inUse, msg.BLFAlerting))
	must(t, c.Answer())
	wait(t, a, "consultation connected", connected)
	wait(t, w, "all in use", lamps(inUse, inUse, inUse))
	must(t, a.PressSoftKey(msg.LabelTransfer))

	talksTo := func(n string) func(sccptest.State) bool {
		return func(s sccptest.State) bool {
			cl := s.Calls[s.ActiveCall]
			return cl != nil && cl.State == msg.CallConnected && (cl.CallingParty == n || cl.CalledParty == n)
		}
	}
	wait(t, b, "B talks to C", talksTo("1003"))
	wait(t, c, "C talks to B", talksTo("1002"))
	wait(t, w, "1001 idle after the transfer", lamps(idle, inUse, inUse))
	// The transferred parties get media to each other.
	wait(t, b, "B sends to C", func(s sccptest.State) bool { return lastStartMedia(s) == addrC })
	wait(t, c, "C sends to B", func(s sccptest.State) bool { return lastStartMedia(s) == addrB })

	must(t, b.OnHook())
	wait(t, c, "C's call ends", func(s sccptest.State) bool { return !connected(s) })
	must(t, c.OnHook())
	wait(t, w, "every lamp idle at the end", lamps(idle, idle, idle))
	for _, p := range []*sccptest.Phone{a, b, c} {
		wait(t, p, "line lamp off", func(s sccptest.State) bool {
			return s.Lamps[sccptest.LampKey{Stimulus: msg.ButtonLine, Instance: 1}] == msg.LampOff
		})
	}
}
