package msg

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// stream builds a byte stream of several frames as a phone would send them.
func stream(t *testing.T, hv uint32, ms ...Message) []byte {
	t.Helper()
	var b []byte
	for _, m := range ms {
		var err error
		if b, err = AppendFrame(b, hv, m); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

var burst = []Message{
	&ButtonTemplateReq{}, &SoftKeyTemplateReq{}, &SoftKeySetReq{}, &LineStatReq{Line: 1},
	&FeatureStatReq{Index: 1, WireLen: 4}, &SpeedDialStatReq{Number: 4}, &TimeDateReq{},
	&SoftKeyTemplateRes{Keys: []SoftKey{{Label: Label(LabelRedial), Event: 1}}},
}

func readAll(t *testing.T, r io.Reader) []Message {
	t.Helper()
	rd := NewReader(r)
	var out []Message
	for range 100 {
		_, m, err := rd.ReadMessage(11)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	t.Fatal("too many frames")
	return nil
}

func TestReaderManyPerSegment(t *testing.T) {
	got := readAll(t, bytes.NewReader(stream(t, 0, burst...)))
	if len(got) != len(burst) {
		t.Fatalf("%d messages, want %d", len(got), len(burst))
	}
	for i := range got {
		if got[i].ID() != burst[i].ID() {
			t.Errorf("message %d: %v, want %v", i, got[i].ID(), burst[i].ID())
		}
	}
	if ls := got[3].(*LineStatReq); ls.Line != 1 {
		t.Errorf("LineStatReq %+v", ls)
	}
}

func TestReaderSplitAcrossSegments(t *testing.T) {
	got := readAll(t, iotest.OneByteReader(bytes.NewReader(stream(t, 0, burst...))))
	if len(got) != len(burst) {
		t.Fatalf("%d messages, want %d", len(got), len(burst))
	}
	if sk := got[7].(*SoftKeyTemplateRes); len(sk.Keys) != 1 || sk.Keys[0].Event != 1 {
		t.Errorf("SoftKeyTemplateRes %+v", sk)
	}
}

func TestReadFrameOversize(t *testing.T) {
	h := Header{Length: 70000, ID: IDAlarm}
	b := make([]byte, HeaderSize)
	h.MarshalTo(b)
	_, err := ReadFrame(bytes.NewReader(b), 0)
	var fe *FrameSizeError
	if !errors.As(err, &fe) || fe.Length != 70000 || fe.Max != DefaultMaxLength || !errors.Is(err, ErrFrameSize) {
		t.Fatalf("err %v", err)
	}
	// A configurable limit.
	h.Length = 4 + 100
	h.MarshalTo(b)
	_, err = ReadFrame(bytes.NewReader(append(b, make([]byte, 100)...)), 64)
	if !errors.As(err, &fe) || fe.Max != 64 {
		t.Fatalf("limit 64: %v", err)
	}
	// Length below the 4-byte id.
	h.Length = 3
	h.MarshalTo(b)
	if _, err := ReadFrame(bytes.NewReader(b), 0); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("length 3: %v", err)
	}
}

func TestReadFrameTruncated(t *testing.T) {
	full := stream(t, 0, &LineStatRes{Line: 1, DirNumber: "100"})
	for _, n := range []int{1, 5, HeaderSize, HeaderSize + 10, len(full) - 1} {
		_, err := ReadFrame(bytes.NewReader(full[:n]), 0)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %v", n, err)
		}
	}
	if _, err := ReadFrame(bytes.NewReader(nil), 0); err != io.EOF {
		t.Errorf("empty: %v", err)
	}
}

func TestAppendFramePads(t *testing.T) {
	// 4+4 + "1\0" + "\0" + "ab\0" = 14 payload bytes, padded to 16.
	m := &LineStatV2Res{Line: 1, DirNumber: "1", Label: "ab"}
	b := stream(t, 22, m)
	if len(b) != HeaderSize+16 {
		t.Fatalf("frame %d bytes", len(b))
	}
	var h Header
	h.Unmarshal(b)
	if h.Length != 20 || h.Version != 22 || h.ID != IDLineStatV2Res {
		t.Errorf("header %+v", h)
	}
	if b[len(b)-1] != 0 || b[len(b)-2] != 0 {
		t.Error("padding not zero")
	}
}

func TestDecodeUnknownAndMalformed(t *testing.T) {
	m, err := Decode(11, 0x7777, []byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := m.(*Unknown); !ok || u.MsgID != 0x7777 || !bytes.Equal(u.Payload, []byte{1, 2, 3}) {
		t.Fatalf("got %#v", m)
	}
	if _, err := Decode(11, IDSetLamp, []byte{1, 0, 0, 0}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short SetLamp: %v", err)
	}
	// ReadMessage keeps the stream in sync after a malformed payload.
	b := append(stream(t, 0, &Unknown{MsgID: IDSetLamp, Payload: []byte{1, 0, 0, 0}}), stream(t, 0, &KeepAlive{})...)
	rd := NewReader(bytes.NewReader(b))
	if _, _, err := rd.ReadMessage(11); !errors.Is(err, ErrMalformed) {
		t.Fatalf("first: %v", err)
	}
	if _, m, err := rd.ReadMessage(11); err != nil || m.ID() != IDKeepAlive {
		t.Fatalf("second: %v %v", m, err)
	}
}

func TestMessageIDString(t *testing.T) {
	if s := IDSetLamp.String(); s != "SetLamp(0x0086)" {
		t.Error(s)
	}
	if s := MessageID(0x9999).String(); s != "Unknown(0x9999)" {
		t.Error(s)
	}
}

func TestHeaderVersion(t *testing.T) {
	for _, tc := range []struct {
		v    uint32
		id   MessageID
		want uint32
	}{{6, IDSetLamp, 0}, {11, IDSetLamp, 11}, {22, IDKeepAliveAck, 0}, {22, IDRegisterAck, 0}, {22, IDOpenReceiveChannel, 22}} {
		if got := HeaderVersion(tc.v, tc.id); got != tc.want {
			t.Errorf("HeaderVersion(%d, %v) = %d, want %d", tc.v, tc.id, got, tc.want)
		}
	}
}

func BenchmarkReadFrame(b *testing.B) {
	var buf []byte
	for range 64 {
		buf, _ = AppendFrame(buf, 0, &SetLamp{Stimulus: ButtonLine, Instance: 1, Mode: LampOn})
	}
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		rd := NewReader(bytes.NewReader(buf))
		for range 64 {
			if _, _, err := rd.ReadMessage(11); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkMarshalTo(b *testing.B) {
	m := &OpenReceiveChannel{Version: 22, ConferenceID: 1, PassThruPartyID: 1, PacketSizeMs: 20}
	buf := make([]byte, m.MarshalSize())
	for b.Loop() {
		if _, err := m.MarshalTo(buf); err != nil {
			b.Fatal(err)
		}
	}
}
