package moh

import (
	"encoding/binary"
	"fmt"
)

// WAVE format tags (RFC 2361 appendix A; Microsoft "Multimedia Programming Interface and Data
// Specifications 1.0", RIFF WAVE fmt chunk).
const (
	wavePCM        = 0x0001
	waveIEEEFloat  = 0x0003
	waveALaw       = 0x0006
	waveMuLaw      = 0x0007
	waveExtensible = 0xFFFE
)

// DecodeWAV decodes a RIFF WAVE file: PCM 8/16/24/32-bit, IEEE float 32/64-bit, A-law or µ-law
// 8-bit, plain or WAVE_FORMAT_EXTENSIBLE, any channel count up to 16 and any rate from 1 to
// 384 kHz. Channels are averaged to mono and the rate converted to 8 kHz.
//
// It is lenient where real writers are sloppy: the RIFF size is not trusted, and a data chunk
// whose declared size overruns the file (streaming writers leave 0 or 0xFFFFFFFF) is read to the
// end of the file.
func DecodeWAV(name string, b []byte) (*Clip, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF WAVE file", ErrMalformed)
	}
	var (
		f       format
		haveFmt bool
	)
	rest := b[12:]
	for len(rest) >= 8 {
		id := string(rest[0:4])
		size := uint64(binary.LittleEndian.Uint32(rest[4:8]))
		body := rest[8:]
		if id == "data" {
			if !haveFmt {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrMalformed)
			}
			if size < uint64(len(body)) {
				body = body[:size]
			}
			return toClip(name, body, f)
		}
		if size > uint64(len(body)) {
			return nil, fmt.Errorf("%w: %q chunk of %d bytes overruns the file", ErrMalformed, id, size)
		}
		body = body[:size]
		if id == "fmt " {
			var err error
			if f, err = parseFmtChunk(body); err != nil {
				return nil, err
			}
			haveFmt = true
		}
		// Chunks are padded to an even length (RIFF specification).
		next := 8 + size + size&1
		if next > uint64(len(rest)) {
			next = uint64(len(rest))
		}
		rest = rest[next:]
	}
	if !haveFmt {
		return nil, fmt.Errorf("%w: no fmt chunk", ErrMalformed)
	}
	return nil, fmt.Errorf("%w: no data chunk", ErrMalformed)
}

func parseFmtChunk(c []byte) (format, error) {
	if len(c) < 16 {
		return format{}, fmt.Errorf("%w: fmt chunk of %d bytes (want at least 16)", ErrMalformed, len(c))
	}
	tag := binary.LittleEndian.Uint16(c[0:2])
	f := format{
		channels: int(binary.LittleEndian.Uint16(c[2:4])),
		rate:     int(binary.LittleEndian.Uint32(c[4:8])),
	}
	blockAlign := int(binary.LittleEndian.Uint16(c[12:14]))
	bits := int(binary.LittleEndian.Uint16(c[14:16]))
	if tag == waveExtensible {
		// WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4) then the SubFormat GUID,
		// whose first two bytes are the real format tag (KSDATAFORMAT_SUBTYPE_PCM etc.).
		if len(c) < 40 {
			return format{}, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes (want 40)", ErrMalformed, len(c))
		}
		tag = binary.LittleEndian.Uint16(c[24:26])
	}
	switch {
	case tag == wavePCM && bits == 8:
		f.enc = encPCM8Unsigned
	case tag == wavePCM && bits == 16:
		f.enc = encPCM16
	case tag == wavePCM && bits == 24:
		f.enc = encPCM24
	case tag == wavePCM && bits == 32:
		f.enc = encPCM32
	case tag == waveIEEEFloat && bits == 32:
		f.enc = encFloat32
	case tag == waveIEEEFloat && bits == 64:
		f.enc = encFloat64
	case tag == waveMuLaw && bits == 8:
		f.enc = encUlaw
	case tag == waveALaw && bits == 8:
		f.enc = encAlaw
	default:
		return format{}, fmt.Errorf("%w: WAV format tag %#04x with %d bits per sample "+
			"(want PCM 8/16/24/32-bit, float 32/64-bit, or 8-bit A-law/µ-law)", ErrUnsupported, tag, bits)
	}
	if err := f.validate(); err != nil {
		return format{}, err
	}
	if want := f.enc.bytesPerSample() * f.channels; blockAlign != want {
		return format{}, fmt.Errorf("%w: block align %d, want %d for %d channels of %d bits",
			ErrMalformed, blockAlign, want, f.channels, bits)
	}
	return f, nil
}
