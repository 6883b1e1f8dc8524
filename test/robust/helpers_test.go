// Package robust holds whole-daemon robustness tests: kill -9 during
// writes, full and read-only disks, bad input on every listener, and
// graceful shutdown. Each bad-input case runs while a healthy watcher on the
// same daemon keeps getting correct lamps (issue 9).
package robust

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/repotest"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

func needTool(t *testing.T, name string) string {
	t.Helper()
	return repotest.Tool(t, name)
}

var (
	buildOnce sync.Once
	cmedBin   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// cmedBinary builds cmd/cmed once per test run, so the crash tests kill
// exactly what an operator runs.
func cmedBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "cmed-robust-bin")
		if buildErr != nil {
			return
		}
		cmedBin = filepath.Join(buildDir, "cmed")
		// go test puts its own GOROOT/bin first on the tests' PATH, so
		// "go" is the toolchain running the tests.
		gobin := "go"
		out, err := exec.Command(gobin, "build", "-o", cmedBin, "github.com/cmed-project/cmed/cmd/cmed").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/cmed: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return cmedBin
}

// serveProc is a `cmed serve` child process.
type serveProc struct {
	cmd    *exec.Cmd
	socket string
	logs   *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `cmed serve --state-dir dir [args]` with every listener on
// loopback port 0 and waits until its control socket answers.
func startServe(t *testing.T, dir string, args ...string) *serveProc {
	t.Helper()
	bin := cmedBinary(t)
	all := append([]string{"serve", "--state-dir", dir, "--loopback-listeners", "--log-level", "debug"}, args...)
	p := &serveProc{cmd: exec.Command(bin, all...), socket: filepath.Join(dir, "cli.sock"), logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("cmed serve log:\n%s", p.logs.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.Dial("unix", p.socket); err == nil {
			c.Close()
			if strings.Contains(p.logs.String(), "cmed running") {
				return p
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("cmed serve exited before it was ready: %v\n%s", err, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cmed serve not ready within 15s:\n%s", p.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cli runs `cmed cli -c` commands against the child, as an operator would.
func (p *serveProc) cli(commands ...string) (string, error) {
	args := []string{"cli", "--socket", p.socket}
	for _, c := range commands {
		args = append(args, "-c", c)
	}
	out, err := exec.Command(cmedBin, args...).CombinedOutput()
	return string(out), err
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// healthy is a watcher that must keep seeing correct lamps while a bad
// peer attacks the daemon. With SCCP wired it is a real pair of fake phones
// on the SCCP port (ephone 1 watches 1002 on its first BLF speed dial;
// ephone 2 owns 1002); before that it drives the core directly and watches
// through the presence engine, which is what the SCCP session does.
type healthy struct {
	inst *cmedtest.Instance

	// SCCP mode
	watcher, owner *sccptest.Phone
	blfIndex       uint32

	// core mode
	dev  dntest.Device
	id   dn.DeviceID
	box  *blf.Mailbox
	last blf.State
}

func newHealthy(t *testing.T, inst *cmedtest.Instance) *healthy {
	t.Helper()
	h := &healthy{inst: inst}
	if a := inst.Addr("sccp"); a != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		h.watcher, err = sccptest.Dial(ctx, a.String(), sccptest.Config{Model: "7960", MAC: "001122334401"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.watcher.Close() })
		h.owner, err = sccptest.Dial(ctx, a.String(), sccptest.Config{Model: "7961", MAC: "001122334402"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.owner.Close() })
		if err := h.watcher.Connect(ctx); err != nil {
			t.Fatalf("healthy watcher phone: %v", err)
		}
		if err := h.owner.Connect(ctx); err != nil {
			t.Fatalf("healthy owner phone: %v", err)
		}
		// The first BLF speed-dial button of ephone 1 watches 1002.
		for _, b := range h.watcher.State().Buttons {
			if b.Type == msg.ButtonBLFSpeedDial {
				h.blfIndex = uint32(b.Instance)
				break
			}
		}
		if h.blfIndex == 0 {
			t.Fatal("ephone 1 has no BLF speed-dial button in its template")
		}
		return h
	}
	var err error
	h.id, err = inst.Switch().RegisterDevice(dn.DeviceInfo{Name: "SEP001122334402", Protocol: dn.SCCP, Model: "7961"}, &h.dev)
	if err != nil {
		t.Fatal(err)
	}
	h.box = blf.NewMailbox()
	if _, err := inst.Presence().Subscribe(blf.SubscribeRequest{Watcher: h.box, WatcherName: "robust", Kind: blf.KindWeb, Presentity: "1002"}); err != nil {
		t.Fatal(err)
	}
	return h
}

// check takes 1002 off hook and back, and requires the watcher to see the
// lamp go busy and then idle within a few seconds each.
func (h *healthy) check(t *testing.T) {
	t.Helper()
	if h.watcher != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.owner.OffHook(); err != nil {
			t.Fatalf("healthy phone off hook: %v", err)
		}
		if _, err := h.watcher.WaitState(ctx, func(s sccptest.State) bool { return s.BLF[h.blfIndex] == msg.BLFStatus(blf.StateInUse) }); err != nil {
			t.Fatalf("healthy watcher did not see 1002 busy: %v", err)
		}
		if err := h.owner.OnHook(); err != nil {
			t.Fatalf("healthy phone on hook: %v", err)
		}
		if _, err := h.watcher.WaitState(ctx, func(s sccptest.State) bool { return s.BLF[h.blfIndex] == msg.BLFStatus(blf.StateIdle) }); err != nil {
			t.Fatalf("healthy watcher did not see 1002 idle: %v", err)
		}
		return
	}
	sw := h.inst.Switch()
	if _, err := sw.OffHook(h.id, 0); err != nil {
		t.Fatalf("healthy phone off hook: %v", err)
	}
	h.waitLamp(t, blf.StateInUse)
	if _, err := sw.OnHook(h.id, 0); err != nil {
		t.Fatalf("healthy phone on hook: %v", err)
	}
	h.waitLamp(t, blf.StateIdle)
}

func (h *healthy) waitLamp(t *testing.T, want blf.State) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for h.last != want {
		select {
		case <-h.box.C():
			for _, u := range h.box.Drain(nil) {
				h.last = u.State
			}
		case <-deadline:
			t.Fatalf("healthy watcher lamp is %v, want %v", h.last, want)
		}
	}
}

// defaultOffice boots the embedded default config on loopback listeners.
func defaultOffice(t *testing.T) *cmedtest.Instance {
	t.Helper()
	return cmedtest.Start(t, string(configs.Default))
}
