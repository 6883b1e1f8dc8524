package dtmf

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		ev   Event
	}{
		// RFC 4733 §2.3 layout; the last is the "5", end, -10 dBm0, 1000 units example shape.
		{"digit 1 start", []byte{0x01, 0x0A, 0x00, 0xA0}, Event{Code: 1, Volume: 10, Duration: 160}},
		{"hash end", []byte{0x0B, 0x8A, 0x03, 0x20}, Event{Code: 11, End: true, Volume: 10, Duration: 800}},
		{"D max", []byte{0x0F, 0xBF, 0xFF, 0xFF}, Event{Code: 15, End: true, Volume: 63, Duration: 0xFFFF}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev Event
			if err := ev.Unmarshal(tc.raw); err != nil {
				t.Fatal(err)
			}
			if ev != tc.ev {
				t.Fatalf("Unmarshal = %+v, want %+v", ev, tc.ev)
			}
			b, err := ev.Marshal()
			if err != nil || !bytes.Equal(b, tc.raw) {
				t.Fatalf("Marshal = %x, %v; want %x", b, err, tc.raw)
			}
		})
	}
	// The reserved R bit is ignored on receipt and not sent.
	var ev Event
	if err := ev.Unmarshal([]byte{5, 0x40 | 7, 0, 1}); err != nil || ev != (Event{Code: 5, Volume: 7, Duration: 1}) {
		t.Fatalf("R bit set: %+v, %v", ev, err)
	}
	if err := ev.Unmarshal([]byte{1, 2, 3}); err == nil {
		t.Error("3-byte payload accepted")
	}
	if _, err := (Event{Volume: 64}).Marshal(); err == nil {
		t.Error("volume 64 accepted")
	}
	if _, err := (Event{}).MarshalTo(make([]byte, 3)); err == nil {
		t.Error("MarshalTo a 3-byte buffer succeeded")
	}
}

func TestDigits(t *testing.T) {
	for code, d := range []byte("0123456789*#ABCD") {
		got, err := Digit(uint8(code))
		if err != nil || got != d {
			t.Errorf("Digit(%d) = %q, %v; want %q", code, got, err, d)
		}
		c, err := EventForDigit(d)
		if err != nil || c != uint8(code) {
			t.Errorf("EventForDigit(%q) = %d, %v; want %d", d, c, err, code)
		}
	}
	if c, err := EventForDigit('c'); err != nil || c != 14 {
		t.Errorf("EventForDigit('c') = %d, %v", c, err)
	}
	if _, err := Digit(16); !errors.Is(err, ErrNotDigit) {
		t.Errorf("Digit(16) error = %v", err)
	}
	if _, err := EventForDigit('E'); !errors.Is(err, ErrNotDigit) {
		t.Errorf("EventForDigit('E') error = %v", err)
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte{0x01, 0x0A, 0x00, 0xA0})
	f.Add([]byte{0x0B, 0x8A, 0x03, 0x20, 0xFF})
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev Event
		if err := ev.Unmarshal(b); err != nil {
			if len(b) >= PayloadSize {
				t.Fatalf("%x rejected: %v", b, err)
			}
			return
		}
		out, err := ev.Marshal()
		if err != nil {
			t.Fatalf("re-marshal of %+v: %v", ev, err)
		}
		// Everything but the reserved R bit survives the round trip.
		want := []byte{b[0], b[1] &^ 0x40, b[2], b[3]}
		if !bytes.Equal(out, want) {
			t.Fatalf("round trip %x -> %x, want %x", b[:4], out, want)
		}
	})
}
