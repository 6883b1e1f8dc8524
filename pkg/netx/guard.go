package netx

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// GuardOptions configure Guard.
type GuardOptions struct {
	Name   string // for logs: "sip-tcp"
	Logger *slog.Logger
	Limits Limits
	// IdleTimeout closes a connection that neither reads nor writes for
	// this long; zero keeps idle connections forever.
	IdleTimeout time.Duration
	// OnReject, if set, is told why a connection was refused ("total",
	// "per-source"), for metrics.
	OnReject func(reason string)
	// OnAcceptError, if set, sees temporary accept errors.
	OnAcceptError func(error)
	// OnIdle, if set, is told each time a connection is closed for idling.
	OnIdle func()
}

// Guard wraps l for a server that runs its own accept loop (sipgo's TCP
// transport): Accept never returns a temporary error (it backs off and
// retries as AcceptLoop does, so the caller's loop, which treats every
// error as fatal, keeps running), refuses connections over the caps, and
// hands out connections that end at EOF after IdleTimeout without
// traffic. A timeout is reported as io.EOF so the caller closes the
// connection as if the peer had.
func Guard(l net.Listener, opts GuardOptions) *Guarded {
	return &Guarded{Listener: l, opts: opts, closed: make(chan struct{})}
}

// Guarded is a listener made by Guard.
type Guarded struct {
	net.Listener
	opts GuardOptions

	slots     slots
	closeOnce sync.Once
	closed    chan struct{} // closed by Close: ends a backoff wait

	logMu      sync.Mutex // guards lastReject; a leaf
	lastReject time.Time  // when a refusal was last logged (rate limit)
}

// Close closes the listener and ends any backoff in progress.
func (g *Guarded) Close() error {
	g.closeOnce.Do(func() { close(g.closed) })
	return g.Listener.Close()
}

// Open reports the connections the listener currently holds open.
func (g *Guarded) Open() int { return g.slots.count() }

// Accept waits for the next admitted connection.
func (g *Guarded) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			select {
			case <-g.closed:
				return nil, net.ErrClosed
			default:
			}
			if !Temporary(err) {
				return nil, err
			}
			if g.opts.OnAcceptError != nil {
				g.opts.OnAcceptError(err)
			}
			if delay == 0 && g.opts.Logger != nil {
				g.opts.Logger.Error(g.opts.Name+": accept failed; retrying with backoff", "err", err)
			}
			delay = min(max(2*delay, minDelay), maxDelay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-g.closed:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		if delay > 0 && g.opts.Logger != nil {
			g.opts.Logger.Info(g.opts.Name + ": accepting again")
		}
		delay = 0
		ip := RemoteIP(c)
		if reason := g.slots.admit(g.opts.Limits, ip); reason != "" {
			c.Close()
			g.logReject(c, reason)
			if g.opts.OnReject != nil {
				g.opts.OnReject(reason)
			}
			continue
		}
		return &guardedConn{Conn: c, g: g, ip: ip}, nil
	}
}

// logReject logs a refused connection at WARN, at most once a second, so
// a flood from one host cannot flood the log.
func (g *Guarded) logReject(c net.Conn, reason string) {
	if g.opts.Logger == nil {
		return
	}
	now := time.Now()
	g.logMu.Lock()
	ok := now.Sub(g.lastReject) >= time.Second
	if ok {
		g.lastReject = now
	}
	g.logMu.Unlock()
	if ok {
		g.opts.Logger.Warn(g.opts.Name+": connection refused (further refusals this second not logged)",
			"remote", c.RemoteAddr().String(), "reason", reason, "limits", g.opts.Limits)
	}
}

// guardedConn gives its slot back when closed and turns an idle timeout
// into EOF.
type guardedConn struct {
	net.Conn
	g       *Guarded
	ip      netip.Addr
	release sync.Once
}

func (c *guardedConn) Read(b []byte) (int, error) {
	if d := c.g.opts.IdleTimeout; d > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(d))
	}
	n, err := c.Conn.Read(b)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		if c.g.opts.OnIdle != nil {
			c.g.opts.OnIdle()
		}
		c.Close()
		return n, io.EOF
	}
	return n, err
}

func (c *guardedConn) Write(b []byte) (int, error) {
	// A peer that stops reading must not hold a writer forever either.
	if d := c.g.opts.IdleTimeout; d > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(d))
	}
	return c.Conn.Write(b)
}

func (c *guardedConn) Close() error {
	err := c.Conn.Close()
	c.release.Do(func() { c.g.slots.release(c.ip) })
	return err
}

// slots counts open connections in total and per source address.
type slots struct {
	mu    sync.Mutex // guards total and perIP; never held while calling out
	total int
	perIP map[netip.Addr]int
}

// admit takes a slot for ip under lim, or says why not.
func (s *slots) admit(lim Limits, ip netip.Addr) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lim.Total > 0 && s.total >= lim.Total {
		return "total"
	}
	if lim.PerSource > 0 && s.perIP[ip] >= lim.PerSource {
		return "per-source"
	}
	if s.perIP == nil {
		s.perIP = map[netip.Addr]int{}
	}
	s.total++
	s.perIP[ip]++
	return ""
}

func (s *slots) release(ip netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

func (s *slots) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}
