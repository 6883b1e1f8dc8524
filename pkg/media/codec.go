// Package media is cmed's RTP media engine: music on hold, tones, the echo test and an RTP relay,
// streamed with pion/rtp over UDP sockets the caller (or the Server's PortAllocator) provides.
//
// Everything here is G.711 at 8 kHz in 20 ms packets, the packetisation SCCP phones are asked for
// in OpenReceiveChannel/StartMediaTransmission (docs/sccp.md §Media-messages, §Codecs) and the RTP/AVP default
// (RFC 3551 §4.5.14: PCMU is static payload type 0, PCMA 8; 160 octets per 20 ms).
package media

import (
	"fmt"

	"github.com/pion/rtp"

	"github.com/cmed-project/cmed/pkg/media/g711"
	"github.com/cmed-project/cmed/pkg/media/moh"
	"github.com/cmed-project/cmed/pkg/media/tone"
)

var (
	_ FrameSource = (*tone.Generator)(nil)
	_ FrameSource = (*moh.Reader)(nil)
)

const (
	// SampleRate is the G.711 RTP clock rate (RFC 3551 §4.5.14).
	SampleRate = tone.SampleRate
	// FrameSamples is the number of samples (and G.711 octets, and RTP timestamp units) in one
	// 20 ms packet.
	FrameSamples = tone.FrameSamples
)

// Codec is an RTP/AVP audio codec, identified by its static payload type.
type Codec uint8

const (
	// PCMU is G.711 µ-law, RTP payload type 0; SCCP compressionType 4 (docs/sccp.md §Codecs).
	PCMU Codec = rtp.PayloadTypePCMU
	// PCMA is G.711 A-law, RTP payload type 8; SCCP compressionType 2.
	PCMA Codec = rtp.PayloadTypePCMA
)

// PayloadType is the RTP payload type number.
func (c Codec) PayloadType() uint8 { return uint8(c) }

func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	}
	return fmt.Sprintf("Codec(%d)", uint8(c))
}

// Valid reports whether the engine can encode c.
func (c Codec) Valid() bool { return c == PCMU || c == PCMA }

// Encode appends the G.711 encoding of pcm to dst.
func (c Codec) Encode(dst []byte, pcm []int16) []byte {
	if c == PCMA {
		return g711.AppendAlaw(dst, pcm)
	}
	return g711.AppendUlaw(dst, pcm)
}

// Decode appends the linear PCM of a G.711 payload to dst.
func (c Codec) Decode(dst []int16, payload []byte) []int16 {
	if c == PCMA {
		return g711.AppendAlawPCM(dst, payload)
	}
	return g711.AppendUlawPCM(dst, payload)
}

// FrameSource yields audio in frames of 16-bit linear PCM at 8 kHz. ReadFrame fills all of dst
// (normally FrameSamples) and never fails: sources loop (music on hold) or run for ever (tones).
// tone.Generator and moh.Reader implement it. A FrameSource is used by one goroutine at a time.
type FrameSource interface {
	ReadFrame(dst []int16)
}
