package main

import (
	"context"
	_ "embed" // the built-in sipp scenario
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// defaultScenario is the built-in SUBSCRIBE lifecycle, used when
// --scenario is empty; it is written to the run's temporary directory for
// sipp to read.
//
//go:embed scenarios/subscribe_dialog.xml
var defaultScenario []byte

// runSubscribe runs o.calls SUBSCRIBE lifecycles (SUBSCRIBE, 200, NOTIFY,
// 200, SUBSCRIBE Expires 0, 200, NOTIFY terminated, 200) with sipp and the
// built-in scenario (or --scenario), cycling over o.subscribeSubset of the
// office's numbers, and reports what sipp's statistics file says, and why
// lifecycles failed from sipp's error log.
func runSubscribe(ctx context.Context, o options, w io.Writer) error {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		return fmt.Errorf("sipp not installed (Debian package sip-tester)")
	}
	of, err := o.office()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "cmed-load-sipp")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if o.sippScenario == "" {
		o.sippScenario = filepath.Join(dir, "subscribe_dialog.xml")
		if err := os.WriteFile(o.sippScenario, defaultScenario, 0o600); err != nil {
			return err
		}
	} else if o.sippScenario, err = filepath.Abs(o.sippScenario); err != nil {
		return err
	}
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
		if filepath.Base(s) == "users.csv" || filepath.Base(s) == "subscribe_dialog.xml" {
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
	errLogs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
	var reasons []reasonCount
	for _, e := range errLogs {
		b, err := os.ReadFile(e)
		if err == nil {
			reasons = mergeReasons(reasons, sippFailures(string(b)))
		}
	}
	for _, r := range reasons {
		rep.add("failed %d x: %s", r.n, r.reason)
	}
	rep.proc(before, after, wall, 0)
	_, err = io.WriteString(w, rep.String())
	if err == nil && okN == "" {
		err = fmt.Errorf("sipp ran no lifecycle against %s: %v", o.sip, runErr)
	}
	if err == nil && failN != "" && failN != "0" {
		err = fmt.Errorf("%s of %d SUBSCRIBE lifecycles failed", failN, o.calls)
	}
	return err
}

// reasonCount is one kind of SIP failure and how often sipp saw it.
type reasonCount struct {
	reason string
	n      int
}

func mergeReasons(a, b []reasonCount) []reasonCount {
	for _, r := range b {
		i := slices.IndexFunc(a, func(x reasonCount) bool { return x.reason == r.reason })
		if i < 0 {
			a = append(a, r)
		} else {
			a[i].n += r.n
		}
	}
	return a
}

// sippStamp starts each entry of sipp's -trace_err log (date, time,
// epoch seconds); an entry runs to the next one and may quote a whole
// SIP message over several lines, whose closing quote the next stamp
// follows on the same line.
var sippStamp = regexp.MustCompile(`\d{4}-\d\d-\d\d\t[\d:.]+\t[\d.]+: `)

// sippFailures reads sipp's -trace_err log and counts why lifecycles
// failed. An unexpected response is named by its status code and reason
// phrase (RFC 3261 §7.2) and the request it answered (its CSeq method);
// an unexpected request by its method; anything else (a timeout, a failed
// Subscription-State check) by sipp's own first line. "Dead call" entries
// are answers to what sipp sent after giving a call up, and "Automatic
// response mode" ones NOTIFYs -aa answered; neither is a failure.
// Reasons keep their first-seen order.
func sippFailures(log string) []reasonCount {
	var out []reasonCount
	idx := sippStamp.FindAllStringIndex(log, -1)
	for k, m := range idx {
		end := len(log)
		if k+1 < len(idx) {
			end = idx[k+1][0]
		}
		entry := log[m[1]:end]
		if strings.HasPrefix(entry, "Dead call") || strings.HasPrefix(entry, "Automatic response mode") {
			continue
		}
		reason := strings.TrimSpace(firstLine(entry))
		if _, msg, ok := strings.Cut(entry, "received '"); ok {
			start := strings.TrimSpace(firstLine(msg))
			if code, ok := strings.CutPrefix(start, "SIP/2.0 "); ok {
				reason = code
				if method := cseqMethod(msg); method != "" {
					reason += " to " + method
				}
			} else {
				method, _, _ := strings.Cut(start, " ")
				reason = "unexpected " + method + " request"
			}
		}
		out = mergeReasons(out, []reasonCount{{reason, 1}})
	}
	return out
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimRight(l, "\r")
}

// cseqMethod is the method of a quoted message's CSeq header.
func cseqMethod(msg string) string {
	for line := range strings.Lines(msg) {
		if v, ok := strings.CutPrefix(line, "CSeq:"); ok {
			if f := strings.Fields(v); len(f) == 2 {
				return f[1]
			}
		}
	}
	return ""
}

// sippArgs is sipp's command line for runSubscribe.
func sippArgs(o options, users string, timeout time.Duration) []string {
	args := []string{o.sip, "-sf", o.sippScenario, "-inf", users, "-key", "sexp", "600", "-d", "0",
		"-r", fmt.Sprint(o.subscribeRate), "-m", fmt.Sprint(o.calls), "-l", "2000", "-timeout", fmt.Sprintf("%ds", int(timeout.Seconds())),
		"-nostdin", "-trace_stat", "-fd", "1", "-p", "0", "-trace_err",
		// A SUBSCRIBE dialog is not a call: sipp must not send BYE when it
		// gives a lifecycle up, but must still give it up on an unexpected
		// answer (a 404) rather than retransmit until -timeout.
		"-default_behaviors", "all,-bye"}
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
