package tone

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

// goertzel returns the power of frequency f in x, normalised so a full-scale sine of amplitude A
// gives about (A/2)^2.
func goertzel(x []int16, f float64) float64 {
	w := 2 * math.Pi * f / SampleRate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	n := float64(len(x))
	return p / (n * n)
}

func generate(t *testing.T, tn Tone, n int) []int16 {
	t.Helper()
	g, err := NewGenerator(tn)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, n)
	for i := 0; i < n; i += FrameSamples {
		g.ReadFrame(out[i:min(i+FrameSamples, n)])
	}
	return out
}

func TestToneFrequencies(t *testing.T) {
	tests := []struct {
		tone    Tone
		want    []float64
		notWant []float64
	}{
		{Dial, []float64{350, 440}, []float64{480, 620, 1000}},
		{Ringback, []float64{440, 480}, []float64{350, 620}},
		{Busy, []float64{480, 620}, []float64{350, 440}},
		{Reorder, []float64{480, 620}, []float64{350, 440}},
	}
	for _, tc := range tests {
		t.Run(tc.tone.Name, func(t *testing.T) {
			// 200 ms of the first "on" segment (every cadence here is on for at least 250 ms).
			x := generate(t, tc.tone, 1600)
			amp := Amplitude(tc.tone.Level)
			expect := amp * amp / 4
			for _, f := range tc.want {
				if p := goertzel(x, f); p < expect*0.8 || p > expect*1.2 {
					t.Errorf("power at %v Hz = %.0f, want about %.0f", f, p, expect)
				}
			}
			for _, f := range tc.notWant {
				if p := goertzel(x, f); p > expect*0.01 {
					t.Errorf("power at %v Hz = %.0f, want near 0 (component power %.0f)", f, p, expect)
				}
			}
		})
	}
}

// onOffPattern returns, per 10 ms block, whether the block carries signal.
func onOffPattern(x []int16) []bool {
	var out []bool
	for i := 0; i+80 <= len(x); i += 80 {
		on := slices.ContainsFunc(x[i:i+80], func(v int16) bool { return v != 0 })
		out = append(out, on)
	}
	return out
}

func TestCadence(t *testing.T) {
	tests := []struct {
		tone    Tone
		on, off int // in 10 ms blocks
	}{
		{Ringback, 200, 400},
		{Busy, 50, 50},
		{Reorder, 25, 25},
	}
	for _, tc := range tests {
		t.Run(tc.tone.Name, func(t *testing.T) {
			period := tc.on + tc.off
			x := generate(t, tc.tone, 2*period*80) // two full periods
			got := onOffPattern(x)
			for i, on := range got {
				want := i%period < tc.on
				if on != want {
					t.Fatalf("block %d (%d ms): on=%v, want %v", i, i*10, on, want)
				}
			}
		})
	}
	x := generate(t, Dial, 8000*3)
	if slices.Contains(onOffPattern(x), false) {
		t.Error("dial tone has a silent 10 ms block; want continuous")
	}
}

func TestPhaseContinuity(t *testing.T) {
	// Reading frame by frame must give exactly the same waveform as one long read.
	for _, tn := range []Tone{Dial, Ringback, Busy, Reorder} {
		whole := generate(t, tn, 48000)
		g, _ := NewGenerator(tn)
		one := make([]int16, 48000)
		g.ReadFrame(one)
		if !slices.Equal(whole, one) {
			t.Errorf("%s: frame-by-frame output differs from a single read", tn.Name)
		}
		// The sample-to-sample step of a sum of two sines below 1 kHz is bounded; a phase
		// discontinuity at a frame boundary would exceed it.
		amp := Amplitude(tn.Level)
		maxStep := amp * 2 * math.Pi * float64(tn.Freqs[0]+tn.Freqs[1]) / SampleRate * 1.05
		for i := FrameSamples; i < len(whole); i += FrameSamples {
			if whole[i] == 0 || whole[i-1] == 0 {
				continue // cadence edge
			}
			if d := math.Abs(float64(whole[i]) - float64(whole[i-1])); d > maxStep {
				t.Fatalf("%s: step %v at frame boundary %d exceeds %v", tn.Name, d, i, maxStep)
			}
		}
	}
	// Reset rewinds.
	g, _ := NewGenerator(Busy)
	a := make([]int16, 320)
	b := make([]int16, 320)
	g.ReadFrame(a)
	g.ReadFrame(b)
	g.Reset()
	g.ReadFrame(b)
	if !slices.Equal(a, b) {
		t.Error("Reset did not rewind the generator")
	}
}

func TestDTMF(t *testing.T) {
	want := map[byte][2]int{
		'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477}, 'A': {697, 1633},
		'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477}, 'B': {770, 1633},
		'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477}, 'C': {852, 1633},
		'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477}, 'D': {941, 1633},
		'd': {941, 1633},
	}
	for d, f := range want {
		tn, err := DTMF(d)
		if err != nil {
			t.Fatalf("DTMF(%q): %v", d, err)
		}
		if tn.Freqs != f {
			t.Errorf("DTMF(%q) = %v, want %v", d, tn.Freqs, f)
		}
		x := generate(t, tn, 800)
		amp := Amplitude(tn.Level)
		for _, hz := range f {
			if p := goertzel(x, float64(hz)); p < amp*amp/4*0.8 {
				t.Errorf("DTMF %q: weak %d Hz component (%.0f)", d, hz, p)
			}
		}
	}
	for _, d := range []byte{'E', 'x', ' ', 0} {
		if _, err := DTMF(d); !errors.Is(err, ErrUnknownDigit) {
			t.Errorf("DTMF(%q) error = %v, want ErrUnknownDigit", d, err)
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []Tone{
		{Name: "nyquist", Freqs: [2]int{4000, 0}},
		{Name: "negative", Freqs: [2]int{-1, 0}},
		{Name: "odd cadence", Freqs: [2]int{440, 0}, Cadence: []time.Duration{time.Second}},
		{Name: "negative cadence", Freqs: [2]int{440, 0}, Cadence: []time.Duration{time.Second, -time.Second}},
	}
	for _, tn := range bad {
		if _, err := NewGenerator(tn); err == nil {
			t.Errorf("NewGenerator(%s) succeeded, want error", tn.Name)
		}
	}
}

func TestAmplitude(t *testing.T) {
	if a := Amplitude(3.17); math.Abs(a-32767) > 1 {
		t.Errorf("Amplitude(+3.17 dBm0) = %v, want full scale", a)
	}
	if a := Amplitude(-13); math.Abs(a-5093) > 5 {
		t.Errorf("Amplitude(-13 dBm0) = %v, want about 5093", a)
	}
}

func BenchmarkGeneratorFrame(b *testing.B) {
	g, _ := NewGenerator(Ringback)
	frame := make([]int16, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		g.ReadFrame(frame)
	}
}
