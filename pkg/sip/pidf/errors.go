package pidf

import "errors"

// MaxBodySize bounds what the decoders accept. Real BLF documents are well
// under 4 KiB; a larger body is either an attack or a resource list we do not
// support (RFC 4662 multipart is out of scope).
const MaxBodySize = 64 << 10

// Limits applied while decoding so that hostile input cannot make the decoder
// do unbounded work.
const (
	maxTokens   = 8192
	maxDepth    = 32
	maxDialogs  = 64
	maxTextSize = 1024
)

var (
	// ErrTooLarge is returned for bodies over MaxBodySize or documents over
	// the internal element limits.
	ErrTooLarge = errors.New("pidf: document too large")
	// ErrMalformed wraps XML syntax errors.
	ErrMalformed = errors.New("pidf: malformed XML")
	// ErrNotPIDF is returned when the root element is not <presence>.
	ErrNotPIDF = errors.New("pidf: root element is not presence")
	// ErrNotDialogInfo is returned when the root element is not <dialog-info>.
	ErrNotDialogInfo = errors.New("pidf: root element is not dialog-info")
	// ErrContentType is returned by AppendBody for a type it cannot produce.
	ErrContentType = errors.New("pidf: unsupported content type")
)
