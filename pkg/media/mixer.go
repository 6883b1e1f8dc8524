package media

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// mixBacklog bounds what a mixer buffers per participant: 5 frames (100 ms). Audio beyond that
// is late (a sender that bursts, a stall) and the oldest samples are dropped, so the delay a
// participant hears stays bounded.
const mixBacklog = 5 * FrameSamples

// MixerStats counts one participant of a mixer.
type MixerStats struct {
	Received uint64 // G.711 packets taken into the mix
	Dropped  uint64 // packets not used: not RTP, another payload type, or the participant is off
	Sent     SenderStats
}

// mixParty is one participant: its socket, its stream back to it and the samples it sent that
// are not mixed yet.
type mixParty struct {
	conn   *PortConn
	sender *Sender
	codec  Codec

	mu       sync.Mutex // guards the fields below
	on       bool       // a remote is set: the participant is in the mix
	fifo     []int16    // decoded samples not yet mixed, at most mixBacklog
	received uint64
	dropped  uint64
}

// Mixer is a software conference bridge (CME's software ad hoc conference, docs/cme-behaviour.md
// §Conference): each participant has its own local RTP port, and every 20 ms each one is sent the
// sum of what the others sent, never its own audio. G.711 µ-law or A-law per participant is
// decoded to linear PCM, summed with clipping to 16 bits, and encoded again in the participant's
// codec (RFC 3551 §4.5.14). Each outgoing stream is a Sender of its own (its own SSRC, sequence
// and timestamp, RFC 3550 §5.1), paced on an absolute clock like Player. A participant whose
// remote is not set yet (or was cleared) neither hears nor is heard.
type Mixer struct {
	parties []*mixParty
}

// MixerSession is a running Mixer on the Server's ports.
type MixerSession struct {
	srv    *Server
	mix    *Mixer
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// AttachMixer opens a mixer with one participant per codec (a three-party conference passes
// three). Remotes are set later with SetRemote, once each phone's receive address is known.
func (s *Server) AttachMixer(codecs []Codec) (*MixerSession, error) {
	if len(codecs) < 2 {
		return nil, fmt.Errorf("media: a mixer needs 2 or more participants, got %d", len(codecs))
	}
	m := &Mixer{}
	closeAll := func() {
		for _, p := range m.parties {
			p.conn.Close()
		}
	}
	for _, c := range codecs {
		if !c.Valid() {
			closeAll()
			return nil, fmt.Errorf("%w: %v", ErrCodec, c)
		}
		conn, err := s.ports.Listen()
		if err != nil {
			closeAll()
			return nil, err
		}
		m.parties = append(m.parties, &mixParty{conn: conn, codec: c,
			sender: NewSender(conn, netip.AddrPort{}, c.PayloadType())})
	}
	ms := &MixerSession{srv: s, mix: m}
	if err := s.add(ms); err != nil {
		closeAll()
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	ms.cancel = cancel
	for _, p := range m.parties {
		ms.wg.Add(1)
		go func() {
			defer ms.wg.Done()
			if err := p.receive(ctx); err != nil {
				s.log.Warn("mixer receive ended", "local", p.conn.AddrPort(), "err", err)
			}
		}()
	}
	ms.wg.Add(1)
	go func() {
		defer ms.wg.Done()
		m.run(ctx)
	}()
	s.log.Debug("media session started", "kind", "mixer", "parties", len(codecs))
	return ms, nil
}

// Local is where participant i sends its audio.
func (ms *MixerSession) Local(i int) netip.AddrPort { return ms.mix.parties[i].conn.AddrPort() }

// SetRemote sends participant i's mix to remote and takes its audio into the mix; the zero
// AddrPort takes participant i out (on hold, gone) until set again.
func (ms *MixerSession) SetRemote(i int, remote netip.AddrPort) {
	p := ms.mix.parties[i]
	p.mu.Lock()
	was := p.on
	p.on = remote.IsValid()
	if !p.on {
		p.fifo = p.fifo[:0]
	}
	p.mu.Unlock()
	if remote.IsValid() {
		p.sender.SetRemote(remote)
		if !was {
			p.sender.Resume(time.Now())
		}
	}
}

// Stats returns participant i's counters.
func (ms *MixerSession) Stats(i int) MixerStats {
	p := ms.mix.parties[i]
	p.mu.Lock()
	st := MixerStats{Received: p.received, Dropped: p.dropped}
	p.mu.Unlock()
	st.Sent = p.sender.Stats()
	return st
}

// Close stops the mixer and releases its ports. It is idempotent.
func (ms *MixerSession) Close() error {
	var err error
	ms.once.Do(func() {
		ms.cancel()
		for _, p := range ms.mix.parties {
			err = errors.Join(err, p.conn.Close())
		}
		ms.wg.Wait()
		ms.srv.remove(ms)
	})
	return err
}

// receive decodes what the participant sends into its FIFO until ctx ends or the socket closes.
// RFC 4733 events and other payload types are not audio and are not mixed.
func (p *mixParty) receive(ctx context.Context) error {
	defer serveUntil(ctx, p.conn)()
	var (
		buf [maxPacket]byte
		pkt rtp.Packet
		pcm []int16
	)
	for {
		n, _, err := readFrom(p.conn, buf[:])
		if err != nil {
			if endOfServe(ctx, err) {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return err
		}
		ok := isRTP(buf[:n]) && pkt.Unmarshal(buf[:n]) == nil
		var codec Codec
		if ok {
			codec = Codec(pkt.PayloadType)
			ok = codec.Valid()
		}
		if ok {
			pcm = codec.Decode(pcm[:0], pkt.Payload)
		}
		p.mu.Lock()
		if !ok || !p.on {
			p.dropped++
			p.mu.Unlock()
			continue
		}
		p.received++
		p.fifo = append(p.fifo, pcm...)
		if over := len(p.fifo) - mixBacklog; over > 0 {
			p.fifo = append(p.fifo[:0], p.fifo[over:]...)
		}
		p.mu.Unlock()
	}
}

// take moves one frame of the participant's audio into dst (silence where it sent none) and
// reports whether the participant is in the mix.
func (p *mixParty) take(dst []int16) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := copy(dst, p.fifo)
	clear(dst[n:])
	p.fifo = append(p.fifo[:0], p.fifo[n:]...)
	return p.on
}

// run is the mixing clock: every 20 ms one frame from each participant, and to each the clipped
// sum of the others.
func (m *Mixer) run(ctx context.Context) {
	n := len(m.parties)
	in := make([][FrameSamples]int16, n)
	on := make([]bool, n)
	var (
		sum     [FrameSamples]int32
		out     [FrameSamples]int16
		payload [FrameSamples]byte
	)
	pc := newPacer(time.Now(), framePeriod)
	defer pc.stop()
	for {
		skipped, err := pc.wait(ctx)
		if err != nil {
			return
		}
		for i, p := range m.parties {
			on[i] = p.take(in[i][:])
			if skipped > 0 {
				p.sender.AdvanceTimestamp(uint32(skipped) * FrameSamples)
			}
		}
		clear(sum[:])
		for i := range m.parties {
			if on[i] {
				for k, v := range in[i] {
					sum[k] += int32(v)
				}
			}
		}
		for i, p := range m.parties {
			if !on[i] {
				continue
			}
			for k := range out {
				out[k] = clip16(sum[k] - int32(in[i][k]))
			}
			// UDP write errors are transient; the sender counts them.
			_ = p.sender.Send(p.codec.Encode(payload[:0], out[:]), FrameSamples)
		}
	}
}

// clip16 saturates a sum of 16-bit samples to 16 bits.
func clip16(v int32) int16 {
	return int16(max(-32768, min(32767, v)))
}
