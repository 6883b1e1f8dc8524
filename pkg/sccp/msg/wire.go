package msg

import (
	"encoding/binary"
	"net/netip"
)

// writer appends little-endian fields (docs/sccp.md §Field-encodings). In count mode it only
// measures, so MarshalSize and MarshalTo share one field list per message.
type writer struct {
	b     []byte
	n     int
	count bool
}

func (w *writer) u8(v uint8) {
	w.n++
	if !w.count {
		w.b = append(w.b, v)
	}
}

func (w *writer) u16(v uint16) {
	w.n += 2
	if !w.count {
		w.b = binary.LittleEndian.AppendUint16(w.b, v)
	}
}

func (w *writer) u32(v uint32) {
	w.n += 4
	if !w.count {
		w.b = binary.LittleEndian.AppendUint32(w.b, v)
	}
}

func (w *writer) raw(p []byte) {
	w.n += len(p)
	if !w.count {
		w.b = append(w.b, p...)
	}
}

func (w *writer) zero(n int) {
	if n <= 0 {
		return
	}
	w.n += n
	if !w.count {
		for range n {
			w.b = append(w.b, 0)
		}
	}
}

// fixed writes a char[n] field: NUL-terminated and NUL-padded (docs/sccp.md §Field-encodings).
// Text longer than n-1 bytes is cut so the terminator always fits, and cut
// between characters, never inside one or inside a label code (docs/sccp.md §Charset).
func (w *writer) fixed(s string, n int) {
	if len(s) > n-1 {
		s = cutText(s, n-1)
	}
	w.n += n
	if !w.count {
		w.b = append(w.b, s...)
		for range n - len(s) {
			w.b = append(w.b, 0)
		}
	}
}

// cstr writes a dynamic ("V2") string: the text and one NUL, no fixed width
// (docs/sccp.md §Field-encodings, messages 0x142-0x14A).
func (w *writer) cstr(s string) {
	w.n += len(s) + 1
	if !w.count {
		w.b = append(w.b, s...)
		w.b = append(w.b, 0)
	}
}

// ipv4 writes a 4-byte IPv4 address in network order inside the little-endian
// message (docs/sccp.md §Field-encodings). Anything that is not IPv4 is written as 0.0.0.0.
func (w *writer) ipv4(a netip.Addr) {
	var b [4]byte
	if a.Is4() || a.Is4In6() {
		b = a.Unmap().As4()
	}
	w.raw(b[:])
}

// ipv46 writes the v17+ IPv4-or-IPv6 union: u32 type (0 IPv4, 1 IPv6) and 16
// address bytes, IPv4 in the first four (docs/sccp.md §Field-encodings).
func (w *writer) ipv46(a netip.Addr) {
	var b [16]byte
	switch {
	case a.Is6() && !a.Is4In6():
		w.u32(uint32(IPAddrTypeIPv6))
		b = a.As16()
	default:
		w.u32(uint32(IPAddrTypeIPv4))
		if a.IsValid() {
			v4 := a.Unmap().As4()
			copy(b[:], v4[:])
		}
	}
	w.raw(b[:])
}

// reader consumes little-endian fields. A read past the end yields zero and
// marks the reader short, so decoders check once at the end.
type reader struct {
	b     []byte
	off   int
	short bool
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) take(n int) []byte {
	if n < 0 || r.left() < n {
		r.short = true
		r.off = len(r.b)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8() uint8 {
	p := r.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (r *reader) u16() uint16 {
	p := r.take(2)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(p)
}

func (r *reader) u32() uint32 {
	p := r.take(4)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(p)
}

// fixed reads a char[n] field up to its first NUL.
func (r *reader) fixed(n int) string {
	return cString(r.take(n))
}

// cstr reads a NUL-terminated dynamic string; a missing terminator takes
// the rest of the payload (phones pad the frame, never the string).
func (r *reader) cstr() string {
	rest := r.b[r.off:]
	for i, c := range rest {
		if c == 0 {
			r.off += i + 1
			return string(rest[:i])
		}
	}
	r.off = len(r.b)
	return string(rest)
}

func (r *reader) ipv4() netip.Addr {
	p := r.take(4)
	if p == nil {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte(p))
}

func (r *reader) ipv46() netip.Addr {
	t := r.u32()
	p := r.take(16)
	if p == nil {
		return netip.Addr{}
	}
	if IPAddrType(t) == IPAddrTypeIPv6 {
		return netip.AddrFrom16([16]byte(p))
	}
	return netip.AddrFrom4([4]byte(p[:4]))
}

// rest returns a copy of the unread bytes (nil when none).
func (r *reader) rest() []byte {
	if r.left() <= 0 {
		return nil
	}
	p := append([]byte(nil), r.b[r.off:]...)
	r.off = len(r.b)
	return p
}

func cString(p []byte) string {
	for i, c := range p {
		if c == 0 {
			return string(p[:i])
		}
	}
	return string(p)
}
