package msg

import (
	"errors"
	"fmt"
)

// ErrMalformed is matched (errors.Is) by every payload decoding error. A
// session should log and skip such a message, not disconnect: phones keep
// sending and the next frame boundary is still known from the header
// (docs/sccp.md §Framing, §Checklist item 1).
var ErrMalformed = errors.New("sccp: malformed message")

// ErrFrameSize is matched (errors.Is) by *FrameSizeError.
var ErrFrameSize = errors.New("sccp: bad frame length")

// FrameSizeError reports a header length field outside [4, Max]. After it the
// byte stream cannot be trusted, so the connection must be closed.
type FrameSizeError struct {
	Length uint32 // the header's length field (bytes after the first 8)
	Max    int    // the configured limit
}

func (e *FrameSizeError) Error() string {
	if e.Length < 4 {
		return fmt.Sprintf("sccp: frame length %d shorter than the 4-byte message id", e.Length)
	}
	return fmt.Sprintf("sccp: frame length %d exceeds limit %d", e.Length, e.Max)
}

// Is makes errors.Is(err, ErrFrameSize) true.
func (e *FrameSizeError) Is(target error) bool { return target == ErrFrameSize }

// PayloadError says which message could not be decoded and why.
type PayloadError struct {
	ID     MessageID
	Len    int // payload length received
	Reason string
}

func (e *PayloadError) Error() string {
	return fmt.Sprintf("sccp: malformed %v (payload %d bytes): %s", e.ID, e.Len, e.Reason)
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *PayloadError) Is(target error) bool { return target == ErrMalformed }

func errShort(id MessageID, got, need int) error {
	return &PayloadError{ID: id, Len: got, Reason: fmt.Sprintf("need at least %d bytes", need)}
}

// need returns a PayloadError when p is shorter than n.
func need(id MessageID, p []byte, n int) error {
	if len(p) < n {
		return errShort(id, len(p), n)
	}
	return nil
}
