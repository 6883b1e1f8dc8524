package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/sccp"
)

// TestGenconfigParsesAndValidates: an office within CME's limits is a
// config cmed accepts, with M watchers on every line.
func TestGenconfigParsesAndValidates(t *testing.T) {
	of := Office{N: 40, M: 10}.withDefaults()
	c, err := config.Parse("gen.cfg", []byte(of.Text()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Ephones) != 40 || len(c.EphoneDNs) != 40 {
		t.Fatalf("%d ephones, %d DNs", len(c.Ephones), len(c.EphoneDNs))
	}
	watchers := map[string]int{}
	for _, e := range c.Ephones {
		if len(e.BLFSpeedDials) != 10 {
			t.Fatalf("ephone %d has %d BLF speed dials", e.Tag, len(e.BLFSpeedDials))
		}
		for _, b := range e.BLFSpeedDials {
			watchers[b.Number]++
		}
	}
	for i := range 40 {
		if watchers[of.Number(i)] != 10 {
			t.Fatalf("%s has %d watchers", of.Number(i), watchers[of.Number(i)])
		}
		ph, btn := of.Watchers(i)
		for j := range ph {
			if of.Watched(ph[j], btn[j]) != i {
				t.Fatalf("Watchers(%d) and Watched disagree", i)
			}
		}
	}
}

// TestSourceAddrsSpread: no loopback source address carries more than the
// server's per-IP default of 64 phones.
func TestSourceAddrsSpread(t *testing.T) {
	count := map[string]int{}
	for i := range 20000 {
		a := sourceAddr(i)
		if !a.IsLoopback() {
			t.Fatalf("phone %d source %v is not loopback", i, a)
		}
		count[a.String()]++
	}
	for a, n := range count {
		if n > 64 {
			t.Fatalf("%s carries %d phones", a, n)
		}
	}
}

// TestBLFChurnMeasuresEveryLampUpdate runs the blf scenario against the
// core and SCCP server in-process: every line change reaches all M
// watchers, and the tracker counts each exactly once.
func TestBLFChurnMeasuresEveryLampUpdate(t *testing.T) {
	of := Office{N: 30, M: 4}.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := serveInProcess(t, ctx, of)
	f := ConnectFleet(ctx, addr, of, 10, 0)
	defer f.Close()
	if f.Registered() != of.N {
		t.Fatalf("%d of %d phones registered (%d errors)", f.Registered(), of.N, f.regErr.Load())
	}
	f.WatchLamps(ctx)
	changes := f.churnLines(ctx, 100, time.Second, rand.New(rand.NewPCG(1, 2)))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f.lamps.mu.Lock()
		n := len(f.lamps.lat)
		f.lamps.mu.Unlock()
		if n >= changes*of.M {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	lat, stray, lost, _ := f.lamps.finish()
	if changes < 50 {
		t.Fatalf("only %d changes in 1s at 100/s", changes)
	}
	if len(lat) != changes*of.M || lost != 0 {
		t.Fatalf("%d changes x %d watchers: %d updates measured, %d lost, %d stray", changes, of.M, len(lat), lost, stray)
	}
	if p := percentile(lat, 99); p <= 0 || p > 5*time.Second {
		t.Fatalf("p99 %v", p)
	}
}

// TestCallsScenario places real calls between fake phones.
func TestCallsScenario(t *testing.T) {
	of := Office{N: 6, M: 0}.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := serveInProcess(t, ctx, of)
	f := ConnectFleet(ctx, addr, of, 6, 0)
	defer f.Close()
	var rep report
	callPairs(ctx, options{rate: 20, dur: time.Second, hold: 10 * time.Millisecond}, f, &rep, 1)
	out := rep.String()
	t.Log(out)
	if !strings.Contains(out, "failed=0") || strings.Contains(out, "calls ok=0 ") {
		t.Fatalf("calls report: %s", out)
	}
}

func serveInProcess(t *testing.T, ctx context.Context, of Office) string {
	t.Helper()
	cfg := of.Config()
	engine := blf.New(cfg, nil)
	sw := dn.NewWithOptions(cfg, dn.Options{Observer: engine})
	go sw.Run(ctx)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &sccp.Server{Switch: sw, Presence: engine, Config: cfg, Logger: slog.New(slog.DiscardHandler)}
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	t.Cleanup(func() {
		// The test's deferred cancel runs before cleanups.
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("sccp server did not stop")
		}
	})
	return l.Addr().String()
}

func TestParseProcStat(t *testing.T) {
	line := "1234 (cmed serve) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 2000000 3000 18446744073709551615"
	d, err := parseProcStat([]byte(line))
	if err != nil || d != 3*time.Second {
		t.Fatalf("cpu %v err %v, want 3s", d, err)
	}
	if _, err := parseProcStat([]byte("1 (x) S 1")); err == nil {
		t.Fatal("short stat accepted")
	}
	st := "Name:\tcmed\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n"
	if n, ok := parseProcStatus([]byte(st), "VmRSS"); !ok || n != 1024*1024 {
		t.Fatalf("VmRSS %d %v", n, ok)
	}
	if _, ok := parseProcStatus([]byte(st), "VmSwap"); ok {
		t.Fatal("missing key found")
	}
}

func FuzzParseProc(f *testing.F) {
	f.Add([]byte("1234 (cmed) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100"))
	f.Add([]byte("Name:\tcmed\nVmRSS:\t  1024 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := parseProcStat(b); err == nil && d < 0 {
			t.Fatalf("negative CPU %v", d)
		}
		if n, ok := parseProcStatus(b, "VmRSS"); ok && n < 0 {
			t.Fatalf("negative RSS %d", n)
		}
	})
}

// TestMixedRunsSippWithAA: mixed answers the state-change NOTIFYs its own
// BLF churn causes (sipp -aa); plain subscribe stays strict unless asked.
func TestMixedRunsSippWithAA(t *testing.T) {
	for _, tc := range []struct {
		cmd  func(*options) *cobra.Command
		args []string
		want bool
	}{
		{newMixedCmd, nil, true},
		{newSubscribeCmd, nil, false},
		{newSubscribeCmd, []string{"--aa"}, true},
	} {
		var o options
		c := tc.cmd(&o)
		if err := c.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(sippArgs(o, "u.csv", time.Minute), "-aa"); got != tc.want {
			t.Errorf("%s %v: -aa in sipp args = %v, want %v", c.Name(), tc.args, got, tc.want)
		}
	}
}

// TestGenconfigSubscriptionHeadroom: genconfig leaves 100 subscriptions
// for SIP watchers, capped at CME's 500; the harness config is not capped.
func TestGenconfigSubscriptionHeadroom(t *testing.T) {
	for _, tc := range []struct {
		n, m, want int
		capped     bool
	}{
		{50, 8, 500, false},
		{30, 10, 400, false},
		{10, 1, 110, false},
		{50, 10, 500, false},
		{60, 10, 500, true},
	} {
		of := Office{N: tc.n, M: tc.m}.withDefaults()
		c, err := config.Parse("gen.cfg", []byte(of.Text()))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Presence.MaxSubscription; got != tc.want {
			t.Errorf("%dx%d: max-subscription %d, want %d", tc.n, tc.m, got, tc.want)
		}
		if of.SubscriptionsCapped() != tc.capped {
			t.Errorf("%dx%d: capped = %v, want %v", tc.n, tc.m, !tc.capped, tc.capped)
		}
		if got := of.Config().Presence.MaxSubscription; got != tc.n*tc.m+100 {
			t.Errorf("%dx%d: harness max-subscription %d, want %d", tc.n, tc.m, got, tc.n*tc.m+100)
		}
	}
}
