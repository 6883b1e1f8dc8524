package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// percentile returns the p-th percentile (0..100) of ds by nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// ProcStat is a process's CPU time and memory, from /proc.
type ProcStat struct {
	CPU   time.Duration // utime+stime
	RSS   int64         // bytes (VmRSS)
	HWM   int64         // bytes (VmHWM, peak RSS)
	Valid bool
}

// clockTick is USER_HZ; 100 on every Linux architecture Go supports
// (sysconf(_SC_CLK_TCK) is fixed by the kernel ABI).
const clockTick = 100

// parseProcStat reads utime and stime (fields 14 and 15, proc(5)) from the
// text of /proc/PID/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted after the last ')'.
func parseProcStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("no ')' in stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14 -> f[11], stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("stat has %d fields after comm", len(f))
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad utime/stime %q %q", f[11], f[12])
	}
	// Garbage must not wrap into a negative duration (a fuzz finding):
	// no real process has used 290 years of CPU.
	ticks := u + s
	if ticks < u || ticks > uint64(math.MaxInt64/int64(time.Second)) {
		return 0, fmt.Errorf("utime/stime out of range: %q %q", f[11], f[12])
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

// parseProcStatus reads a "Key:   N kB" value from /proc/PID/status.
func parseProcStatus(b []byte, key string) (int64, bool) {
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0, false
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		return n, true
	}
	return 0, false
}

// readProc samples pid (0: nothing).
func readProc(pid int) ProcStat {
	if pid <= 0 {
		return ProcStat{}
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcStat{}
	}
	cpu, err := parseProcStat(st)
	if err != nil {
		return ProcStat{}
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcStat{}
	}
	rss, _ := parseProcStatus(status, "VmRSS")
	hwm, _ := parseProcStatus(status, "VmHWM")
	return ProcStat{CPU: cpu, RSS: rss, HWM: hwm, Valid: true}
}

// report prints key=value lines, one result per line, for BENCHMARKS.md.
type report struct{ lines []string }

func (r *report) add(format string, args ...any) {
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *report) proc(before, after ProcStat, wall time.Duration, phones int) {
	if !before.Valid || !after.Valid {
		r.add("daemon: (pass --pid to measure CPU and RSS)")
		return
	}
	cpu := after.CPU - before.CPU
	r.add("daemon_cpu=%.2fs over %.1fs (%.0f%% of one core)", cpu.Seconds(), wall.Seconds(), 100*cpu.Seconds()/wall.Seconds())
	r.add("daemon_rss=%.1fMiB peak=%.1fMiB", float64(after.RSS)/(1<<20), float64(after.HWM)/(1<<20))
	if phones > 0 {
		r.add("daemon_rss_per_phone=%.1fKiB (RSS growth %.1fMiB / %d phones)", float64(after.RSS-before.RSS)/1024/float64(phones),
			float64(after.RSS-before.RSS)/(1<<20), phones)
	}
}

func (r *report) String() string { return strings.Join(r.lines, "\n") + "\n" }
