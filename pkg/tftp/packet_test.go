package tftp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Raw fixtures are written out byte by byte from RFC 1350 §5 and RFC 2347,
// then decoded, compared with a struct and re-encoded (the pion/rtp
// TestBasic pattern).
func TestPacketRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		want Packet
	}{
		{
			name: "RRQ octet",
			raw:  []byte("\x00\x01SEP001122334455.cnf.xml\x00octet\x00"),
			want: &Request{Filename: "SEP001122334455.cnf.xml", Mode: "octet"},
		},
		{
			name: "RRQ with options (RFC 2347 example shape)",
			raw:  []byte("\x00\x01foobar\x00octet\x00blksize\x001428\x00tsize\x000\x00timeout\x003\x00"),
			want: &Request{Filename: "foobar", Mode: "octet", Options: Options{
				{"blksize", "1428"}, {"tsize", "0"}, {"timeout", "3"},
			}},
		},
		{
			name: "WRQ netascii",
			raw:  []byte("\x00\x02up.txt\x00NETASCII\x00"),
			want: &Request{Write: true, Filename: "up.txt", Mode: "NETASCII"},
		},
		{
			name: "DATA",
			raw:  []byte("\x00\x03\x12\x34hello"),
			want: &Data{Block: 0x1234, Payload: []byte("hello")},
		},
		{
			name: "DATA empty last block",
			raw:  []byte("\x00\x03\xff\xff"),
			want: &Data{Block: 0xffff, Payload: []byte{}},
		},
		{
			name: "ACK",
			raw:  []byte("\x00\x04\x00\x07"),
			want: &Ack{Block: 7},
		},
		{
			name: "ERROR",
			raw:  []byte("\x00\x05\x00\x01File not found\x00"),
			want: &Error{Code: ErrCodeNotFound, Message: "File not found"},
		},
		{
			name: "OACK",
			raw:  []byte("\x00\x06blksize\x001024\x00tsize\x004242\x00"),
			want: &OptionAck{Options: Options{{"blksize", "1024"}, {"tsize", "4242"}}},
		},
		{
			name: "OACK empty",
			raw:  []byte("\x00\x06"),
			want: &OptionAck{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePacket(tt.raw)
			if err != nil {
				t.Fatalf("ParsePacket: %v", err)
			}
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
			if got.Opcode() != tt.want.Opcode() {
				t.Errorf("opcode %v, want %v", got.Opcode(), tt.want.Opcode())
			}
			if n := tt.want.MarshalSize(); n != len(tt.raw) {
				t.Errorf("MarshalSize = %d, want %d", n, len(tt.raw))
			}
			b, err := tt.want.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(b, tt.raw) {
				t.Errorf("Marshal = %q, want %q", b, tt.raw)
			}
		})
	}
}

func TestPacketDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		want error
	}{
		{"empty", nil, errShortPacket},
		{"one byte", []byte{0}, errShortPacket},
		{"unknown opcode", []byte{0, 9, 0, 0}, errUnknownOpcode},
		{"RRQ unterminated", []byte("\x00\x01file\x00octet"), errUnterminatedString},
		{"RRQ no mode", []byte("\x00\x01file\x00"), errEmptyField},
		{"RRQ empty filename", []byte("\x00\x01\x00octet\x00"), errEmptyField},
		{"RRQ odd options", []byte("\x00\x01f\x00octet\x00blksize\x00"), errOddOptions},
		{"RRQ empty option name", []byte("\x00\x01f\x00octet\x00\x00512\x00"), errEmptyOptionName},
		{"ACK short", []byte{0, 4, 0}, errShortPacket},
		{"ACK long", []byte{0, 4, 0, 1, 0}, errTrailingBytes},
		{"DATA short", []byte{0, 3, 0}, errShortPacket},
		{"DATA too large", append([]byte{0, 3, 0, 1}, make([]byte, MaxBlockSize+1)...), errPacketTooLarge},
		{"ERROR short", []byte{0, 5, 0}, errShortPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePacket(tt.raw)
			if !errors.Is(err, tt.want) {
				t.Errorf("ParsePacket(%q) error = %v, want %v", tt.raw, err, tt.want)
			}
		})
	}
}

func TestPacketWrongOpcodeForType(t *testing.T) {
	var a Ack
	if err := a.Unmarshal([]byte{0, 3, 0, 1}); !errors.Is(err, errWrongOpcode) {
		t.Errorf("Ack.Unmarshal(DATA) = %v, want errWrongOpcode", err)
	}
}

func TestPacketMarshalErrors(t *testing.T) {
	if _, err := (&Request{Filename: "a\x00b", Mode: "octet"}).Marshal(); !errors.Is(err, errNULInString) {
		t.Errorf("NUL in filename: %v", err)
	}
	if _, err := (&Request{Mode: "octet"}).Marshal(); !errors.Is(err, errEmptyField) {
		t.Errorf("empty filename: %v", err)
	}
	if _, err := (&Data{Payload: make([]byte, MaxBlockSize+1)}).Marshal(); !errors.Is(err, errPacketTooLarge) {
		t.Errorf("oversize data: %v", err)
	}
	if _, err := (&Ack{}).MarshalTo(make([]byte, 3)); !errors.Is(err, errBufferTooSmall) {
		t.Errorf("small buffer: %v", err)
	}
	if _, err := (&OptionAck{Options: Options{{"", "1"}}}).Marshal(); !errors.Is(err, errEmptyOptionName) {
		t.Errorf("empty option name: %v", err)
	}
}

func TestErrorToleratesMissingNUL(t *testing.T) {
	p, err := ParsePacket([]byte("\x00\x05\x00\x02denied"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&Error{Code: ErrCodeAccessViolation, Message: "denied"}, p); d != "" {
		t.Error(d)
	}
}

func TestOptionsGetCaseInsensitive(t *testing.T) {
	o := Options{{"BlkSize", "1024"}}
	if v, ok := o.Get("blksize"); !ok || v != "1024" {
		t.Errorf("Get = %q, %v", v, ok)
	}
	if _, ok := o.Get("tsize"); ok {
		t.Error("Get(tsize) found a missing option")
	}
}

// FuzzParsePacket checks that decoding never panics and that every packet it
// accepts re-encodes to something that decodes to the same value.
func FuzzParsePacket(f *testing.F) {
	f.Add([]byte("\x00\x01SEP001122334455.cnf.xml\x00octet\x00blksize\x001428\x00tsize\x000\x00"))
	f.Add([]byte("\x00\x03\x00\x01data"))
	f.Add([]byte("\x00\x04\xff\xff"))
	f.Add([]byte("\x00\x05\x00\x01File not found\x00"))
	f.Add([]byte("\x00\x06blksize\x00512\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacket(b)
		if err != nil {
			return
		}
		out, err := p.Marshal()
		if err != nil {
			// Only ERROR packets may carry bytes (after an inner NUL)
			// that do not survive; everything else must re-encode.
			t.Fatalf("re-marshal of %#v: %v", p, err)
		}
		p2, err := ParsePacket(out)
		if err != nil {
			t.Fatalf("decode of re-marshalled %q: %v", out, err)
		}
		if d := cmp.Diff(p, p2, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", d)
		}
	})
}

func BenchmarkDataMarshalTo(b *testing.B) {
	d := Data{Block: 1, Payload: make([]byte, 512)}
	buf := make([]byte, 516)
	for b.Loop() {
		if _, err := d.MarshalTo(buf); err != nil {
			b.Fatal(err)
		}
	}
}
