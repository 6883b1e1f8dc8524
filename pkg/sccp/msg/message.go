package msg

import (
	"io"
	"sync"
)

// Message is one decoded SCCP message payload. Every type has pion/rtp's codec
// shape: Marshal/MarshalTo/MarshalSize encode the payload only (the frame
// header and padding are AppendFrame's job) and Unmarshal decodes a payload.
//
// Types whose layout depends on the negotiated protocol version carry a
// Version field: Marshal uses it to pick the layout, Unmarshal picks by payload
// length first (docs/sccp.md §Version-changes: "parse by length") and uses Version only where the
// length is ambiguous. Decode sets Version before Unmarshal.
type Message interface {
	ID() MessageID
	Marshal() ([]byte, error)
	MarshalTo(buf []byte) (int, error)
	MarshalSize() int
	Unmarshal(payload []byte) error
}

// encoder is implemented by every message; it lists the fields once for both
// sizing and writing.
type encoder interface {
	encode(w *writer)
}

type versioned interface {
	setVersion(v uint32)
}

// writers recycles encoders' writers: passed to an interface method, a
// writer escapes, and two fresh ones per sent frame (size, then bytes) were
// a large share of the server's garbage with 10,000 lamps per second.
var writers = sync.Pool{New: func() any { return new(writer) }}

func getWriter(w writer) *writer {
	p := writers.Get().(*writer)
	*p = w
	return p
}

func putWriter(p *writer) {
	*p = writer{} // drop the caller's buffer
	writers.Put(p)
}

func marshalSize(e encoder) int {
	w := getWriter(writer{count: true})
	e.encode(w)
	n := w.n
	putWriter(w)
	return n
}

func marshal(e encoder) ([]byte, error) {
	w := writer{b: make([]byte, 0, marshalSize(e))}
	e.encode(&w)
	return w.b, nil
}

func marshalTo(e encoder, buf []byte) (int, error) {
	n := marshalSize(e)
	if len(buf) < n {
		return 0, io.ErrShortBuffer
	}
	w := getWriter(writer{b: buf[:0:n]})
	e.encode(w)
	putWriter(w)
	return n, nil
}

// Decode decodes one payload received at the negotiated protocol version.
// Ids this package does not model come back as *Unknown with a nil error: a
// session must skip them, never drop the phone (docs/sccp.md §Framing). An error (which
// matches ErrMalformed) means a known id whose payload is too short.
func Decode(version uint32, id MessageID, payload []byte) (Message, error) {
	m := newMessage(id)
	if m == nil {
		return &Unknown{MsgID: id, Payload: append([]byte(nil), payload...)}, nil
	}
	if v, ok := m.(versioned); ok {
		v.setVersion(version)
	}
	if err := m.Unmarshal(payload); err != nil {
		return nil, err
	}
	return m, nil
}

// Known reports whether Decode models id.
func Known(id MessageID) bool { return newMessage(id) != nil }

// Unknown is any message this package does not model, kept verbatim.
type Unknown struct {
	MsgID   MessageID
	Payload []byte
}

func (m *Unknown) ID() MessageID                     { return m.MsgID }
func (m *Unknown) Marshal() ([]byte, error)          { return append([]byte(nil), m.Payload...), nil }
func (m *Unknown) MarshalSize() int                  { return len(m.Payload) }
func (m *Unknown) Unmarshal(p []byte) error          { m.Payload = append([]byte(nil), p...); return nil }
func (m *Unknown) MarshalTo(buf []byte) (int, error) { return marshalTo(m, buf) }
func (m *Unknown) encode(w *writer)                  { w.raw(m.Payload) }
