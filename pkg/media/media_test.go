package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"github.com/cmed-project/cmed/pkg/media/moh"
	"github.com/cmed-project/cmed/pkg/media/tone"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var loopback = netip.MustParseAddr("127.0.0.1")

// listen opens a UDP socket on 127.0.0.1:0, closed at the end of the test.
func listen(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

type received struct {
	rtp.Packet
	at   time.Time
	from netip.AddrPort
}

// readRTP reads n RTP packets from c, failing the test after a generous deadline.
func readRTP(t testing.TB, c *net.UDPConn, n int) []received {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	out := make([]received, 0, n)
	buf := make([]byte, 2048)
	for len(out) < n {
		k, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("after %d of %d packets: %v", len(out), n, err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(slices.Clone(buf[:k])); err != nil {
			t.Fatalf("packet %d is not RTP: %v", len(out), err)
		}
		out = append(out, received{Packet: p, at: time.Now(), from: from})
	}
	return out
}

// drain reads whatever arrives on c within d.
func drain(t testing.TB, c *net.UDPConn, d time.Duration) []received {
	t.Helper()
	var out []received
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	for {
		k, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return out
		}
		var p rtp.Packet
		if p.Unmarshal(slices.Clone(buf[:k])) == nil {
			out = append(out, received{Packet: p, at: time.Now(), from: from})
		}
	}
}

// checkContinuity asserts one RTP stream: constant SSRC, sequence +1 mod 2^16, timestamp +160.
func checkContinuity(t testing.TB, pkts []received) {
	t.Helper()
	for i := 1; i < len(pkts); i++ {
		a, b := pkts[i-1], pkts[i]
		if b.SSRC != a.SSRC {
			t.Fatalf("packet %d: SSRC %#x, want %#x", i, b.SSRC, a.SSRC)
		}
		if b.SequenceNumber != a.SequenceNumber+1 {
			t.Fatalf("packet %d: sequence %d after %d, want +1", i, b.SequenceNumber, a.SequenceNumber)
		}
		if b.Timestamp != a.Timestamp+FrameSamples {
			t.Fatalf("packet %d: timestamp %d after %d, want +160", i, b.Timestamp, a.Timestamp)
		}
	}
}

func newTestServer(t testing.TB, clip *moh.Clip) (*Server, *PortAllocator) {
	t.Helper()
	ports, err := NewPortAllocator(loopback, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(context.Background(), Config{Ports: ports, MOH: clip})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, ports
}

func testClip(t testing.TB) (*moh.Clip, []int16) {
	t.Helper()
	// 0.5 s of a distinctive, non-periodic signal, so a frame's position in the clip is
	// identifiable from its samples.
	pcm := make([]int16, 4000)
	for i := range pcm {
		pcm[i] = int16((i*7919)%20000 - 10000)
	}
	c, err := moh.NewClip("test", pcm)
	if err != nil {
		t.Fatal(err)
	}
	return c, pcm
}

func TestMOHStream(t *testing.T) {
	for _, codec := range []Codec{PCMU, PCMA} {
		t.Run(codec.String(), func(t *testing.T) {
			clip, pcm := testClip(t)
			srv, _ := newTestServer(t, clip)
			phone := listen(t)
			sess, err := srv.AttachMOH(addrOf(phone), codec)
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			const n = 50
			pkts := readRTP(t, phone, n)
			checkContinuity(t, pkts)
			for i, p := range pkts {
				if p.Version != 2 || p.PayloadType != codec.PayloadType() {
					t.Fatalf("packet %d: version %d, payload type %d; want 2, %d", i, p.Version, p.PayloadType, codec.PayloadType())
				}
				if len(p.Payload) != FrameSamples {
					t.Fatalf("packet %d: payload %d bytes, want 160", i, len(p.Payload))
				}
				if p.Marker != (i == 0) {
					t.Fatalf("packet %d: marker %v, want it on the first packet only", i, p.Marker)
				}
				if p.from != sess.Local() {
					t.Fatalf("packet %d from %v, want the session's local address %v", i, p.from, sess.Local())
				}
				// The audio is the clip, frame after frame, looping.
				var want []int16
				for k := range FrameSamples {
					want = append(want, pcm[(i*FrameSamples+k)%len(pcm)])
				}
				if got := codec.Decode(nil, p.Payload); !slices.Equal(got, codec.Decode(nil, codec.Encode(nil, want))) {
					t.Fatalf("packet %d: decoded audio is not clip frame %d", i, i)
				}
			}
			mean := pkts[n-1].at.Sub(pkts[0].at) / (n - 1)
			t.Logf("%s: mean inter-arrival %v over %d packets", codec, mean, n)
			if mean < 10*time.Millisecond || mean > 40*time.Millisecond {
				t.Errorf("mean inter-arrival %v, want about 20 ms", mean)
			}
			if st := sess.Stats(); st.PacketsSent < n || st.OctetsSent < n*FrameSamples {
				t.Errorf("stats %+v, want at least %d packets", st, n)
			}
		})
	}
}

func TestToneStream(t *testing.T) {
	srv, _ := newTestServer(t, nil)
	phone := listen(t)
	sess, err := srv.AttachTone(addrOf(phone), PCMU, tone.Busy)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	pkts := readRTP(t, phone, 10)
	checkContinuity(t, pkts)
	g, _ := tone.NewGenerator(tone.Busy)
	frame := make([]int16, FrameSamples)
	for i, p := range pkts {
		g.ReadFrame(frame)
		if !slices.Equal(p.Payload, PCMU.Encode(nil, frame)) {
			t.Fatalf("packet %d is not busy-tone frame %d", i, i)
		}
	}
	if _, err := srv.AttachTone(addrOf(phone), PCMU, tone.Tone{Freqs: [2]int{5000, 0}}); err == nil {
		t.Error("AttachTone accepted a 5 kHz tone")
	}
	if _, err := srv.AttachMOH(addrOf(phone), Codec(18)); !errors.Is(err, ErrCodec) {
		t.Errorf("AttachMOH(G.729) error = %v, want ErrCodec", err)
	}
	if _, err := srv.AttachMOH(netip.AddrPort{}, PCMU); err == nil {
		t.Error("AttachMOH accepted an invalid remote")
	}
}

func TestPlayerRetargetAndRestart(t *testing.T) {
	local := listen(t)
	r1, r2 := listen(t), listen(t)
	g, _ := tone.NewGenerator(tone.Dial)
	sender := NewSender(local, addrOf(r1), PCMU.PayloadType())
	p, err := NewPlayer(sender, PCMU, g)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Start error = %v, want ErrRunning", err)
	}
	if err := p.SetSource(g); !errors.Is(err, ErrRunning) {
		t.Fatalf("SetSource while running error = %v, want ErrRunning", err)
	}
	first := readRTP(t, r1, 5)
	p.Retarget(addrOf(r2))
	second := readRTP(t, r2, 5)
	// Packets sent to r1 before the retarget and not read yet are part of the stream too.
	stream := append(first, drain(t, r1, 100*time.Millisecond)...)
	stream = append(stream, second...)
	checkContinuity(t, stream)
	if sender.Remote() != addrOf(r2) {
		t.Errorf("Remote = %v, want %v", sender.Remote(), addrOf(r2))
	}

	p.Stop()
	p.Stop() // idempotent
	if p.Running() {
		t.Fatal("Running after Stop")
	}
	before := append(second, drain(t, r2, 50*time.Millisecond)...)
	last := before[len(before)-1]
	pause := 200 * time.Millisecond
	time.Sleep(pause)
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	after := readRTP(t, r2, 3)
	p.Stop()
	resumed := after[0]
	if !resumed.Marker || after[1].Marker {
		t.Errorf("marker bits after restart %v, %v; want true, false", resumed.Marker, after[1].Marker)
	}
	if resumed.SSRC != last.SSRC || resumed.SequenceNumber != last.SequenceNumber+1 {
		t.Errorf("after restart SSRC %#x seq %d; want %#x, %d (continuity)", resumed.SSRC,
			resumed.SequenceNumber, last.SSRC, last.SequenceNumber+1)
	}
	// The timestamp covers the pause (at least), instead of carrying on from the last packet.
	gap := resumed.Timestamp - last.Timestamp
	if want := uint32(pause * SampleRate / time.Second); gap < want || gap > 10*SampleRate {
		t.Errorf("timestamp gap over a %v pause = %d samples, want >= %d", pause, gap, want)
	}
	checkContinuity(t, after[1:])

	// A player whose context ends stops by itself and can be started again.
	cctx, cancel := context.WithCancel(ctx)
	if err := p.Start(cctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for p.Running() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p.Running() {
		t.Fatal("player still running after its context ended")
	}
	if err := p.Start(ctx); err != nil {
		t.Fatalf("Start after context end: %v", err)
	}
	p.Stop()
}

func TestPortAllocator(t *testing.T) {
	const lo, hi = 59201, 59207 // odd bounds: rounded to 59202-59206
	// Another process holds 59204; the allocator must skip it.
	held, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 59204)))
	if err != nil {
		t.Skipf("cannot bind the test port range: %v", err)
	}
	defer held.Close()
	a, err := NewPortAllocator(loopback, lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	if a.Size() != 3 {
		t.Fatalf("Size = %d, want 3 (59202, 59204, 59206)", a.Size())
	}
	var conns []*PortConn
	for range 2 {
		c, err := a.Listen()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if got := []uint16{conns[0].AddrPort().Port(), conns[1].AddrPort().Port()}; !slices.Equal(got, []uint16{59202, 59206}) {
		t.Fatalf("allocated ports %v, want [59202 59206]", got)
	}
	if _, err := a.Listen(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("Listen on a full range error = %v, want ErrNoPorts", err)
	}
	if a.InUse() != 2 {
		t.Errorf("InUse = %d, want 2", a.InUse())
	}
	conns[0].Close()
	conns[0].Close() // idempotent
	c, err := a.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if c.AddrPort().Port() != 59202 {
		t.Errorf("reallocated port %d, want 59202", c.AddrPort().Port())
	}
	c.Close()
	conns[1].Close()
	if a.InUse() != 0 {
		t.Errorf("InUse after closing all = %d", a.InUse())
	}
	for _, r := range [][2]int{{100, 200}, {60000, 70000}, {5000, 4000}, {5001, 5001}} {
		if _, err := NewPortAllocator(loopback, r[0], r[1]); err == nil {
			t.Errorf("NewPortAllocator(%d, %d) succeeded", r[0], r[1])
		}
	}
	if _, err := NewPortAllocator(netip.Addr{}, 0, 0); err == nil {
		t.Error("NewPortAllocator(invalid IP) succeeded")
	}
}

// sendRTP writes one RTP packet from c to dst.
func sendRTP(t testing.TB, c *net.UDPConn, dst netip.AddrPort, h rtp.Header, payload []byte) {
	t.Helper()
	h.Version = 2
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToUDPAddrPort(b, dst); err != nil {
		t.Fatal(err)
	}
}

func TestEcho(t *testing.T) {
	srv, _ := newTestServer(t, nil)
	local, sess, err := srv.AttachEcho(PCMU)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if local != sess.Local() {
		t.Fatalf("AttachEcho returned %v, session Local %v", local, sess.Local())
	}
	phone := listen(t)
	const mySSRC = 0x11223344
	// Timestamps: regular 20 ms steps, then a repeated one (an RFC 4733 event update), a 40 ms
	// step (a lost frame), a packet with another payload type, and a 16-bit sequence wrap.
	tss := []uint32{1000, 1160, 1320, 1320, 1640, 1800, 1960}
	pts := []uint8{0, 0, 0, 101, 0, 0, 0}
	var first, prev received
	for i, ts := range tss {
		payload := make([]byte, FrameSamples)
		for k := range payload {
			payload[k] = byte(i*31 + k)
		}
		sendRTP(t, phone, local, rtp.Header{PayloadType: pts[i], SequenceNumber: uint16(65533 + i),
			Timestamp: ts, SSRC: mySSRC, Marker: i == 0}, payload)
		// One at a time, so the echo's order is the send order.
		got := readRTP(t, phone, 1)[0]
		if !slices.Equal(got.Payload, payload) || got.PayloadType != pts[i] {
			t.Fatalf("echo %d: pt %d payload %x..., want pt %d %x...", i, got.PayloadType, got.Payload[:4], pts[i], payload[:4])
		}
		if got.SSRC == mySSRC {
			t.Fatalf("echo %d kept the caller's SSRC; want its own", i)
		}
		if got.from != local {
			t.Fatalf("echo %d from %v, want %v", i, got.from, local)
		}
		if i == 0 {
			first = got
		} else {
			if got.SequenceNumber != prev.SequenceNumber+1 || got.SSRC != prev.SSRC {
				t.Fatalf("echo %d: seq %d ssrc %#x after %d %#x", i, got.SequenceNumber, got.SSRC, prev.SequenceNumber, prev.SSRC)
			}
			if d, want := got.Timestamp-prev.Timestamp, tss[i]-tss[i-1]; d != want {
				t.Fatalf("echo %d: timestamp step %d, want %d (the caller's step)", i, d, want)
			}
		}
		prev = got
	}
	if !first.Marker {
		t.Error("first echo lacks the marker bit")
	}
	// Junk is dropped, not echoed.
	phone.WriteToUDPAddrPort([]byte("not rtp"), local)
	if got := drain(t, phone, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("junk was echoed: %d packets", len(got))
	}
	// A fixed target receives the echoes instead of the source.
	other := listen(t)
	if err := sess.Retarget(addrOf(other)); err != nil {
		t.Fatal(err)
	}
	sendRTP(t, phone, local, rtp.Header{SequenceNumber: 7, Timestamp: 2120, SSRC: mySSRC}, []byte{1, 2, 3})
	if got := readRTP(t, other, 1)[0]; !slices.Equal(got.Payload, []byte{1, 2, 3}) {
		t.Fatalf("retargeted echo payload %v", got.Payload)
	}
	st := sess.Stats()
	if st.PacketsReceived != uint64(len(tss)+1) || st.PacketsSent != uint64(len(tss)+1) || st.Dropped != 1 {
		t.Errorf("stats %+v, want %d received and sent, 1 dropped", st, len(tss)+1)
	}
}

func TestRelay(t *testing.T) {
	srv, _ := newTestServer(t, nil)
	a, b, spoofer := listen(t), listen(t), listen(t)
	// B's address is signalled; A's is unknown until A sends (latching).
	rs, err := srv.AttachRelay(netip.AddrPort{}, addrOf(b))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	la, lb := rs.Local(SideA), rs.Local(SideB)

	// B talks first: A is not known yet, so the packet is dropped.
	sendRTP(t, b, lb, rtp.Header{SSRC: 2, SequenceNumber: 1}, []byte("early"))
	if got := drain(t, a, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("A received %d packets before it latched", len(got))
	}
	for i := range 5 {
		sendRTP(t, a, la, rtp.Header{SSRC: 1, SequenceNumber: uint16(i)}, []byte{'a', byte(i)})
		got := readRTP(t, b, 1)[0]
		if got.SSRC != 1 || got.SequenceNumber != uint16(i) || !slices.Equal(got.Payload, []byte{'a', byte(i)}) {
			t.Fatalf("B got %v, want A's packet %d unchanged", got.Header, i)
		}
		if got.from != lb {
			t.Fatalf("B got a packet from %v, want the relay's B port %v", got.from, lb)
		}
		sendRTP(t, b, lb, rtp.Header{SSRC: 2, SequenceNumber: uint16(i)}, []byte{'b', byte(i)})
		got = readRTP(t, a, 1)[0]
		if got.SSRC != 2 || !slices.Equal(got.Payload, []byte{'b', byte(i)}) || got.from != la {
			t.Fatalf("A got %v from %v, want B's packet %d from %v", got.Header, got.from, i, la)
		}
	}
	// The relay counts a packet once its write returned, which can be just
	// after the peer read it: wait (bounded) for the count to settle.
	st := rs.Stats(SideA)
	for end := time.Now().Add(2 * time.Second); st.Forwarded < 5 && time.Now().Before(end); st = rs.Stats(SideA) {
		time.Sleep(5 * time.Millisecond)
	}
	if !st.Latched || st.Remote != addrOf(a) || st.Forwarded != 5 {
		t.Errorf("side A stats %+v, want latched to %v with 5 forwarded", st, addrOf(a))
	}
	// After latching, another source on A's port is ignored.
	sendRTP(t, spoofer, la, rtp.Header{SSRC: 9}, []byte("spoof"))
	if got := drain(t, b, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("B received %d packets from a spoofer", len(got))
	}
	// Re-signalling side A re-arms latching: the new endpoint takes over.
	rs.SetRemote(SideA, addrOf(spoofer))
	sendRTP(t, spoofer, la, rtp.Header{SSRC: 9}, []byte("moved"))
	if got := readRTP(t, b, 1)[0]; string(got.Payload) != "moved" {
		t.Fatalf("B got %q after A moved", got.Payload)
	}
	if st := rs.Stats(SideA); st.Dropped != 1 || st.Remote != addrOf(spoofer) {
		t.Errorf("side A stats %+v, want 1 dropped, remote %v", st, addrOf(spoofer))
	}
	if st := rs.Stats(SideB); st.Dropped != 1 {
		t.Errorf("side B stats %+v, want the early packet dropped", st)
	}
}

func TestServerLifecycle(t *testing.T) {
	ports, _ := NewPortAllocator(loopback, 0, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := NewServer(ctx, Config{Ports: ports})
	if err != nil {
		t.Fatal(err)
	}
	if srv.MOH() != moh.Default() {
		t.Error("nil Config.MOH did not select the default melody")
	}
	phone := listen(t)
	m, err := srv.AttachMOH(addrOf(phone), PCMA)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.AttachEcho(PCMU); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AttachRelay(netip.AddrPort{}, netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if srv.Sessions() != 3 || ports.InUse() != 4 {
		t.Fatalf("sessions %d ports %d, want 3 and 4", srv.Sessions(), ports.InUse())
	}
	m.Close()
	m.Close()
	if srv.Sessions() != 2 || ports.InUse() != 3 {
		t.Fatalf("after closing one: sessions %d ports %d, want 2 and 3", srv.Sessions(), ports.InUse())
	}
	// Cancelling the context stops everything and releases the ports (goleak checks the
	// goroutines at the end of the run).
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for (srv.Sessions() != 0 || ports.InUse() != 0) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if srv.Sessions() != 0 || ports.InUse() != 0 {
		t.Fatalf("after cancel: sessions %d ports %d", srv.Sessions(), ports.InUse())
	}
	if _, err := srv.AttachMOH(addrOf(phone), PCMU); !errors.Is(err, ErrClosed) {
		t.Errorf("AttachMOH after cancel error = %v, want ErrClosed", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close after cancel: %v", err)
	}
	if _, err := NewServer(context.Background(), Config{}); err == nil {
		t.Error("NewServer without Ports succeeded")
	}
}
