package sccp_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/sccp"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// benchChildEnv makes the test binary run only the server (see TestMain),
// so the benchmark can read the server's own RSS from /proc.
const benchChildEnv = "CMED_SCCP_BENCH_CHILD"

const benchBLFs = 10

func benchMAC(i int) string { return fmt.Sprintf("0000%04X%04X", i>>16, i&0xffff) }

func benchNumber(i int) string { return strconv.Itoa(100000 + i) }

// benchConfig: n 7965s, phone i on DN i, watching the next ten DNs.
func benchConfig(n int) *config.Config {
	cfg := &config.Config{Hostname: "bench", Telephony: &config.Telephony{MaxEphones: n, MaxDN: n},
		Presence: &config.Presence{MaxSubscription: n*benchBLFs + 100}}
	for i := 1; i <= n; i++ {
		cfg.EphoneDNs = append(cfg.EphoneDNs, config.EphoneDN{Tag: i, Number: benchNumber(i), AllowWatch: true})
		m := benchMAC(i)
		e := config.Ephone{Tag: i, MAC: m[0:4] + "." + m[4:8] + "." + m[8:12], Type: "7965",
			Buttons: []config.Button{{Index: 1, Mode: config.ButtonNormal, DNs: []int{i}}}}
		for k := 1; k <= benchBLFs; k++ {
			e.BLFSpeedDials = append(e.BLFSpeedDials, config.BLFSpeedDial{Tag: k,
				Number: benchNumber((i-1+k)%n + 1), Label: "L" + strconv.Itoa(k)})
		}
		cfg.Ephones = append(cfg.Ephones, e)
	}
	return cfg
}

// runBenchChild serves until stdin closes, printing its address first.
func runBenchChild(n int) {
	cfg := benchConfig(n)
	eng := blf.New(cfg, nil)
	sw := dn.New(cfg, eng)
	ctx, cancel := context.WithCancel(context.Background())
	go sw.Run(ctx)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	srv := &sccp.Server{Switch: sw, Presence: eng, Config: cfg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Limits: sccp.Limits{MaxConnsPerIP: n + 16, QueueLen: 4096}}
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	fmt.Println("ADDR", l.Addr().String())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() && os.Getenv("CMED_BENCH_MEMSTATS") != "" {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "child: heap inuse %d MiB, stack inuse %d MiB, sys %d MiB, goroutines %d\n",
			ms.HeapInuse>>20, ms.StackInuse>>20, ms.Sys>>20, runtime.NumGoroutine())
		if f, err := os.Create(os.Getenv("CMED_BENCH_MEMSTATS")); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	cancel()
	<-done
	os.Exit(0)
}

// cpuTicks is a process's utime + stime in clock ticks (/proc/PID/stat
// fields 14 and 15), -1 when it cannot be read.
func cpuTicks(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces: count from after it.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b)[i+1:])
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return u + st
}

func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			v, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return v
		}
	}
	return -1
}

// BenchmarkRegister10k registers 10,000 fake 7965s with ten BLF buttons
// each against a server in a child process and waits until every lamp is
// idle. It reports the wall time and the server's RSS per phone. Run with
//
//	go test ./pkg/sccp -run '^$' -bench Register10k -benchtime=1x
//
// CMED_BENCH_PHONES overrides the phone count.
func BenchmarkRegister10k(b *testing.B) {
	n := 10000
	if s := os.Getenv("CMED_BENCH_PHONES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		benchOnce(b, exe, n)
	}
}

func benchOnce(b *testing.B, exe string, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(max(n/10, 30))*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), benchChildEnv+"="+strconv.Itoa(n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
	if err != nil || !ok {
		b.Fatalf("child: %q %v", line, err)
	}
	time.Sleep(200 * time.Millisecond)
	base := rssKiB(cmd.Process.Pid)
	cpu0 := cpuTicks(cmd.Process.Pid)

	b.ResetTimer()
	begin := time.Now()
	phones := make([]*sccptest.Phone, n)
	var failed atomic.Int32
	work := make(chan int)
	var wg sync.WaitGroup
	for range 128 {
		wg.Go(func() {
			for i := range work {
				// Spread over 16 loopback sources to stay clear of one
				// source address's port range.
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i%16))}}
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					failed.Add(1)
					continue
				}
				p, err := sccptest.New(c, sccptest.Config{Model: "7965", MAC: benchMAC(i + 1), History: 256})
				if err != nil {
					c.Close()
					failed.Add(1)
					continue
				}
				phones[i] = p
				if err := p.Connect(ctx); err != nil {
					if failed.Add(1) == 1 {
						b.Logf("phone %d: %v", i+1, err)
					}
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	registered := time.Since(begin)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d phones failed to register", f)
	}
	// Lamps settled: every phone shows ten idle BLF lamps.
	settle := make(chan int)
	for range 128 {
		wg.Go(func() {
			for i := range settle {
				_, err := phones[i].WaitState(ctx, func(s sccptest.State) bool {
					idle := 0
					for _, st := range s.BLF {
						if st == msg.BLFIdle {
							idle++
						}
					}
					return idle == benchBLFs
				})
				if err != nil {
					failed.Add(1)
				}
			}
		})
	}
	for i := range n {
		settle <- i
	}
	close(settle)
	wg.Wait()
	elapsed := time.Since(begin)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d phones never showed ten idle lamps", f)
	}
	rss := rssKiB(cmd.Process.Pid)
	cpu := cpuTicks(cmd.Process.Pid) - cpu0
	if os.Getenv("CMED_BENCH_MEMSTATS") != "" {
		io.WriteString(stdin, "stats\n")
		time.Sleep(2 * time.Second)
	}
	b.ReportMetric(registered.Seconds(), "s-registered")
	b.ReportMetric(elapsed.Seconds(), "s-settled")
	b.ReportMetric(float64(rss-base)/float64(n), "KiB-RSS/phone")
	b.ReportMetric(float64(rss)/1024, "MiB-RSS-total")
	// The server's own CPU (utime + stime of the child, 100 ticks a
	// second on Linux) per phone registered and provisioned: the phones'
	// side, in this process, is not in it.
	b.ReportMetric(float64(cpu)*10_000/float64(n), "server-µs/phone")
	for _, p := range phones {
		p.Close()
	}
}
