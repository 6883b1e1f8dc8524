package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
)

// TestTCPResponseNeverDialsTheVia: a client that sends a request over TCP
// and closes at once must not make cmed open a connection to whatever
// host:port its Via names (RFC 3261 §18.2.2: answer on the same
// connection; the Via sent-by is the client's word, not an address to
// trust). The Via points at a listener of the test's; nothing may connect
// to it. Bounded: 30 requests, then a 2 s quiet period.
func TestTCPResponseNeverDialsTheVia(t *testing.T) {
	r := newRig(t, registrarConfig, nil)
	<-r.srv.started
	trap, err := net.Listen("tcp", "127.0.0.9:0")
	if err != nil {
		t.Fatal(err)
	}
	defer trap.Close()
	var dialled atomic.Int32
	go func() {
		for {
			c, err := trap.Accept()
			if err != nil {
				return
			}
			dialled.Add(1)
			c.Close()
		}
	}()
	viaPort := trap.Addr().(*net.TCPAddr).Port
	for i := range 30 {
		c, err := net.Dial("tcp", r.tcp.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "OPTIONS sip:2101@127.0.0.1 SIP/2.0\r\n"+
			"Via: SIP/2.0/TCP 127.0.0.9:%d;branch=z9hG4bK-via-trap-%d\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.9>;tag=t%d\r\nTo: <sip:2101@127.0.0.1>\r\n"+
			"Call-ID: via-trap-%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", viaPort, i, i, i)
		c.(*net.TCPConn).SetLinger(0) // reset: gone before cmed can answer
		c.Close()
	}
	time.Sleep(2 * time.Second) // an absence check needs a bounded wait
	if n := dialled.Load(); n > 0 {
		t.Fatalf("cmed opened %d connections to the Via host:port of requests whose connection had closed", n)
	}
}

// TestOutboundOnlyDialer: cmed's own requests (a context derived from the
// server's) may connect; sipgo's response path (any other context) may not.
func TestOutboundOnlyDialer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	d := outboundOnlyDialer(nil)
	ctx, cancel := context.WithTimeout(outbound(context.Background()), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatalf("cmed's own request refused: %v", err)
	}
	c.Close()
	if c, err := d.DialContext(context.Background(), "tcp", l.Addr().String()); !errors.Is(err, errResponseDial) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("a response dial got %v, want %v", err, errResponseDial)
	}
}

// TestWaitAnswerRecoversFromSipgoPanics: a panic inside sipgo's answer
// wait (here forced with a nil dialog) becomes an error for that call
// instead of ending the daemon.
func TestWaitAnswerRecoversFromSipgoPanics(t *testing.T) {
	r := newRig(t, registrarConfig, nil)
	err := r.srv.waitAnswer(context.Background(), nil, sipgo.AnswerOptions{})
	if err == nil || !strings.Contains(err.Error(), "ended abnormally") {
		t.Fatalf("got %v, want the panic turned into an error", err)
	}
}
