package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cmed-project/cmed/internal/repotest"

	"github.com/spf13/cobra"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/config"
)

// runCLI runs cmed-load with args and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(args, &out, &errOut)
	t.Logf("cmed-load %s -> %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

// TestHelpDescribesCommands: every way of asking for help prints the
// descriptions, not an "unknown command" error.
func TestHelpDescribesCommands(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {}} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%q: exit %d, stderr %q", args, code, errOut)
		}
		for _, want := range []string{
			"0011.2233.4401", // the demo office's MACs
			"register    Register the office's SCCP phones", // a command with its Short
			"genconfig   Print the generated load office",
			"--office picks it",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: help lacks %q", args, want)
			}
		}
	}
	for _, args := range [][]string{{"register", "--help"}, {"register", "-h"}, {"help", "register"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d", args, code)
		}
		for _, want := range []string{
			"RegisterReject text",              // Long
			"how many phones register at once", // -c
			"--addr HOST:PORT",
			`(default "127.0.0.1:2000")`,
			`(default "demo")`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: help lacks %q", args, want)
			}
		}
	}
}

// TestEveryFlagIsDescribed: each command has Short and Long help and each
// flag a sentence.
func TestEveryFlagIsDescribed(t *testing.T) {
	root := newRoot(&bytes.Buffer{}, &bytes.Buffer{})
	if len(root.Commands()) < 7 {
		t.Fatalf("%d commands", len(root.Commands()))
	}
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			continue
		}
		if c.Short == "" || len(c.Long) < 100 {
			t.Errorf("%s: Short %q, Long %d bytes", c.Name(), c.Short, len(c.Long))
		}
		flags := flagUsages(c)
		for name, usage := range flags {
			if name != "help" && len(strings.Fields(usage)) < 4 {
				t.Errorf("%s --%s: usage %q is not a sentence", c.Name(), name, usage)
			}
		}
		if n := len(flags); n < 2 {
			t.Errorf("%s has %d flags", c.Name(), n)
		}
	}
}

func TestUnknownCommandFails(t *testing.T) {
	code, _, errOut := runCLI(t, "regster")
	if code == 0 || !strings.Contains(errOut, `unknown command "regster"`) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "register", "--no-such-flag")
	if code == 0 || !strings.Contains(errOut, "register --help") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// TestOneDashLongFlags: the Go flag-package spelling of BENCHMARKS.md
// (-addr, -sub-rate) still reaches the long flags; shorthands stay.
func TestOneDashLongFlags(t *testing.T) {
	root := newRoot(&bytes.Buffer{}, &bytes.Buffer{})
	got := longFlagArgs(root, []string{"blf", "-addr", "h:1", "-n", "2", "-rate=5", "-d", "1s", "--seed", "3", "-x"})
	want := []string{"blf", "--addr", "h:1", "-n", "2", "--rate=5", "-d", "1s", "--seed", "3", "-x"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	var o options
	c := newBLFCmd(&o)
	if err := c.ParseFlags(longFlagArgs(root, []string{"blf", "-addr", "h:1", "-n", "2", "-rate", "5"})[1:]); err != nil {
		t.Fatal(err)
	}
	if o.addr != "h:1" || o.n != 2 || o.rate != 5 {
		t.Fatalf("parsed %+v", o)
	}
}

// TestDemoOfficeMatchesDefaultConfig: the demo office's phones are the
// embedded default config's ephones, with its lamps where the daemon puts
// them (speed-dials before blf-speed-dials, pkg/sccp/layout.go).
func TestDemoOfficeMatchesDefaultConfig(t *testing.T) {
	o := options{officeName: officeDemo}
	of, err := o.office()
	if err != nil {
		t.Fatal(err)
	}
	if of.N != 4 {
		t.Fatalf("%d phones", of.N)
	}
	for i, want := range []struct{ mac, number, model string }{
		{"001122334401", "1001", "7960"}, {"001122334402", "1002", "7961"},
		{"001122334403", "1003", "7965"}, {"001122334404", "1004", "7970"},
	} {
		if of.MAC(i) != want.mac || of.Number(i) != want.number || of.PhoneModel(i) != want.model {
			t.Errorf("phone %d: %s %s %s, want %+v", i, of.MAC(i), of.Number(i), of.PhoneModel(i), want)
		}
	}
	// ephone 4: speed-dial 1 is instance 1, its BLFs 1002..1003 follow.
	if of.Watched(3, 1) != -1 || of.Watched(3, 2) != 0 || of.Watched(3, 3) != 1 || of.Watched(3, 4) != 2 {
		t.Errorf("ephone 4 lamps: %d %d %d %d", of.Watched(3, 1), of.Watched(3, 2), of.Watched(3, 3), of.Watched(3, 4))
	}
	// 1001 is watched by ephones 2, 3 and 4; 2001 (SIP) by nobody here.
	ph, btn := of.Watchers(0)
	if !slices.Equal(ph, []int{1, 2, 3}) || !slices.Equal(btn, []int{1, 1, 2}) {
		t.Errorf("watchers of 1001: %v %v", ph, btn)
	}
	for i := range of.N {
		ph, btn := of.Watchers(i)
		for k := range ph {
			if of.Watched(ph[k], btn[k]) != i {
				t.Errorf("Watchers(%d) and Watched disagree at %d/%d", i, ph[k], btn[k])
			}
		}
	}
	o.n = 2
	if of, err := o.office(); err != nil || of.N != 2 {
		t.Fatalf("-n 2: %d phones, %v", of.N, err)
	}
	o.n = 5
	if _, err := o.office(); err == nil || !strings.Contains(err.Error(), "--office gen") {
		t.Fatalf("-n 5 on the demo office: %v", err)
	}
}

// startDemo runs the whole daemon on the embedded demo office, its
// listeners on free loopback ports.
func startDemo(t *testing.T) *cmedtest.Instance {
	t.Helper()
	return cmedtest.StartIn(t, t.TempDir(), configs.Default)
}

// TestRegisterDefaultsOnDemoOffice: `cmed-load register` with nothing but
// the daemon's address registers the demo office's four phones.
func TestRegisterDefaultsOnDemoOffice(t *testing.T) {
	inst := startDemo(t)
	code, out, _ := runCLI(t, "register", "--addr", inst.Addr("sccp").String())
	if code != 0 || !strings.Contains(out, "registered=4 failed=0") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !inst.Logs.Contains("SEP001122334404") && !inst.Logs.Contains("0011.2233.4404") {
		t.Errorf("daemon log never names ephone 4:\n%s", inst.Logs.String())
	}
}

// TestRegisterUnknownMACPrintsReject: a phone the daemon does not know is
// reported with the daemon's RegisterReject text, and the run fails.
func TestRegisterUnknownMACPrintsReject(t *testing.T) {
	inst := startDemo(t)
	addr := inst.Addr("sccp").String()
	code, out, errOut := runCLI(t, "register", "--addr", addr, "--office", "gen", "-n", "2")
	if code == 0 {
		t.Fatal("register of unknown MACs succeeded")
	}
	for _, want := range []string{"registered=0 failed=2", `RegisterReject "Unknown device 0000.0000.0001"`,
		`RegisterReject "Unknown device 0000.0000.0002"`, "hint: the daemon does not know these MACs"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !strings.Contains(errOut, "no phone of 2 registered") {
		t.Errorf("stderr %q", errOut)
	}

	// A config file office where one MAC is not the daemon's: three
	// register, the fourth is named with its reason.
	file := filepath.Join(t.TempDir(), "office.cfg")
	text := strings.Replace(string(configs.Default), "0011.2233.4404", "0011.2233.44FF", 1)
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "register", "-addr", addr, "-office", file)
	if code == 0 || !strings.Contains(out, "registered=3 failed=1") ||
		!strings.Contains(out, `failed phone=3 SEP0011223344FF number=1004: RegisterReject "Unknown device 0011.2233.44FF"`) ||
		!strings.Contains(errOut, "1 of 4 phones did not register") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// TestBLFOnDemoOffice: the lamps the demo office's config puts on each
// phone are the ones that light: every line change reaches every watcher
// lamp, and no update goes unexplained.
func TestBLFOnDemoOffice(t *testing.T) {
	inst := startDemo(t)
	code, out, _ := runCLI(t, "blf", "--addr", inst.Addr("sccp").String(), "-d", "1s", "--rate", "20")
	if code != 0 || !strings.Contains(out, "registered=4 failed=0") || !strings.Contains(out, " lost=0 stray=0 ") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "lamp_updates=0 ") {
		t.Fatalf("no lamp updates:\n%s", out)
	}
}

// needSipp skips without sipp unless CMED_INTEROP=1 makes it mandatory.
func needSipp(t *testing.T) {
	t.Helper()
	repotest.Tool(t, "sipp")
}

// TestSubscribeOnDemoOffice runs the built-in scenario against the demo
// office: lifecycles complete; watching numbers the daemon lacks fails
// with the daemon's 404.
func TestSubscribeOnDemoOffice(t *testing.T) {
	needSipp(t)
	inst := startDemo(t)
	sip := inst.Addr("sip-udp").String()
	code, out, _ := runCLI(t, "subscribe", "--sip", sip, "--calls", "8", "--sub-rate", "20")
	if code != 0 || !strings.Contains(out, "lifecycles ok=8 failed=0") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, out, errOut := runCLI(t, "subscribe", "--sip", sip, "--calls", "3", "--sub-rate", "20", "--office", "gen", "-n", "3")
	if code == 0 || !strings.Contains(out, "failed 3 x: 404 Not Found to SUBSCRIBE") ||
		!strings.Contains(errOut, "3 of 3 SUBSCRIBE lifecycles failed") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestSippFailures(t *testing.T) {
	msg := func(status, cseq string) string {
		return "received '" + status + "\r\nVia: SIP/2.0/UDP 127.0.0.1:5060\r\nCall-ID: 1-2@127.0.0.1\r\nCSeq: " + cseq + "\r\nContent-Length: 0\r\n\r\n'"
	}
	log := "The following events occurred:\n" +
		"2026-12-02\t22:16:03.132748\t1796249763.132748: Aborting call on unexpected message for Call-Id '1': while expecting '200' (index 1), " + msg("SIP/2.0 404 Not Found", "1 SUBSCRIBE") +
		"2026-12-02\t22:16:03.135566\t1796249763.135566: Dead call 1 (aborted at index 1), " + msg("SIP/2.0 481 Call/Transaction Does Not Exist", "2 BYE") +
		"2026-12-02\t22:16:03.331482\t1796249763.331482: Aborting call on unexpected message for Call-Id '2': while expecting '200' (index 1), " + msg("SIP/2.0 404 Not Found", "1 SUBSCRIBE") +
		"2026-12-02\t22:16:04.000000\t1796249764.000000: Aborting call on unexpected message for Call-Id '3': while expecting '200' (index 8), " + msg("SIP/2.0 489 Bad Event", "2 SUBSCRIBE") +
		"2026-12-02\t22:16:05.000000\t1796249765.000000: Aborting call on unexpected message for Call-Id '4': while expecting 'NOTIFY' (index 2), received 'PUBLISH sip:1@h SIP/2.0\r\nCSeq: 1 PUBLISH\r\n'" +
		"2026-12-02\t22:16:06.000000\t1796249766.000000: Call-Id: 5 failed regexp check\n" +
		"2026-12-02\t22:16:07.000000\t1796249767.000000: Automatic response mode for an unexpected INFO, NOTIFY, OPTIONS or UPDATE for call: 6-2@127.0.0.1\n"
	got := sippFailures(log)
	want := []reasonCount{{"404 Not Found to SUBSCRIBE", 2}, {"489 Bad Event to SUBSCRIBE", 1},
		{"unexpected PUBLISH request", 1}, {"Call-Id: 5 failed regexp check", 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

// TestScenarioIsBuiltIn: the default scenario is the embedded file, and
// nothing in the defaults names an absolute path.
func TestScenarioIsBuiltIn(t *testing.T) {
	if !bytes.Contains(defaultScenario, []byte("SUBSCRIBE sip:[field1]")) {
		t.Fatal("embedded scenario is not the SUBSCRIBE lifecycle")
	}
	root := newRoot(&bytes.Buffer{}, &bytes.Buffer{})
	for _, c := range root.Commands() {
		for name, usage := range flagUsages(c) {
			if strings.Contains(usage, `(default "/`) {
				t.Errorf("%s --%s defaults to an absolute path: %s", c.Name(), name, usage)
			}
		}
	}
	var o options
	if err := newSubscribeCmd(&o).ParseFlags(nil); err != nil || o.sippScenario != "" {
		t.Fatalf("scenario default %q, %v", o.sippScenario, err)
	}
}

// TestGenconfigOfficeRoundTrips: --office FILE on genconfig's output is
// the generated office (same MACs, numbers and lamps).
func TestGenconfigOfficeRoundTrips(t *testing.T) {
	code, text, _ := runCLI(t, "genconfig", "-n", "12", "-m", "3")
	if code != 0 {
		t.Fatal(code)
	}
	c, err := config.Parse("gen.cfg", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := OfficeFromConfig("gen.cfg", c, 0)
	if err != nil {
		t.Fatal(err)
	}
	gen := Office{N: 12, M: 3}.withDefaults()
	for i := range 12 {
		if fromFile.MAC(i) != gen.MAC(i) || fromFile.Number(i) != gen.Number(i) {
			t.Fatalf("phone %d: %s/%s vs %s/%s", i, fromFile.MAC(i), fromFile.Number(i), gen.MAC(i), gen.Number(i))
		}
		for k := 1; k <= 3; k++ {
			if fromFile.Watched(i, k) != gen.Watched(i, k) {
				t.Fatalf("phone %d lamp %d: %d vs %d", i, k, fromFile.Watched(i, k), gen.Watched(i, k))
			}
		}
	}
}

// flagLine is one line of a flag listing: "  -c, --name type   usage".
var flagLine = regexp.MustCompile(`^\s*(?:-\w, )?--([\w-]+)(?: [^ ]+)?\s{2,}(.*)$`)

// flagUsages maps each of c's flags to its usage text, from the listing
// its help prints.
func flagUsages(c *cobra.Command) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(c.Flags().FlagUsages(), "\n") {
		if g := flagLine.FindStringSubmatch(l); g != nil {
			m[g[1]] = g[2]
		}
	}
	return m
}
