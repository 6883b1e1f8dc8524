package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// runSubscribe runs o.calls SUBSCRIBE lifecycles (SUBSCRIBE, 200, NOTIFY,
// 200, SUBSCRIBE Expires 0, 200, NOTIFY terminated, 200) with sipp and the
// shared scenario (peers/sipp/subscribe_dialog.xml), cycling over
// o.subscribeSubset of the office's numbers, and reports what sipp's
// statistics file says, as bench-subscribe.sh does for Kamailio.
func runSubscribe(ctx context.Context, o options, w io.Writer) error {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		return fmt.Errorf("sipp not installed (Debian package sip-tester)")
	}
	dir, err := os.MkdirTemp("", "cmed-load-sipp")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	of := o.office()
	var csv strings.Builder
	csv.WriteString("SEQUENTIAL\n")
	for i := range min(max(o.subscribeSubset, 1), of.N) {
		fmt.Fprintf(&csv, "w%d;%s\n", 10000+i, of.Number(i))
	}
	users := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(users, []byte(csv.String()), 0o600); err != nil {
		return err
	}
	timeout := max(60*time.Second, time.Duration(float64(o.calls)/max(o.subscribeRate, 1)*float64(time.Second))*2)
	ctx, cancel := context.WithTimeout(ctx, timeout+20*time.Second)
	defer cancel()
	before := readProc(o.pid)
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, sipp, sippArgs(o, users, timeout)...)
	cmd.Dir = dir
	out, runErr := cmd.CombinedOutput()
	wall := time.Since(t0)
	after := readProc(o.pid)
	stats, _ := filepath.Glob(filepath.Join(dir, "*_.csv"))
	if len(stats) == 0 {
		stats, _ = filepath.Glob(filepath.Join(dir, "*.csv"))
	}
	var okN, failN, retrans string
	for _, s := range stats {
		if filepath.Base(s) == "users.csv" {
			continue
		}
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		okN, failN, retrans = sippCounters(string(b))
	}
	var rep report
	rep.add("scenario=subscribe target=%s rate=%.0f calls=%d sipp_exit=%v", o.sip, o.subscribeRate, o.calls, runErr)
	if okN == "" {
		rep.add("sipp produced no statistics; output tail:\n%s", tail(string(out), 800))
	} else {
		var ok float64
		fmt.Sscan(okN, &ok)
		rep.add("lifecycles ok=%s failed=%s retrans=%s wall=%.1fs achieved=%.0f lifecycles/s (%.0f SIP msgs/s)",
			okN, failN, retrans, wall.Seconds(), ok/wall.Seconds(), 8*ok/wall.Seconds())
	}
	rep.proc(before, after, wall, 0)
	_, err = io.WriteString(w, rep.String())
	return err
}

// sippArgs is sipp's command line for runSubscribe.
func sippArgs(o options, users string, timeout time.Duration) []string {
	args := []string{o.sip, "-sf", o.sippScenario, "-inf", users, "-key", "sexp", "600", "-d", "0",
		"-r", fmt.Sprint(o.subscribeRate), "-m", fmt.Sprint(o.calls), "-l", "2000", "-timeout", fmt.Sprintf("%ds", int(timeout.Seconds())),
		"-nostdin", "-trace_stat", "-fd", "1", "-p", "0"}
	if o.sippExtraNotify {
		args = append(args, "-aa")
	}
	return args
}

// sippCounters reads the cumulative columns of the last line of a sipp
// -trace_stat CSV (semicolon separated, header on the first line).
func sippCounters(csv string) (ok, failed, retrans string) {
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) < 2 {
		return "", "", ""
	}
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	col := func(name string) string {
		for i, h := range head {
			if h == name && i < len(last) {
				return last[i]
			}
		}
		return ""
	}
	return col("SuccessfulCall(C)"), col("FailedCall(C)"), col("Retransmissions(C)")
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
