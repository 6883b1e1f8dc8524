package blf_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
)

// benchFanout subscribes watchersPer Mailbox watchers to each of dns
// presentities, then applies state changes round-robin. Every change flips
// a DN idle <-> in use, so each one is delivered to all its watchers. The
// latency of a change is the time until its last watcher's Deliver
// returned; deliveries run on the caller's goroutine (the dn loop in cmed).
func benchFanout(b *testing.B, dns, watchersPer int) { benchFanoutLogged(b, dns, watchersPer, nil) }

// benchFanoutLogged is benchFanout with log as the engine's debug logger.
func benchFanoutLogged(b *testing.B, dns, watchersPer int, log *slog.Logger) {
	cfg := &config.Config{Presence: &config.Presence{MaxSubscription: dns * watchersPer}, SIPUA: &config.SIPUA{PresenceEnable: true}}
	e := blf.New(cfg, nil)
	e.SetLogger(log)
	events := make([]dn.LineEvent, dns)
	for i := range events {
		events[i] = dn.LineEvent{Key: dn.DNKey{Kind: dn.EphoneDN, Tag: i + 1}, Number: fmt.Sprint(100000 + i),
			AllowWatch: true, Presence: dn.PresenceIdle}
		e.LineChanged(events[i])
	}
	mbs := make([]*blf.Mailbox, watchersPer)
	for i := range mbs {
		mbs[i] = blf.NewMailbox()
	}
	for i := range events {
		for _, m := range mbs {
			if _, err := e.Subscribe(blf.SubscribeRequest{Watcher: m, Kind: blf.KindSIPPhone, Presentity: events[i].Number}); err != nil {
				b.Fatal(err)
			}
		}
	}
	var buf []blf.Update
	for _, m := range mbs {
		buf = m.Drain(buf[:0])
	}
	lat := make([]time.Duration, 0, min(b.N, 1<<20))
	before := e.Global().Deliveries
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		ev := &events[n%dns]
		if ev.Presence == dn.PresenceIdle {
			ev.Presence = dn.PresenceInUse
		} else {
			ev.Presence = dn.PresenceIdle
		}
		t0 := time.Now()
		e.LineChanged(*ev)
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
		n++
		if n%dns == 0 { // watchers drain now and then, as adapters do
			for _, m := range mbs {
				buf = m.Drain(buf[:0])
			}
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	deliveries := float64(e.Global().Deliveries - before)
	if want := float64(n * watchersPer); deliveries != want {
		b.Fatalf("deliveries = %v, want %v", deliveries, want)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "changes/s")
	b.ReportMetric(deliveries/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/deliveries, "ns/delivery")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/deliveries, "allocs/delivery")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkFanout1DNx1000Watchers: one DN watched by 1,000 watchers.
func BenchmarkFanout1DNx1000Watchers(b *testing.B) { benchFanout(b, 1, 1000) }

// BenchmarkFanout10000DNsx10Watchers: 10,000 DNs, 10 watchers each.
func BenchmarkFanout10000DNsx10Watchers(b *testing.B) { benchFanout(b, 10000, 10) }

// BenchmarkFanout1DNx1000WatchersDebugOff is the daemon's normal case: a
// debug logger is set (as cmed always does) but `debug presence` is off,
// so the trace must cost nothing measurable against the nil-logger run.
func BenchmarkFanout1DNx1000WatchersDebugOff(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	benchFanoutLogged(b, 1, 1000, log.With("category", "presence"))
}

// BenchmarkSwitchToBLF measures the whole path: a call set up and torn
// down on the dn.Switch, with 100 watchers on each party.
func BenchmarkSwitchToBLF(b *testing.B) {
	cfg := propConfig(map[int]bool{}, true, true)
	cfg.Presence.MaxSubscription = 1000
	e := blf.New(cfg, nil)
	sw := dn.New(cfg, e)
	ctx := b.Context()
	go func() { _ = sw.Run(ctx) }()
	a, _ := sw.RegisterDevice(dn.DeviceInfo{Name: dn.DeviceName("0000.0000.0001"), Protocol: dn.SCCP}, nopDevice{})
	c, _ := sw.RegisterDevice(dn.DeviceInfo{Name: dn.DeviceName("0000.0000.0002"), Protocol: dn.SCCP}, nopDevice{})
	for range 100 {
		for _, n := range []string{"1001", "1002"} {
			if _, err := e.Subscribe(blf.SubscribeRequest{Watcher: blf.NewMailbox(), Kind: blf.KindSIPPhone, Presentity: n}); err != nil {
				b.Fatal(err)
			}
		}
	}
	before := e.Global().Deliveries
	start := time.Now()
	for b.Loop() {
		_, _ = sw.OffHook(a, 0)
		_, _ = sw.Digits(a, 0, "1002")
		_, _ = sw.Answer(c, 0, 0)
		_, _ = sw.OnHook(a, 0)
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(e.Global().Deliveries-before)/el, "deliveries/s")
}

type nopDevice struct{}

func (nopDevice) Ring(int, dn.CallInfo)                                     {}
func (nopDevice) StopRing(int, dn.CallID)                                   {}
func (nopDevice) CallState(int, dn.CallID, dn.LineState)                    {}
func (nopDevice) CallInfo(int, dn.CallInfo)                                 {}
func (nopDevice) Tone(int, dn.CallID, dn.Tone)                              {}
func (nopDevice) Released(int, dn.CallID, dn.Cause)                         {}
func (nopDevice) DND(bool)                                                  {}
func (nopDevice) Reset()                                                    {}
func (nopDevice) OpenMedia(int, dn.CallID, dn.MediaParams)                  {}
func (nopDevice) StartMedia(int, dn.CallID, netip.AddrPort, dn.MediaParams) {}
func (nopDevice) StopMedia(int, dn.CallID)                                  {}
func (nopDevice) CallForward(int, string)                                   {}
