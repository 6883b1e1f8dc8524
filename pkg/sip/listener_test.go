package sip

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/netx"
)

// listenerMetrics records TransportMetrics calls.
type listenerMetrics struct {
	mu     sync.Mutex // guards events and up; a leaf
	events map[string]int
	up     map[string]bool
}

func (m *listenerMetrics) NotifySent(int)             {}
func (m *listenerMetrics) AuthFailure(string)         {}
func (m *listenerMetrics) Registration(bool)          {}
func (m *listenerMetrics) RegistrationRefused(string) {}
func (m *listenerMetrics) ResponseSent(int)           {}
func (m *listenerMetrics) ListenerEvent(l, ev string) {
	m.mu.Lock()
	m.events[l+" "+ev]++
	m.mu.Unlock()
}
func (m *listenerMetrics) ListenerUp(l string, up bool) {
	m.mu.Lock()
	m.up[l] = up
	m.mu.Unlock()
}
func (m *listenerMetrics) count(k string) int { m.mu.Lock(); defer m.mu.Unlock(); return m.events[k] }

// SIP/TCP connections are capped per source and closed when idle
// (docs/security.md §Listeners), and both listeners report up.
func TestTCPCapsAndIdleTimeout(t *testing.T) {
	m := &listenerMetrics{events: map[string]int{}, up: map[string]bool{}}
	r := newRig(t, registrarConfig, func(o *Options) {
		o.Metrics = m
		o.TCPLimits = netx.Limits{PerSource: 2}
		o.TCPIdleTimeout = 200 * time.Millisecond
	})
	<-r.srv.started
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", r.tcp.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	// Every connection ends: the third at once (refused), the first two
	// once idle; none stays open.
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("connection %d: read %v, want EOF", i, err)
		}
	}
	eventually(t, 5*time.Second, "refusal and idle closes counted", func() bool {
		return m.count("sip-tcp refused-per-source") == 1 && m.count("sip-tcp idle-closed") == 2
	})
	// A connection in use answers.
	if got := sipOptionsOver(t, r.tcp.Addr().String()); got != 200 {
		t.Errorf("OPTIONS over TCP after the caps: %d", got)
	}
	st := r.srv.Listeners()
	if len(st) != 2 || !st[0].Up || !st[1].Up {
		t.Errorf("Listeners() = %+v, want sip-udp and sip-tcp up", st)
	}
}

func sipOptionsOver(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l := c.LocalAddr().String()
	msg := "OPTIONS sip:x@" + addr + " SIP/2.0\r\nVia: SIP/2.0/TCP " + l + ";branch=z9hG4bK-tcpcap\r\nMax-Forwards: 70\r\n" +
		"From: <sip:t@" + l + ">;tag=1\r\nTo: <sip:x@" + addr + ">\r\nCall-ID: tcpcap\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _ := c.Read(buf)
	var code int
	if _, err := fmt.Sscanf(string(buf[:n]), "SIP/2.0 %d", &code); err != nil {
		return 0
	}
	return code
}
