// Package telnet is the CLI's optional telnet transport: a net.Conn
// wrapper that negotiates a character-mode, server-echo session (RFC 854
// with RFC 857 ECHO, RFC 858 SUPPRESS-GO-AHEAD, RFC 1073 NAWS window size)
// and strips negotiation from the byte stream, so x/term can run over it.
// Telnet sends passwords in clear; cmed opens it only when the config says
// `ip telnet server`.
package telnet

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"sync"

	"github.com/cmed-project/cmed/pkg/netx"
)

// Telnet command and option codes (RFC 854 "TELNET COMMAND STRUCTURE").
const (
	IAC  = 255
	DONT = 254
	DO   = 253
	WONT = 252
	WILL = 251
	SB   = 250
	SE   = 240

	OptEcho = 1
	OptSGA  = 3
	OptNAWS = 31
)

// maxSub bounds a subnegotiation we keep (NAWS needs 4 bytes).
const maxSub = 64

// Conn is a telnet connection carrying terminal bytes.
type Conn struct {
	net.Conn
	resize chan [2]int

	// decoder state
	state byte // 0 data, IAC, WILL..DONT (awaiting option), SB, 'S' (IAC inside SB)
	sub   []byte
	cr    bool // the last data byte was CR
	buf   [1024]byte

	wmu sync.Mutex // serialises writes to the connection; a leaf
}

// NewConn starts negotiation: we echo and suppress go-ahead (character
// mode), and ask for the window size.
func NewConn(c net.Conn) *Conn {
	t := &Conn{Conn: c, resize: make(chan [2]int, 4)}
	t.wmu.Lock()
	c.Write([]byte{IAC, WILL, OptEcho, IAC, WILL, OptSGA, IAC, DO, OptNAWS})
	t.wmu.Unlock()
	return t
}

// Resize delivers (width, height) from NAWS.
func (t *Conn) Resize() <-chan [2]int { return t.resize }

// Read returns data bytes only.
func (t *Conn) Read(p []byte) (int, error) {
	for {
		n, err := t.Conn.Read(t.buf[:min(len(p), len(t.buf))])
		out := t.Decode(p[:0], t.buf[:n])
		if len(out) > 0 || err != nil {
			return len(out), err
		}
	}
}

// Decode appends the data bytes of in to dst, acting on negotiation as a
// side effect. It keeps state across calls (sequences split over reads).
func (t *Conn) Decode(dst, in []byte) []byte {
	for _, b := range in {
		switch t.state {
		case 0:
			// RFC 854: end of line is CR LF and a bare CR is CR NUL; the
			// terminal wants one CR either way.
			wasCR := t.cr
			t.cr = b == '\r'
			switch {
			case b == IAC:
				t.state = IAC
			case wasCR && (b == '\n' || b == 0):
			default:
				dst = append(dst, b)
			}
		case IAC:
			switch b {
			case IAC: // escaped 0xFF data byte
				dst = append(dst, b)
				t.state = 0
			case WILL, WONT, DO, DONT:
				t.state = b
			case SB:
				t.state, t.sub = SB, t.sub[:0]
			default: // NOP, GA, AYT, ...: ignore
				t.state = 0
			}
		case WILL, WONT, DO, DONT:
			t.negotiate(t.state, b)
			t.state = 0
		case SB:
			if b == IAC {
				t.state = 'S'
			} else if len(t.sub) < maxSub {
				t.sub = append(t.sub, b)
			}
		case 'S':
			switch b {
			case SE:
				t.subnegotiation()
				t.state = 0
			case IAC:
				if len(t.sub) < maxSub {
					t.sub = append(t.sub, IAC)
				}
				t.state = SB
			default:
				t.state = 0
			}
		}
	}
	return dst
}

// negotiate refuses options we did not offer (RFC 854: answer only to
// change state, never loop).
func (t *Conn) negotiate(verb, opt byte) {
	var reply []byte
	switch verb {
	case DO:
		if opt != OptEcho && opt != OptSGA {
			reply = []byte{IAC, WONT, opt}
		}
	case WILL:
		if opt != OptNAWS {
			reply = []byte{IAC, DONT, opt}
		}
	}
	if reply != nil {
		t.wmu.Lock()
		t.Conn.Write(reply)
		t.wmu.Unlock()
	}
}

func (t *Conn) subnegotiation() {
	if len(t.sub) == 5 && t.sub[0] == OptNAWS {
		w := int(binary.BigEndian.Uint16(t.sub[1:]))
		h := int(binary.BigEndian.Uint16(t.sub[3:]))
		select {
		case t.resize <- [2]int{w, h}:
		default:
		}
	}
}

// Write escapes 0xFF data bytes.
func (t *Conn) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p)+8)
	for _, b := range p {
		if b == IAC {
			out = append(out, IAC)
		}
		out = append(out, b)
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if _, err := t.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Serve accepts on l until ctx ends and runs handle for each connection.
func Serve(ctx context.Context, l net.Listener, log *slog.Logger, handle func(ctx context.Context, c *Conn) error) error {
	srv := &netx.Server{Name: "telnet", Logger: log, Limits: DefaultLimits}
	return srv.Serve(ctx, l, func(ctx context.Context, c net.Conn) {
		if err := handle(ctx, NewConn(c)); err != nil && log != nil && ctx.Err() == nil {
			log.Debug("telnet session ended", "remote", c.RemoteAddr().String(), "err", err)
		}
	})
}

// DefaultLimits bound telnet sessions: IOS has 5 vty lines by default
// (line vty 0 4); a few more leave room for a stuck session.
var DefaultLimits = netx.Limits{Total: 16, PerSource: 8}
