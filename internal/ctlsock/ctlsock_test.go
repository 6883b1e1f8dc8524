package ctlsock

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type echoHandler struct{}

func (echoHandler) Batch(_ context.Context, w io.Writer, cmds []string) error {
	for i, c := range cmds {
		fmt.Fprintf(w, "%d:%s\n", i, c)
	}
	return nil
}

func (echoHandler) Interactive(_ context.Context, rw io.ReadWriter, w, h int) error {
	fmt.Fprintf(rw, "size %dx%d\n", w, h)
	line, _ := bufio.NewReader(rw).ReadString('\n')
	fmt.Fprintf(rw, "got %s", line)
	return nil
}

func startServer(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cli.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- (&Server{Handler: echoHandler{}}).Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path
}

func TestBatchRunsCommandsInOrder(t *testing.T) {
	path := startServer(t)
	var out bytes.Buffer
	if err := RunBatch(path, []string{"show running-config", "write memory"}, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "0:show running-config\n1:write memory\n"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestSocketIsOwnerOnly(t *testing.T) {
	path := startServer(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Fatalf("socket mode %v is readable by others", perm)
	}
}

func TestSecondListenerOnALiveSocketIsRefused(t *testing.T) {
	path := startServer(t)
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("err = %v", err)
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cli.sock")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestInteractiveCarriesSizeAndBytes(t *testing.T) {
	path := startServer(t)
	c, err := DialInteractive(path, 132, 50)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "show clock\n")
	out, _ := io.ReadAll(c)
	if got := string(out); got != "size 132x50\ngot show clock\n" {
		t.Fatalf("got %q", got)
	}
}

func TestBadHeaderIsRejected(t *testing.T) {
	path := startServer(t)
	c, err := dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "HELLO\n")
	c.SetDeadline(time.Now().Add(5 * time.Second))
	out, _ := io.ReadAll(c)
	if !strings.Contains(string(out), "expected") {
		t.Fatalf("got %q", out)
	}
}

func TestMissingDaemonSaysHowToStartOne(t *testing.T) {
	err := RunBatch(filepath.Join(t.TempDir(), "none.sock"), []string{"x"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "cmed serve") {
		t.Fatalf("err = %v", err)
	}
}

// TestPeerCredentialsRefuseOtherUsers: even when the socket file is
// reachable (mode loosened here on purpose), a process of another user is
// refused by its SO_PEERCRED uid. As root the test dials from a copy of
// itself running as nobody; otherwise it names another uid as the owner.
func TestPeerCredentialsRefuseOtherUsers(t *testing.T) {
	if addr := os.Getenv("CTLSOCK_DIAL"); addr != "" {
		t.Skip("helper mode")
	}
	dir, err := os.MkdirTemp("", "ctlsock-peer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	path := filepath.Join(dir, "cli.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o777)
	owner := os.Geteuid()
	if owner != 0 {
		owner++ // pretend the daemon belongs to someone else
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- (&Server{Handler: echoHandler{}, UID: &owner}).Serve(ctx, l) }()
	defer func() { cancel(); <-done }()

	var out []byte
	if os.Geteuid() == 0 {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "dialer")
		b, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-test.run", "^TestPeerCredentialsDialHelper$", "-test.v")
		cmd.Env = append(os.Environ(), "CTLSOCK_DIAL="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, _ = cmd.CombinedOutput()
	} else {
		var buf bytes.Buffer
		err := RunBatch(path, []string{"show version"}, &buf)
		out = []byte(fmt.Sprint(buf.String(), err))
	}
	if !strings.Contains(string(out), "may not use this daemon's control socket") || strings.Contains(string(out), "0:show version") {
		t.Fatalf("another user's connection was not refused:\n%s", out)
	}
}

// TestPeerCredentialsDialHelper runs only as the child of the test above.
func TestPeerCredentialsDialHelper(t *testing.T) {
	path := os.Getenv("CTLSOCK_DIAL")
	if path == "" {
		t.Skip("only run as a helper process")
	}
	var buf bytes.Buffer
	err := RunBatch(path, []string{"show version"}, &buf)
	fmt.Printf("output %q err %v\n", buf.String(), err)
}
