// Package tone synthesises call-progress and DTMF tones as 16-bit linear PCM at 8 kHz, in 20 ms
// (160-sample) frames, for the RTP media engine (pkg/media).
//
// Every tone used here has integer frequencies, so each component is generated from an integer
// phase accumulator over one 8000-entry sine table: sample n of frequency f is sin(2π·(n·f mod
// 8000)/8000). The phase is therefore exact and continuous across frames for ever, with no
// floating-point drift and no math.Sin per sample.
package tone

import (
	"errors"
	"fmt"
	"math"
	"time"
)

const (
	// SampleRate is the G.711 sampling rate (ITU-T G.711; RFC 3551 §4.5.14: PCMU/PCMA 8000 Hz).
	SampleRate = 8000
	// FrameSamples is one 20 ms packet of samples, the packetisation SCCP phones use (docs/sccp.md §Media-messages).
	FrameSamples = SampleRate * 20 / 1000
)

// Tone describes a tone: up to two summed sine components and an on/off cadence.
type Tone struct {
	Name string
	// Freqs are the component frequencies in Hz; 0 means unused. They must be below 4000 Hz.
	Freqs [2]int
	// Level is the power of each component in dBm0 (0 dBm0 is a sine of peak ≈ 22767 on the 16-bit
	// scale, G.711's digital milliwatt being +3.17 dBm0 below full scale).
	Level float64
	// Cadence alternates on and off durations, starting with on; nil or empty means continuous.
	// Durations are rounded to whole samples.
	Cadence []time.Duration
}

// North American precise tone plan (ANSI T1.401 / Telcordia GR-506; "precise tones").
// The levels are the usual per-component values: dial -13 dBm0, ringback -19 dBm0, busy and
// reorder -24 dBm0.
var (
	Dial     = Tone{Name: "dial", Freqs: [2]int{350, 440}, Level: -13}
	Ringback = Tone{Name: "ringback", Freqs: [2]int{440, 480}, Level: -19,
		Cadence: []time.Duration{2 * time.Second, 4 * time.Second}}
	Busy = Tone{Name: "busy", Freqs: [2]int{480, 620}, Level: -24,
		Cadence: []time.Duration{500 * time.Millisecond, 500 * time.Millisecond}}
	// Reorder is also called congestion or fast busy.
	Reorder = Tone{Name: "reorder", Freqs: [2]int{480, 620}, Level: -24,
		Cadence: []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}}
)

// ErrUnknownDigit is returned by DTMF for a character that is not a DTMF key.
var ErrUnknownDigit = errors.New("tone: not a DTMF digit")

// dtmfRows and dtmfCols are the DTMF frequency groups (ITU-T Q.23; RFC 4733 §3.2 table 3).
var (
	dtmfRows = [4]int{697, 770, 852, 941}
	dtmfCols = [4]int{1209, 1336, 1477, 1633}
)

// dtmfKeys is the keypad layout: row r, column c.
const dtmfKeys = "123A456B789C*0#D"

// DTMF returns the continuous dual tone (RFC 4733 §3.2 table 3; event codes are in pkg/media/dtmf) for a keypad digit (0-9, *, #, A-D; lower case a-d too),
// at -10 dBm0 per component, a typical sender level.
func DTMF(digit byte) (Tone, error) {
	if digit >= 'a' && digit <= 'd' {
		digit -= 'a' - 'A'
	}
	for i := range len(dtmfKeys) {
		if dtmfKeys[i] == digit {
			return Tone{
				Name:  "dtmf-" + string(digit),
				Freqs: [2]int{dtmfRows[i/4], dtmfCols[i%4]},
				Level: -10,
			}, nil
		}
	}
	return Tone{}, fmt.Errorf("%w: %q", ErrUnknownDigit, digit)
}

// sineTable[k] = sin(2πk/SampleRate): one entry per phase step of an integer frequency.
var sineTable = func() (t [SampleRate]float32) {
	for k := range t {
		t[k] = float32(math.Sin(2 * math.Pi * float64(k) / SampleRate))
	}
	return t
}()

// Amplitude converts a level in dBm0 to a peak amplitude on the 16-bit linear scale.
func Amplitude(dBm0 float64) float64 {
	// G.711 full scale (±32767 here) is +3.17 dBm0 for a sine (ITU-T G.711 Table 5/6 digital
	// milliwatt), so a 0 dBm0 sine has peak 32767·10^(-3.17/20).
	return 32767 * math.Pow(10, (dBm0-3.17)/20)
}

// Generator produces a tone frame by frame. Consecutive ReadFrame calls continue the waveform and
// the cadence exactly where the previous call stopped. A Generator is not safe for concurrent use.
type Generator struct {
	freqs   [2]int
	phase   [2]int // n·f mod SampleRate for each component
	amp     float32
	cadence []int // alternating on/off lengths in samples
	period  int   // sum of cadence, 0 when continuous
	pos     int   // sample position within the cadence period
}

// Validate reports whether the tone can be generated.
func (t Tone) Validate() error {
	for _, f := range t.Freqs {
		if f < 0 || f >= SampleRate/2 {
			return fmt.Errorf("tone %q: frequency %d Hz outside 0-%d Hz", t.Name, f, SampleRate/2-1)
		}
	}
	if len(t.Cadence)%2 != 0 {
		return fmt.Errorf("tone %q: cadence needs on/off pairs, got %d durations", t.Name, len(t.Cadence))
	}
	for _, d := range t.Cadence {
		if d < 0 {
			return fmt.Errorf("tone %q: negative cadence duration %v", t.Name, d)
		}
	}
	return nil
}

// NewGenerator returns a generator positioned at the start of the tone's first "on" period.
func NewGenerator(t Tone) (*Generator, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{freqs: t.Freqs, amp: float32(Amplitude(t.Level))}
	for _, d := range t.Cadence {
		n := int((d*SampleRate + time.Second/2) / time.Second)
		g.cadence = append(g.cadence, n)
		g.period += n
	}
	if g.period == 0 {
		g.cadence = nil
	}
	return g, nil
}

// Reset rewinds the generator to the start of the tone.
func (g *Generator) Reset() {
	g.phase = [2]int{}
	g.pos = 0
}

// on reports whether the cadence is in an "on" segment at sample position pos.
func (g *Generator) on(pos int) bool {
	for i, n := range g.cadence {
		if pos < n {
			return i%2 == 0
		}
		pos -= n
	}
	return false
}

// ReadFrame fills dst with the next len(dst) samples (normally FrameSamples).
func (g *Generator) ReadFrame(dst []int16) {
	for i := range dst {
		var v float32
		if g.period == 0 || g.on(g.pos) {
			for c, f := range g.freqs {
				if f != 0 {
					v += sineTable[g.phase[c]]
				}
			}
			v *= g.amp
		}
		// The phase keeps running through "off" segments; each "on" segment then starts wherever
		// the oscillator is, as a free-running hardware tone source does.
		for c, f := range g.freqs {
			g.phase[c] += f
			if g.phase[c] >= SampleRate {
				g.phase[c] -= SampleRate
			}
		}
		if g.period != 0 {
			g.pos++
			if g.pos == g.period {
				g.pos = 0
			}
		}
		dst[i] = clamp16(v)
	}
}

func clamp16(v float32) int16 {
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}
