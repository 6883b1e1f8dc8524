// Package moh provides music-on-hold audio: an embedded default melody synthesised in code (so
// the binary carries no audio asset and no licence question) and decoders for configured files
// (WAV, Sun .au, raw .ul/.al), all normalised to 16-bit linear PCM, mono, 8 kHz.
package moh

import (
	"errors"
	"math"
	"sync"
	"time"
)

// SampleRate is the rate every Clip is stored at: the G.711 rate (RFC 3551 §4.5.14).
const SampleRate = 8000

// MaxSamples bounds a decoded clip (30 minutes at 8 kHz, 57.6 MB of int16) so a hostile or
// mistaken file cannot exhaust memory.
const MaxSamples = 30 * 60 * SampleRate

var (
	// ErrEmpty is returned for a file that decodes to no audio.
	ErrEmpty = errors.New("moh: audio file has no samples")
	// ErrUnsupported is returned for a file whose format cannot be played; the message names the
	// format detail that was rejected.
	ErrUnsupported = errors.New("moh: unsupported audio format")
	// ErrMalformed is returned for a truncated or inconsistent file.
	ErrMalformed = errors.New("moh: malformed audio file")
	// ErrTooLong is returned for audio longer than MaxSamples after resampling.
	ErrTooLong = errors.New("moh: audio file too long")
)

// Clip is an immutable piece of audio, 16-bit linear PCM, mono, 8 kHz. It is shared by every
// stream that plays it; each stream reads it through its own Reader.
type Clip struct {
	name string
	pcm  []int16
}

// NewClip wraps samples (8 kHz mono) in a Clip. It copies pcm.
func NewClip(name string, pcm []int16) (*Clip, error) {
	if len(pcm) == 0 {
		return nil, ErrEmpty
	}
	if len(pcm) > MaxSamples {
		return nil, ErrTooLong
	}
	return &Clip{name: name, pcm: append([]int16(nil), pcm...)}, nil
}

// Name is the file name or "default".
func (c *Clip) Name() string { return c.name }

// Len is the number of samples.
func (c *Clip) Len() int { return len(c.pcm) }

// Duration is the clip's playing time.
func (c *Clip) Duration() time.Duration {
	return time.Duration(len(c.pcm)) * time.Second / SampleRate
}

// Samples returns a copy of the clip's samples.
func (c *Clip) Samples() []int16 { return append([]int16(nil), c.pcm...) }

// NewReader returns a reader that loops over the clip from its start.
func (c *Clip) NewReader() *Reader { return &Reader{clip: c} }

// Reader plays a Clip in a loop. It is not safe for concurrent use.
type Reader struct {
	clip *Clip
	pos  int
}

// ReadFrame fills dst with the next len(dst) samples, wrapping to the start of the clip at its
// end, so the music loops seamlessly.
func (r *Reader) ReadFrame(dst []int16) {
	pcm := r.clip.pcm
	for len(dst) > 0 {
		n := copy(dst, pcm[r.pos:])
		dst = dst[n:]
		r.pos += n
		if r.pos == len(pcm) {
			r.pos = 0
		}
	}
}

// Position is the index of the next sample to be read.
func (r *Reader) Position() int { return r.pos }

// Default returns the built-in music on hold: a gentle ~8 s arpeggio (I-vi-IV-V in C major) of
// soft bell-like notes, synthesised once on first use.
func Default() *Clip { return defaultClip() }

var defaultClip = sync.OnceValue(func() *Clip {
	return &Clip{name: "default", pcm: synthesizeMelody()}
})

// noteHz is the equal-tempered frequency of MIDI note m (A4 = 69 = 440 Hz).
func noteHz(m int) float64 { return 440 * math.Pow(2, float64(m-69)/12) }

// synthesizeMelody renders 32 notes of 250 ms: four bars of arpeggiated chords C, Am, F, G, each
// bar root-third-fifth-octave played up and back down, over a quiet sustained bass root.
func synthesizeMelody() []int16 {
	const (
		noteLen = SampleRate / 4 // 250 ms
		peak    = 6000.0         // about -18 dBFS: comfortable, never clips after G.711
	)
	chords := [4][4]int{
		{60, 64, 67, 72}, // C4 E4 G4 C5
		{57, 60, 64, 69}, // A3 C4 E4 A4
		{53, 57, 60, 65}, // F3 A3 C4 F4
		{55, 59, 62, 67}, // G3 B3 D4 G4
	}
	order := [8]int{0, 1, 2, 3, 2, 1, 0, 1}
	out := make([]int16, 0, 4*8*noteLen)
	for _, ch := range chords {
		bass := noteHz(ch[0] - 12)
		for i, idx := range order {
			f := noteHz(ch[idx])
			for n := range noteLen {
				tn := float64(n) / SampleRate
				// Quick 5 ms attack, exponential decay: a bell/marimba-like envelope that also
				// returns to near zero before the next note, so there are no clicks.
				env := math.Min(1, tn/0.005) * math.Exp(-tn*9)
				v := math.Sin(2*math.Pi*f*tn) + 0.3*math.Sin(2*math.Pi*2*f*tn) + 0.1*math.Sin(2*math.Pi*3*f*tn)
				// The bass note spans the whole bar, with its phase continuous across notes.
				tb := float64(i*noteLen+n) / SampleRate
				benv := 0.25 * math.Min(1, tb/0.02) * math.Min(1, (2-tb)/0.02)
				s := peak * (env*v/1.4 + benv*math.Sin(2*math.Pi*bass*tb))
				out = append(out, int16(s))
			}
		}
	}
	return out
}
