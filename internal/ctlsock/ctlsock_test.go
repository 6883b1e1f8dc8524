package ctlsock

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
