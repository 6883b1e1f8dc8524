package daemon_test

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTelnetOffByDefault(t *testing.T) {
	inst := startSSH(t, t.TempDir(), []byte(sshConfig))
	if a := inst.Addr("telnet"); a != nil {
		t.Fatalf("telnet listens on %v without `ip telnet`", a)
	}
}

func TestTelnetLogin(t *testing.T) {
	inst := startSSH(t, t.TempDir(), []byte(sshConfig+"ip telnet server\nip telnet address 127.0.0.1 port 0\n"))
	a := inst.Addr("telnet")
	if a == nil {
		t.Fatal("telnet not listening although configured")
	}
	c, err := net.DialTimeout("tcp", a.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	var buf bytes.Buffer
	go func() {
		b := make([]byte, 1024)
		for {
			n, err := c.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	expect := func(want string) string {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			mu.Lock()
			s := buf.String()
			if i := strings.Index(s, want); i >= 0 {
				buf.Reset()
				buf.WriteString(s[i+len(want):])
				mu.Unlock()
				return s[:i]
			}
			mu.Unlock()
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("waiting for %q, got %q", want, buf.String())
		return ""
	}
	// IAC WILL ECHO / WILL SGA / DO NAWS come first.
	expect("\xff\xfb\x01\xff\xfb\x03\xff\xfd\x1f")
	c.Write([]byte("\xff\xfb\x1f\xff\xfa\x1f\x00\x84\x00\x00\xff\xf0")) // WILL NAWS, 132x0
	expect("Username: ")
	c.Write([]byte("admin\r\n"))
	expect("Password: ")
	c.Write([]byte("bad\r\n"))
	expect("% Login invalid")
	expect("Username: ")
	c.Write([]byte("admin\r\x00"))
	expect("Password: ")
	c.Write([]byte("s3cret\r\n"))
	expect("lab#")
	c.Write([]byte("show users\r\n"))
	expect("show users")
	out := expect("lab#")
	if !strings.Contains(out, "admin") || !strings.Contains(out, "vty") {
		t.Errorf("show users over telnet:\n%s", out)
	}
}
