package media

import (
	"syscall"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/media/moh"
)

// BenchmarkSenderSend is the per-packet cost of marshalling and writing one 20 ms G.711 packet
// (the target is 0 allocations).
func BenchmarkSenderSend(b *testing.B) {
	local, sink := listen(b), listen(b)
	s := NewSender(local, addrOf(sink), PCMU.PayloadType())
	payload := make([]byte, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(payload, FrameSamples); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFramePath is what a Player does per packet, without the pacing wait: read a music
// frame, G.711-encode it and send it.
func BenchmarkFramePath(b *testing.B) {
	local, sink := listen(b), listen(b)
	s := NewSender(local, addrOf(sink), PCMA.PayloadType())
	r := moh.Default().NewReader()
	var (
		pcm     [FrameSamples]int16
		payload [FrameSamples]byte
	)
	b.ReportAllocs()
	for b.Loop() {
		r.ReadFrame(pcm[:])
		_ = s.Send(PCMA.Encode(payload[:0], pcm[:]), FrameSamples)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMOHStreams100 runs 100 concurrent paced music-on-hold streams and reports the packet
// rate achieved (the target is 100 × 50 = 5000 packets/s) and the process CPU they cost. Each
// iteration is one 20 ms frame period of wall time.
func BenchmarkMOHStreams100(b *testing.B) {
	const streams = 100
	srv, _ := newTestServer(b, nil)
	sink := listen(b) // never read: the kernel drops what overflows, the senders are unaffected
	sessions := make([]Session, streams)
	for i := range sessions {
		s, err := srv.AttachMOH(addrOf(sink), PCMU)
		if err != nil {
			b.Fatal(err)
		}
		sessions[i] = s
	}
	sent := func() (n uint64) {
		for _, s := range sessions {
			n += s.Stats().PacketsSent
		}
		return n
	}
	time.Sleep(100 * time.Millisecond) // let every stream start
	p0, c0, t0 := sent(), cpuTime(), time.Now()
	for b.Loop() {
		time.Sleep(framePeriod)
	}
	wall := time.Since(t0)
	pkts := sent() - p0
	cpu := cpuTime() - c0
	b.ReportMetric(float64(pkts)/wall.Seconds(), "pkts/s")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu%")
	b.ReportMetric(float64(cpu.Microseconds())/float64(pkts), "cpu-µs/pkt")
	for _, s := range sessions {
		s.Close()
	}
}
