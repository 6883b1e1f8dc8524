package msg

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
)

// HeaderSize is the fixed SCCP frame header: length, header version, message
// id, each a little-endian u32 (docs/sccp.md §Framing).
const HeaderSize = 12

// DefaultMaxLength is the default limit on a header's length field. Phones send
// up to ~2.4 KB (LocationInfo, XML alarms; docs/sccp.md §Framing); 64 KiB leaves room
// while bounding what one connection can make us allocate.
const DefaultMaxLength = 64 << 10

// Header is the 12-byte frame header.
type Header struct {
	// Length counts the bytes after the first 8: the 4-byte message id plus the
	// payload (docs/sccp.md §Framing). A message with no payload has Length 4.
	Length uint32
	// Version is the "reserved"/header-version field. Informational only: a
	// 7960 at negotiated v11 sends 0 (docs/sccp.md §Header-version), so layouts are never
	// chosen from it.
	Version uint32
	ID      MessageID
}

// PayloadLen is the number of payload bytes that follow the header.
func (h Header) PayloadLen() int { return int(h.Length) - 4 }

// Unmarshal parses the first HeaderSize bytes of b.
func (h *Header) Unmarshal(b []byte) error {
	if len(b) < HeaderSize {
		return io.ErrUnexpectedEOF
	}
	h.Length = binary.LittleEndian.Uint32(b[0:])
	h.Version = binary.LittleEndian.Uint32(b[4:])
	h.ID = MessageID(binary.LittleEndian.Uint32(b[8:]))
	if h.Length < 4 {
		return &FrameSizeError{Length: h.Length}
	}
	return nil
}

// MarshalTo writes the header into b.
func (h Header) MarshalTo(b []byte) (int, error) {
	if len(b) < HeaderSize {
		return 0, io.ErrShortBuffer
	}
	binary.LittleEndian.PutUint32(b[0:], h.Length)
	binary.LittleEndian.PutUint32(b[4:], h.Version)
	binary.LittleEndian.PutUint32(b[8:], uint32(h.ID))
	return HeaderSize, nil
}

// Frame is one undecoded message.
type Frame struct {
	Header  Header
	Payload []byte
}

// ReadFrame reads one frame from r: the header, then exactly Length-4 payload
// bytes. maxLen limits the length field (<= 0 means DefaultMaxLength); a larger
// or a too small value gives a *FrameSizeError before anything is allocated.
// A clean end of stream before a header gives io.EOF; a stream that ends inside
// a frame gives io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, maxLen int) (Frame, error) {
	if maxLen <= 0 {
		maxLen = DefaultMaxLength
	}
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return Frame{}, err
	}
	var f Frame
	if err := f.Header.Unmarshal(hb[:]); err != nil {
		return Frame{}, err
	}
	if uint64(f.Header.Length) > uint64(maxLen) {
		return Frame{}, &FrameSizeError{Length: f.Header.Length, Max: maxLen}
	}
	f.Payload = make([]byte, f.Header.PayloadLen())
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return f, nil
}

// Reader reads frames from a byte stream. It buffers, so several messages in
// one TCP segment and one message spread over several segments both work
// (docs/sccp.md §Framing).
type Reader struct {
	br *bufio.Reader
	// MaxLength limits the header length field; <= 0 means DefaultMaxLength.
	MaxLength int
}

// NewReader returns a Reader with DefaultMaxLength.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 4096), MaxLength: DefaultMaxLength}
}

// ReadFrame reads the next frame. The payload is a fresh slice owned by the caller.
func (r *Reader) ReadFrame() (Frame, error) { return ReadFrame(r.br, r.MaxLength) }

// ReadMessage reads and decodes the next frame at the negotiated protocol
// version. A payload that does not decode returns the header, an *Unknown
// carrying the raw payload, and an error matching ErrMalformed; the stream is
// still in sync, so the caller may continue.
func (r *Reader) ReadMessage(version uint32) (Header, Message, error) {
	f, err := r.ReadFrame()
	if err != nil {
		return Header{}, nil, err
	}
	m, err := Decode(version, f.Header.ID, f.Payload)
	if err != nil {
		return f.Header, &Unknown{MsgID: f.Header.ID, Payload: f.Payload}, err
	}
	return f.Header, m, nil
}

// padLen rounds n up to a multiple of 4: our own payloads are padded like
// chan-sccp's, and the 7961 showed a dynamic line only once padded (docs/sccp.md §Framing).
func padLen(n int) int { return (n + 3) &^ 3 }

// FrameSize is the number of bytes AppendFrame writes for m.
func FrameSize(m Message) int { return HeaderSize + padLen(m.MarshalSize()) }

// AppendFrame appends m as a complete frame (header + payload padded with NULs
// to a multiple of 4) to dst. headerVersion goes into the header's version
// field; see HeaderVersion.
func AppendFrame(dst []byte, headerVersion uint32, m Message) ([]byte, error) {
	n := m.MarshalSize()
	total := HeaderSize + padLen(n)
	start := len(dst)
	dst = growTo(dst, start+total)
	h := Header{Length: uint32(padLen(n) + 4), Version: headerVersion, ID: m.ID()}
	if _, err := h.MarshalTo(dst[start:]); err != nil {
		return dst[:start], err
	}
	if _, err := m.MarshalTo(dst[start+HeaderSize : start+HeaderSize+n]); err != nil {
		return dst[:start], err
	}
	clear(dst[start+HeaderSize+n : start+total])
	return dst, nil
}

func growTo(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	nb := make([]byte, n, n+n/4)
	copy(nb, b)
	return nb
}

// WriteMessage writes m as one frame with a single Write call.
func WriteMessage(w io.Writer, headerVersion uint32, m Message) error {
	b, err := AppendFrame(make([]byte, 0, FrameSize(m)), headerVersion, m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// HeaderVersion is the header version field to put on a message we send at
// the negotiated protocol version: 0 below v10 and always for KeepAliveAck,
// RegisterAck and UnregisterAck (what chan-sccp does, docs/sccp.md §Header-version), otherwise
// the version itself, which Wireshark also uses to pick address layouts (v17+).
func HeaderVersion(negotiated uint32, id MessageID) uint32 {
	switch id {
	case IDKeepAliveAck, IDRegisterAck, IDUnregisterAck:
		return 0
	}
	if negotiated < 10 {
		return 0
	}
	return negotiated
}
