package moh

import (
	"errors"
	"testing"
)

func checkDecoded(t *testing.T, c *Clip, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) &&
			!errors.Is(err, ErrEmpty) && !errors.Is(err, ErrTooLong) {
			t.Fatalf("error outside the documented set: %v", err)
		}
		if c != nil {
			t.Fatal("non-nil clip with an error")
		}
		return
	}
	if c.Len() == 0 || c.Len() > MaxSamples {
		t.Fatalf("clip of %d samples", c.Len())
	}
	// The clip must be playable.
	r := c.NewReader()
	frame := make([]int16, 160)
	r.ReadFrame(frame)
	r.ReadFrame(frame)
}

func FuzzDecodeWAV(f *testing.F) {
	f.Add(wavBytes(wavePCM, 1, 8000, 16, pcm16LE(ramp(16)), false))
	f.Add(wavBytes(wavePCM, 2, 44100, 16, pcm16LE(ramp(32)), true))
	f.Add(wavBytes(waveMuLaw, 1, 8000, 8, []byte{1, 2, 3, 4}, false))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeWAV("fuzz.wav", b)
		checkDecoded(t, c, err)
	})
}

func FuzzDecodeAU(f *testing.F) {
	f.Add(auBytes(auMuLaw8, 8000, 1, []byte{1, 2, 3, 4}))
	f.Add(auBytes(auLinear16, 16000, 2, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add([]byte(".snd"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeAU("fuzz.au", b)
		checkDecoded(t, c, err)
	})
}
