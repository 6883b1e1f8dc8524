package netx

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A caller whose accept loop treats every error as fatal (sipgo's TCP
// transport) keeps accepting through EMFILE when it accepts from a Guard.
func TestGuardHidesTemporaryErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: l}
	fl.fails.Store(4)
	var seen atomic.Int32
	g := Guard(fl, GuardOptions{Name: "test", OnAcceptError: func(err error) {
		if errors.Is(err, syscall.EMFILE) {
			seen.Add(1)
		}
	}})
	defer g.Close()
	go func() {
		if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
			defer c.Close()
			io.ReadAll(c)
		}
	}()
	c, err := g.Accept()
	if err != nil {
		t.Fatalf("Accept returned %v; a temporary error must not reach the caller", err)
	}
	c.Close()
	if seen.Load() != 4 {
		t.Errorf("OnAcceptError saw %d EMFILE, want 4", seen.Load())
	}
	g.Close()
	if _, err := g.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
}

func TestGuardCapsAndIdle(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var rejected, idled atomic.Int32
	g := Guard(l, GuardOptions{Name: "test", Limits: Limits{PerSource: 2}, IdleTimeout: 50 * time.Millisecond,
		OnReject: func(r string) {
			if r == "per-source" {
				rejected.Add(1)
			}
		},
		OnIdle: func() { idled.Add(1) }})
	defer g.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := g.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	var clients []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	a1, a2 := <-accepted, <-accepted
	// The third is refused: its client sees EOF.
	clients[2].SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := clients[2].Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("third connection from one source: read %v, want EOF (refused)", err)
	}
	// OnReject runs just after the refused connection is closed.
	for deadline := time.Now().Add(5 * time.Second); rejected.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if rejected.Load() != 1 || g.Open() != 2 {
		t.Fatalf("rejected=%d open=%d, want 1 and 2", rejected.Load(), g.Open())
	}
	// An idle connection reads EOF once the idle timeout passes.
	if _, err := a1.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("idle read: %v, want io.EOF", err)
	}
	a2.Close()
	if idled.Load() != 1 || g.Open() != 0 {
		t.Fatalf("idled=%d open=%d, want 1 and 0", idled.Load(), g.Open())
	}
	// Slots freed: a new connection from the same source is admitted.
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case a := <-accepted:
		a.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("no admission after slots were released")
	}
}
