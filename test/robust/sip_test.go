package robust

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/cmedtest"
)

func sipAddrs(t *testing.T, inst *cmedtest.Instance) (udp, tcp net.Addr) {
	t.Helper()
	udp, tcp = inst.Addr("sip-udp"), inst.Addr("sip-tcp")
	if udp == nil && tcp == nil {
		t.Skip("the daemon has no SIP listener yet (pkg/sip not wired into internal/daemon)")
	}
	return udp, tcp
}

// tortureMessages are the files of testdata/sip-torture: malformed and
// odd-but-valid requests in the categories of RFC 4475 §3.1 (tortuous
// spacing, compact forms and folding; bad and huge Content-Length;
// unterminated quotes; missing Call-ID; CSeq method mismatch; unknown URI
// scheme; bad version; NUL bytes; escaped headers in the Request-URI),
// written for this test, plus generated oversized ones.
func tortureMessages(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/sip-torture/*.sip")
	if err != nil || len(files) == 0 {
		t.Fatalf("no torture messages: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	long := "OPTIONS sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9:5099;branch=z9hG4bK-long\r\n" +
		"From: <sip:a@127.0.0.9>;tag=x\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: long\r\nCSeq: 1 OPTIONS\r\n" +
		"Subject: " + strings.Repeat("x", 60000) + "\r\nContent-Length: 0\r\n\r\n"
	out["gen-60k-header"] = []byte(long)
	many := "OPTIONS sip:1001@127.0.0.1 SIP/2.0\r\n" + strings.Repeat("Via: SIP/2.0/UDP 127.0.0.9:5099;branch=z9hG4bK-v\r\n", 2000) + "\r\n"
	out["gen-2000-vias"] = []byte(many)
	return out
}

// TestInteropSIPTorture sends every torture message over UDP and TCP. The
// daemon answers 400 (or ignores what cannot be answered) and logs it; the
// healthy watcher keeps getting lamps after each message.
func TestInteropSIPTorture(t *testing.T) {
	inst := defaultOffice(t)
	udp, tcp := sipAddrs(t, inst)
	h := newHealthy(t, inst)
	h.check(t)
	for name, m := range tortureMessages(t) {
		t.Run(name, func(t *testing.T) {
			if udp != nil && len(m) < 65000 {
				c, err := net.Dial("udp", udp.String())
				if err != nil {
					t.Fatal(err)
				}
				c.Write(m)
				c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				buf := make([]byte, 65536)
				if n, err := c.Read(buf); err == nil && !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 ")) {
					t.Errorf("UDP answer is not a SIP response: %.80q", buf[:n])
				}
				c.Close()
			}
			if tcp != nil {
				c, err := net.Dial("tcp", tcp.String())
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(2 * time.Second))
				c.Write(m)
				c.(*net.TCPConn).CloseWrite()
				var out bytes.Buffer
				out.ReadFrom(c)
				if out.Len() > 0 && !bytes.HasPrefix(out.Bytes(), []byte("SIP/2.0 ")) {
					t.Errorf("TCP answer is not a SIP response: %.80q", out.Bytes())
				}
				c.Close()
			}
			h.check(t)
		})
	}
}

// TestInteropSIPViciousScan runs sipvicious (Debian package sipvicious)
// against the daemon: svmap's OPTIONS sweep and svwar's extension
// enumeration with REGISTER and INVITE. The daemon must not reveal which
// extensions exist by answering them differently, and keeps serving.
func TestInteropSIPViciousScan(t *testing.T) {
	svmap := needTool(t, "svmap")
	svwar := needTool(t, "svwar")
	inst := defaultOffice(t)
	udp, _ := sipAddrs(t, inst)
	if udp == nil {
		t.Skip("no SIP UDP listener")
	}
	h := newHealthy(t, inst)
	host, port, _ := net.SplitHostPort(udp.String())
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("%s did not finish in 90s", args[0])
		}
		t.Logf("%s: err=%v\n%s", strings.Join(args, " "), err, out)
		return string(out)
	}
	run(svmap, "-p", port, host)
	h.check(t)
	for _, method := range []string{"REGISTER", "INVITE", "OPTIONS"} {
		out := run(svwar, "-p", port, "-m", method, "-e", "1000-1010,2000-2010", host)
		// svwar lists the extensions it found; cmed's registrar
		// challenges every user alike, so it must not single any out.
		for _, ext := range []string{"| 1001 ", "| 2001 "} {
			if strings.Contains(out, ext) && !strings.Contains(out, "reqauth") {
				t.Errorf("svwar %s found extension %s without an auth challenge", method, ext)
			}
		}
		h.check(t)
		// svwar stops when an unknown extension is challenged; --force
		// scans on. Every number must still get the same answer (a 401
		// for REGISTER and INVITE under `authenticate register`, 200 for
		// OPTIONS), so the scan finds nothing at all: no extension rows.
		out = run(svwar, "--force", "-p", port, "-m", method, "-e", "1000-1010,2000-2010", host)
		for _, ext := range []string{"| 1001 ", "| 1002 ", "| 2001 ", "| 2002 "} {
			if strings.Contains(out, ext) {
				t.Errorf("svwar --force %s singled out extension %s", method, strings.Trim(ext, "| "))
			}
		}
		h.check(t)
	}
}
