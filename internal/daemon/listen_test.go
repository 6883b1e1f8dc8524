package daemon

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
)

// TestListenUDPTCPSamePort: a kernel-chosen SIP port is the same for UDP
// and TCP (RFC 3261 §18), across many binds.
func TestListenUDPTCPSamePort(t *testing.T) {
	for range 50 {
		u, l, err := listenUDPTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		up, tp := u.LocalAddr().(*net.UDPAddr).Port, l.Addr().(*net.TCPAddr).Port
		u.Close()
		l.Close()
		if up != tp || up == 0 {
			t.Fatalf("udp port %d, tcp port %d", up, tp)
		}
	}
}

// TestListenUDPTCPConfiguredBusy: a configured port whose TCP side is
// taken is an error naming the bind failure, never a silent move to
// another port.
func TestListenUDPTCPConfiguredBusy(t *testing.T) {
	var busy net.Listener
	var port int
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		// The UDP side must be free for the test to reach the TCP bind.
		if c, err := net.ListenPacket("udp", l.Addr().String()); err == nil {
			c.Close()
			busy, port = l, p
			break
		}
		l.Close()
	}
	if busy == nil {
		t.Fatal("no TCP port with its UDP twin free")
	}
	defer busy.Close()
	u, l, err := listenUDPTCP("127.0.0.1:" + strconv.Itoa(port))
	if err == nil {
		u.Close()
		l.Close()
		t.Fatalf("bound busy port %d", port)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("err = %v, want EADDRINUSE", err)
	}
}
