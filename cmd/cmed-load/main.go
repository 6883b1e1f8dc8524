// Command cmed-load drives a cmed daemon with fake SCCP phones
// (pkg/sccp/sccptest) and sipp, and reports rates, lamp latency and the
// daemon's CPU and RSS (issue 9, BENCHMARKS.md).
//
//	cmed-load genconfig -n 1000 -m 10 > big.cfg
//	cmed-load harness  -n 20000 -m 10 -listen 127.0.0.1:2000   # in-process core+SCCP
//	cmed-load register -addr 127.0.0.1:2000 -n 1000 -pid PID
//	cmed-load blf      -addr 127.0.0.1:2000 -n 1000 -m 10 -rate 1000 -d 20s -pid PID
//	cmed-load calls    -addr 127.0.0.1:2000 -n 1000 -rate 50 -d 20s -pid PID
//	cmed-load subscribe -sip 127.0.0.1:5060 -rate 600 -calls 9000 -pid PID
//	cmed-load mixed    -addr ... -sip ... (blf churn, calls and SUBSCRIBEs at once)
//
// Every run is bounded by -n, -d and -calls and ends by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
)

type options struct {
	addr, sip       string
	n, m, conc      int
	rate, regRate   float64
	dur             time.Duration
	pid             int
	calls           int
	sippScenario    string
	hold            time.Duration
	subscribeRate   float64
	base            int
	listen          string
	pprofAddr       string
	gogc            int
	model           string
	seed            uint64
	subscribeSubset int
	// sippExtraNotify runs sipp with -aa: mid-dialog requests the scenario
	// does not expect (state-change NOTIFYs, RFC 6665 §4.2.2) are answered
	// 200 instead of failing the lifecycle (docs/sip-presence.md §Test-rig).
	sippExtraNotify bool
}

func (o *options) office() Office {
	return Office{N: o.n, M: o.m, Base: o.base, Model: o.model}.withDefaults()
}

func flags(name string, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:2000", "daemon SCCP address")
	fs.StringVar(&o.sip, "sip", "127.0.0.1:5060", "daemon SIP address (subscribe, mixed)")
	fs.IntVar(&o.n, "n", 100, "phones")
	fs.IntVar(&o.m, "m", 10, "BLF buttons per phone")
	fs.IntVar(&o.conc, "c", 200, "registrations in flight")
	fs.Float64Var(&o.regRate, "reg-rate", 0, "new registrations per second (0: as fast as -c allows)")
	fs.Float64Var(&o.rate, "rate", 100, "line changes (blf) or calls (calls) per second")
	fs.DurationVar(&o.dur, "d", 10*time.Second, "scenario duration")
	fs.IntVar(&o.pid, "pid", 0, "daemon PID for CPU and RSS from /proc")
	fs.IntVar(&o.calls, "calls", 3000, "SUBSCRIBE lifecycles (subscribe)")
	fs.Float64Var(&o.subscribeRate, "sub-rate", 300, "SUBSCRIBE lifecycles per second (subscribe, mixed)")
	fs.StringVar(&o.sippScenario, "scenario", "/work/shared/peers/sipp/subscribe_dialog.xml", "sipp scenario")
	fs.DurationVar(&o.hold, "hold", 200*time.Millisecond, "talk time per call (calls)")
	fs.IntVar(&o.base, "base", 100000, "first directory number of the generated office")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:2000", "harness: SCCP listen address")
	fs.StringVar(&o.pprofAddr, "pprof", "", "harness: serve net/http/pprof on this address (empty: off)")
	fs.IntVar(&o.gogc, "gogc", 200, "harness: GC target percent, as `cmed serve` sets it (an explicit GOGC wins)")
	fs.StringVar(&o.model, "model", "7961", "phone model")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed")
	fs.IntVar(&o.subscribeSubset, "sub-dns", 1000, "subscribe: how many of the office's DNs the watchers cycle over")
	fs.BoolVar(&o.sippExtraNotify, "aa", name == "mixed", "run sipp with -aa (answer state-change NOTIFYs the scenario does not expect); on for mixed")
	return fs
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cmed-load genconfig|harness|register|blf|calls|subscribe|mixed [flags]")
		os.Exit(2)
	}
	raiseNoFile()
	var o options
	cmd := os.Args[1]
	fs := flags(cmd, &o)
	fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cmd != "genconfig" && cmd != "subscribe" {
		noteNoFile(o.n)
	}
	var err error
	switch cmd {
	case "genconfig":
		of := o.office()
		if of.N > 1000 {
			fmt.Fprintf(os.Stderr, "cmed-load: note: %d ephones exceed CME's limit of 1000; cmed's validation refuses this config, use `cmed-load harness`\n", of.N)
		}
		if of.SubscriptionsCapped() {
			fmt.Fprintf(os.Stderr, "cmed-load: note: max-subscription capped at CME's maximum %d, below the office's %d BLF subscriptions: the daemon refuses the rest and SIP watchers get none (`cmed-load harness` skips validation and allows %d)\n",
				config.MaxMaxSubscription, of.N*of.M, of.N*of.M+subscriptionHeadroom)
		}
		fmt.Print(of.Text())
	case "harness":
		err = runHarness(ctx, o)
	case "register":
		err = runRegister(ctx, o)
	case "blf":
		err = runBLF(ctx, o)
	case "calls":
		err = runCalls(ctx, o)
	case "subscribe":
		err = runSubscribe(ctx, o, os.Stdout)
	case "mixed":
		err = runMixed(ctx, o)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cmed-load:", err)
		os.Exit(1)
	}
}

// wantNoFile is the open-files limit asked for: 20,000 phones need 20,000
// sockets plus the listener, epoll and stdio, so a hard limit of exactly
// 20,000 left the last few phones of a 20,000-phone run unserved (their
// Register waited out the 60 s dial timeout, BENCHMARKS.md).
const wantNoFile = 1 << 16

// raiseNoFile lifts the open-files limit: the hard limit too when the
// process may (root, CAP_SYS_RESOURCE), else the soft one to the hard one.
// Each fake phone, and each phone the harness serves, is one socket.
func raiseNoFile() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) != nil {
		return
	}
	if r.Max < wantNoFile {
		up := syscall.Rlimit{Cur: wantNoFile, Max: wantNoFile}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up) == nil {
			return
		}
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

// noFileSpare is what a process needs besides one socket per phone: stdio,
// epoll, the listener, /proc reads.
const noFileSpare = 32

// noteNoFile warns when n phones cannot all get a socket in one process:
// the phones past the limit are not served and time out, which reads as
// failed registrations.
func noteNoFile(n int) {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < uint64(n+noFileSpare) {
		fmt.Fprintf(os.Stderr, "cmed-load: note: open-files limit %d < %d phones + %d: about %d phones will not get a socket (raise the hard limit: ulimit -Hn, needs CAP_SYS_RESOURCE)\n",
			r.Cur, n, noFileSpare, n+noFileSpare-int(r.Cur))
	}
}

func registerReport(rep *report, f *Fleet) {
	var lat []time.Duration
	for i, p := range f.phones {
		if p != nil {
			lat = append(lat, f.regLat[i])
		}
	}
	ok := time.Duration(f.lastOK.Load())
	rep.add("registered=%d failed=%d wall=%.2fs last_ok=%.2fs rate=%.0f phones/s register+provision p50=%s p99=%s",
		len(lat), f.regErr.Load(), f.wall.Seconds(), ok.Seconds(), float64(len(lat))/max(ok.Seconds(), 1e-9),
		ms(percentile(lat, 50)), ms(percentile(lat, 99)))
}

func runRegister(ctx context.Context, o options) error {
	before := readProc(o.pid)
	f := ConnectFleet(ctx, o.addr, o.office(), o.conc, o.regRate)
	after := readProc(o.pid)
	var rep report
	rep.add("scenario=register n=%d m=%d c=%d", o.n, o.m, o.conc)
	registerReport(&rep, f)
	rep.proc(before, after, f.wall, f.Registered())
	f.Close()
	fmt.Print(rep.String())
	return nil
}

// blfChurn runs the BLF scenario on a connected fleet and adds its lines.
func blfChurn(ctx context.Context, o options, f *Fleet, rep *report) {
	rng := rand.New(rand.NewPCG(o.seed, 7))
	start := time.Now()
	changes := f.churnLines(ctx, o.rate, o.dur, rng)
	wall := time.Since(start)
	// Let the last updates arrive.
	time.Sleep(time.Second)
	lat, stray, lost := f.lamps.finish()
	rep.add("line_changes=%d (%.0f/s) lamp_updates=%d (%.0f/s) lost=%d stray=%d", changes, float64(changes)/wall.Seconds(),
		len(lat), float64(len(lat))/wall.Seconds(), lost, stray)
	rep.add("lamp_latency p50=%s p99=%s max=%s", ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(percentile(lat, 100)))
}

func runBLF(ctx context.Context, o options) error {
	before := readProc(o.pid)
	f := ConnectFleet(ctx, o.addr, o.office(), o.conc, o.regRate)
	defer f.Close()
	var rep report
	rep.add("scenario=blf n=%d m=%d rate=%.0f d=%v", o.n, o.m, o.rate, o.dur)
	registerReport(&rep, f)
	reg := readProc(o.pid)
	rep.proc(before, reg, f.wall, f.Registered())
	f.WatchLamps(ctx)
	blfChurn(ctx, o, f, &rep)
	rep.add("during churn:")
	rep.proc(reg, readProc(o.pid), o.dur, 0)
	fmt.Print(rep.String())
	return nil
}

func runMixed(ctx context.Context, o options) error {
	before := readProc(o.pid)
	f := ConnectFleet(ctx, o.addr, o.office(), o.conc, o.regRate)
	defer f.Close()
	var rep report
	rep.add("scenario=mixed n=%d m=%d blf-rate=%.0f sub-rate=%.0f d=%v", o.n, o.m, o.rate, o.subscribeRate, o.dur)
	registerReport(&rep, f)
	reg := readProc(o.pid)
	f.WatchLamps(ctx)
	var wg sync.WaitGroup
	var subOut, callOut report
	var subErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		so := o
		so.calls = int(o.subscribeRate * o.dur.Seconds())
		// The BLF churn changes the watched DNs mid-lifecycle, so their
		// state-change NOTIFYs are legitimate (RFC 6665 §4.2.2).
		so.sippExtraNotify = true
		var b stringsBuilder
		subErr = runSubscribe(ctx, so, &b)
		subOut.add("%s", b.String())
	}()
	go func() {
		defer wg.Done()
		callPairs(ctx, o, f, &callOut, 0.1)
	}()
	blfChurn(ctx, o, f, &rep)
	wg.Wait()
	rep.lines = append(rep.lines, callOut.lines...)
	rep.lines = append(rep.lines, subOut.lines...)
	if subErr != nil {
		rep.add("subscribe: %v", subErr)
	}
	rep.proc(before, reg, f.wall, f.Registered())
	rep.add("during the mixed load:")
	rep.proc(reg, readProc(o.pid), o.dur, 0)
	fmt.Print(rep.String())
	return nil
}

type stringsBuilder struct {
	mu sync.Mutex
	b  []byte
}

func (s *stringsBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *stringsBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}
