package sip

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// leanUA is a SIP watcher for benchmarks: it writes requests from fixed
// text and answers NOTIFYs by copying header lines, without parsing into
// objects, so the allocations a benchmark counts are the server's.
type leanUA struct {
	tb     testing.TB
	conn   *net.UDPConn
	server netip.AddrPort
	buf    []byte // receive buffer
	out    []byte // send buffer
	toTag  []byte // To-tag of the last 2xx to SUBSCRIBE
	notify int    // NOTIFYs answered
}

func newLeanUA(tb testing.TB, server string) *leanUA {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &leanUA{tb: tb, conn: c, server: netip.MustParseAddrPort(server),
		buf: make([]byte, 65535), out: make([]byte, 0, 2048), toTag: make([]byte, 0, 64)}
}

// subscribe sends SUBSCRIBE (Event: dialog) for number with the given
// Call-ID, CSeq and Expires; toTag is added for an in-dialog request.
func (u *leanUA) subscribe(number, callID string, cseq, expires int, branch int, toTag []byte) {
	local := u.conn.LocalAddr().String()
	b := u.out[:0]
	b = append(b, "SUBSCRIBE sip:"...)
	b = append(b, number...)
	b = append(b, '@')
	b = append(b, u.server.String()...)
	b = append(b, " SIP/2.0\r\nVia: SIP/2.0/UDP "...)
	b = append(b, local...)
	b = append(b, ";branch=z9hG4bK-lean"...)
	b = strconv.AppendInt(b, int64(branch), 10)
	b = append(b, ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:bench@127.0.0.1>;tag=lean\r\nTo: <sip:"...)
	b = append(b, number...)
	b = append(b, "@127.0.0.1>"...)
	if len(toTag) > 0 {
		b = append(b, ";tag="...)
		b = append(b, toTag...)
	}
	b = append(b, "\r\nCall-ID: "...)
	b = append(b, callID...)
	b = append(b, "\r\nCSeq: "...)
	b = strconv.AppendInt(b, int64(cseq), 10)
	b = append(b, " SUBSCRIBE\r\nContact: <sip:bench@"...)
	b = append(b, local...)
	b = append(b, ">\r\nEvent: dialog\r\nAccept: application/dialog-info+xml\r\nExpires: "...)
	b = strconv.AppendInt(b, int64(expires), 10)
	b = append(b, "\r\nContent-Length: 0\r\n\r\n"...)
	u.out = b
	if _, err := u.conn.WriteToUDPAddrPort(b, u.server); err != nil {
		u.tb.Fatal(err)
	}
}

// until reads messages, answering every NOTIFY with 200, until the 2xx to
// SUBSCRIBE CSeq cseq (cseq > 0) has come and notifies NOTIFYs in all were
// answered.
func (u *leanUA) until(cseq int, notifies int) {
	var want []byte
	if cseq > 0 {
		want = strconv.AppendInt([]byte("CSeq: "), int64(cseq), 10)
		want = append(want, " SUBSCRIBE"...)
	}
	got := cseq <= 0
	deadline := time.Now().Add(5 * time.Second)
	for !got || u.notify < notifies {
		u.conn.SetReadDeadline(deadline)
		n, from, err := u.conn.ReadFromUDPAddrPort(u.buf)
		if err != nil {
			u.tb.Fatalf("waiting for CSeq %d and %d NOTIFYs (have %d): %v", cseq, notifies, u.notify, err)
		}
		m := u.buf[:n]
		switch {
		case bytes.HasPrefix(m, []byte("NOTIFY ")):
			u.answer(m, from)
			u.notify++
		case bytes.HasPrefix(m, []byte("SIP/2.0 2")) && want != nil && bytes.Contains(m, want):
			u.toTag = append(u.toTag[:0], headerParam(m, "\r\nTo:", ";tag=")...)
			got = true
		case bytes.HasPrefix(m, []byte("SIP/2.0 ")):
			if !bytes.HasPrefix(m, []byte("SIP/2.0 2")) {
				u.tb.Fatalf("error response:\n%s", m)
			}
		}
	}
}

// answer sends 200 OK to a NOTIFY, with its Via, From, To, Call-ID and
// CSeq lines (RFC 3261 §8.2.6.2).
func (u *leanUA) answer(req []byte, to netip.AddrPort) {
	b := append(u.out[:0], "SIP/2.0 200 OK\r\n"...)
	for _, name := range []string{"\r\nVia:", "\r\nFrom:", "\r\nTo:", "\r\nCall-ID:", "\r\nCSeq:"} {
		i := bytes.Index(req, []byte(name))
		if i < 0 {
			u.tb.Fatalf("NOTIFY without %s:\n%s", name[2:], req)
		}
		line := req[i+2:]
		line = line[:bytes.Index(line, []byte("\r\n"))+2]
		b = append(b, line...)
	}
	b = append(b, "Content-Length: 0\r\n\r\n"...)
	u.out = b
	if _, err := u.conn.WriteToUDPAddrPort(b, to); err != nil {
		u.tb.Fatal(err)
	}
}

// headerParam returns the value of param in the header line starting at
// name, up to the next ';', '>' or CRLF.
func headerParam(m []byte, name, param string) []byte {
	i := bytes.Index(m, []byte(name))
	if i < 0 {
		return nil
	}
	line := m[i+len(name):]
	line = line[:bytes.Index(line, []byte("\r\n"))]
	j := bytes.Index(line, []byte(param))
	if j < 0 {
		return nil
	}
	v := line[j+len(param):]
	if k := bytes.IndexAny(v, ";>"); k >= 0 {
		v = v[:k]
	}
	return v
}

func benchRig(b testing.TB) *rig {
	// Errors only: the load-time warning about `watcher all` without
	// `authenticate presence` would land between the benchmark's result
	// lines and break tools that read them (benchstat).
	r := newRig(b, strings.Replace(registrarConfig, " authenticate presence\n", "", 1), func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	})
	return r
}

// mallocs is the process's allocation count so far.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// BenchmarkSubscribeLifecycle is one whole dialog-event subscription over
// UDP loopback, as cmed-load subscribe runs it (RFC 6665 §4.1, RFC 4235):
// SUBSCRIBE, 200, NOTIFY, 200, SUBSCRIBE Expires: 0, 200, NOTIFY
// terminated, 200. allocs/op are the allocations per lifecycle in the
// server (the watcher allocates nothing per message).
func BenchmarkSubscribeLifecycle(b *testing.B) {
	r := benchRig(b)
	u := newLeanUA(b, r.addr())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		callID := "lean-" + strconv.Itoa(i)
		u.subscribe("2001", callID, 1, 3600, 2*i, nil)
		u.until(1, u.notify+1)
		u.subscribe("2001", callID, 2, 0, 2*i+1, u.toTag)
		u.until(2, u.notify+1)
	}
}

// BenchmarkNotify is one NOTIFY for a line state change to one dialog
// subscription, answered 200 (RFC 6665 §4.2.2): allocs/notify counts the
// server's allocations per NOTIFY, the core's line change included.
func BenchmarkNotify(b *testing.B) {
	r := benchRig(b)
	id, _ := registerEphone(b, r, "0011.2233.4401")
	u := newLeanUA(b, r.addr())
	u.subscribe("2001", "lean-notify", 1, 3600, 1, nil)
	u.until(1, 1)
	b.ReportAllocs()
	start := mallocs()
	for b.Loop() {
		if _, err := r.sw.OffHook(id, 1); err != nil {
			b.Fatal(err)
		}
		u.until(0, u.notify+1)
		if _, err := r.sw.OnHook(id, 1); err != nil {
			b.Fatal(err)
		}
		u.until(0, u.notify+1)
	}
	b.ReportMetric(float64(mallocs()-start)/float64(2*b.N), "allocs/notify")
}

// BenchmarkNotifyFanout is one line change to 50 dialog subscriptions
// (one watcher socket, 50 dialogs), every NOTIFY answered 200; batched
// first transmissions (one sendmmsg) against one write each
// (notifybatch.go). ns/notify and allocs/notify are per NOTIFY.
func BenchmarkNotifyFanout(b *testing.B) {
	for _, mode := range []struct {
		name    string
		noBatch bool
	}{{"batched", false}, {"one-by-one", true}} {
		b.Run(mode.name, func(b *testing.B) {
			const watchers = 50
			r := benchRig(b)
			r.srv.pres.noBatch.Store(mode.noBatch)
			id, _ := registerEphone(b, r, "0011.2233.4401")
			u := newLeanUA(b, r.addr())
			for i := range watchers {
				u.subscribe("2001", "fan-"+strconv.Itoa(i), 1, 3600, i+1, nil)
				u.until(1, u.notify+1)
			}
			b.ReportAllocs()
			start, t0 := mallocs(), time.Now()
			for b.Loop() {
				if _, err := r.sw.OffHook(id, 1); err != nil {
					b.Fatal(err)
				}
				u.until(0, u.notify+watchers)
				if _, err := r.sw.OnHook(id, 1); err != nil {
					b.Fatal(err)
				}
				u.until(0, u.notify+watchers)
			}
			b.ReportMetric(float64(mallocs()-start)/float64(2*watchers*b.N), "allocs/notify")
			b.ReportMetric(float64(time.Since(t0).Nanoseconds())/float64(2*watchers*b.N), "ns/notify")
		})
	}
}
