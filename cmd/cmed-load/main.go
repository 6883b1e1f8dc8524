// Command cmed-load drives a cmed daemon with fake SCCP phones
// (pkg/sccp/sccptest) and sipp, and reports rates, lamp latency and the
// daemon's CPU and RSS (issue 9, BENCHMARKS.md). `cmed-load --help` says
// how; with no flags every scenario runs against the embedded demo office
// (config/default.cfg) that `cmed serve` starts with.
//
// Every run is bounded by its phone count, duration and lifecycle count
// and ends by itself.
package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/pkg/config"
)

type options struct {
	stdout, stderr  io.Writer
	addr, sip       string
	officeName      string
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

// Office names --office takes besides a file path.
const (
	officeDemo = "demo"
	officeGen  = "gen"
)

// generated is the office `genconfig` prints and `harness` serves.
func (o *options) generated() Office {
	return Office{Name: officeGen, N: o.n, M: o.m, Base: o.base, Model: o.model}.withDefaults()
}

// office is the office --office names: the embedded demo config, the
// generated office, or a config file.
func (o *options) office() (Office, error) {
	switch o.officeName {
	case officeGen:
		if o.n <= 0 {
			o.n = 100
		}
		return o.generated(), nil
	case officeDemo, "":
		c, err := config.Parse("default.cfg", configs.Default)
		if err != nil {
			return Office{}, fmt.Errorf("embedded demo office: %w", err)
		}
		return OfficeFromConfig(officeDemo+" (config/default.cfg)", c, o.n)
	}
	text, err := os.ReadFile(o.officeName)
	if err != nil {
		return Office{}, fmt.Errorf("--office: %w", err)
	}
	c, err := config.Parse(o.officeName, text)
	if err != nil {
		return Office{}, fmt.Errorf("--office: %w", err)
	}
	return OfficeFromConfig(o.officeName, c, o.n)
}

func main() {
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs the command line args and returns the exit status.
func execute(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(longFlagArgs(root, args))
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "cmed-load:", err)
		return 1
	}
	return 0
}

// longFlagArgs rewrites "-name" and "-name=value" to "--name..." when name
// is a long flag of the command being run: cmed-load took Go flag-package
// syntax before it used cobra, and the commands in BENCHMARKS.md are
// typed that way. Single letters stay shorthands (-n, -m, -c, -d, -h).
func longFlagArgs(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		cmd = root
	}
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if len(name) > 1 && (cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil) {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

const rootLong = `cmed-load drives a running cmed daemon with fake SCCP phones (and sipp for
SIP SUBSCRIBE load) and reports registration and call rates, BLF lamp
latency, and the daemon's CPU and memory when given its --pid
(BENCHMARKS.md). Every run is bounded by its phone count, duration and
lifecycle count, and ends by itself.

The daemon registers only the MACs its own config names, so the phones must
come from the daemon's office. --office picks it:
  demo  the embedded demo office (config/default.cfg), which "cmed serve" runs
        when started with no flags: ephones 1-4, MACs 0011.2233.4401 to
        0011.2233.4404, lines 1001-1004, SCCP on port 2000, SIP on 5060.
        This is the default.
  gen   the generated office: what "cmed-load genconfig -n N -m M" prints
        and "cmed-load harness" serves (MACs 0000.0000.0001 up, lines from
        100000). Give the same -n and -m to every command.
  FILE  any cmed config file: its ephones, their types, lines and BLF
        speed dials.

Against the demo office:
  cmed serve &
  cmed-load register           registers the demo's four SCCP phones
  cmed-load blf -d 5s          BLF lamp churn between them
  cmed-load subscribe          SIP SUBSCRIBE lifecycles for their lines (sipp)

A bigger office:
  cmed-load genconfig -n 50 -m 8 > big.cfg
  cmed serve --config big.cfg &
  cmed-load blf --office gen -n 50 -m 8 --rate 200 -d 20s --pid PID

Flags written with one dash (-addr, -rate) are read as long flags.`

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "cmed-load",
		Short:         "Load generator and benchmark for a cmed daemon (fake SCCP phones, sipp)",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
		// The command tree is fixed; no shell-completion command.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(newRegisterCmd(&options{}), newBLFCmd(&options{}), newCallsCmd(&options{}),
		newSubscribeCmd(&options{}), newMixedCmd(&options{}), newGenconfigCmd(&options{}), newHarnessCmd(&options{}))
	return root
}

// run wraps a scenario as a cobra RunE with the signal-bound context and
// the open-files checks every phone-holding command needs.
func run(o *options, phones bool, fn func(ctx context.Context, o options) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		o.stdout, o.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
		raiseNoFile()
		if phones {
			noteNoFile(o.stderr, o.n)
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return fn(ctx, *o)
	}
}

// officeFlags are the flags that pick the phones.
func officeFlags(c *cobra.Command, o *options) {
	f := c.Flags()
	f.StringVar(&o.officeName, "office", officeDemo, "which phones to run, `demo|gen|FILE`: \"demo\" is the embedded demo office \"cmed serve\" runs by default, \"gen\" the office \"cmed-load genconfig\" prints, FILE a cmed config; it must be the daemon's office")
	f.IntVarP(&o.n, "phones", "n", 0, "how many of the office's phones to run, first ephone tags first (0: all of a demo or FILE office; 100 with --office gen)")
	f.IntVarP(&o.m, "blf", "m", 10, "--office gen: BLF speed dials per phone, as given to genconfig")
	f.IntVar(&o.base, "base", 100000, "--office gen: first directory number, as given to genconfig")
	f.StringVar(&o.model, "model", "7961", "--office gen: phone type every phone registers as, as given to genconfig")
}

// daemonFlags are where the daemon is and how phones connect.
func daemonFlags(c *cobra.Command, o *options) {
	f := c.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:2000", "the daemon's SCCP `HOST:PORT`: telephony-service \"ip source-address ... port\" (the demo office uses port 2000)")
	f.IntVarP(&o.conc, "concurrency", "c", 200, "how many phones register at once")
	f.Float64Var(&o.regRate, "reg-rate", 0, "new registrations started per second (0: as fast as -c allows)")
	pidFlag(c, o)
}

func pidFlag(c *cobra.Command, o *options) {
	c.Flags().IntVar(&o.pid, "pid", 0, "the daemon's process `ID`: its CPU time and memory are read from /proc and reported (0: not reported)")
}

// sipFlags are the sipp SUBSCRIBE load's.
func sipFlags(c *cobra.Command, o *options, aa bool) {
	f := c.Flags()
	f.StringVar(&o.sip, "sip", "127.0.0.1:5060", "the daemon's SIP `HOST:PORT`: voice register global \"source-address ... port\" (the demo office uses port 5060)")
	f.Float64Var(&o.subscribeRate, "sub-rate", 300, "SUBSCRIBE lifecycles started per second")
	f.StringVar(&o.sippScenario, "scenario", "", "sipp scenario `FILE` (empty: the built-in one, scenarios/subscribe_dialog.xml in this command's source: SUBSCRIBE Event: dialog, 200, NOTIFY, 200, unsubscribe, 200, NOTIFY terminated, 200)")
	f.IntVar(&o.subscribeSubset, "sub-dns", 1000, "how many of the office's line numbers the SIP watchers cycle over")
	f.BoolVar(&o.sippExtraNotify, "aa", aa, "run sipp with -aa, answering 200 to NOTIFYs the scenario does not expect (state changes while a lifecycle runs)")
}

func newRegisterCmd(o *options) *cobra.Command {
	c := &cobra.Command{
		Use:   "register",
		Short: "Register the office's SCCP phones once and report the rate",
		Long: `register connects every phone of the office to the daemon's SCCP port,
registers it (Register, RegisterAck) and provisions it as a phone does
(button and softkey templates, line and BLF status), then reports how many
registered, how fast, and the register+provision latency. A phone the
daemon turns away is reported with the daemon's RegisterReject text.
Exits non-zero if any phone failed.

With its defaults it registers the demo office's four phones on
127.0.0.1:2000, the office "cmed serve" runs with no flags.`,
		Example: "  cmed-load register\n  cmed-load register --office gen -n 1000 -c 400 --pid 1234",
		Args:    cobra.NoArgs,
		RunE:    run(o, true, runRegister),
	}
	officeFlags(c, o)
	daemonFlags(c, o)
	return c
}

func newBLFCmd(o *options) *cobra.Command {
	c := &cobra.Command{
		Use:   "blf",
		Short: "Toggle lines off and on hook and time the BLF lamps that follow",
		Long: `blf registers the office's phones, then for --duration takes random
lines off hook and back on hook at --rate changes per second, and times
from each change to every watcher's BLF lamp update (FeatureStatV2). It
reports lamp updates per second, their latency percentiles, lamps never
updated (lost) and updates no change explains (stray). Phones that fail to
register are listed with their reason; the run stops if none register.`,
		Example: "  cmed-load blf -d 5s\n  cmed-load blf --office gen -n 50 -m 8 --rate 200 -d 20s --pid 1234",
		Args:    cobra.NoArgs,
		RunE:    run(o, true, runBLF),
	}
	officeFlags(c, o)
	daemonFlags(c, o)
	c.Flags().Float64Var(&o.rate, "rate", 100, "line changes (off hook or on hook) per second")
	c.Flags().DurationVarP(&o.dur, "duration", "d", 10*time.Second, "how long the churn runs")
	c.Flags().Uint64Var(&o.seed, "seed", 1, "random seed choosing which lines change")
	return c
}

func newCallsCmd(o *options) *cobra.Command {
	c := &cobra.Command{
		Use:   "calls",
		Short: "Place calls between pairs of phones and time ringing and answer",
		Long: `calls registers the office's phones, pairs them (phones 0 and 1, 2 and 3,
...) and for --duration places calls at --rate per second: A goes off hook
and dials B's number, B rings and answers, both hang up after --hold. It
reports completed and failed calls, dial-to-ring and answer-to-connected
latency, and the first failure's reason.`,
		Example: "  cmed-load calls -d 5s --rate 2\n  cmed-load calls --office gen -n 2000 -m 0 --rate 200 --hold 200ms -d 20s --pid 1234",
		Args:    cobra.NoArgs,
		RunE:    run(o, true, runCalls),
	}
	officeFlags(c, o)
	daemonFlags(c, o)
	c.Flags().Float64Var(&o.rate, "rate", 100, "calls started per second, at most one per idle pair")
	c.Flags().DurationVar(&o.hold, "hold", 200*time.Millisecond, "talk time of each call before both hang up")
	c.Flags().DurationVarP(&o.dur, "duration", "d", 10*time.Second, "how long new calls are started")
	return c
}

func newSubscribeCmd(o *options) *cobra.Command {
	c := &cobra.Command{
		Use:   "subscribe",
		Short: "Run SIP SUBSCRIBE (Event: dialog) lifecycles with sipp",
		Long: `subscribe runs --calls SUBSCRIBE lifecycles against the daemon's SIP port
with sipp (Debian package sip-tester), --sub-rate per second: SUBSCRIBE,
200, NOTIFY, 200, SUBSCRIBE Expires: 0, 200, NOTIFY terminated, 200
(RFC 6665 §4.1, RFC 4235). The watched numbers are the office's lines.
It reports lifecycles completed, failed and retransmitted, and every SIP
failure with its status code and reason phrase as sipp received it.

The demo office lets any watcher subscribe ("presence / watcher all"); a
daemon configured with "authenticate presence" answers 401, which the
built-in scenario does not answer, and the report shows it.`,
		Example: "  cmed-load subscribe --calls 100 --sub-rate 50\n  cmed-load subscribe --office gen -n 50 --sip 127.0.0.1:5062 --sub-rate 600 --calls 9000 --pid 1234",
		Args:    cobra.NoArgs,
		RunE: run(o, false, func(ctx context.Context, o options) error {
			return runSubscribe(ctx, o, o.stdout)
		}),
	}
	officeFlags(c, o)
	sipFlags(c, o, false)
	c.Flags().IntVar(&o.calls, "calls", 3000, "how many SUBSCRIBE lifecycles to run in total")
	pidFlag(c, o)
	return c
}

func newMixedCmd(o *options) *cobra.Command {
	c := &cobra.Command{
		Use:   "mixed",
		Short: "BLF churn, calls and SIP SUBSCRIBEs at the same time",
		Long: `mixed registers the office's phones and for --duration runs three loads at
once: the blf churn on the first 90% of the phones, calls between pairs of
the last 10% (an office of fewer than 20 phones has no pair left), and sipp
SUBSCRIBE lifecycles at --sub-rate (with sipp -aa, since the churn changes
watched lines mid-lifecycle, RFC 6665 §4.2.2).`,
		Example: "  cmed-load mixed -d 5s --sub-rate 20\n  cmed-load mixed --office gen -n 50 -m 8 --sip 127.0.0.1:5062 --rate 200 --sub-rate 300 -d 20s --pid 1234",
		Args:    cobra.NoArgs,
		RunE:    run(o, true, runMixed),
	}
	officeFlags(c, o)
	daemonFlags(c, o)
	sipFlags(c, o, true)
	c.Flags().Float64Var(&o.rate, "rate", 100, "line changes per second, and calls per second on the call pairs")
	c.Flags().DurationVar(&o.hold, "hold", 200*time.Millisecond, "talk time of each call")
	c.Flags().DurationVarP(&o.dur, "duration", "d", 10*time.Second, "how long the loads run")
	c.Flags().Uint64Var(&o.seed, "seed", 1, "random seed choosing which lines change")
	return c
}

// genFlags describe the generated office.
func genFlags(c *cobra.Command, o *options) {
	f := c.Flags()
	f.IntVarP(&o.n, "phones", "n", 100, "SCCP phones (ephones), each with one line")
	f.IntVarP(&o.m, "blf", "m", 10, "BLF speed dials per phone: phone i watches the next m phones' lines")
	f.IntVar(&o.base, "base", 100000, "directory number of phone 0; phone i has base+i")
	f.StringVar(&o.model, "model", "7961", "phone type of every ephone (7961 with two 7914 modules holds 10 BLF buttons)")
}

func newGenconfigCmd(o *options) *cobra.Command {
	c := &cobra.Command{
		Use:   "genconfig",
		Short: "Print the generated load office as a cmed config",
		Long: `genconfig prints the generated office as cmed config text, for
"cmed serve --config FILE": n ephones with MACs 0000.0000.0001 up, one line
each (numbers from --base), and m BLF speed dials each, so every line has m
watchers. SCCP listens on 127.0.0.1 port 2000. Then run the scenarios with
--office gen and the same -n and -m. max-subscription is capped at CME's
500, which a note on stderr points out when n x m needs more.`,
		Example: "  cmed-load genconfig -n 50 -m 8 > big.cfg",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			of := o.generated()
			w := cmd.ErrOrStderr()
			if of.N > 1000 {
				fmt.Fprintf(w, "cmed-load: note: %d ephones exceed CME's limit of 1000; cmed's validation refuses this config, use `cmed-load harness`\n", of.N)
			}
			if of.SubscriptionsCapped() {
				fmt.Fprintf(w, "cmed-load: note: max-subscription capped at CME's maximum %d, below the office's %d BLF subscriptions: the daemon refuses the rest and SIP watchers get none (`cmed-load harness` skips validation and allows %d)\n",
					config.MaxMaxSubscription, of.N*of.M, of.N*of.M+subscriptionHeadroom)
			}
			_, err := io.WriteString(cmd.OutOrStdout(), of.Text())
			return err
		},
	}
	genFlags(c, o)
	return c
}

func newHarnessCmd(o *options) *cobra.Command {
	c := &cobra.Command{
		Use:   "harness",
		Short: "Serve the generated office in this process, beyond CME's limits",
		Long: `harness serves the generated office over SCCP with the same switch, BLF
engine and SCCP server the daemon wires, in this process and without
config validation, so offices past CME's limits (20,000 phones, 200,000
BLF subscriptions) can be measured. It runs until interrupted; its PID,
printed on start, is what the scenarios' --pid wants. Point the scenarios
at it with --office gen and the same -n and -m.`,
		Example: "  cmed-load harness -n 20000 -m 10 --listen 127.0.0.1:2000 &\n  cmed-load blf --office gen -n 20000 -m 10 --rate 1000 -d 20s -c 400 --pid $!",
		Args:    cobra.NoArgs,
		RunE:    run(o, true, runHarness),
	}
	genFlags(c, o)
	f := c.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:2000", "SCCP address to listen on")
	f.StringVar(&o.pprofAddr, "pprof", "", "serve net/http/pprof (heap, goroutine, CPU profiles) on this address (empty: off)")
	f.IntVar(&o.gogc, "gogc", 200, "GC target percent, as \"cmed serve\" sets it (a GOGC environment variable wins)")
	return c
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
func noteNoFile(w io.Writer, n int) {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < uint64(n+noFileSpare) {
		fmt.Fprintf(w, "cmed-load: note: open-files limit %d < %d phones + %d: about %d phones will not get a socket (raise the hard limit: ulimit -Hn, needs CAP_SYS_RESOURCE)\n",
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
	rep.lines = append(rep.lines, f.failures()...)
}

// connect registers the office's phones for a scenario; it fails when
// none registered, since there is nothing left to measure, after printing
// the report that says why.
func connect(ctx context.Context, o options, scenario string) (*Fleet, *report, ProcStat, error) {
	of, err := o.office()
	if err != nil {
		return nil, nil, ProcStat{}, err
	}
	before := readProc(o.pid)
	f := ConnectFleet(ctx, o.addr, of, o.conc, o.regRate)
	rep := &report{}
	rep.add("scenario=%s office=%s n=%d addr=%s", scenario, of.Name, of.N, o.addr)
	registerReport(rep, f)
	if f.Registered() == 0 {
		f.Close()
		fmt.Fprint(o.stdout, rep.String())
		return nil, nil, before, fmt.Errorf("no phone of %d registered at %s", of.N, o.addr)
	}
	return f, rep, before, nil
}

func runRegister(ctx context.Context, o options) error {
	f, rep, before, err := connect(ctx, o, "register")
	if err != nil {
		return err
	}
	rep.proc(before, readProc(o.pid), f.wall, f.Registered())
	f.Close()
	fmt.Fprint(o.stdout, rep.String())
	if n := f.regErr.Load(); n > 0 {
		return fmt.Errorf("%d of %d phones did not register", n, len(f.phones))
	}
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
	lat, stray, lost, refresh := f.lamps.finish()
	rep.add("line_changes=%d (%.0f/s) lamp_updates=%d (%.0f/s) lost=%d stray=%d refresh=%d", changes, float64(changes)/wall.Seconds(),
		len(lat), float64(len(lat))/wall.Seconds(), lost, stray, refresh)
	rep.add("lamp_latency p50=%s p99=%s max=%s", ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(percentile(lat, 100)))
}

func runBLF(ctx context.Context, o options) error {
	f, rep, before, err := connect(ctx, o, "blf")
	if err != nil {
		return err
	}
	defer f.Close()
	rep.add("blf m=%d rate=%.0f d=%v", f.office.M, o.rate, o.dur)
	reg := readProc(o.pid)
	rep.proc(before, reg, f.wall, f.Registered())
	f.WatchLamps(ctx)
	blfChurn(ctx, o, f, rep)
	rep.add("during churn:")
	rep.proc(reg, readProc(o.pid), o.dur, 0)
	fmt.Fprint(o.stdout, rep.String())
	return nil
}

func runMixed(ctx context.Context, o options) error {
	f, rep, before, err := connect(ctx, o, "mixed")
	if err != nil {
		return err
	}
	defer f.Close()
	rep.add("mixed m=%d blf-rate=%.0f sub-rate=%.0f d=%v", f.office.M, o.rate, o.subscribeRate, o.dur)
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
	blfChurn(ctx, o, f, rep)
	wg.Wait()
	rep.lines = append(rep.lines, callOut.lines...)
	rep.lines = append(rep.lines, subOut.lines...)
	if subErr != nil {
		rep.add("subscribe: %v", subErr)
	}
	rep.proc(before, reg, f.wall, f.Registered())
	rep.add("during the mixed load:")
	rep.proc(reg, readProc(o.pid), o.dur, 0)
	fmt.Fprint(o.stdout, rep.String())
	return nil
}

type stringsBuilder struct {
	mu sync.Mutex // guards b; a leaf
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
