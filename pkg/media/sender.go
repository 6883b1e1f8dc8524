package media

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// maxPacket bounds what a Sender sends: an RTP header plus a payload that fits an Ethernet MTU.
const maxPacket = 1500

// addrPortWriter is the allocation-free write of *net.UDPConn (and PortConn).
type addrPortWriter interface {
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// SenderStats counts what a Sender sent.
type SenderStats struct {
	Packets     uint64
	Octets      uint64 // payload octets, as RTCP SR counts them (RFC 3550 §6.4.1)
	WriteErrors uint64
}

// Sender writes one RTP stream (one SSRC) to a remote address: it owns the header state and
// keeps RFC 3550 continuity: the SSRC, initial sequence number and initial timestamp are random
// (RFC 3550 §5.1, §8), the sequence number increases by one per packet and never resets, and the
// timestamp advances with the sampling clock. It is safe for concurrent use; normally one
// goroutine sends while others retarget it.
type Sender struct {
	conn net.PacketConn
	fast addrPortWriter // conn's allocation-free write, if it has one
	pt   uint8          // payload type of Send

	mu       sync.Mutex // guards every field below
	remote   netip.AddrPort
	hdr      rtp.Header // the next packet's header
	marker   bool       // set the marker bit on the next packet
	sent     bool       // at least one packet sent
	lastTS   uint32     // timestamp of the last packet sent
	lastTime time.Time  // when it was sent
	stats    SenderStats
	buf      [maxPacket]byte
}

// NewSender returns a sender of payload type pt from conn to remote. The first packet carries
// the marker bit, as the first packet of a talkspurt does (RFC 3551 §4.1).
func NewSender(conn net.PacketConn, remote netip.AddrPort, pt uint8) *Sender {
	s := &Sender{
		conn:   conn,
		pt:     pt & 0x7F,
		remote: remote,
		marker: true,
		hdr: rtp.Header{
			Version:        2,
			PayloadType:    pt,
			SSRC:           rand.Uint32(),
			SequenceNumber: uint16(rand.Uint32()),
			Timestamp:      rand.Uint32(),
		},
	}
	s.fast, _ = conn.(addrPortWriter)
	return s
}

// SSRC is the stream's synchronisation source identifier.
func (s *Sender) SSRC() uint32 { return s.hdr.SSRC } // immutable after NewSender

// Remote is the current destination.
func (s *Sender) Remote() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remote
}

// SetRemote changes the destination, for instance when a phone's media address changes; the
// stream continues with the same SSRC, sequence and timestamp.
func (s *Sender) SetRemote(remote netip.AddrPort) {
	s.mu.Lock()
	s.remote = remote
	s.mu.Unlock()
}

// Stats returns the counters so far.
func (s *Sender) Stats() SenderStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Send sends payload as one packet of the sender's payload type, then advances the timestamp by
// samples (the packet's duration in clock units: 160 for 20 ms of G.711).
func (s *Sender) Send(payload []byte, samples uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.writeLocked(s.pt, false, payload)
	s.hdr.Timestamp += samples
	return err
}

// WritePacket sends payload with the current timestamp and the given payload type and marker,
// without advancing the timestamp (see AdvanceTimestamp). The echo test uses it to reflect
// whatever payload type it received, including RFC 4733 events that repeat a timestamp.
func (s *Sender) WritePacket(pt uint8, marker bool, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeLocked(pt, marker, payload)
}

// AdvanceTimestamp moves the timestamp on by samples clock units without sending, for frames
// that were skipped (RFC 3550 §5.1: the timestamp keeps running during silence).
func (s *Sender) AdvanceTimestamp(samples uint32) {
	s.mu.Lock()
	s.hdr.Timestamp += samples
	s.mu.Unlock()
}

// Resume prepares the stream to start again after a pause (hold/resume, a stopped Player): the
// next packet carries the marker bit and the timestamp jumps ahead by the wall-clock time since
// the last packet, so a receiver sees the gap as elapsed time rather than as a clock jump back
// (RFC 3550 §5.1; RFC 3551 §4.1 marker on the first packet after silence). The sequence number
// continues.
func (s *Sender) Resume(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marker = true
	if !s.sent {
		return
	}
	elapsed := now.Sub(s.lastTime)
	if elapsed <= 0 {
		return
	}
	// Cap the jump at a day so the arithmetic stays in range; any gap longer than the 32-bit
	// timestamp's ~6 days wrap is meaningless anyway.
	elapsed = min(elapsed, 24*time.Hour)
	ts := s.lastTS + uint32(elapsed*SampleRate/time.Second)
	if int32(ts-s.hdr.Timestamp) > 0 {
		s.hdr.Timestamp = ts
	}
}

func (s *Sender) writeLocked(pt uint8, marker bool, payload []byte) error {
	s.hdr.PayloadType = pt & 0x7F
	s.hdr.Marker = marker || s.marker
	n, err := s.hdr.MarshalTo(s.buf[:])
	if err != nil {
		return err
	}
	if len(payload) > len(s.buf)-n {
		return fmt.Errorf("media: RTP payload of %d bytes exceeds %d", len(payload), len(s.buf)-n)
	}
	n += copy(s.buf[n:], payload)
	if s.fast != nil {
		_, err = s.fast.WriteToUDPAddrPort(s.buf[:n], s.remote)
	} else {
		_, err = s.conn.WriteTo(s.buf[:n], net.UDPAddrFromAddrPort(s.remote))
	}
	// The sequence number advances even when the write fails: the packet is lost on the
	// network as far as the receiver can tell, which is what the sequence number is for.
	s.hdr.SequenceNumber++
	s.marker = false
	s.sent = true
	s.lastTS = s.hdr.Timestamp
	s.lastTime = time.Now()
	if err != nil {
		s.stats.WriteErrors++
		return err
	}
	s.stats.Packets++
	s.stats.Octets += uint64(len(payload))
	return nil
}
