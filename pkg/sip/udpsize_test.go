package sip

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// dropMetrics records SIPDropped reasons.
type dropMetrics struct {
	listenerMetrics
	mu    sync.Mutex // guards drops; a leaf
	drops map[string]int
}

func (m *dropMetrics) SIPDropped(reason string) { m.mu.Lock(); m.drops[reason]++; m.mu.Unlock() }
func (m *dropMetrics) dropped(r string) int     { m.mu.Lock(); defer m.mu.Unlock(); return m.drops[r] }

// syncLog is a log sink safe for concurrent writes.
type syncLog struct {
	mu sync.Mutex // guards b; a leaf
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *syncLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// A 1,400-byte request over UDP is answered: its answer is over sipgo's
// default 1300-byte send limit too (docs/security.md §Logging).
func TestLargeUDPRequestAnswered(t *testing.T) {
	r := newRig(t, registrarConfig, nil)
	c, err := net.Dial("udp", r.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l := c.LocalAddr().String()
	head := "OPTIONS sip:x@" + r.addr() + " SIP/2.0\r\nVia: SIP/2.0/UDP " + l + ";branch=z9hG4bK-big\r\nMax-Forwards: 70\r\n" +
		"From: <sip:t@" + l + ">;tag=1\r\nTo: <sip:x@" + r.addr() + ">\r\nCall-ID: big\r\nCSeq: 1 OPTIONS\r\n"
	tail := "Content-Length: 0\r\n\r\n"
	// Padding in a header the answer does not copy, plus a long Via
	// parameter it does, so the response is large as well.
	pad := 1400 - len(head) - len(tail) - len("X-Pad: \r\n")
	msg := head + "X-Pad: " + strings.Repeat("p", pad) + "\r\n" + tail
	msg = strings.Replace(msg, ";branch=z9hG4bK-big", ";branch=z9hG4bK-big;x="+strings.Repeat("v", 1200), 1)
	if len(msg) < 1400 {
		t.Fatalf("message is %d bytes", len(msg))
	}
	c.Write([]byte(msg))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil || !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200")) {
		t.Fatalf("%d-byte OPTIONS over UDP: %v %.60q", len(msg), err, buf[:n])
	}
	if n < 1300 {
		t.Errorf("answer is %d bytes; the test meant to exercise a large answer", n)
	}
}

// Garbage floods neither the log nor pass uncounted: every unparsable
// datagram is counted, the log shows a few WARN lines with the data cut
// short (docs/security.md §Logging).
func TestBadInputCountedAndLogRateLimited(t *testing.T) {
	m := &dropMetrics{drops: map[string]int{}, listenerMetrics: listenerMetrics{events: map[string]int{}, up: map[string]bool{}}}
	var logs syncLog
	r := newRig(t, registrarConfig, func(o *Options) {
		o.Metrics = m
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	c, err := net.Dial("udp", r.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// 600 bytes each: over the 300-byte cut, and 50 of them fit the
	// socket buffer (net.core.rmem_max caps SetReadBuffer) so none is lost.
	junk := "GARBAGE " + strings.Repeat("z", 600) + "\r\n\r\n"
	for i := range 50 {
		c.Write([]byte(fmt.Sprintf("%d %s", i, junk)))
	}
	eventually(t, 5*time.Second, "50 drops counted", func() bool { return m.dropped("unparsable") == 50 })
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "failed to parse") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 || len(lines) > 3 {
		t.Fatalf("%d log lines for 50 bad datagrams in well under 3 s, want 1..3", len(lines))
	}
	for _, l := range lines {
		if !strings.Contains(l, "level=WARN") || strings.Contains(l, strings.Repeat("z", 301)) || !strings.Contains(l, "bytes)") {
			t.Errorf("log line not WARN or not cut short (%d bytes): %.200s", len(l), l)
		}
	}
}
