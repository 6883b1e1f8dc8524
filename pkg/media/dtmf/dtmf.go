// Package dtmf encodes and decodes RFC 4733 telephone-event RTP payloads (DTMF digits sent as
// named events, SIP's "rtp-nte" and SCCP's RFC2833PayloadType 101, docs/sccp.md §Media-messages), in pion/rtp's
// Marshal/Unmarshal shape. It is pure: no I/O.
package dtmf

import (
	"errors"
	"fmt"
)

// PayloadSize is the size of one event payload (RFC 4733 §2.3).
const PayloadSize = 4

// Event is one RFC 4733 §2.3 telephone-event payload:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Event struct {
	// Code is the event: 0-9, * = 10, # = 11, A-D = 12-15 for DTMF (RFC 4733 §3.2).
	Code uint8
	// End marks the final packets of the event (E bit).
	End bool
	// Volume is the power level in -dBm0, 0-63 (RFC 4733 §2.5.2.2).
	Volume uint8
	// Duration is the event's duration so far, in RTP timestamp units (RFC 4733 §2.5.2.3).
	Duration uint16
}

var (
	errShort  = errors.New("dtmf: payload shorter than 4 bytes")
	errVolume = errors.New("dtmf: volume above 63")
	// ErrNotDigit is returned by Digit and EventForDigit for a code or character that is not a
	// DTMF key.
	ErrNotDigit = errors.New("dtmf: not a DTMF key")
)

// MarshalSize is the encoded size.
func (e Event) MarshalSize() int { return PayloadSize }

// MarshalTo writes the payload into buf.
func (e Event) MarshalTo(buf []byte) (int, error) {
	if len(buf) < PayloadSize {
		return 0, errShort
	}
	if e.Volume > 63 {
		return 0, errVolume
	}
	buf[0] = e.Code
	// The R bit is reserved: sent as zero, ignored on receipt (RFC 4733 §2.3).
	buf[1] = e.Volume
	if e.End {
		buf[1] |= 0x80
	}
	buf[2] = byte(e.Duration >> 8)
	buf[3] = byte(e.Duration)
	return PayloadSize, nil
}

// Marshal returns the payload.
func (e Event) Marshal() ([]byte, error) {
	buf := make([]byte, PayloadSize)
	if _, err := e.MarshalTo(buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// Unmarshal decodes the first event of payload. Extra bytes (further events of RFC 4733 §2.5.1.5
// redundancy, or padding) are ignored.
func (e *Event) Unmarshal(payload []byte) error {
	if len(payload) < PayloadSize {
		return errShort
	}
	*e = Event{
		Code:     payload[0],
		End:      payload[1]&0x80 != 0,
		Volume:   payload[1] & 0x3F,
		Duration: uint16(payload[2])<<8 | uint16(payload[3]),
	}
	return nil
}

const keys = "0123456789*#ABCD"

// Digit returns the keypad character of a DTMF event code.
func Digit(code uint8) (byte, error) {
	if int(code) < len(keys) {
		return keys[code], nil
	}
	return 0, fmt.Errorf("%w: event %d", ErrNotDigit, code)
}

// EventForDigit returns the event code of a keypad character (0-9, *, #, A-D, a-d).
func EventForDigit(d byte) (uint8, error) {
	if d >= 'a' && d <= 'd' {
		d -= 'a' - 'A'
	}
	for i := range len(keys) {
		if keys[i] == d {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrNotDigit, d)
}
