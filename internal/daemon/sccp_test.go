package daemon_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

func fakePhone(t *testing.T, inst *cmedtest.Instance, model, mac string, rtp netip.AddrPort) *sccptest.Phone {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := sccptest.Dial(ctx, inst.Addr("sccp").String(), sccptest.Config{Model: model, MAC: mac, RTPAddr: rtp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Connect(ctx); err != nil {
		t.Fatalf("%s: %v", model, err)
	}
	return p
}

func wait(t *testing.T, p *sccptest.Phone, what string, cond func(sccptest.State) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s, err := p.WaitState(ctx, cond); err != nil {
		t.Fatalf("%s: %s: %v (BLF %v)", p.DeviceName(), what, err, s.BLF)
	}
}

// TestDefaultOfficeCallWithLampsAndRTP boots the embedded default config,
// registers two of its SCCP phones, and places a call 1001 -> 1002 while a
// third phone watches 1002's lamp. The two phones then exchange real RTP
// between the addresses cmed told them.
func TestDefaultOfficeCallWithLampsAndRTP(t *testing.T) {
	inst := cmedtest.StartIn(t, t.TempDir(), configs.Default)
	rtpA, _ := net.ListenPacket("udp", "127.0.0.1:0")
	rtpB, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer rtpA.Close()
	defer rtpB.Close()
	addrA := netip.MustParseAddrPort(rtpA.LocalAddr().String())
	addrB := netip.MustParseAddrPort(rtpB.LocalAddr().String())

	a := fakePhone(t, inst, "7960", "001122334401", addrA) // 1001, button 1
	b := fakePhone(t, inst, "7961", "001122334402", addrB) // 1002, button 1
	w := fakePhone(t, inst, "7965", "001122334403", netip.AddrPort{})
	// Phone 3's blf-speed-dial 2 watches 1002 (Alice); its BLF instance 2.
	wait(t, w, "1002 idle", func(s sccptest.State) bool { return s.BLF[2] == msg.BLFIdle })

	if err := a.OffHook(); err != nil {
		t.Fatal(err)
	}
	if err := a.Dial("1002"); err != nil {
		t.Fatal(err)
	}
	wait(t, w, "1002 alerting", func(s sccptest.State) bool { return s.BLF[2] == msg.BLFAlerting })
	if err := b.Answer(); err != nil {
		t.Fatal(err)
	}
	wait(t, w, "1002 in use", func(s sccptest.State) bool { return s.BLF[2] == msg.BLFInUse })
	wait(t, a, "A told to send", func(s sccptest.State) bool { return len(s.StartMedia) > 0 })
	wait(t, b, "B told to send", func(s sccptest.State) bool { return len(s.StartMedia) > 0 })

	// Each phone sends one RTP packet to where cmed told it; the other's
	// socket must receive it.
	sa, sb := a.State(), b.State()
	toB := startMediaAddr(t, sa.StartMedia[len(sa.StartMedia)-1])
	toA := startMediaAddr(t, sb.StartMedia[len(sb.StartMedia)-1])
	if toB != addrB || toA != addrA {
		t.Fatalf("media crossed wrongly: A->%v (B is %v), B->%v (A is %v)", toB, addrB, toA, addrA)
	}
	pkt := []byte{0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 1, 0xff, 0xff}
	rtpA.WriteTo(pkt, net.UDPAddrFromAddrPort(toB))
	buf := make([]byte, 64)
	rtpB.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := rtpB.ReadFrom(buf); err != nil || n != len(pkt) {
		t.Fatalf("B did not receive A's RTP: %v", err)
	}

	if err := a.OnHook(); err != nil {
		t.Fatal(err)
	}
	wait(t, w, "1002 idle again", func(s sccptest.State) bool { return s.BLF[2] == msg.BLFIdle })
	// B's lamp goes unknown when its connection drops.
	b.Close()
	wait(t, w, "1002 unknown", func(s sccptest.State) bool { return s.BLF[2] == msg.BLFUnknown })
	if !strings.Contains(inst.Logs.String(), "service=sccp") {
		t.Error("no SCCP log lines")
	}
}

func startMediaAddr(t *testing.T, sm msg.StartMediaTransmission) netip.AddrPort {
	t.Helper()
	return netip.AddrPortFrom(sm.RemoteAddr, uint16(sm.RemotePort))
}

// TestShutdownTellsPhones stops the daemon while a phone is registered: the
// phone must receive a Reset (restart) before its connection closes, so it
// re-registers as soon as cmed is back.
func TestShutdownTellsPhones(t *testing.T) {
	inst := cmedtest.StartIn(t, t.TempDir(), configs.Default)
	p := fakePhone(t, inst, "7961", "001122334402", netip.AddrPort{})
	if err := inst.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := p.WaitFor(ctx, func(m msg.Message) bool { _, ok := m.(*msg.Reset); return ok })
	if err != nil {
		t.Fatalf("phone was not told about the shutdown: %v", err)
	}
	if r := m.(*msg.Reset); r.Type != msg.ResetRestart {
		t.Fatalf("Reset type %d, want restart (%d)", r.Type, msg.ResetRestart)
	}
}
