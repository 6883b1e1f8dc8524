package moh

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/cmed-project/cmed/pkg/media/g711"
)

// encoding is a sample encoding inside a container.
type encoding int

const (
	encPCM8Unsigned encoding = iota + 1 // WAV 8-bit: unsigned, 128 = silence
	encPCM8Signed                       // .au encoding 2
	encPCM16
	encPCM24
	encPCM32
	encFloat32
	encFloat64
	encUlaw
	encAlaw
)

func (e encoding) bytesPerSample() int {
	switch e {
	case encPCM16:
		return 2
	case encPCM24:
		return 3
	case encPCM32, encFloat32:
		return 4
	case encFloat64:
		return 8
	}
	return 1
}

// format describes interleaved sample frames.
type format struct {
	enc       encoding
	channels  int
	rate      int
	bigEndian bool
}

const (
	minRate     = 1000
	maxRate     = 384000
	maxChannels = 16
)

func (f format) validate() error {
	if f.channels < 1 || f.channels > maxChannels {
		return fmt.Errorf("%w: %d channels (want 1-%d)", ErrUnsupported, f.channels, maxChannels)
	}
	if f.rate < minRate || f.rate > maxRate {
		return fmt.Errorf("%w: sample rate %d Hz (want %d-%d)", ErrUnsupported, f.rate, minRate, maxRate)
	}
	return nil
}

// toClip decodes interleaved frames in data, downmixes to mono by averaging the channels and
// resamples to 8 kHz. A trailing partial frame is ignored.
func toClip(name string, data []byte, f format) (*Clip, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	bps := f.enc.bytesPerSample()
	frameSize := bps * f.channels
	frames := len(data) / frameSize
	if frames == 0 {
		return nil, ErrEmpty
	}
	// Check the resampled length before allocating anything proportional to it.
	if outLen := int64(frames) * SampleRate / int64(f.rate); outLen > MaxSamples {
		return nil, fmt.Errorf("%w: %d samples after resampling to 8 kHz (max %d)", ErrTooLong, outLen, MaxSamples)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if f.bigEndian {
		order = binary.BigEndian
	}
	mono := make([]int16, frames)
	for i := range mono {
		frame := data[i*frameSize : (i+1)*frameSize]
		var sum int64
		for c := range f.channels {
			sum += int64(sample(frame[c*bps:(c+1)*bps], f.enc, order))
		}
		mono[i] = int16(sum / int64(f.channels))
	}
	pcm := resample(mono, f.rate)
	if len(pcm) == 0 {
		return nil, ErrEmpty
	}
	return &Clip{name: name, pcm: pcm}, nil
}

// sample decodes one sample to 16-bit linear.
func sample(b []byte, enc encoding, order binary.ByteOrder) int16 {
	switch enc {
	case encPCM8Unsigned:
		return int16(int(b[0])-128) << 8
	case encPCM8Signed:
		return int16(int8(b[0])) << 8
	case encPCM16:
		return int16(order.Uint16(b))
	case encPCM24:
		// Keep the 16 most significant bits.
		if order == binary.BigEndian {
			return int16(uint16(b[0])<<8 | uint16(b[1]))
		}
		return int16(uint16(b[2])<<8 | uint16(b[1]))
	case encPCM32:
		return int16(order.Uint32(b) >> 16)
	case encFloat32:
		return floatToPCM(float64(math.Float32frombits(order.Uint32(b))))
	case encFloat64:
		return floatToPCM(math.Float64frombits(order.Uint64(b)))
	case encUlaw:
		return g711.DecodeUlaw(b[0])
	case encAlaw:
		return g711.DecodeAlaw(b[0])
	}
	return 0
}

func floatToPCM(v float64) int16 {
	switch {
	case v != v: // NaN
		return 0
	case v >= 1:
		return math.MaxInt16
	case v <= -1:
		return math.MinInt16
	}
	return int16(v * 32767)
}

// resample converts mono PCM at rate to 8 kHz by linear interpolation between neighbouring input
// samples. This is deliberately simple (no anti-alias filter): music on hold is best supplied at
// 8 kHz already, and the loader accepts other rates as a convenience.
func resample(in []int16, rate int) []int16 {
	if rate == SampleRate {
		return in
	}
	n := int(int64(len(in)) * SampleRate / int64(rate))
	out := make([]int16, n)
	for i := range out {
		// Position in the input, as a rational i·rate/8000, split into index and fraction.
		num := int64(i) * int64(rate)
		idx := int(num / SampleRate)
		frac := float64(num%SampleRate) / SampleRate
		a := float64(in[idx])
		b := a
		if idx+1 < len(in) {
			b = float64(in[idx+1])
		}
		out[i] = int16(math.Round(a + (b-a)*frac))
	}
	return out
}

// Decode decodes an audio file's contents. name selects the format by extension for raw files
// (.ul/.ulaw/.pcmu/.mulaw µ-law, .al/.alaw/.pcma A-law, .sln/.raw 16-bit little-endian linear,
// all 8 kHz mono); WAV and .au files are recognised by their magic number whatever the name.
func Decode(name string, data []byte) (*Clip, error) {
	base := filepath.Base(name)
	switch {
	case len(data) >= 4 && string(data[:4]) == "RIFF":
		return DecodeWAV(base, data)
	case len(data) >= 4 && string(data[:4]) == ".snd":
		return DecodeAU(base, data)
	}
	f := format{channels: 1, rate: SampleRate}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".ul", ".ulaw", ".pcmu", ".mulaw", ".mu":
		f.enc = encUlaw
	case ".al", ".alaw", ".pcma":
		f.enc = encAlaw
	case ".sln", ".raw":
		f.enc = encPCM16
	case ".wav":
		return nil, fmt.Errorf("%w: %s has a .wav name but no RIFF header", ErrMalformed, base)
	case ".au", ".snd":
		return nil, fmt.Errorf("%w: %s has an .au name but no .snd header", ErrMalformed, base)
	default:
		return nil, fmt.Errorf("%w: %s: not WAV or .au, and extension %q is not a known raw format "+
			"(.ul, .al, .sln)", ErrUnsupported, base, filepath.Ext(name))
	}
	return toClip(base, data, f)
}

// MaxFileSize bounds the files Load reads into memory: 30 minutes of 16-bit stereo at 44.1 kHz
// (about 318 MB) fits; anything bigger is not hold music.
const MaxFileSize = 320 << 20

// Load reads and decodes an audio file (see Decode).
func Load(path string) (*Clip, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%w: %s is %d bytes (max %d)", ErrTooLong, path, st.Size(), MaxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Decode(path, data)
	if err != nil {
		return nil, fmt.Errorf("moh file %s: %w", path, err)
	}
	return c, nil
}
