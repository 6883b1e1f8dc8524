package robust

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/internal/ctlsock"
	"github.com/cmed-project/cmed/internal/daemon"
	"github.com/cmed-project/cmed/pkg/store"
)

var hostnameLine = regexp.MustCompile(`(?m)^hostname .*$`)

// officeConfig is the default office renamed, so each round's config is
// recognisable in the database.
func officeConfig(host string) []byte {
	return hostnameLine.ReplaceAll(configs.Default, []byte("hostname "+host))
}

// TestInteropKill9DuringWriteMemory runs `cmed serve`, loops `cmed cli -c
// "write memory"` and SIGKILLs the daemon at a random moment, over several
// rounds with a different config each. After every kill the database opens,
// the newest startup-config is the one last acknowledged with [OK] (or the
// save in flight), and the sequence of saves has no holes. Finally the
// daemon boots from that database alone.
func TestInteropKill9DuringWriteMemory(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "cmed.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 99))
	var committed uint64 // saves on disk so far
	lastHost := ""
	for round := 1; round <= 4; round++ {
		host := fmt.Sprintf("crash-%d", round)
		cfg := filepath.Join(dir, host+".cfg")
		if err := os.WriteFile(cfg, officeConfig(host), 0o600); err != nil {
			t.Fatal(err)
		}
		p := startServe(t, dir, "--config", cfg, "--db", db)
		killAfter := time.Duration(100+rng.IntN(500)) * time.Millisecond
		killed := time.AfterFunc(killAfter, func() { p.cmd.Process.Signal(syscall.SIGKILL) })
		acked := 0
		for i := 0; i < 5000; i++ { // bounded; the kill ends it long before
			out, err := p.cli("write memory")
			if strings.Contains(out, "[OK]") {
				acked++
				continue
			}
			if err != nil || out == "" {
				break // the daemon is gone
			}
			t.Fatalf("write memory answered %q", out)
		}
		killed.Stop()
		select {
		case err := <-p.done:
			p.done <- err
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("round %d: daemon ended with %v, not by SIGKILL", round, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: daemon still running after the kill", round)
		}

		s, err := store.Open(db, store.Options{LockTimeout: 2 * time.Second})
		if err != nil {
			t.Fatalf("round %d: database does not open after kill -9: %v", round, err)
		}
		v, ok, err := s.StartupConfig()
		s.Close()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if acked > 0 || ok && v.Seq > committed {
			// Something of this round is on disk: it must be whole and
			// of this round, and at most one save beyond the [OK]s.
			if !ok || !strings.Contains(v.Text, "hostname "+host+"\n") {
				t.Fatalf("round %d: %d saves acknowledged but the newest startup-config is not %s:\n%.200s", round, acked, host, v.Text)
			}
			if v.Seq != committed+uint64(acked) && v.Seq != committed+uint64(acked)+1 {
				t.Fatalf("round %d: newest save is #%d, want #%d (or one more in flight)", round, v.Seq, committed+uint64(acked))
			}
			committed, lastHost = v.Seq, host
		}
		t.Logf("round %d: killed after %v, %d saves acknowledged, %d on disk in total", round, killAfter, acked, committed)
	}
	if lastHost == "" {
		t.Fatal("no save was ever acknowledged; the kill came too early every round")
	}

	// Boot from the database alone: the saved config is the running one.
	p := startServe(t, dir, "--db", db)
	out, err := p.cli("show running-config")
	if err != nil || !strings.Contains(out, "hostname "+lastHost+"\n") {
		t.Fatalf("after the crashes the daemon runs %q, want hostname %s (err %v)", firstLine(out, "hostname"), lastHost, err)
	}
}

func firstLine(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestInteropSIGTERMClosesTheDatabase stops `cmed serve` with SIGTERM: it
// exits 0, logs that the database was closed, and the file opens at once
// (no stale lock).
func TestInteropSIGTERMClosesTheDatabase(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, dir)
	if out, err := p.cli("write memory"); err != nil || !strings.Contains(out, "[OK]") {
		t.Fatalf("write memory: %q %v", out, err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("cmed serve exited with %v after SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cmed serve did not stop within 10s of SIGTERM")
	}
	logs := p.logs.String()
	for _, want := range []string{"database closed", "cmed stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	s, err := store.Open(filepath.Join(dir, "cmed.db"), store.Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("database after SIGTERM: %v", err)
	}
	s.Close()
}

// mountTmpfs mounts a tmpfs (root only, as on this VM and in CI
// containers); elsewhere the test is skipped.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// TestInteropWriteMemoryOnFullDiskKeepsServing puts the database on a tiny
// tmpfs, fills it, and runs `write memory`: the CLI prints a clear % error,
// the daemon keeps serving from memory (lamps, show commands), and once
// space is back the next save works.
func TestInteropWriteMemoryOnFullDiskKeepsServing(t *testing.T) {
	disk := mountTmpfs(t, "size=512k")
	state := t.TempDir()
	logs := &cmedtest.LogBuffer{}
	d, err := daemon.Start(context.Background(), daemon.Options{
		StateDir: state, DBPath: filepath.Join(disk, "cmed.db"), ConfigText: configs.Default,
		Logger: slog.New(slog.NewTextHandler(logs, nil)), Version: "test", LoopbackListeners: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	inst := &cmedtest.Instance{Daemon: d, StateDir: state, Socket: filepath.Join(state, "cli.sock"), Logs: logs}
	h := newHealthy(t, inst)
	h.check(t)

	filler := fillDisk(t, disk)
	var out string
	for i := 0; i < 200; i++ {
		out = inst.CLI(t, "write memory")
		if !strings.Contains(out, "[OK]") {
			break
		}
	}
	if !strings.Contains(out, "% Error saving configuration") || !strings.Contains(out, "no space left on device") {
		t.Fatalf("write memory on a full disk printed %q; want a %% error naming the cause", out)
	}
	h.check(t)
	if run := inst.CLI(t, "show running-config"); !strings.Contains(run, "hostname cmed") {
		t.Fatalf("show running-config after a failed save: %q", run)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if out := inst.CLI(t, "write memory"); !strings.Contains(out, "[OK]") {
		t.Fatalf("write memory after freeing space: %q", out)
	}
	if text, err := d.StartupText(); err != nil || !strings.Contains(text, "hostname cmed") {
		t.Fatalf("startup-config after recovery: %v", err)
	}
}

func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for range 1 << 16 {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return name
			}
			t.Fatal(err)
		}
	}
	t.Fatal("the tmpfs never filled")
	return ""
}

// TestInteropReadOnlyDiskRefusesToStartClearly starts `cmed serve` with
// its database on a read-only mount: it exits 1 with a message that names
// the file and the cause, rather than running without a way to save.
func TestInteropReadOnlyDiskRefusesToStartClearly(t *testing.T) {
	disk := mountTmpfs(t, "size=1m,ro")
	db := filepath.Join(disk, "cmed.db")
	out, err := exec.Command(cmedBinary(t), "serve", "--state-dir", t.TempDir(), "--db", db, "--loopback-listeners").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("cmed serve on a read-only disk: err %v, output %s", err, out)
	}
	if !strings.Contains(string(out), db) || !strings.Contains(string(out), "read-only file system") {
		t.Fatalf("the error should name %s and say read-only: %s", db, out)
	}
}

// TestInteropControlSocketGarbage sends malformed control-socket sessions: each is
// answered with a % line or dropped, is logged, and the next real command
// works while the watcher keeps getting lamps.
func TestInteropControlSocketGarbage(t *testing.T) {
	inst := defaultOffice(t)
	h := newHealthy(t, inst)
	h.check(t)
	cases := map[string]string{
		"no header":       "write memory\n",
		"bad magic":       "HTTP/1.1 GET /\n\n",
		"unknown kind":    "CMED-CLI/1 shell\n",
		"binary":          "\x00\xff\xfe\x01\x02CMED\n",
		"huge line":       "CMED-CLI/1 batch\n" + strings.Repeat("x", 1<<20) + "\n",
		"too many":        "CMED-CLI/1 batch\n" + strings.Repeat("show version\n", ctlsock.MaxBatchCommands+50),
		"bad size":        "CMED-CLI/1 interactive -5 999999999999\nexit\n",
		"garbage command": "CMED-CLI/1 batch\n\x1b[A\x1b[B\x00\x7f\nshow \xff\xfe\n",
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			out := rawSocket(t, inst.Socket, payload)
			t.Logf("answer: %.120q", out)
			if strings.Contains(out, "panic") {
				t.Fatalf("daemon answered with a panic: %q", out)
			}
			if v := inst.CLI(t, "show version"); !strings.Contains(v, "uptime is") {
				t.Fatalf("show version after %s: %q", name, v)
			}
			h.check(t)
		})
	}
	if !inst.Logs.Contains("control session ended with an error", "bad header") {
		t.Error("a bad control-socket header was not logged")
	}
}
