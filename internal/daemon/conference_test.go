package daemon_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/media"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// goertzelPower is the power of frequency f in x, normalised so a sine of
// amplitude A gives about (A/2)^2.
func goertzelPower(x []int16, f float64) float64 {
	w := 2 * math.Pi * f / media.SampleRate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	n := float64(len(x))
	return (s1*s1 + s2*s2 - coeff*s1*s2) / (n * n)
}

// talk sends n 20 ms µ-law frames of a sine at freq from c to dest.
func talk(ctx context.Context, c *net.UDPConn, dest netip.AddrPort, freq float64, n int) {
	hdr := rtp.Header{Version: 2, PayloadType: 0, SSRC: uint32(freq), SequenceNumber: 1}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pcm := make([]int16, media.FrameSamples)
	for i := range n {
		for k := range pcm {
			s := float64(i*media.FrameSamples + k)
			pcm[k] = int16(6000 * math.Sin(2*math.Pi*freq*s/media.SampleRate))
		}
		b, _ := (&rtp.Packet{Header: hdr, Payload: media.PCMU.Encode(nil, pcm)}).Marshal()
		_, _ = c.WriteToUDPAddrPort(b, dest)
		hdr.SequenceNumber++
		hdr.Timestamp += media.FrameSamples
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// hear decodes up to n packets c receives from src within limit.
func hear(c *net.UDPConn, src netip.AddrPort, n int, limit time.Duration) []int16 {
	var pcm []int16
	for _, a := range readRTP(c, n, limit, func(a rtpArrival) bool { return a.from == src }) {
		if a.pkt.PayloadType == 0 {
			pcm = media.PCMU.Decode(pcm, a.pkt.Payload)
		}
	}
	return pcm
}

func lineLamp(s sccptest.State) msg.LampMode {
	return s.Lamps[sccptest.LampKey{Stimulus: msg.ButtonLine, Instance: 1}]
}

func connected(s sccptest.State) bool {
	c := s.Calls[s.ActiveCall]
	return c != nil && c.State == msg.CallConnected
}

func idle(s sccptest.State) bool {
	for _, c := range s.Calls {
		if c.State != msg.CallOnHook {
			return false
		}
	}
	return lineLamp(s) == msg.LampOff
}

// TestAdHocConferenceMixesAudio boots the default office with `conference
// hardware` (served by the software bridge, docs/cme-behaviour.md
// §Conference). 1001 calls 1002, presses Confrn, calls 1003 and presses
// Confrn again: each of the three fake phones sends its own tone from a real
// RTP socket and must receive a mix holding the other two tones and not its
// own. The initiator hanging up ends the conference for all (CME's default
// without keep-conference); every line lamp ends off. tshark, where
// installed, finds no malformed or expert-flagged SCCP or RTP frame from cmed.
func TestAdHocConferenceMixesAudio(t *testing.T) {
	cfg := strings.Replace(string(configs.Default), "\nend", "\ntelephony-service\n conference hardware\nend", 1)
	inst := cmedtest.StartIn(t, t.TempDir(), []byte(cfg))
	if out := inst.CLI(t, "show running-config"); !strings.Contains(out, " conference hardware") {
		t.Fatalf("conference hardware not in the running config:\n%s", out)
	}
	rtpI, addrI := rtpSocket(t)
	rtpA, addrA := rtpSocket(t)
	rtpB, addrB := rtpSocket(t)

	var capture *loCapture
	sccpPort := inst.Addr("sccp").(*net.TCPAddr).Port
	if tshark, err := exec.LookPath("tshark"); err == nil {
		capture = startLoCapture(t, tshark, fmt.Sprintf("(tcp port %d) or (udp and (dst port %d or dst port %d or dst port %d))",
			sccpPort, addrI.Port(), addrA.Port(), addrB.Port()))
	} else if os.Getenv("CMED_INTEROP") == "1" {
		t.Fatalf("tshark is required with CMED_INTEROP=1: %v", err)
	}

	i := fakePhone(t, inst, "7960", "001122334401", addrI) // 1001, dual-line: room for the second call
	a := fakePhone(t, inst, "7961", "001122334402", addrA) // 1002
	b := fakePhone(t, inst, "7965", "001122334403", addrB) // 1003

	must(t, i.OffHook())
	must(t, i.Dial("1002"))
	wait(t, a, "1002 rings", ringing)
	must(t, a.Answer())
	wait(t, i, "1001 connected to 1002", connected)

	// First Confrn: 1002 is held and a new call gets dial tone.
	must(t, i.PressSoftKey(msg.LabelConfrn))
	wait(t, i, "1001 off-hook for the third party", func(s sccptest.State) bool {
		c := s.Calls[s.ActiveCall]
		return c != nil && c.State == msg.CallOffHook
	})
	must(t, i.Dial("1003"))
	wait(t, b, "1003 rings", ringing)
	must(t, b.Answer())
	wait(t, i, "1001 connected to 1003", connected)
	// Second Confrn: the three are joined.
	must(t, i.PressSoftKey(msg.LabelConfrn))

	// Each phone is told to send to a port of cmed's bridge; the three differ.
	bridge := func(p *sccptest.Phone, own netip.AddrPort, what string) netip.AddrPort {
		var got netip.AddrPort
		wait(t, p, what, func(s sccptest.State) bool {
			got = lastStartMedia(s)
			return got.IsValid() && got != addrI && got != addrA && got != addrB && connected(s)
		})
		return got
	}
	portI := bridge(i, addrI, "1001 sends to the bridge")
	portA := bridge(a, addrA, "1002 sends to the bridge")
	portB := bridge(b, addrB, "1003 sends to the bridge")
	if portI == portA || portA == portB || portI == portB {
		t.Fatalf("bridge ports not distinct: %v %v %v", portI, portA, portB)
	}
	for _, p := range []*sccptest.Phone{i, a, b} {
		if l := lineLamp(p.State()); l != msg.LampOn {
			t.Errorf("%s line lamp %v during the conference, want on", p.DeviceName(), l)
		}
	}
	// The initiator shows one call: the held one was released.
	held := 0
	for _, c := range i.State().Calls {
		if c.State == msg.CallHold {
			held++
		}
	}
	if held != 0 {
		t.Errorf("initiator still shows %d held call(s)", held)
	}

	freqs := map[string]float64{"1001": 440, "1002": 1000, "1003": 2200}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, x := range []struct {
		c    *net.UDPConn
		dest netip.AddrPort
		f    float64
	}{{rtpI, portI, freqs["1001"]}, {rtpA, portA, freqs["1002"]}, {rtpB, portB, freqs["1003"]}} {
		wg.Add(1)
		go func() { defer wg.Done(); talk(ctx, x.c, x.dest, x.f, 100) }()
	}
	heard := map[string][]int16{}
	var mu sync.Mutex
	for _, x := range []struct {
		name string
		c    *net.UDPConn
		src  netip.AddrPort
	}{{"1001", rtpI, portI}, {"1002", rtpA, portA}, {"1003", rtpB, portB}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pcm := hear(x.c, x.src, 90, 6*time.Second)
			mu.Lock()
			heard[x.name] = pcm
			mu.Unlock()
		}()
	}
	wg.Wait()
	for name, pcm := range heard {
		if len(pcm) < 60*media.FrameSamples {
			t.Fatalf("%s heard %d samples from the bridge", name, len(pcm))
		}
		mid := pcm[20*media.FrameSamples : 60*media.FrameSamples]
		own := goertzelPower(mid, freqs[name])
		for other, f := range freqs {
			p := goertzelPower(mid, f)
			t.Logf("%s hears %v Hz (%s) at power %.0f", name, f, other, p)
			if other == name {
				continue
			}
			if p < 4e6 {
				t.Errorf("%s does not hear %s (%v Hz power %.0f)", name, other, f, p)
			}
			if own*100 > p {
				t.Errorf("%s hears itself: %v Hz power %.0f against %.0f", name, freqs[name], own, p)
			}
		}
	}

	// The initiator hangs up: without keep-conference everyone is released.
	must(t, i.OnHook())
	for _, p := range []*sccptest.Phone{i, a, b} {
		wait(t, p, "idle with the line lamp off", idle)
	}
	if capture != nil {
		capture.stop(t)
		checkConferenceCapture(t, capture, sccpPort, []netip.AddrPort{addrI, addrA, addrB})
	}
}

// checkConferenceCapture: the SCCP stream from cmed and the RTP cmed's
// bridge sent decode without malformed frames or expert warnings, and the
// RTP really was decoded as RTP (the check can fail).
func checkConferenceCapture(t *testing.T, c *loCapture, sccpPort int, phones []netip.AddrPort) {
	t.Helper()
	args := []string{"-d", fmt.Sprintf("tcp.port==%d,skinny", sccpPort)}
	var fromCmed []string
	for _, p := range phones {
		args = append(args, "-d", fmt.Sprintf("udp.port==%d,rtp", p.Port()))
		fromCmed = append(fromCmed, fmt.Sprintf("udp.dstport==%d", p.Port()))
	}
	cmed := fmt.Sprintf("(tcp.srcport==%d || %s)", sccpPort, strings.Join(fromCmed, " || "))
	for _, line := range flaggedFrames(t, c, args, cmed) {
		t.Errorf("tshark flags a frame from cmed: %s", line)
	}
	counts := c.read(t, append(cloneArgs(args), "-Y", cmed, "-T", "fields", "-e", "_ws.col.Protocol")...)
	var nRTP, nSkinny int
	for line := range strings.Lines(counts) {
		switch l := strings.TrimSpace(line); {
		case l == "RTP":
			nRTP++
		case strings.HasPrefix(l, "SKINNY"):
			nSkinny++
		}
	}
	t.Logf("tshark: %d RTP and %d SKINNY frames from cmed", nRTP, nSkinny)
	if nRTP < 150 || nSkinny < 20 {
		t.Errorf("tshark decoded %d RTP and %d SKINNY frames from cmed: the capture missed the conference", nRTP, nSkinny)
	}
}

func cloneArgs(s []string) []string { return append([]string(nil), s...) }
