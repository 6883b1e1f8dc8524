// Package cmedtest boots a whole cmed daemon from config text for tests, as
// CoreDNS's test/server.go does: the config names 127.0.0.1 and port 0 for
// every listener, the state directory is the test's temp dir, and the
// daemon is stopped when the test ends.
package cmedtest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cmed-project/cmed/internal/ctlsock"
	"github.com/cmed-project/cmed/internal/daemon"
)

// Instance is a running daemon.
type Instance struct {
	*daemon.Daemon
	StateDir string
	Socket   string
	Logs     *LogBuffer
}

// Start boots cmed with cfg as its startup-config.
func Start(t testing.TB, cfg string) *Instance {
	t.Helper()
	return StartIn(t, t.TempDir(), []byte(cfg))
}

// StartIn boots cmed with state in dir; a nil cfg uses what the database
// holds (or the embedded default on first boot), as `cmed serve` does.
func StartIn(t testing.TB, dir string, cfg []byte) *Instance {
	t.Helper()
	logs := &LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := daemon.Start(context.Background(), daemon.Options{
		StateDir:   dir,
		ConfigText: cfg,
		Logger:     log,
		Version:    "test",
		// The embedded default names real ports (2000, 5060, 69); tests
		// must only use free loopback ports.
		LoopbackListeners: true,
	})
	if err != nil {
		t.Fatalf("daemon did not start: %v", err)
	}
	inst := &Instance{Daemon: d, StateDir: dir, Socket: filepath.Join(dir, "cli.sock"), Logs: logs}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("daemon stopped with error: %v", err)
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	return inst
}

// CLI runs EXEC commands through the control socket, as `cmed cli -c` does.
func (i *Instance) CLI(t testing.TB, commands ...string) string {
	t.Helper()
	var out bytes.Buffer
	// A command that fails prints its IOS error into the output, which is
	// what tests assert on; only a broken connection fails the test here.
	var failed *ctlsock.FailedError
	if err := ctlsock.RunBatch(i.Socket, commands, &out); err != nil && !errors.As(err, &failed) {
		t.Fatalf("cli %q: %v", commands, err)
	}
	return out.String()
}

// LogBuffer collects the daemon's log lines, safe for concurrent use.
type LogBuffer struct {
	mu sync.Mutex // guards b; a leaf
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Contains reports whether any log line contains all the given substrings.
func (l *LogBuffer) Contains(parts ...string) bool {
	for _, line := range strings.Split(l.String(), "\n") {
		ok := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
