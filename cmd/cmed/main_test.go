package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var cmedBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cmed-bin")
	if err != nil {
		panic(err)
	}
	cmedBin = filepath.Join(dir, "cmed")
	out, err := exec.Command("go", "build", "-race", "-o", cmedBin, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(cmedBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

func TestVersion(t *testing.T) {
	out, _, code := run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "cmed ") {
		t.Fatalf("version: %q exit %d", out, code)
	}
}

func TestConfigCheckAcceptsEveryExample(t *testing.T) {
	files, _ := filepath.Glob("../../config/examples/*.cfg")
	files = append(files, "../../config/default.cfg")
	if len(files) < 2 {
		t.Fatalf("no example configs found")
	}
	for _, f := range files {
		out, errOut, code := run(t, nil, "config", "check", f)
		if code != 0 || !strings.Contains(out, ": OK: ") {
			t.Errorf("%s: exit %d\n%s%s", f, code, out, errOut)
		}
	}
}

var fileLine = regexp.MustCompile(`^[^:\s]+\.cfg:\d+: `)

func TestConfigCheckRejectsEveryInvalidExample(t *testing.T) {
	files, _ := filepath.Glob("../../config/examples/invalid/*.cfg")
	if len(files) < 8 {
		t.Fatalf("want at least 8 invalid examples, found %d", len(files))
	}
	for _, f := range files {
		out, errOut, code := run(t, nil, "config", "check", f)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s", f, code, out)
		}
		first := strings.SplitN(errOut, "\n", 2)[0]
		if !fileLine.MatchString(first) || !strings.HasPrefix(first, f+":") {
			t.Errorf("%s: error does not read FILE:LINE: message: %q", f, first)
		}
	}
}

func TestConfigShowNormalises(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "in.cfg")
	os.WriteFile(f, []byte("hostname r1\nephone-dn 1\nnumber 1001\n"), 0o600)
	out, errOut, code := run(t, nil, "config", "show", f)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "ephone-dn  1\n number 1001\n") || !strings.Contains(out, "hostname r1") {
		t.Fatalf("not normalised:\n%s", out)
	}
}

// TestServeWithNoFlagsStopsCleanlyAndRestarts boots the embedded default
// (listeners moved to loopback), talks to it with `cmed cli -c`, stops it
// with SIGTERM (exit 0), and checks a restart comes back with the config.
func TestServeWithNoFlagsStopsCleanlyAndRestarts(t *testing.T) {
	state := t.TempDir()
	env := []string{"XDG_STATE_HOME=" + state}
	var runs []string
	for i := range 2 {
		cmd := exec.Command(cmedBin, "serve", "--loopback-listeners")
		cmd.Env = append(os.Environ(), env...)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		logs := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				logs <- sc.Text()
			}
			close(logs)
		}()
		var seen []string
		deadline := time.After(30 * time.Second)
	wait:
		for {
			select {
			case l, ok := <-logs:
				if !ok {
					t.Fatalf("cmed exited early:\n%s", strings.Join(seen, "\n"))
				}
				seen = append(seen, l)
				if strings.Contains(l, "cmed running") {
					break wait
				}
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("cmed did not start:\n%s", strings.Join(seen, "\n"))
			}
		}
		if !strings.Contains(strings.Join(seen, "\n"), "msg=listening service=cli") {
			t.Errorf("listeners not logged:\n%s", strings.Join(seen, "\n"))
		}
		out, errOut, code := run(t, env, "cli", "-c", "show running-config")
		if code != 0 || !strings.Contains(out, "telephony-service") {
			t.Fatalf("cli: exit %d %s %s", code, out, errOut)
		}
		runs = append(runs, out)
		cmd.Process.Signal(syscall.SIGTERM)
		for l := range logs {
			seen = append(seen, l)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("cmed exited with %v after SIGTERM:\n%s", err, strings.Join(seen, "\n"))
		}
		if !strings.Contains(strings.Join(seen, "\n"), "database closed") {
			t.Errorf("database close not logged")
		}
		if _, err := os.Stat(filepath.Join(state, "cmed", "cmed.db")); err != nil {
			t.Errorf("database not in the XDG state dir: %v", err)
		}
		_ = i
	}
	if runs[0] != runs[1] {
		t.Errorf("config differs after restart")
	}
}

func TestServeRefusesABadConfigFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "bad.cfg")
	os.WriteFile(f, []byte("hostname ok\nephone 1\n mac-address 12345\n"), 0o600)
	_, errOut, code := run(t, []string{"XDG_STATE_HOME=" + dir}, "serve", "--config", f, "--loopback-listeners")
	if code == 0 || !strings.Contains(errOut, f+":3:") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "cmed", "cmed.db")); err == nil {
		t.Error("a refused config still created the database")
	}
}
