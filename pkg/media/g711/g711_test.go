package g711

import (
	"slices"
	"testing"
)

// Decoded values from the ITU-T G.191 reference tables (ulaw_expand
// output) and the end points checked in ITU-T G.711 decoders (μ-law 0xFF
// and 0x00, A-law 0xD5 and 0x55; docs/architecture.md §Dependencies).
func TestKnownCodeWords(t *testing.T) {
	ulaw := map[byte]int16{
		0x00: -32124, 0x01: -31100, 0x02: -30076, 0x03: -29052,
		0x04: -28028, 0x05: -27004, 0x06: -25980, 0x07: -24956,
		0x08: -23932, 0x0F: -16764, 0x10: -15996, 0x18: -11900,
		0x20: -7932, 0x30: -3900, 0x40: -1884, 0x41: -1820, 0x42: -1756,
		0x7E: -8, 0x7F: 0, 0xFF: 0, 0xFE: 8, 0x80: 32124,
	}
	for c, want := range ulaw {
		if got := DecodeUlaw(c); got != want {
			t.Errorf("DecodeUlaw(%#02x) = %d, want %d", c, got, want)
		}
	}
	alaw := map[byte]int16{
		0xD5: 8, 0x55: -8, 0xD4: 24, 0x54: -24,
		0xAA: 32256, 0x2A: -32256, // segment 7, mantissa 15
		0xC5: 264, // segment 1 start: (16*16+8)
	}
	for c, want := range alaw {
		if got := DecodeAlaw(c); got != want {
			t.Errorf("DecodeAlaw(%#02x) = %d, want %d", c, got, want)
		}
	}
	enc := []struct {
		x        int16
		ulaw     byte
		alaw     byte
		scenario string
	}{
		{0, 0xFF, 0xD5, "zero"},
		{-1, 0x7F, 0x55, "minus one (one's complement magnitude 0)"},
		{32767, 0x80, 0xAA, "positive clip"},
		{-32768, 0x00, 0x2A, "negative clip"},
		{8, 0xFE, 0xD5, "first μ-law step"},
	}
	for _, e := range enc {
		if got := EncodeUlaw(e.x); got != e.ulaw {
			t.Errorf("%s: EncodeUlaw(%d) = %#02x, want %#02x", e.scenario, e.x, got, e.ulaw)
		}
		if got := EncodeAlaw(e.x); got != e.alaw {
			t.Errorf("%s: EncodeAlaw(%d) = %#02x, want %#02x", e.scenario, e.x, got, e.alaw)
		}
	}
}

// TestDecodeMatchesG711Tables recomputes every reconstruction value from
// the segment structure of G.711 Tables 1a (A-law) and 2a (μ-law), scaled
// to 16 bits: A-law segment 0 holds 2m+1, segment s>0 holds (2m+33)<<(s-1)
// (13-bit units, x8); μ-law holds ((2m+33)<<s)-33 (14-bit units, x4).
func TestDecodeMatchesG711Tables(t *testing.T) {
	for c := range 256 {
		code := byte(c)
		a := code ^ 0x55
		s, m := int(a>>4&7), int(a&0x0F)
		var mag int
		if s == 0 {
			mag = (2*m + 1) * 8
		} else {
			mag = ((2*m + 33) << (s - 1)) * 8
		}
		if a&0x80 == 0 {
			mag = -mag
		}
		if got := DecodeAlaw(code); int(got) != mag {
			t.Errorf("DecodeAlaw(%#02x) = %d, want %d", code, got, mag)
		}

		u := ^code
		s, m = int(u>>4&7), int(u&0x0F)
		mag = (((2*m + 33) << s) - 33) * 4
		if u&0x80 != 0 {
			mag = -mag
		}
		if got := DecodeUlaw(code); int(got) != mag {
			t.Errorf("DecodeUlaw(%#02x) = %d, want %d", code, got, mag)
		}
	}
}

func TestEncodeDecodeEveryCode(t *testing.T) {
	for c := range 256 {
		code := byte(c)
		want := code
		if code == 0x7F { // μ-law negative zero re-encodes as positive zero
			want = 0xFF
		}
		if got := EncodeUlaw(DecodeUlaw(code)); got != want {
			t.Errorf("EncodeUlaw(DecodeUlaw(%#02x)) = %#02x, want %#02x", code, got, want)
		}
		if got := EncodeAlaw(DecodeAlaw(code)); got != code {
			t.Errorf("EncodeAlaw(DecodeAlaw(%#02x)) = %#02x", code, got)
		}
	}
}

// TestEncodeEveryInput checks all 65536 samples: the tables agree with the
// direct G.191 arithmetic, the encoders are symmetric, the quantised value
// never decreases as the input grows, and the error stays within half a
// step of the segment (plus the clip at the ends).
func TestEncodeEveryInput(t *testing.T) {
	prevU, prevA := int16(-32768), int16(-32768)
	for i := -32768; i <= 32767; i++ {
		x := int16(i)
		u, a := EncodeUlaw(x), EncodeAlaw(x)
		if u != ulawCompress(x) || a != alawCompress(x) {
			t.Fatalf("table/direct mismatch at %d", x)
		}
		if EncodeUlaw(^x) != u^0x80 || EncodeAlaw(^x) != a^0x80 {
			t.Fatalf("not symmetric at %d", x)
		}
		du, da := DecodeUlaw(u), DecodeAlaw(a)
		if du < prevU || da < prevA {
			t.Fatalf("not monotonic at %d: μ %d after %d, A %d after %d", x, du, prevU, da, prevA)
		}
		prevU, prevA = du, da
		mag := max(i, -i)
		if mag <= 32124 {
			if err := abs(int(du) - i); err > max(8, mag/16) {
				t.Fatalf("μ-law error %d at %d (decoded %d)", err, x, du)
			}
		}
		if mag <= 32256 {
			if err := abs(int(da) - i); err > max(16, mag/16) {
				t.Fatalf("A-law error %d at %d (decoded %d)", err, x, da)
			}
		}
	}
}

func abs(x int) int { return max(x, -x) }

func TestAppendSlices(t *testing.T) {
	pcm := []int16{0, 1000, -1000, 32767, -32768, 8, -8}
	prefix := []byte{0xAB}
	u := AppendUlaw(slices.Clone(prefix), pcm)
	a := AppendAlaw(nil, pcm)
	if len(u) != len(pcm)+1 || u[0] != 0xAB || len(a) != len(pcm) {
		t.Fatalf("lengths: ulaw %d alaw %d", len(u), len(a))
	}
	for i, x := range pcm {
		if u[i+1] != EncodeUlaw(x) || a[i] != EncodeAlaw(x) {
			t.Errorf("sample %d: slice and scalar encoders differ", i)
		}
	}
	du := AppendUlawPCM([]int16{7}, u[1:])
	da := AppendAlawPCM(nil, a)
	for i := range pcm {
		if du[i+1] != DecodeUlaw(u[i+1]) || da[i] != DecodeAlaw(a[i]) {
			t.Errorf("sample %d: slice and scalar decoders differ", i)
		}
	}
	if du[0] != 7 {
		t.Error("AppendUlawPCM overwrote dst")
	}
}

func TestTranscode(t *testing.T) {
	for c := range 256 {
		code := byte(c)
		// Transcoding must keep the sign and stay close in value.
		a := UlawToAlaw(code)
		if d := abs(int(DecodeAlaw(a)) - int(DecodeUlaw(code))); d > max(16, abs(int(DecodeUlaw(code)))/16) {
			t.Errorf("UlawToAlaw(%#02x) off by %d", code, d)
		}
		u := AlawToUlaw(code)
		if d := abs(int(DecodeUlaw(u)) - int(DecodeAlaw(code))); d > max(16, abs(int(DecodeAlaw(code)))/16) {
			t.Errorf("AlawToUlaw(%#02x) off by %d", code, d)
		}
	}
}

var sink []byte

func pcmFrame() []int16 {
	pcm := make([]int16, 160) // one 20 ms frame at 8 kHz
	for i := range pcm {
		pcm[i] = int16(i*397 - 30000)
	}
	return pcm
}

func BenchmarkAppendUlaw(b *testing.B) {
	pcm := pcmFrame()
	buf := make([]byte, 0, len(pcm))
	b.SetBytes(int64(len(pcm)))
	for b.Loop() {
		sink = AppendUlaw(buf[:0], pcm)
	}
}

func BenchmarkAppendAlaw(b *testing.B) {
	pcm := pcmFrame()
	buf := make([]byte, 0, len(pcm))
	b.SetBytes(int64(len(pcm)))
	for b.Loop() {
		sink = AppendAlaw(buf[:0], pcm)
	}
}

func BenchmarkAppendUlawPCM(b *testing.B) {
	codes := AppendUlaw(nil, pcmFrame())
	out := make([]int16, 0, len(codes))
	b.SetBytes(int64(len(codes)))
	for b.Loop() {
		out = AppendUlawPCM(out[:0], codes)
	}
	_ = out
}
