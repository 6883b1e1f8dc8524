package netx

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// flakyListener fails its first accepts with EMFILE, as a process out of
// descriptors does, then behaves.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (f *flakyListener) Accept() (net.Conn, error) {
	if f.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return f.Listener.Accept()
}

func TestAcceptLoopSurvivesDescriptorExhaustion(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: l}
	fl.fails.Store(5)
	var seen atomic.Int32
	s := &Server{Name: "test", OnAcceptError: func(err error) {
		if errors.Is(err, syscall.EMFILE) {
			seen.Add(1)
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, fl, func(_ context.Context, c net.Conn) { io.WriteString(c, "hello\n") })
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	c.Close()
	if string(b) != "hello\n" {
		t.Fatalf("after EMFILE the listener did not serve: %q %v", b, err)
	}
	if seen.Load() != 5 {
		t.Errorf("OnAcceptError saw %d EMFILE, want 5", seen.Load())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
}

func TestServerCapsPerSourceAndTotal(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	reasons := map[string]int{}
	s := &Server{Name: "test", Limits: Limits{Total: 3, PerSource: 2}, OnReject: func(r string) {
		mu.Lock()
		reasons[r]++
		mu.Unlock()
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	served := make(chan struct{}, 10)
	go s.Serve(ctx, l, func(ctx context.Context, c net.Conn) {
		served <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	dial := func(src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// refused reports whether the server closed c without serving it.
	refused := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := c.Read(make([]byte, 1))
		return err == io.EOF
	}
	a1, a2 := dial("127.0.0.1"), dial("127.0.0.1")
	<-served
	<-served
	if a3 := dial("127.0.0.1"); !refused(a3) {
		t.Error("third connection from one source was not refused")
	}
	b1 := dial("127.0.0.2")
	<-served
	if b2 := dial("127.0.0.2"); !refused(b2) {
		t.Error("fourth connection overall was not refused")
	}
	mu.Lock()
	if reasons["per-source"] != 1 || reasons["total"] != 1 {
		t.Errorf("reasons %v", reasons)
	}
	mu.Unlock()
	close(release)
	a1.Close()
	a2.Close()
	b1.Close()
}

func TestTemporary(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "accept", Err: syscall.EMFILE}, true},
		{&net.OpError{Op: "accept", Err: syscall.ENFILE}, true},
		{&net.OpError{Op: "accept", Err: syscall.ECONNABORTED}, true},
		{net.ErrClosed, false},
		{errors.New("boom"), false},
	} {
		if got := Temporary(tc.err); got != tc.want {
			t.Errorf("Temporary(%v) = %v", tc.err, got)
		}
	}
}
