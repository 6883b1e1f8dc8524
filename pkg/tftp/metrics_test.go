package tftp

import (
	"maps"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// countingMetrics records what the server reports.
type countingMetrics struct {
	mu     sync.Mutex // guards counts
	counts map[string]int
}

func (c *countingMetrics) Transferred() { c.add("ok") }

func (c *countingMetrics) TransferError(reason string) { c.add(reason) }

func (c *countingMetrics) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[k]++
}

func (c *countingMetrics) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// TestMetricsCountTransfersAndErrors causes one of each outcome and checks
// the server reported exactly those.
func TestMetricsCountTransfersAndErrors(t *testing.T) {
	m := &countingMetrics{}
	s := &Server{Handler: mapHandler(map[string][]byte{"f": randomBytes(2000, 1)}), Metrics: m,
		Timeout: 20 * time.Millisecond, Retries: 1}
	addr := startServer(t, s)

	if _, err := (&testClient{}).get(addr, "f", nil); err != nil {
		t.Fatalf("get f: %v", err)
	}
	_, err := (&testClient{}).get(addr, "missing.cnf.xml", nil)
	wantTFTPError(t, err, ErrCodeNotFound)
	if _, err := (&testClient{dropAck: func(uint16) bool { return true }, timeout: 300 * time.Millisecond}).get(addr, "f", nil); err == nil {
		t.Fatal("transfer completed although every ACK was dropped")
	}
	waitIdle(t, s)

	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wrq, _ := (&Request{Write: true, Filename: "upload.bin", Mode: "octet"}).Marshal()
	if _, err := conn.WriteTo(wrq, addr); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 600)
	if _, _, err := conn.ReadFrom(buf); err != nil {
		t.Fatal(err) // the error reply is sent after the count
	}

	want := map[string]int{"ok": 1, ReasonNotFound: 1, ReasonTimeout: 1, ReasonWrite: 1}
	if diff := cmp.Diff(want, m.snapshot()); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}
