package daemon_test

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/internal/repotest"
)

// TestNotifyDecodesInWireshark: the NOTIFYs cmed writes itself over UDP
// (docs/sip-presence.md §Notify-discipline) are read by Wireshark's SIP
// dissector, an independent decoder, as well-formed NOTIFYs with the
// headers RFC 6665 §8.1.2 asks for and XML bodies, with no frame from cmed
// malformed or flagged: one dialog and one presence subscription, each
// with its first NOTIFY and the terminated one after Expires: 0.
func TestNotifyDecodesInWireshark(t *testing.T) {
	tshark := repotest.Tool(t, "tshark")
	inst := cmedtest.StartIn(t, t.TempDir(), configs.Default)
	srv := inst.Addr("sip-udp").(*net.UDPAddr)
	capture := startLoCapture(t, tshark, fmt.Sprintf("udp port %d", srv.Port))

	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	me := c.LocalAddr().(*net.UDPAddr)
	toTag := regexp.MustCompile(`(?m)^To:.*;tag=([^;\r\n>]+)`)
	for i, ev := range []struct{ event, accept string }{
		{"dialog", "application/dialog-info+xml"},
		{"presence", "application/pidf+xml"},
	} {
		subscribe := func(cseq, expires int, tag string) string {
			to := fmt.Sprintf("<sip:1001@%s>", srv)
			if tag != "" {
				to += ";tag=" + tag
			}
			req := fmt.Sprintf("SUBSCRIBE sip:1001@%[1]s SIP/2.0\r\n"+
				"Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-wire-%[3]d-%[4]d;rport\r\n"+
				"Max-Forwards: 70\r\nFrom: <sip:watcher@%[2]s>;tag=w%[3]d\r\nTo: %[5]s\r\n"+
				"Call-ID: wire-%[3]d@%[2]s\r\nCSeq: %[4]d SUBSCRIBE\r\nContact: <sip:watcher@%[2]s>\r\n"+
				"Event: %[6]s\r\nAccept: %[7]s\r\nExpires: %[8]d\r\nContent-Length: 0\r\n\r\n",
				srv, me, i, cseq, to, ev.event, ev.accept, expires)
			if _, err := c.WriteTo([]byte(req), srv); err != nil {
				t.Fatal(err)
			}
			return sipRead(t, c, func(m string) bool {
				return strings.HasPrefix(m, "SIP/2.0 ") && strings.Contains(m, fmt.Sprintf("CSeq: %d SUBSCRIBE", cseq))
			})
		}
		res := subscribe(1, 600, "")
		m := toTag.FindStringSubmatch(res)
		if !strings.HasPrefix(res, "SIP/2.0 200") || m == nil {
			t.Fatalf("%s SUBSCRIBE answered with:\n%s", ev.event, res)
		}
		sipRead(t, c, func(m string) bool { return strings.HasPrefix(m, "NOTIFY ") && strings.Contains(m, "active") })
		if res := subscribe(2, 0, m[1]); !strings.HasPrefix(res, "SIP/2.0 200") {
			t.Fatalf("%s unSUBSCRIBE answered with:\n%s", ev.event, res)
		}
		sipRead(t, c, func(m string) bool { return strings.HasPrefix(m, "NOTIFY ") && strings.Contains(m, "terminated") })
	}
	capture.stop(t)

	from := fmt.Sprintf("udp.srcport == %d", srv.Port)
	// Wireshark hands application/pidf+xml to its XML dissector by itself,
	// but not RFC 4235's type: told here.
	decode := []string{"-d", "media_type==application/dialog-info+xml,xml"}
	out := capture.read(t, append(decode, "-Y", from+` && sip.Method == "NOTIFY"`, "-T", "fields", "-E", "separator=|",
		"-e", "sip.Event", "-e", "sip.Subscription-State", "-e", "sip.CSeq.method", "-e", "sip.Via.branch",
		"-e", "sip.Content-Type", "-e", "frame.protocols")...)
	var got []string
	for line := range strings.Lines(out) {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 6 {
			t.Fatalf("tshark line %q", line)
		}
		if f[2] != "NOTIFY" || !strings.HasPrefix(f[3], "z9hG4bK") {
			t.Errorf("NOTIFY with CSeq method %q, branch %q", f[2], f[3])
		}
		if !strings.HasSuffix(f[5], ":xml") {
			t.Errorf("NOTIFY body (%s) not decoded as XML: %s", f[4], f[5])
		}
		state, _, _ := strings.Cut(f[1], ";")
		got = append(got, f[0]+" "+state)
	}
	want := "dialog active, dialog terminated, presence active, presence terminated"
	if strings.Join(got, ", ") != want {
		t.Errorf("Wireshark decoded the NOTIFYs from cmed as [%s], want [%s]", strings.Join(got, ", "), want)
	}
	if bad := flaggedFrames(t, capture, decode, from); len(bad) > 0 {
		t.Errorf("frames from cmed that tshark flags:\n%s", strings.Join(bad, "\n"))
	}
}
