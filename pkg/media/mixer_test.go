package media

import (
	"context"
	"math"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// toneFrames is n 20 ms frames of a sine of frequency f and amplitude amp.
func toneFrames(f float64, amp float64, n int) [][]int16 {
	out := make([][]int16, n)
	for i := range out {
		fr := make([]int16, FrameSamples)
		for k := range fr {
			s := float64(i*FrameSamples + k)
			fr[k] = int16(amp * math.Sin(2*math.Pi*f*s/SampleRate))
		}
		out[i] = fr
	}
	return out
}

// power is the Goertzel power of frequency f in x, normalised so a sine of
// amplitude A gives about (A/2)^2.
func power(x []int16, f float64) float64 {
	w := 2 * math.Pi * f / SampleRate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	n := float64(len(x))
	return (s1*s1 + s2*s2 - coeff*s1*s2) / (n * n)
}

// fakeParty is a phone's RTP socket sending a tone to the mixer and
// collecting what the mixer sends back.
type fakeParty struct {
	conn  *net.UDPConn
	codec Codec
	freq  float64
}

func (f *fakeParty) addr() netip.AddrPort {
	return netip.MustParseAddrPort(f.conn.LocalAddr().String())
}

// send paces n frames of the party's tone to dest, 20 ms apart.
func (f *fakeParty) send(ctx context.Context, dest netip.AddrPort, n int) {
	hdr := rtp.Header{Version: 2, PayloadType: f.codec.PayloadType(), SSRC: uint32(f.freq), SequenceNumber: 1}
	tick := time.NewTicker(framePeriod)
	defer tick.Stop()
	for _, fr := range toneFrames(f.freq, 6000, n) {
		pkt := rtp.Packet{Header: hdr, Payload: f.codec.Encode(nil, fr)}
		b, _ := pkt.Marshal()
		_, _ = f.conn.WriteToUDPAddrPort(b, dest)
		hdr.SequenceNumber++
		hdr.Timestamp += FrameSamples
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// collect decodes up to n packets (bounded by limit) of what f receives.
func (f *fakeParty) collect(n int, limit time.Duration) (pcm []int16, pts []uint8, ssrcs map[uint32]bool) {
	ssrcs = map[uint32]bool{}
	deadline := time.Now().Add(limit)
	buf := make([]byte, 1500)
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		_ = f.conn.SetReadDeadline(deadline)
		m, err := f.conn.Read(buf)
		if err != nil {
			break
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:m]) != nil {
			continue
		}
		pts = append(pts, p.PayloadType)
		ssrcs[p.SSRC] = true
		pcm = Codec(p.PayloadType).Decode(pcm, p.Payload)
	}
	return pcm, pts, ssrcs
}

// TestMixerEachHearsTheOthers: three participants (two µ-law, one A-law)
// each send a distinct tone; each receives, in its own codec, a mix with
// both other tones and not its own.
func TestMixerEachHearsTheOthers(t *testing.T) {
	srv, _ := newTestServer(t, nil)
	freqs := []float64{440, 1000, 2200}
	codecs := []Codec{PCMU, PCMA, PCMU}
	ms, err := srv.AttachMixer(codecs)
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	parties := make([]*fakeParty, 3)
	for i := range parties {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		parties[i] = &fakeParty{conn: c, codec: codecs[i], freq: freqs[i]}
		ms.SetRemote(i, parties[i].addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, p := range parties {
		wg.Add(1)
		go func() { defer wg.Done(); p.send(ctx, ms.Local(i), 100) }()
	}
	type result struct {
		pcm   []int16
		pts   []uint8
		ssrcs map[uint32]bool
	}
	res := make([]result, 3)
	for i, p := range parties {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pcm, pts, ssrcs := p.collect(100, 5*time.Second)
			res[i] = result{pcm, pts, ssrcs}
		}()
	}
	wg.Wait()
	for i, r := range res {
		if len(r.pcm) < 50*FrameSamples {
			t.Fatalf("party %d got %d samples", i, len(r.pcm))
		}
		for _, pt := range r.pts {
			if pt != codecs[i].PayloadType() {
				t.Fatalf("party %d got payload type %d, want %d", i, pt, codecs[i].PayloadType())
			}
		}
		if len(r.ssrcs) != 1 {
			t.Errorf("party %d got %d SSRCs, want one stream", i, len(r.ssrcs))
		}
		// The middle of the stream, where all three were talking.
		mid := r.pcm[20*FrameSamples : 50*FrameSamples]
		own := power(mid, freqs[i])
		for j, f := range freqs {
			p := power(mid, f)
			t.Logf("party %d: %4.0f Hz power %.0f", i, f, p)
			if j == i {
				continue
			}
			// A 6000-amplitude sine gives about 9e6; the own tone must be
			// absent (quantisation noise only).
			if p < 4e6 {
				t.Errorf("party %d does not hear party %d's %v Hz (power %.0f)", i, j, f, p)
			}
			if own*100 > p {
				t.Errorf("party %d hears its own %v Hz (power %.0f vs %.0f)", i, freqs[i], own, p)
			}
		}
	}
	for i := range parties {
		st := ms.Stats(i)
		if st.Received == 0 || st.Sent.Packets == 0 {
			t.Errorf("party %d stats %+v", i, st)
		}
	}
}

// TestMixerClipsAndMutes: a sum beyond 16 bits saturates, and a participant
// whose remote is cleared is neither sent to nor mixed.
func TestMixerClipsAndMutes(t *testing.T) {
	if got := clip16(40000); got != 32767 {
		t.Errorf("clip16(40000) = %d", got)
	}
	if got := clip16(-40000); got != -32768 {
		t.Errorf("clip16(-40000) = %d", got)
	}
	if got := clip16(1234); got != 1234 {
		t.Errorf("clip16(1234) = %d", got)
	}
	srv, _ := newTestServer(t, nil)
	ms, err := srv.AttachMixer([]Codec{PCMU, PCMU, PCMU})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := &fakeParty{conn: c, codec: PCMU, freq: 1000}
	ms.SetRemote(0, p.addr())
	if pcm, _, _ := p.collect(3, 2*time.Second); len(pcm) != 3*FrameSamples {
		t.Fatalf("participant 0 got %d samples before muting", len(pcm))
	}
	ms.SetRemote(0, netip.AddrPort{})
	// Drain what was in flight, then nothing more arrives.
	p.collect(5, 100*time.Millisecond)
	if pcm, _, _ := p.collect(1, 300*time.Millisecond); len(pcm) != 0 {
		t.Errorf("a muted participant still gets audio")
	}
	if _, err := srv.AttachMixer([]Codec{PCMU}); err == nil {
		t.Error("a one-party mixer was accepted")
	}
	if _, err := srv.AttachMixer([]Codec{PCMU, Codec(9)}); err == nil {
		t.Error("a mixer with G.722 was accepted")
	}
}
