package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// recordingConn is the server's UDP socket with every datagram it sends
// recorded instead of sent: RFC 4475's messages name hosts (192.0.2.x,
// example.com) and default ports this test cannot listen on, while the
// answer RFC 3261 §18.2.2 routes to them is exactly what the test checks.
type recordingConn struct {
	net.PacketConn
	mu   sync.Mutex // guards sent; a leaf
	sent [][]byte
	wake chan struct{}
}

func (c *recordingConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	c.sent = append(c.sent, append([]byte(nil), b...))
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return len(b), nil
}

// answer is a response the server sent, read without sipgo: a stateless
// answer to a malformed request copies its malformed headers.
type answer struct {
	status int
	raw    string
}

func (a answer) has(header string) bool {
	for _, l := range strings.Split(a.raw, "\r\n")[1:] {
		if n, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(n), header) {
			return true
		}
	}
	return false
}

// responses returns the responses sent whose Call-ID is callID.
func (c *recordingConn) responses(callID string) []answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []answer
	for _, b := range c.sent {
		raw := string(b)
		var code int
		if _, err := fmt.Sscanf(raw, "SIP/2.0 %d ", &code); err != nil {
			continue
		}
		if callIDOf(b) == callID {
			out = append(out, answer{status: code, raw: raw})
		}
	}
	return out
}

// tortureRig is newRig's core with the UDP socket wrapped in a
// recordingConn.
func tortureRig(t *testing.T) (*recordingConn, net.PacketConn) {
	t.Helper()
	cfg := parseConfig(t, registrarConfig)
	up := &upstreamProxy{}
	eng := blf.New(cfg, up)
	trunk := &TrunkForwarder{}
	sw := dn.NewWithOptions(cfg, dn.Options{Observer: fanout{eng}, Trunk: trunk, Media: &dntest.Media{}})
	ctx, cancel := context.WithCancel(context.Background())
	swDone := make(chan struct{})
	go func() { _ = sw.Run(ctx); close(swDone) }()
	if _, err := sw.Lines(); err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingConn{PacketConn: udp, wake: make(chan struct{}, 1)}
	level := slog.LevelWarn
	if os.Getenv("CMED_SIP_DEBUG") != "" {
		level = slog.LevelDebug
	}
	srv, err := New(Options{Switch: sw, Presence: eng, Config: cfg,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		TickInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	up.srv.Store(srv)
	trunk.Set(srv)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, rec, nil) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return")
		}
		<-swDone
	})
	<-srv.started
	return rec, udp
}

// verdict is what RFC 4475 expects of an element receiving a message.
type verdict struct {
	// status lists acceptable final statuses; empty with answer set means
	// any final status except 400 (a valid message, processed normally).
	status []int
	answer bool // a final response is expected at all
	// header must be present in the answer, e.g. Unsupported on a 420.
	header string
}

var (
	processed = verdict{answer: true}
	silent    = verdict{}
)

func rejected(status ...int) verdict { return verdict{status: status, answer: true} }

// rfc4475 maps each torture message (testdata/rfc4475/NAME.dat) to the
// RFC 4475 section it comes from and the verdict that section asks for.
var rfc4475 = map[string]struct {
	section string
	want    verdict
}{
	// RFC 4475 §3.1.1 Valid messages: processed, never refused as malformed.
	"wsinv":      {"3.1.1.1", processed},
	"intmeth":    {"3.1.1.2", processed},
	"esc01":      {"3.1.1.3", processed},
	"escnull":    {"3.1.1.4", processed},
	"esc02":      {"3.1.1.5", processed},
	"lwsdisp":    {"3.1.1.6", processed},
	"longreq":    {"3.1.1.7", processed},
	"dblreq":     {"3.1.1.8", processed},
	"semiuri":    {"3.1.1.9", processed},
	"transports": {"3.1.1.10", processed},
	"mpart01":    {"3.1.1.11", processed},
	"unreason":   {"3.1.1.12", silent}, // a response: nothing answers a response
	"noreason":   {"3.1.1.13", silent},
	// RFC 4475 §3.1.2 Invalid messages.
	"badinv01":   {"3.1.2.1", rejected(400)},
	"clerr":      {"3.1.2.2", rejected(400)},
	"ncl":        {"3.1.2.3", rejected(400)},
	"scalar02":   {"3.1.2.4", rejected(400)},
	"scalarlg":   {"3.1.2.5", silent}, // a response: discarded
	"quotbal":    {"3.1.2.6", rejected(400)},
	"ltgtruri":   {"3.1.2.7", rejected(400)},
	"lwsruri":    {"3.1.2.8", rejected(400)},
	"lwsstart":   {"3.1.2.9", rejected(400)},
	"trws":       {"3.1.2.10", rejected(400)},         // 400 (liberal processing also allowed)
	"escruri":    {"3.1.2.11", verdict{answer: true}}, // 400, or the escaped headers ignored
	"baddate":    {"3.1.2.12", verdict{answer: true}}, // 400, or the Date ignored
	"regbadct":   {"3.1.2.13", rejected(400)},
	"badaspec":   {"3.1.2.14", rejected(400)},
	"baddn":      {"3.1.2.15", rejected(400)},
	"badvers":    {"3.1.2.16", rejected(505)},
	"mismatch01": {"3.1.2.17", rejected(400)},
	"mismatch02": {"3.1.2.18", rejected(501, 400)},
	"bigcode":    {"3.1.2.19", silent}, // a response: discarded
	// RFC 4475 §3.2 Transaction layer.
	"badbranch": {"3.2.1", processed},
	// RFC 4475 §3.3 Application layer.
	"insuf":    {"3.3.1", rejected(400)},
	"unkscm":   {"3.3.2", rejected(416)},
	"novelsc":  {"3.3.3", rejected(416)},
	"unksm2":   {"3.3.4", processed},
	"bext01":   {"3.3.5", verdict{status: []int{420}, answer: true, header: "Unsupported"}},
	"invut":    {"3.3.6", verdict{status: []int{415}, answer: true, header: "Accept"}},
	"regaut01": {"3.3.7", processed},
	"multi01":  {"3.3.8", rejected(400)},
	"mcl01":    {"3.3.9", rejected(400)},
	"bcast":    {"3.3.10", silent}, // a response: discarded
	"zeromf":   {"3.3.11", processed},
	"cparam01": {"3.3.12", processed},
	"cparam02": {"3.3.13", processed},
	"regescrt": {"3.3.14", processed},
	"sdp01":    {"3.3.15", rejected(406)},
	// RFC 4475 §3.4 Backward compatibility.
	"inv2543": {"3.4.1", processed},
}

func TestRFC4475(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "rfc4475", "*.dat"))
	if err != nil || len(files) != len(rfc4475) {
		t.Fatalf("%d torture messages for %d verdicts (%v)", len(files), len(rfc4475), err)
	}
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, f := range files {
		// A server of its own per message: the RFC's messages reuse
		// branches (z9hG4bKkdjuw), and one server would rightly take a
		// later one for a retransmission (RFC 3261 §17.2.3).
		rec, _ := tortureRig(t)
		srvAddr := rec.LocalAddr()
		name := strings.TrimSuffix(filepath.Base(f), ".dat")
		want, ok := rfc4475[name]
		if !ok {
			t.Errorf("%s: no verdict", name)
			continue
		}
		msg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		callID := callIDOf(msg)
		if _, err := c.WriteTo(msg, srvAddr); err != nil {
			t.Fatal(err)
		}
		got := awaitFinal(rec, callID, want.want.answer)
		var status []int
		for _, r := range got {
			status = append(status, r.status)
		}
		t.Logf("%-10s §%-8s -> %v", name, want.section, status)
		final := finalOf(got)
		w := want.want
		switch {
		case !w.answer && len(got) > 0:
			t.Errorf("%s (RFC 4475 §%s): answered %v, want no answer", name, want.section, status)
		case w.answer && final == nil:
			t.Errorf("%s (RFC 4475 §%s): no final answer (got %v)", name, want.section, status)
		case w.answer && len(w.status) == 0 && final.status == 400:
			t.Errorf("%s (RFC 4475 §%s): valid message refused: %.60q", name, want.section, final.raw)
		case w.answer && len(w.status) > 0 && !slices.Contains(w.status, final.status):
			t.Errorf("%s (RFC 4475 §%s): answered %.60q, want %v", name, want.section, final.raw, w.status)
		case w.header != "" && !final.has(w.header):
			t.Errorf("%s (RFC 4475 §%s): %d without %s", name, want.section, final.status, w.header)
		}
	}
}

// callIDOf finds the Call-ID in a raw message (long or compact form).
func callIDOf(msg []byte) string {
	for _, line := range strings.Split(string(msg), "\r\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if n := strings.TrimSpace(name); strings.EqualFold(n, "Call-ID") || strings.EqualFold(n, "i") {
			return strings.TrimSpace(val)
		}
	}
	return ""
}

func finalOf(rs []answer) *answer {
	for i, r := range rs {
		if r.status >= 200 {
			return &rs[i]
		}
	}
	return nil
}

// awaitFinal waits for a final response to callID: up to 3 s when one is
// expected, and 300 ms to see that none comes when none is.
func awaitFinal(rec *recordingConn, callID string, expect bool) []answer {
	wait := 300 * time.Millisecond
	if expect {
		wait = 3 * time.Second
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		got := rec.responses(callID)
		if expect && finalOf(got) != nil {
			return got
		}
		select {
		case <-rec.wake:
		case <-deadline.C:
			return rec.responses(callID)
		}
	}
}
