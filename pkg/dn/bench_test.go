package dn_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// BenchmarkCallSetupTeardown measures complete calls between fake phones:
// off-hook, dial a 4-digit number, answer, both media addresses reported,
// hang up. Every Switch method returns after the loop has applied the
// command and flushed its effects and presence, so each call ends with all
// lamps settled. pairs callers run concurrently against the one Switch
// goroutine. Reported as calls/s.
func BenchmarkCallSetupTeardown(b *testing.B) {
	// idle: registered phones that take no part; the core's per-call work
	// must not grow with them (a call's end once sorted every device).
	for _, c := range []struct{ pairs, idle int }{{1, 0}, {8, 0}, {64, 0}, {8, 1000}} {
		pairs := c.pairs
		name := fmt.Sprintf("pairs=%d", pairs)
		if c.idle > 0 {
			name += fmt.Sprintf(",idle=%d", c.idle)
		}
		b.Run(name, func(b *testing.B) {
			cfg := &config.Config{Telephony: &config.Telephony{}}
			for i := 1; i <= 2*pairs+c.idle; i++ {
				cfg.EphoneDNs = append(cfg.EphoneDNs, config.EphoneDN{Tag: i, Number: fmt.Sprintf("%d", 5000+i), AllowWatch: true})
				cfg.Ephones = append(cfg.Ephones, config.Ephone{Tag: i, MAC: fmt.Sprintf("0000.0001.%04d", i),
					Buttons: []config.Button{{Index: 1, Mode: config.ButtonNormal, DNs: []int{i}}}})
			}
			sw := dn.NewWithOptions(cfg, dn.Options{Observer: &dntest.Recorder{}, Records: &dntest.Records{}})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = sw.Run(ctx) }()
			ids := make([]dn.DeviceID, 2*pairs+c.idle+1)
			for i := 1; i <= 2*pairs+c.idle; i++ {
				id, err := sw.RegisterDevice(dn.DeviceInfo{Name: dn.DeviceName(fmt.Sprintf("0000.0001.%04d", i))}, dntest.Nop{})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = id
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for p := range pairs {
				wg.Go(func() {
					a, c := ids[2*p+1], ids[2*p+2]
					number := fmt.Sprintf("%d", 5000+2*p+2)
					for next.Add(1) <= int64(b.N) {
						if err := oneCall(sw, a, c, number); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
			if calls, _ := sw.Calls(); len(calls) != 0 {
				b.Fatalf("calls left: %d", len(calls))
			}
		})
	}
}

func oneCall(sw *dn.Switch, a, c dn.DeviceID, number string) error {
	if _, err := sw.OffHook(a, 0); err != nil {
		return err
	}
	if _, err := sw.Digits(a, 0, number); err != nil {
		return err
	}
	if _, err := sw.Answer(c, 0, 0); err != nil {
		return err
	}
	calls, _ := sw.Calls()
	for _, cl := range calls {
		if cl.Legs[0].Device == a.Name {
			_ = sw.MediaReady(a, 0, cl.ID, netip.MustParseAddrPort("10.0.0.1:20000"))
			_ = sw.MediaReady(c, 0, cl.ID, netip.MustParseAddrPort("10.0.0.2:20000"))
		}
	}
	return errOf(sw.OnHook(a, 0))
}

// BenchmarkLineChangeManyCalls measures one BLF line change (OffHook then
// OnHook on one phone, each applied and published) while `calls` other
// phones are off hook, each with its own call in progress: the shape of
// the 20,000-phone churn (issue 9), where about half the owner lines are
// off hook at any moment. The per-event cost must not grow with the
// number of unrelated calls.
func BenchmarkLineChangeManyCalls(b *testing.B) {
	for _, calls := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("calls=%d", calls), func(b *testing.B) {
			cfg := &config.Config{Telephony: &config.Telephony{}}
			for i := 1; i <= calls+1; i++ {
				cfg.EphoneDNs = append(cfg.EphoneDNs, config.EphoneDN{Tag: i, Number: fmt.Sprintf("%d", 100000+i), AllowWatch: true})
				cfg.Ephones = append(cfg.Ephones, config.Ephone{Tag: i, MAC: fmt.Sprintf("0000.%04x.%04x", i>>16, i&0xffff),
					Buttons: []config.Button{{Index: 1, Mode: config.ButtonNormal, DNs: []int{i}}}})
			}
			sw := dn.NewWithOptions(cfg, dn.Options{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = sw.Run(ctx) }()
			ids := make([]dn.DeviceID, calls+2)
			for i := 1; i <= calls+1; i++ {
				id, err := sw.RegisterDevice(dn.DeviceInfo{Name: dn.DeviceName(fmt.Sprintf("0000.%04x.%04x", i>>16, i&0xffff))}, dntest.Nop{})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = id
			}
			for i := 1; i <= calls; i++ {
				if _, err := sw.OffHook(ids[i], 0); err != nil {
					b.Fatal(err)
				}
			}
			owner := ids[calls+1]
			for b.Loop() {
				if _, err := sw.OffHook(owner, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := sw.OnHook(owner, 0); err != nil {
					b.Fatal(err)
				}
			}
			if got, _ := sw.Calls(); len(got) != calls {
				b.Fatalf("calls in progress: %d, want %d", len(got), calls)
			}
		})
	}
}
