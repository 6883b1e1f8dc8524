package robust

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
)

// rawSocket sends payload on a fresh control-socket connection, half-closes
// and returns what the daemon answered before closing (bounded to 5 s).
func rawSocket(t *testing.T, path, payload string) string {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, payload); err != nil {
		return "(write: " + err.Error() + ")"
	}
	c.(*net.UnixConn).CloseWrite()
	var out bytes.Buffer
	io.Copy(&out, c)
	return out.String()
}

// tftpGet is a plain RFC 1350 octet read with 512-byte blocks.
func tftpGet(addr net.Addr, name string) ([]byte, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	req := append([]byte{0, 1}, name...)
	req = append(req, 0)
	req = append(req, "octet\x00"...)
	if _, err := c.WriteTo(req, addr); err != nil {
		return nil, err
	}
	var out []byte
	buf := make([]byte, 1024)
	for want := uint16(1); ; want++ {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return nil, err
		}
		if n < 4 {
			return nil, fmt.Errorf("short packet %x", buf[:n])
		}
		switch op := binary.BigEndian.Uint16(buf); op {
		case 5:
			return nil, fmt.Errorf("tftp error %d: %s", binary.BigEndian.Uint16(buf[2:]), bytes.TrimRight(buf[4:n], "\x00"))
		case 3:
		default:
			return nil, fmt.Errorf("unexpected opcode %d", op)
		}
		if got := binary.BigEndian.Uint16(buf[2:]); got != want {
			return nil, fmt.Errorf("block %d, want %d", got, want)
		}
		out = append(out, buf[4:n]...)
		ack := []byte{0, 4, 0, 0}
		binary.BigEndian.PutUint16(ack[2:], want)
		c.WriteTo(ack, from)
		if n-4 < 512 {
			return out, nil
		}
	}
}

// TestInteropTFTPGarbage throws malformed and hostile packets at the TFTP
// port. Each is ignored or refused with a log line; after each, a phone can
// still fetch its config file and the watcher still gets lamps.
func TestInteropTFTPGarbage(t *testing.T) {
	inst := defaultOffice(t)
	addr := inst.Addr("tftp")
	if addr == nil {
		t.Fatal("the default office has no TFTP listener")
	}
	h := newHealthy(t, inst)
	const cnf = "SEP001122334401.cnf.xml"
	good, err := tftpGet(addr, cnf)
	if err != nil || !bytes.Contains(good, []byte("<device")) {
		t.Fatalf("baseline fetch of %s: %v %.80q", cnf, err, good)
	}
	rrq := func(parts ...string) []byte { return []byte("\x00\x01" + strings.Join(parts, "\x00") + "\x00") }
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([][]byte, 300)
	for i := range random {
		random[i] = make([]byte, rng.IntN(1500))
		for j := range random[i] {
			random[i][j] = byte(rng.UintN(256))
		}
	}
	cases := []struct {
		name    string
		packets [][]byte
		log     []string // substrings of one log line the case must produce
	}{
		{"empty", [][]byte{{}}, []string{"tftp: ignored packet"}},
		{"one byte", [][]byte{{0}}, []string{"tftp: ignored packet"}},
		{"unknown opcode", [][]byte{{0, 99, 'x', 0}, {0xff, 0xff}}, []string{"tftp: ignored packet"}},
		{"unterminated filename", [][]byte{[]byte("\x00\x01" + cnf)}, []string{"tftp: ignored packet"}},
		{"no mode", [][]byte{[]byte("\x00\x01" + cnf + "\x00")}, []string{"tftp: ignored packet"}},
		{"mail mode", [][]byte{rrq(cnf, "mail")}, nil},
		{"write request", [][]byte{[]byte("\x00\x02evil.bin\x00octet\x00")}, []string{"tftp: write refused"}},
		{"stray data and ack", [][]byte{{0, 3, 0, 1, 'x'}, {0, 4, 0, 1}, {0, 5, 0, 1, 'x', 0}}, []string{"tftp: ignored packet"}},
		{"path traversal", [][]byte{rrq("../../../../etc/passwd", "octet"), rrq("/etc/shadow", "octet")}, nil},
		{"bad options", [][]byte{rrq(cnf, "octet", "blksize", "abc"), rrq(cnf, "octet", "blksize", "0"),
			rrq(cnf, "octet", "blksize", "99999999999"), rrq(cnf, "octet", "tsize"), rrq(cnf, "octet", "timeout", "-1")}, nil},
		{"huge filename", [][]byte{rrq(strings.Repeat("A", 60000), "octet")}, nil},
		{"random", random, []string{"tftp: ignored packet"}},
		{"request flood", bytes.SplitAfter(bytes.Repeat(rrq(cnf, "octet"), 2000), rrq(cnf, "octet"))[:2000], nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.ListenPacket("udp", "127.0.0.2:0")
			if err != nil {
				c, err = net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
			}
			defer c.Close()
			for _, p := range tc.packets {
				c.WriteTo(p, addr)
			}
			// Whatever the server answers must be a well-formed ERROR or
			// DATA/OACK from a transfer port, never a crash; drain it.
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			buf := make([]byte, 2048)
			for range 5000 {
				if _, _, err := c.ReadFrom(buf); err != nil {
					break
				}
			}
			if len(tc.log) > 0 {
				waitFor(t, 3*time.Second, fmt.Sprintf("log line %q", tc.log), func() bool { return inst.Logs.Contains(tc.log...) })
			}
			got, err := tftpGet(addr, cnf)
			if err != nil || !bytes.Equal(got, good) {
				t.Fatalf("fetch after %s: %v (%d bytes, want %d)", tc.name, err, len(got), len(good))
			}
			h.check(t)
		})
	}
}
