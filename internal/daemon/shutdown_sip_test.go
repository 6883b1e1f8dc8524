package daemon_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
)

// sipRead reads SIP messages until one satisfies match, answering every
// NOTIFY with 200 as a watcher must (RFC 6665 §4.1.3).
func sipRead(t *testing.T, c net.PacketConn, match func(string) bool) string {
	t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.SetReadDeadline(deadline)
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("waiting for a SIP message: %v", err)
		}
		m := string(buf[:n])
		if strings.HasPrefix(m, "NOTIFY ") {
			c.WriteTo([]byte(sipResponse200(m)), from)
		}
		if match(m) {
			return m
		}
	}
}

// sipResponse200 answers a request with 200, copying the headers RFC 3261
// §8.2.6.2 says a response carries.
func sipResponse200(req string) string {
	var b strings.Builder
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, l := range strings.Split(req, "\r\n")[1:] {
		if l == "" {
			break
		}
		name := strings.ToLower(strings.TrimSpace(strings.SplitN(l, ":", 2)[0]))
		switch name {
		case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq":
			b.WriteString(l + "\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// TestShutdownSendsTerminatedNotify subscribes to a DN as a trunk watcher
// and stops the daemon: the watcher must get a NOTIFY with
// Subscription-State: terminated (RFC 6665 §4.2.2) before cmed exits.
func TestShutdownSendsTerminatedNotify(t *testing.T) {
	inst := cmedtest.StartIn(t, t.TempDir(), configs.Default)
	srv := inst.Addr("sip-udp").(*net.UDPAddr)
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	me := c.LocalAddr().(*net.UDPAddr)
	sub := fmt.Sprintf("SUBSCRIBE sip:1001@%[1]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-shutdown-1;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:watcher@%[2]s>;tag=w1\r\n"+
		"To: <sip:1001@%[1]s>\r\n"+
		"Call-ID: shutdown-test-1@%[2]s\r\n"+
		"CSeq: 1 SUBSCRIBE\r\n"+
		"Contact: <sip:watcher@%[2]s>\r\n"+
		"Event: dialog\r\n"+
		"Accept: application/dialog-info+xml\r\n"+
		"Expires: 600\r\n"+
		"Content-Length: 0\r\n\r\n", srv.String(), me.String())
	if _, err := c.WriteTo([]byte(sub), srv); err != nil {
		t.Fatal(err)
	}
	resp := sipRead(t, c, func(m string) bool { return strings.HasPrefix(m, "SIP/2.0 ") })
	if !strings.HasPrefix(resp, "SIP/2.0 200") {
		t.Fatalf("SUBSCRIBE answered with:\n%s", resp)
	}
	sipRead(t, c, func(m string) bool { return strings.HasPrefix(m, "NOTIFY ") && strings.Contains(m, "active") })

	stopped := make(chan error, 1)
	go func() { stopped <- inst.Stop() }()
	term := sipRead(t, c, func(m string) bool {
		return strings.HasPrefix(m, "NOTIFY ") && strings.Contains(strings.ToLower(m), "subscription-state: terminated")
	})
	if !strings.Contains(term, "Call-ID: shutdown-test-1@") && !strings.Contains(term, "i: shutdown-test-1@") {
		t.Errorf("terminated NOTIFY is not in our dialog:\n%s", term)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
