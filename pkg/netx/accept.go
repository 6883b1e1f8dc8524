// Package netx holds the one accept loop every TCP and unix-socket server
// of cmed uses (SCCP, SSH, telnet, the control socket): a listener must
// never die while the daemon runs, so transient accept errors (EMFILE,
// ENFILE, ENOBUFS, ECONNABORTED, timeouts) back off and retry as net/http
// does, and connection caps are enforced in one place.
//
// It is a leaf: standard library only (internal/deps enforces it).
package netx

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Retry bounds for accept errors that a later accept can outlive: the
// delay doubles from minDelay up to maxDelay while the errors last.
const (
	minDelay = 5 * time.Millisecond
	maxDelay = time.Second
)

// Temporary reports whether an accept error is worth retrying: the process
// or system ran out of descriptors or buffers, or the peer went away
// between SYN and accept. Anything else (a closed listener) is final.
func Temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// AcceptLoop accepts on l until ctx ends (then it closes l and returns
// nil) or l fails for good (it returns that error). Each connection goes to
// onConn, which must not block: it owns the connection from then on.
// onError, if set, sees every temporary error (metrics, health); the loop
// logs the first of each burst at ERROR so exhaustion is never silent.
func AcceptLoop(ctx context.Context, l net.Listener, log *slog.Logger, name string, onError func(error), onConn func(net.Conn)) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err == nil {
			delay = 0
			onConn(c)
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		if !Temporary(err) {
			return err
		}
		if onError != nil {
			onError(err)
		}
		if delay == 0 && log != nil {
			log.Error(name+": accept failed; retrying with backoff", "err", err)
		}
		delay = min(max(2*delay, minDelay), maxDelay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// Limits caps concurrent connections. Zero means no cap.
type Limits struct {
	Total     int // across all sources
	PerSource int // from one IP address
}

// Server runs a handler per connection with caps, closes every connection
// when ctx ends, and waits for the handlers before Serve returns.
type Server struct {
	Name   string // for logs: "ssh", "telnet", "cli"
	Logger *slog.Logger
	Limits Limits
	// OnReject, if set, is told why a connection was refused ("total",
	// "per-source"), for metrics.
	OnReject func(reason string)
	// OnAcceptError, if set, sees temporary accept errors.
	OnAcceptError func(error)

	slots    slots
	handlers sync.WaitGroup
}

// Serve accepts on l until ctx ends and runs handle for each connection in
// its own goroutine. The connection is closed when handle returns or ctx
// ends. Serve returns after every handler has returned.
func (s *Server) Serve(ctx context.Context, l net.Listener, handle func(ctx context.Context, c net.Conn)) error {
	err := AcceptLoop(ctx, l, s.Logger, s.Name, s.OnAcceptError, func(c net.Conn) {
		ip := RemoteIP(c)
		if reason := s.slots.admit(s.Limits, ip); reason != "" {
			c.Close()
			if s.Logger != nil {
				s.Logger.Warn(s.Name+": connection refused", "remote", c.RemoteAddr().String(), "reason", reason)
			}
			if s.OnReject != nil {
				s.OnReject(reason)
			}
			return
		}
		s.handlers.Add(1)
		go func() {
			defer s.handlers.Done()
			defer s.slots.release(ip)
			defer c.Close()
			// Close the connection when the daemon stops, so handlers
			// blocked in a read return.
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			handle(ctx, c)
		}()
	})
	s.handlers.Wait()
	return err
}

// RemoteIP is the peer's address without port; unix sockets and pipes
// share the zero address, so they count as one source.
func RemoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
