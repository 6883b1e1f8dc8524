package media

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

const (
	// framePeriod is the packetisation interval (docs/sccp.md §Media-messages: millisecondPacketSize 20).
	framePeriod = 20 * time.Millisecond
	// maxCatchUp is how many overdue frames a paced loop sends back to back after a stall
	// (a GC pause, a descheduled process). Beyond that it skips frames - advancing the RTP
	// timestamp but not the sequence number - rather than bursting a backlog at the phone,
	// whose jitter buffer would drop it anyway.
	maxCatchUp = 3
)

// pacer schedules frames on an absolute clock: frame n is due at start + n·period, so timer
// lateness never accumulates into drift, as it would with "sleep 20 ms after each send".
type pacer struct {
	start  time.Time
	period time.Duration
	n      int64 // frames released so far
	timer  *time.Timer
}

func newPacer(start time.Time, period time.Duration) *pacer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacer{start: start, period: period, timer: t}
}

// wait blocks until the next frame is due and returns the number of frames skipped because the
// loop fell more than maxCatchUp frames behind. It returns ctx.Err() when ctx ends.
func (p *pacer) wait(ctx context.Context) (skipped int64, err error) {
	due := p.start.Add(time.Duration(p.n) * p.period)
	if d := time.Until(due); d > 0 {
		p.timer.Reset(d)
		select {
		case <-ctx.Done():
			p.timer.Stop()
			return 0, ctx.Err()
		case <-p.timer.C:
		}
	} else if err := ctx.Err(); err != nil {
		return 0, err
	}
	// Frames due by now, beyond this one.
	behind := int64(time.Since(p.start)/p.period) - p.n
	if behind > maxCatchUp {
		skipped = behind - maxCatchUp
		p.n += skipped
	}
	p.n++
	return skipped, nil
}

func (p *pacer) stop() { p.timer.Stop() }

// Player plays a FrameSource through a Sender as a paced G.711 stream: one 160-sample packet
// every 20 ms. Start and Stop may be repeated (hold, resume); the stream keeps its SSRC and
// sequence numbering across them, and the first packet after each Start carries the marker bit.
type Player struct {
	sender *Sender
	codec  Codec

	mu     sync.Mutex // guards src, cancel and done
	src    FrameSource
	cancel context.CancelFunc // nil when stopped
	done   chan struct{}      // closed when the running loop returns
}

// NewPlayer returns a stopped player. codec must be PCMU or PCMA and match the sender's payload
// type.
func NewPlayer(sender *Sender, codec Codec, src FrameSource) (*Player, error) {
	if !codec.Valid() {
		return nil, ErrCodec
	}
	return &Player{sender: sender, codec: codec, src: src}, nil
}

// Sender is the player's RTP stream.
func (p *Player) Sender() *Sender { return p.sender }

// Start starts playing in a new goroutine that runs until Stop or until ctx ends.
func (p *Player) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		select {
		case <-p.done: // ended by its context; may restart
		default:
			return ErrRunning
		}
	}
	ctx, p.cancel = context.WithCancel(ctx)
	p.done = make(chan struct{})
	go p.run(ctx, p.src, p.done)
	return nil
}

// Stop stops playing and waits for the sending goroutine to exit. It is idempotent.
func (p *Player) Stop() {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.cancel, p.done = nil, nil
	p.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Running reports whether the sending goroutine is active.
func (p *Player) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// SetSource replaces the audio, for example ringback then music. It takes effect at the next
// Start; it returns ErrRunning while playing.
func (p *Player) SetSource(src FrameSource) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		select {
		case <-p.done:
		default:
			return ErrRunning
		}
	}
	p.src = src
	return nil
}

// Retarget sends the stream to a new address without restarting it (RFC 3550 continuity).
func (p *Player) Retarget(remote netip.AddrPort) { p.sender.SetRemote(remote) }

func (p *Player) run(ctx context.Context, src FrameSource, done chan struct{}) {
	defer close(done)
	var (
		pcm     [FrameSamples]int16
		payload [FrameSamples]byte
	)
	now := time.Now()
	p.sender.Resume(now)
	pc := newPacer(now, framePeriod)
	defer pc.stop()
	for {
		skipped, err := pc.wait(ctx)
		if err != nil {
			return
		}
		if skipped > 0 {
			p.sender.AdvanceTimestamp(uint32(skipped) * FrameSamples)
		}
		src.ReadFrame(pcm[:])
		// Write errors (no route, ICMP-induced ECONNREFUSED, full socket buffer) are transient
		// for UDP; they are counted in the sender's stats and the stream carries on.
		_ = p.sender.Send(p.codec.Encode(payload[:0], pcm[:]), FrameSamples)
	}
}
