package robust

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// sccpAddr is the daemon's SCCP listener; the suite is skipped until the
// daemon wires pkg/sccp in.
func sccpAddr(t *testing.T, inst *cmedtest.Instance) string {
	t.Helper()
	a := inst.Addr("sccp")
	if a == nil {
		t.Skip("the daemon has no SCCP listener yet (pkg/sccp not wired into internal/daemon)")
	}
	return a.String()
}

// rawHeader is a Skinny header (docs/sccp.md §Negotiation): length (of ID+data),
// header version, message ID, little-endian.
func rawHeader(length, version, id uint32) []byte {
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b[0:], length)
	binary.LittleEndian.PutUint32(b[4:], version)
	binary.LittleEndian.PutUint32(b[8:], id)
	return b
}

func frame(t *testing.T, m msg.Message) []byte {
	t.Helper()
	b, err := msg.AppendFrame(nil, 0, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dialFrom connects from a given loopback source so per-source caps apply
// to the attacker, not to the healthy phones on 127.0.0.1.
func dialFrom(src, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

// closedWithin reports whether the server closed c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

// TestInteropSCCPBadInput: malformed frames, hostile lengths, unknown and
// out-of-state messages, Register floods, slowloris and idle connections.
// Each case is logged and either closes the offending connection or is
// ignored; the healthy watcher keeps getting lamps throughout.
func TestInteropSCCPBadInput(t *testing.T) {
	inst := defaultOffice(t)
	addr := sccpAddr(t, inst)
	h := newHealthy(t, inst)
	h.check(t)
	register := frame(t, &msg.Register{DeviceName: "SEP001122334403", Instance: 1, StationIP: netip.MustParseAddr("127.0.0.3"),
		DeviceType: 7, MaxStreams: 5, ProtocolVersion: 11, WireLen: 68})

	t.Run("truncated frame", func(t *testing.T) {
		c, err := dialFrom("127.0.0.3", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(register[:20]) // header promises more than follows
		c.(*net.TCPConn).CloseWrite()
		if !closedWithin(c, 5*time.Second) {
			t.Fatal("truncated frame: connection not closed")
		}
		expectLog(t, inst, "sccp", "127.0.0.3", "connection closed by phone")
		h.check(t)
	})
	t.Run("gigabyte length", func(t *testing.T) {
		c, err := dialFrom("127.0.0.3", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(rawHeader(0xFFFFFFF0, 0, uint32(msg.IDRegister)))
		if !closedWithin(c, 5*time.Second) {
			t.Fatal("a 4 GiB length did not close the connection")
		}
		expectLog(t, inst, "sccp", "127.0.0.3", "bad frame length")
		h.check(t)
	})
	t.Run("length below header", func(t *testing.T) {
		c, err := dialFrom("127.0.0.3", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(rawHeader(2, 0, 0))
		if !closedWithin(c, 5*time.Second) {
			t.Fatal("length 2 did not close the connection")
		}
		h.check(t)
	})
	t.Run("unknown IDs and garbage payloads", func(t *testing.T) {
		p, conn := phoneFrom(t, addr, "001122334403", "7965")
		var junk bytes.Buffer
		for id := uint32(0x7f00); id < 0x7f40; id++ {
			junk.Write(rawHeader(8, 0, id))
			junk.Write([]byte{1, 2, 3, 4})
		}
		// Known IDs with payloads too short for their layout.
		for _, id := range []msg.MessageID{msg.IDOffHook, msg.IDRegister, 0x0003, 0x0020} {
			junk.Write(rawHeader(5, 0, uint32(id))) // ID + 1 byte of payload
			junk.Write([]byte{0xff})
		}
		// The phone is idle after provisioning, so its writer is quiet.
		if _, err := conn.Write(junk.Bytes()); err != nil {
			t.Fatal(err)
		}
		// The phone is still served: a keepalive is answered.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.KeepAlive(ctx); err != nil {
			t.Fatalf("phone not served after unknown messages: %v", err)
		}
		expectLog(t, inst, "sccp", "malformed")
		h.check(t)
	})
	t.Run("messages before Register", func(t *testing.T) {
		c, err := dialFrom("127.0.0.3", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, m := range []msg.Message{&msg.OffHook{}, &msg.KeypadButton{Button: 1}, &msg.Stimulus{Stimulus: msg.ButtonLine, Instance: 1},
			&msg.OnHook{}, &msg.ButtonTemplateReq{}, &msg.SoftKeyEvent{Event: 1}} {
			c.Write(frame(t, m))
		}
		// Either closed or ignored; the daemon must stay well.
		closedWithin(c, 300*time.Millisecond)
		h.check(t)
	})
	t.Run("register flood", func(t *testing.T) {
		c, err := dialFrom("127.0.0.4", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var flood bytes.Buffer
		for range 2000 {
			flood.Write(register)
		}
		go io.Copy(io.Discard, c)
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		c.Write(flood.Bytes())
		h.check(t)
		// And many connections registering the same device at once.
		var conns []net.Conn
		for i := range 60 {
			c, err := dialFrom(fmt.Sprintf("127.0.5.%d", i+1), addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			go io.Copy(io.Discard, c)
			c.Write(register)
		}
		h.check(t)
		for _, c := range conns {
			c.Close()
		}
		h.check(t)
	})
	t.Run("slowloris", func(t *testing.T) {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := range 40 {
			c, err := dialFrom(fmt.Sprintf("127.0.6.%d", i+1), addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		// One byte of a Register per connection every 50 ms for a second.
		for b := range 20 {
			for _, c := range conns {
				c.Write(register[b : b+1])
			}
			time.Sleep(50 * time.Millisecond)
		}
		h.check(t)
	})
	t.Run("thousands of idle connections", func(t *testing.T) {
		n := 3000
		if testing.Short() {
			n = 500
		}
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		refused := 0
		for i := range n {
			c, err := dialFrom(fmt.Sprintf("127.0.%d.%d", 10+i/200, i%200+1), addr)
			if err != nil {
				refused++
				continue
			}
			conns = append(conns, c)
		}
		h.check(t)
		// Over one source, the per-IP cap refuses the excess with a log line.
		for range 100 {
			c, err := dialFrom("127.0.9.9", addr)
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
		expectLog(t, inst, "sccp: connection refused", "per-IP limit")
		h.check(t)
		t.Logf("%d idle connections open (%d dials failed)", len(conns), refused)
	})
}

// phoneFrom registers a fake phone from a given loopback source and also
// returns its connection, for writing raw bytes once the phone is idle.
func phoneFrom(t *testing.T, addr, mac, model string) (*sccptest.Phone, net.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dialFrom("127.0.0.7", addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sccptest.New(c, sccptest.Config{Model: model, MAC: mac})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	return p, c
}

func expectLog(t *testing.T, inst *cmedtest.Instance, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !inst.Logs.Contains(parts...) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q: the daemon must log why it dropped or ignored the input (issue 9)", parts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
