package media

import "errors"

var (
	// ErrNoPorts is returned when every RTP port in the allocator's range is in use.
	ErrNoPorts = errors.New("media: no free RTP port in range")
	// ErrClosed is returned by operations on a closed Server, Session or Player.
	ErrClosed = errors.New("media: closed")
	// ErrCodec is returned for a codec the engine cannot encode.
	ErrCodec = errors.New("media: unsupported codec")
	// ErrRunning is returned by Player.Start when the player is already playing.
	ErrRunning = errors.New("media: already running")
)
