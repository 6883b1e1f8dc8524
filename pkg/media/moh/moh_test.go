package moh

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/media/g711"
)

// wavBytes builds a WAV file with a canonical 16-byte fmt chunk (or a 40-byte extensible one).
func wavBytes(tag uint16, channels, rate, bits int, data []byte, extensible bool) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	fmtLen := 16
	if extensible {
		fmtLen = 40
	}
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(4+8+fmtLen+8+len(data)))
	b.WriteString("WAVE")
	// An unknown chunk first, with odd length and a pad byte, which must be skipped.
	b.WriteString("LIST")
	binary.Write(&b, le, uint32(3))
	b.Write([]byte{'a', 'b', 'c', 0})
	b.WriteString("fmt ")
	binary.Write(&b, le, uint32(fmtLen))
	outerTag := tag
	if extensible {
		outerTag = waveExtensible
	}
	blockAlign := channels * bits / 8
	binary.Write(&b, le, outerTag)
	binary.Write(&b, le, uint16(channels))
	binary.Write(&b, le, uint32(rate))
	binary.Write(&b, le, uint32(rate*blockAlign))
	binary.Write(&b, le, uint16(blockAlign))
	binary.Write(&b, le, uint16(bits))
	if extensible {
		binary.Write(&b, le, uint16(22))
		binary.Write(&b, le, uint16(bits))
		binary.Write(&b, le, uint32(0))
		binary.Write(&b, le, tag)
		b.Write([]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71})
	}
	b.WriteString("data")
	binary.Write(&b, le, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

func pcm16LE(x []int16) []byte {
	out := make([]byte, 2*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
	}
	return out
}

func ramp(n int) []int16 {
	x := make([]int16, n)
	for i := range x {
		x[i] = int16(i*13 - 9000)
	}
	return x
}

func TestDecodeWAVFormats(t *testing.T) {
	src := ramp(800)
	ulaw := g711.AppendUlaw(nil, src)
	alaw := g711.AppendAlaw(nil, src)
	u8 := make([]byte, len(src))
	for i, v := range src {
		u8[i] = byte(int(v>>8) + 128)
	}
	stereo := make([]int16, 0, 2*len(src))
	for _, v := range src {
		// Left and right differ; their average is v.
		stereo = append(stereo, v+1000, v-1000)
	}
	f32 := make([]byte, 4*len(src))
	for i, v := range src {
		binary.LittleEndian.PutUint32(f32[4*i:], math.Float32bits(float32(v)/32767))
	}
	tests := []struct {
		name       string
		file       []byte
		want       []int16
		tolerance  int
		extensible bool
	}{
		{"pcm16 mono", wavBytes(wavePCM, 1, 8000, 16, pcm16LE(src), false), src, 0, false},
		{"pcm16 extensible", wavBytes(wavePCM, 1, 8000, 16, pcm16LE(src), true), src, 0, true},
		{"pcm16 stereo downmix", wavBytes(wavePCM, 2, 8000, 16, pcm16LE(stereo), false), src, 0, false},
		{"ulaw", wavBytes(waveMuLaw, 1, 8000, 8, ulaw, false), g711.AppendUlawPCM(nil, ulaw), 0, false},
		{"alaw", wavBytes(waveALaw, 1, 8000, 8, alaw, false), g711.AppendAlawPCM(nil, alaw), 0, false},
		{"pcm8 unsigned", wavBytes(wavePCM, 1, 8000, 8, u8, false), src, 256, false},
		{"float32", wavBytes(waveIEEEFloat, 1, 8000, 32, f32, false), src, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeWAV("x.wav", tc.file)
			if err != nil {
				t.Fatal(err)
			}
			got := c.Samples()
			if len(got) != len(tc.want) {
				t.Fatalf("decoded %d samples, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if d := int(got[i]) - int(tc.want[i]); d > tc.tolerance || d < -tc.tolerance {
					t.Fatalf("sample %d = %d, want %d ± %d", i, got[i], tc.want[i], tc.tolerance)
				}
			}
		})
	}
}

func TestResample(t *testing.T) {
	// A 16 kHz linear ramp halves in length and keeps every other sample.
	in := ramp(1600)
	c, err := DecodeWAV("r.wav", wavBytes(wavePCM, 1, 16000, 16, pcm16LE(in), false))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Samples()
	if len(got) != 800 {
		t.Fatalf("16 kHz -> %d samples, want 800", len(got))
	}
	for i, v := range got {
		if v != in[2*i] {
			t.Fatalf("sample %d = %d, want %d", i, v, in[2*i])
		}
	}
	// 11025 Hz: linear interpolation of a ramp stays on the ramp.
	c, err = DecodeWAV("r.wav", wavBytes(wavePCM, 1, 11025, 16, pcm16LE(in), false))
	if err != nil {
		t.Fatal(err)
	}
	got = c.Samples()
	if want := 1600 * 8000 / 11025; len(got) != want {
		t.Fatalf("11025 Hz -> %d samples, want %d", len(got), want)
	}
	for i, v := range got {
		pos := float64(i) * 11025 / 8000
		want := -9000 + 13*pos
		if math.Abs(float64(v)-want) > 1 {
			t.Fatalf("sample %d = %d, want %.1f", i, v, want)
		}
	}
	// A 1 kHz sine at 44.1 kHz keeps its frequency: count zero crossings over 1 s.
	n := 44100
	sine := make([]int16, n)
	for i := range sine {
		sine[i] = int16(10000 * math.Sin(2*math.Pi*1000*float64(i)/44100))
	}
	c, err = DecodeWAV("s.wav", wavBytes(wavePCM, 1, 44100, 16, pcm16LE(sine), false))
	if err != nil {
		t.Fatal(err)
	}
	got = c.Samples()
	crossings := 0
	for i := 1; i < len(got); i++ {
		if (got[i-1] < 0) != (got[i] < 0) {
			crossings++
		}
	}
	if crossings < 1990 || crossings > 2010 {
		t.Errorf("resampled 1 kHz sine has %d zero crossings in 1 s, want about 2000", crossings)
	}
}

func TestDecodeWAVErrors(t *testing.T) {
	good := wavBytes(wavePCM, 1, 8000, 16, pcm16LE(ramp(10)), false)
	fmtOff := bytes.Index(good, []byte("fmt "))
	dataOff := bytes.Index(good, []byte("data"))
	mutate := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"short", []byte("RIFF"), ErrMalformed},
		{"not wave", mutate(func(b []byte) []byte { copy(b[8:], "AVI "); return b }), ErrMalformed},
		{"adpcm", wavBytes(0x0002, 1, 8000, 4, []byte{1, 2}, false), ErrUnsupported},
		{"mp3", wavBytes(0x0055, 1, 8000, 0, []byte{1, 2}, false), ErrUnsupported},
		{"12-bit", wavBytes(wavePCM, 1, 8000, 12, []byte{1, 2}, false), ErrUnsupported},
		{"zero channels", wavBytes(wavePCM, 0, 8000, 16, []byte{1, 2}, false), ErrUnsupported},
		{"rate 0", wavBytes(wavePCM, 1, 0, 16, []byte{1, 2}, false), ErrUnsupported},
		{"empty data", wavBytes(wavePCM, 1, 8000, 16, nil, false), ErrEmpty},
		{"no fmt", mutate(func(b []byte) []byte { copy(b[fmtOff:], "junk"); return b }), ErrMalformed},
		{"no data", mutate(func(b []byte) []byte { copy(b[dataOff:], "junk"); return b }), ErrMalformed},
		{"data before fmt", func() []byte {
			var b bytes.Buffer
			b.WriteString("RIFF\x00\x00\x00\x00WAVEdata\x02\x00\x00\x00\x01\x02")
			return b.Bytes()
		}(), ErrMalformed},
		{"bad block align", mutate(func(b []byte) []byte { b[fmtOff+8+12] = 7; return b }), ErrMalformed},
		{"fmt overrun", mutate(func(b []byte) []byte { return b[:fmtOff+12] }), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeWAV("bad.wav", tc.file)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
		})
	}
	// Streaming writers leave the data size at 0xFFFFFFFF: read to the end of the file.
	b := slices.Clone(good)
	binary.LittleEndian.PutUint32(b[dataOff+4:], 0xFFFFFFFF)
	c, err := DecodeWAV("stream.wav", b)
	if err != nil || c.Len() != 10 {
		t.Fatalf("streaming WAV: %v, len %d; want 10 samples", err, c.Len())
	}
}

func auBytes(enc, rate, channels uint32, data []byte) []byte {
	var b bytes.Buffer
	be := binary.BigEndian
	b.WriteString(".snd")
	binary.Write(&b, be, uint32(28)) // header plus a 4-byte annotation
	binary.Write(&b, be, uint32(len(data)))
	binary.Write(&b, be, enc)
	binary.Write(&b, be, rate)
	binary.Write(&b, be, channels)
	b.WriteString("moh\x00")
	b.Write(data)
	return b.Bytes()
}

func TestDecodeAUAndRaw(t *testing.T) {
	src := ramp(400)
	ulaw := g711.AppendUlaw(nil, src)
	alaw := g711.AppendAlaw(nil, src)
	be16 := make([]byte, 2*len(src))
	for i, v := range src {
		binary.BigEndian.PutUint16(be16[2*i:], uint16(v))
	}
	tests := []struct {
		name string
		file string
		data []byte
		want []int16
	}{
		{"au ulaw", "a.au", auBytes(auMuLaw8, 8000, 1, ulaw), g711.AppendUlawPCM(nil, ulaw)},
		{"au alaw", "a.au", auBytes(auALaw8, 8000, 1, alaw), g711.AppendAlawPCM(nil, alaw)},
		{"au linear16", "a.au", auBytes(auLinear16, 8000, 1, be16), src},
		{"au unnamed", "music", auBytes(auLinear16, 8000, 1, be16), src},
		{"raw ulaw", "hold.ul", ulaw, g711.AppendUlawPCM(nil, ulaw)},
		{"raw alaw", "HOLD.ALAW", alaw, g711.AppendAlawPCM(nil, alaw)},
		{"raw sln", "hold.sln", pcm16LE(src), src},
		{"wav by magic", "music.bin", wavBytes(wavePCM, 1, 8000, 16, pcm16LE(src), false), src},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode(tc.file, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Samples(); !slices.Equal(got, tc.want) {
				t.Fatalf("decoded %d samples, first %v; want %d, first %v", len(got), got[:4], len(tc.want), tc.want[:4])
			}
		})
	}
	for name, data := range map[string][]byte{
		"song.mp3":  {0xFF, 0xFB, 0x90, 0x00},
		"song":      {1, 2, 3, 4},
		"fake.wav":  []byte("ID3\x03 not a riff"),
		"fake.au":   []byte("not a snd"),
		"g722.au":   auBytes(23, 8000, 1, []byte{1, 2}),
		"offset.au": append([]byte(".snd\xff\x00\x00\x00"), make([]byte, 16)...),
	} {
		if _, err := Decode(name, data); !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%s) error = %v, want ErrUnsupported or ErrMalformed", name, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	src := ramp(1000)
	p := filepath.Join(dir, "hold.wav")
	if err := os.WriteFile(p, wavBytes(wavePCM, 1, 8000, 16, pcm16LE(src), false), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "hold.wav" || !slices.Equal(c.Samples(), src) {
		t.Errorf("Load: name %q, %d samples", c.Name(), c.Len())
	}
	if _, err := Load(filepath.Join(dir, "missing.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.mp3")
	os.WriteFile(bad, []byte("xxxx"), 0o600)
	if _, err := Load(bad); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Load(mp3) error = %v, want ErrUnsupported", err)
	}
}

func TestReaderLoops(t *testing.T) {
	src := ramp(250) // not a multiple of 160, so frames straddle the loop point
	c, err := NewClip("r", src)
	if err != nil {
		t.Fatal(err)
	}
	r := c.NewReader()
	frame := make([]int16, 160)
	for f := range 10 {
		r.ReadFrame(frame)
		for i, v := range frame {
			if want := src[(f*160+i)%len(src)]; v != want {
				t.Fatalf("frame %d sample %d = %d, want %d", f, i, v, want)
			}
		}
	}
	if r.Position() != 1600%250 {
		t.Errorf("Position = %d, want %d", r.Position(), 1600%250)
	}
	if _, err := NewClip("e", nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("NewClip(empty) error = %v", err)
	}
}

func TestDefaultMelody(t *testing.T) {
	c := Default()
	if c != Default() {
		t.Error("Default is not synthesised once")
	}
	if d := c.Duration(); d < 6*time.Second || d > 10*time.Second {
		t.Errorf("default MOH lasts %v, want about 8 s", d)
	}
	pcm := c.Samples()
	var peak int
	var energy float64
	for _, v := range pcm {
		peak = max(peak, int(v), -int(v))
		energy += float64(v) * float64(v)
	}
	rms := math.Sqrt(energy / float64(len(pcm)))
	if peak > 20000 {
		t.Errorf("peak %d: too loud (want headroom below full scale)", peak)
	}
	if rms < 300 {
		t.Errorf("RMS %.0f: too quiet to be music", rms)
	}
	// The loop point must not click: the last and first samples are both near silence.
	if d := math.Abs(float64(pcm[len(pcm)-1]) - float64(pcm[0])); d > 500 {
		t.Errorf("loop discontinuity of %v", d)
	}
	// Every 250 ms note has energy (no silent gaps in the arpeggio).
	for i := 0; i < len(pcm); i += 2000 {
		var e float64
		for _, v := range pcm[i : i+1000] {
			e += float64(v) * float64(v)
		}
		if math.Sqrt(e/1000) < 200 {
			t.Errorf("note at %v is silent", time.Duration(i)*time.Second/8000)
		}
	}
}
