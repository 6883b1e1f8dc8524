package moh

import (
	"encoding/binary"
	"fmt"
)

// Sun/NeXT .au encodings (the audio_filehdr of Sun's audio(7I) / NeXT soundfile; all header
// fields are 32-bit big-endian, and so are the multi-byte samples).
const (
	auMuLaw8   = 1
	auLinear8  = 2
	auLinear16 = 3
	auLinear24 = 4
	auLinear32 = 5
	auFloat    = 6
	auDouble   = 7
	auALaw8    = 27
	auHeader   = 24
	auUnknown  = 0xFFFFFFFF // data size "unknown": read to the end of the file
)

// DecodeAU decodes a Sun .au file (µ-law, A-law, 8/16/24/32-bit linear, float or double).
func DecodeAU(name string, b []byte) (*Clip, error) {
	if len(b) < auHeader || string(b[0:4]) != ".snd" {
		return nil, fmt.Errorf("%w: not a Sun .au file", ErrMalformed)
	}
	be := binary.BigEndian
	offset := uint64(be.Uint32(b[4:8]))
	size := uint64(be.Uint32(b[8:12]))
	enc := be.Uint32(b[12:16])
	f := format{
		rate:      int(be.Uint32(b[16:20])),
		channels:  int(be.Uint32(b[20:24])),
		bigEndian: true,
	}
	switch enc {
	case auMuLaw8:
		f.enc = encUlaw
	case auALaw8:
		f.enc = encAlaw
	case auLinear8:
		f.enc = encPCM8Signed
	case auLinear16:
		f.enc = encPCM16
	case auLinear24:
		f.enc = encPCM24
	case auLinear32:
		f.enc = encPCM32
	case auFloat:
		f.enc = encFloat32
	case auDouble:
		f.enc = encFloat64
	default:
		return nil, fmt.Errorf("%w: .au encoding %d (want 1 µ-law, 27 A-law, 2-5 linear, 6-7 float)", ErrUnsupported, enc)
	}
	if offset < auHeader || offset > uint64(len(b)) {
		return nil, fmt.Errorf("%w: .au data offset %d outside the %d-byte file", ErrMalformed, offset, len(b))
	}
	data := b[offset:]
	if size != auUnknown && size < uint64(len(data)) {
		data = data[:size]
	}
	return toClip(name, data, f)
}
