package msg

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"runtime"
	"testing"
	"testing/iotest"
)

const fuzzLimit = 4096

// FuzzReadFrame: any byte stream splits into frames no larger than the limit,
// identically whether it arrives at once or a byte at a time, and every frame
// decodes without panicking at any version.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := NewReader(bytes.NewReader(data))
		whole.MaxLength = fuzzLimit
		bytewise := NewReader(iotest.OneByteReader(bytes.NewReader(data)))
		bytewise.MaxLength = fuzzLimit
		for range len(data)/HeaderSize + 1 {
			f1, err1 := whole.ReadFrame()
			f2, err2 := bytewise.ReadFrame()
			if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
				t.Fatalf("whole %v, bytewise %v", err1, err2)
			}
			if err1 != nil {
				var fe *FrameSizeError
				if !errors.Is(err1, io.EOF) && !errors.Is(err1, io.ErrUnexpectedEOF) && !errors.As(err1, &fe) {
					t.Fatalf("unexpected error %v", err1)
				}
				return
			}
			if f1.Header != f2.Header || !bytes.Equal(f1.Payload, f2.Payload) {
				t.Fatal("whole and bytewise frames differ")
			}
			if len(f1.Payload) > fuzzLimit-4 || f1.Header.PayloadLen() != len(f1.Payload) {
				t.Fatalf("payload %d bytes, header %+v", len(f1.Payload), f1.Header)
			}
			for _, v := range []uint32{0, 6, 11, 17, 22} {
				_, _ = Decode(v, f1.Header.ID, f1.Payload)
			}
		}
	})
}

// FuzzDecode: every modelled id at every version either rejects the payload
// with ErrMalformed or decodes to a message whose encoding is stable: encode,
// decode, encode gives the same frame.
func FuzzDecode(f *testing.F) {
	f.Add(uint32(11), uint32(IDStimulus), []byte{0x13, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0})
	ids := allIDs()
	f.Fuzz(func(t *testing.T, version, rawID uint32, payload []byte) {
		if len(payload) > fuzzLimit {
			return
		}
		version %= 23
		id := MessageID(rawID)
		if !Known(id) {
			id = ids[rawID%uint32(len(ids))]
		}
		m, err := Decode(version, id, payload)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%v: error %v does not match ErrMalformed", id, err)
			}
			return
		}
		p1, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if len(p1) != m.MarshalSize() {
			t.Fatalf("%v: MarshalSize %d, Marshal %d", id, m.MarshalSize(), len(p1))
		}
		if len(p1) > len(payload)+2048 {
			t.Fatalf("%v: %d-byte payload re-encoded to %d bytes", id, len(payload), len(p1))
		}
		// Re-decode at the layout version Unmarshal settled on (it follows
		// the payload length when that disagrees with the session version).
		v2 := version
		if f := reflect.ValueOf(m).Elem().FieldByName("Version"); f.IsValid() {
			v2 = uint32(f.Uint())
		}
		m2, err := Decode(v2, id, p1)
		if err != nil {
			t.Fatalf("%v: re-decode: %v", id, err)
		}
		p2, _ := m2.Marshal()
		if !bytes.Equal(p1, p2) {
			t.Fatalf("%v v%d unstable:\n%x\n%x", id, version, p1, p2)
		}
	})
}

// TestDecodeAllocationBounded: count fields never size allocations, so a
// payload at the frame limit allocates no more than the frame limit plus a small constant.
func TestDecodeAllocationBounded(t *testing.T) {
	payload := bytes.Repeat([]byte{0xFF}, DefaultMaxLength-4)
	for _, id := range allIDs() {
		for _, v := range []uint32{6, 11, 22} {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			m, _ := Decode(v, id, payload)
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > uint64(len(payload))+16<<10 {
				t.Errorf("%v v%d: decoding %d bytes allocated %d", id, v, len(payload), got)
			}
			runtime.KeepAlive(m)
		}
	}
}
