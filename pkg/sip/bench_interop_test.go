package sip

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// TestInteropSIPBench runs the load scripts of test/peers/bench side by
// side against Kamailio and against cmed's SIP server in this process,
// and logs the numbers. Gated by CMED_BENCH=1; rates from
// CMED_BENCH_RATES (default "600 1200 1800 2400"), 10 s per point.
func TestInteropSIPBench(t *testing.T) {
	if os.Getenv("CMED_BENCH") != "1" {
		t.Skip("set CMED_BENCH=1")
	}
	needTool(t, "sipp", "kamailio")
	rates := strings.Fields(os.Getenv("CMED_BENCH_RATES"))
	if len(rates) == 0 {
		rates = []string{"600", "1200", "1800", "2400"}
	}
	self := filepath.Base(os.Args[0])
	if len(self) > 15 {
		self = self[:15] // /proc comm
	}

	script := func(name string, env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command("timeout", append([]string{"600", "sh", peer(t, "bench", name)}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("%s %v: %v", name, args, err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return lines[len(lines)-1]
	}
	work := os.Getenv("CMED_BENCH_WORK")
	if work == "" {
		work = t.TempDir()
	}
	if out, err := exec.Command("sh", peer(t, "sipp", "gen-csv.sh"), "1000", work).CombinedOutput(); err != nil {
		t.Fatalf("gen-csv: %v %s", err, out)
	}
	env := []string{"WORK=" + work}

	if os.Getenv("CMED_BENCH_SKIP_KAMAILIO") == "" {
		// Kamailio anchor, in a subtest so that it is stopped before cmed
		// runs: its leftover NOTIFY retransmissions would reach the next
		// sipp on the scripts' fixed ports.
		t.Run("kamailio", func(t *testing.T) {
			kport := startKamailio(t)
			kam := fmt.Sprintf("127.0.0.1:%d", kport)
			for _, r := range rates {
				n, _ := strconv.Atoi(r)
				t.Logf("kamailio lifecycle: %s", script("subscribe.sh", env, kam, r, strconv.Itoa(n*10), "kamailio"))
			}
			t.Logf("kamailio fan-out:   %s", script("fanout.sh", env, kam, "500", "50", "200", "10", "kamailio"))
		})
		time.Sleep(35 * time.Second) // sipp's and the kernel's leftovers drain (Timer F 32 s)
	}
	// cmed: DNs 20001-21000 with allow watch; 50 of them on phones for
	// the fan-out phase.
	var cfg strings.Builder
	cfg.WriteString("voice register global\n mode cme\npresence\n watcher all\n max-subscription 500\nsip-ua\n presence enable\n")
	for i := 1; i <= 1000; i++ {
		fmt.Fprintf(&cfg, "ephone-dn %d\n number %d\n allow watch\n", i, 20000+i)
	}
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&cfg, "ephone %d\n mac-address 0011.2233.%04X\n type 7960\n button 1:%d\n", i, i, i)
	}
	var sent atomic.Int64
	r := newRig(t, cfg.String(), func(o *Options) {
		o.Metrics = countNotifies{&sent}
		o.TickInterval = time.Second // the production pace, not the tests' 50 ms
	})
	for _, rate := range rates {
		n, _ := strconv.Atoi(rate)
		t.Logf("cmed lifecycle:     %s", script("subscribe.sh", env, r.addr(), rate, strconv.Itoa(n*10), self))
	}

	if os.Getenv("CMED_BENCH_SKIP_FANOUT") != "" {
		return
	}
	// A fresh router: failed lifecycles above leave subscriptions that
	// count against max-subscription until they expire.
	r = newRig(t, cfg.String(), func(o *Options) {
		o.Metrics = countNotifies{&sent}
		o.TickInterval = time.Second
	})
	// Fan-out: 500 sipp watchers over 50 DNs (10 each), while phones go
	// off- and on-hook 200 times a second for 10 s: every change is a
	// NOTIFY to 10 watchers (what bench/fanout.sh measures with PUBLISH on
	// Kamailio; cmed takes state from its phones, not from PUBLISH).
	ids := make([]dn.DeviceID, 50)
	for i := range ids {
		id, err := r.sw.RegisterDevice(dn.DeviceInfo{Name: dn.DeviceName(fmt.Sprintf("0011.2233.%04X", i+1)), Protocol: dn.SCCP}, &dntest.Device{})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	var users strings.Builder
	users.WriteString("SEQUENTIAL\n")
	for i := 1; i <= 500; i++ {
		fmt.Fprintf(&users, "w%d;%d\n", 10000+i, 20001+i%50)
	}
	fan := writeFile(t, filepath.Join(work, "fan_cmed.csv"), users.String())
	hold := 40 * time.Second
	watchers := startSipp(t, work, 120*time.Second, r.addr(), "-sf", peer(t, "sipp", "subscribe_dialog.xml"), "-inf", fan,
		"-key", "sexp", "600", "-d", strconv.Itoa(int(hold/time.Millisecond)), "-aa", "-r", "250", "-m", "500", "-l", "600",
		"-timeout", "90s", "-trace_stat", "-stf", filepath.Join(work, "fan_cmed_stat.csv"))
	eventually(t, 10*time.Second, "500 watchers", func() bool { return r.srv.pres.table.Len() == 500 })
	time.Sleep(500 * time.Millisecond)
	base := sent.Load()
	c0 := cpuTicks()
	t0 := time.Now()
	tick := time.NewTicker(5 * time.Millisecond) // 200 changes/s
	changes := 0
	for changes < 2000 {
		<-tick.C
		id := ids[changes%50]
		if (changes/50)%2 == 0 {
			_, _ = r.sw.OffHook(id, 1)
		} else {
			_, _ = r.sw.OnHook(id, 1)
		}
		changes++
	}
	tick.Stop()
	wall := time.Since(t0)
	eventually(t, 10*time.Second, "NOTIFYs to drain", func() bool { return r.srv.pres.pending() == 0 })
	cpu := float64(cpuTicks()-c0) / 100
	code, out := watchers.wait(t)
	failed := "?"
	if i := strings.LastIndex(out, "Failed call"); i >= 0 {
		// the last field of sipp's "Failed call" summary line
		line, _, _ := strings.Cut(out[i:], "\n")
		f := strings.Fields(line)
		failed = f[len(f)-1]
	}
	t.Logf("cmed fan-out:       watchers=500 presentities=50 changes=%d in %.1fs notifies_sent=%d sipp_exit=%d watch_failed=%s server_cpu=%.2fs",
		changes, wall.Seconds(), sent.Load()-base, code, failed, cpu)
}

type countNotifies struct{ n *atomic.Int64 }

func (c countNotifies) NotifySent(status int) {
	if status >= 200 && status < 300 {
		c.n.Add(1)
	}
}
func (countNotifies) AuthFailure(string)         {}
func (countNotifies) Registration(bool)          {}
func (countNotifies) RegistrationRefused(string) {}
func (countNotifies) ResponseSent(int)           {}

// cpuTicks is this process's utime+stime in clock ticks (USER_HZ 100).
func cpuTicks() int64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}
