package tftp

import "errors"

// ErrNotFound is returned by a Handler for a file it does not serve; the
// server answers TFTP error 1 "File not found" (RFC 1350 Appendix). Handlers
// may also return an error wrapping fs.ErrNotExist.
var ErrNotFound = errors.New("tftp: file not found")

// ErrAccessViolation is returned by a Handler that refuses a name (outside
// its root, not a regular file); the server answers TFTP error 2.
var ErrAccessViolation = errors.New("tftp: access violation")

// Packet codec errors.
var (
	errShortPacket        = errors.New("tftp: packet too short")
	errPacketTooLarge     = errors.New("tftp: packet too large")
	errUnknownOpcode      = errors.New("tftp: unknown opcode")
	errWrongOpcode        = errors.New("tftp: wrong opcode for packet type")
	errUnterminatedString = errors.New("tftp: string not NUL-terminated")
	errEmptyField         = errors.New("tftp: empty filename or mode")
	errOddOptions         = errors.New("tftp: option without value")
	errEmptyOptionName    = errors.New("tftp: empty option name")
	errNULInString        = errors.New("tftp: NUL byte inside string")
	errBufferTooSmall     = errors.New("tftp: buffer too small")
	errTrailingBytes      = errors.New("tftp: trailing bytes after packet")
)
