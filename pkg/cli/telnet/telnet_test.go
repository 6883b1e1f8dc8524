package telnet

import (
	"bytes"
	"net"
	"testing"
	"time"
)

func TestDecodeStripsNegotiation(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	go func() { // swallow what the Conn writes
		var b [256]byte
		for {
			if _, err := c2.Read(b[:]); err != nil {
				return
			}
		}
	}()
	tc := &Conn{Conn: c1, resize: make(chan [2]int, 4)}
	in := []byte{'a', IAC, DO, OptEcho, 'b', IAC, IAC, IAC, SB, OptNAWS, 0, 132, 0, 40, IAC, SE, 'c', IAC, 241, '\r', 0, 'd', '\r', '\n', '\n'}
	var got []byte
	// Split at every position: the decoder keeps state across reads.
	for i := range in {
		tc.state, tc.cr = 0, false
		got = tc.Decode(nil, in[:i])
		got = tc.Decode(got, in[i:])
		if want := []byte{'a', 'b', IAC, 'c', '\r', 'd', '\r', '\n'}; !bytes.Equal(got, want) {
			t.Fatalf("split %d: got %v, want %v", i, got, want)
		}
	}
	select {
	case sz := <-tc.Resize():
		if sz != [2]int{132, 40} {
			t.Errorf("NAWS %v", sz)
		}
	case <-time.After(time.Second):
		t.Error("no NAWS resize")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{IAC, SB, OptNAWS, 0, 80, 0, 24, IAC, SE})
	f.Add([]byte{IAC, WILL, 99, IAC, DO, 3, 'x', IAC})
	f.Add([]byte("show version\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c1, c2 := net.Pipe()
		defer c1.Close()
		defer c2.Close()
		go func() {
			var b [256]byte
			for {
				if _, err := c2.Read(b[:]); err != nil {
					return
				}
			}
		}()
		tc := &Conn{Conn: c1, resize: make(chan [2]int, 4)}
		out := tc.Decode(nil, in)
		if len(out) > len(in) {
			t.Fatalf("decoded %d bytes from %d", len(out), len(in))
		}
		if bytes.IndexByte(in, IAC) < 0 && bytes.IndexByte(in, '\r') < 0 && !bytes.Equal(out, in) {
			t.Fatalf("plain data changed: %q -> %q", in, out)
		}
	})
}
