package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// addrPortReader is the allocation-free read of *net.UDPConn (and PortConn).
type addrPortReader interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
}

// readFrom reads one datagram, using the allocation-free path when conn has it.
func readFrom(conn net.PacketConn, buf []byte) (int, netip.AddrPort, error) {
	if r, ok := conn.(addrPortReader); ok {
		n, from, err := r.ReadFromUDPAddrPort(buf)
		return n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), err
	}
	n, addr, err := conn.ReadFrom(buf)
	if err != nil {
		return n, netip.AddrPort{}, err
	}
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return n, netip.AddrPort{}, nil
	}
	from := ua.AddrPort()
	return n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), nil
}

// serveUntil arranges for reads on conn to fail once ctx ends, by setting a read deadline in
// the past; it returns the function that cancels the arrangement.
func serveUntil(ctx context.Context, conn net.PacketConn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
}

// endOfServe reports whether a read error means "stop serving, cleanly": ctx ended or conn was
// closed.
func endOfServe(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, net.ErrClosed)
}

// isRTP does the cheap RFC 3550 §5.1 validity check a relay or echo needs: a full fixed header
// and version 2. (RTCP shares the version bits; it arrives on the odd port, which we do not bind.)
func isRTP(b []byte) bool { return len(b) >= 12 && b[0]>>6 == 2 }

// EchoStats counts an Echo's traffic.
type EchoStats struct {
	Received, Dropped uint64
	Sent              SenderStats
}

// Echo is the echo test: it receives RTP on a socket and sends each packet straight back, to
// its source or to a fixed target, as a new RTP stream of its own: its own SSRC and sequence
// numbers, a timestamp that advances by the same amounts as the incoming one, and the incoming
// payload type and payload unchanged (so RFC 4733 telephone-events echo too).
type Echo struct {
	conn   net.PacketConn
	sender *Sender

	mu       sync.Mutex // guards target and stats
	target   netip.AddrPort
	received uint64
	dropped  uint64

	// Owned by the Serve goroutine.
	haveIn bool
	inSSRC uint32
	inTS   uint32
}

// NewEcho returns an echo on conn. codec is the negotiated codec, the echo stream's nominal
// payload type; each echoed packet carries the payload type it arrived with.
func NewEcho(conn net.PacketConn, codec Codec) *Echo {
	return &Echo{conn: conn, sender: NewSender(conn, netip.AddrPort{}, codec.PayloadType())}
}

// SetTarget sends echoes to target instead of to each packet's source; the zero AddrPort
// restores reply-to-source (symmetric RTP, which also traverses NAT).
func (e *Echo) SetTarget(target netip.AddrPort) {
	e.mu.Lock()
	e.target = target
	e.mu.Unlock()
}

// Stats returns the counters so far.
func (e *Echo) Stats() EchoStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return EchoStats{Received: e.received, Dropped: e.dropped, Sent: e.sender.Stats()}
}

// SSRC is the echo stream's SSRC.
func (e *Echo) SSRC() uint32 { return e.sender.SSRC() }

// Serve echoes packets until ctx ends or conn is closed (both return nil) or a read fails.
func (e *Echo) Serve(ctx context.Context) error {
	defer serveUntil(ctx, e.conn)()
	var (
		buf [maxPacket]byte
		pkt rtp.Packet
	)
	for {
		n, from, err := readFrom(e.conn, buf[:])
		if err != nil {
			if endOfServe(ctx, err) {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return err
		}
		if !isRTP(buf[:n]) || pkt.Unmarshal(buf[:n]) != nil {
			e.mu.Lock()
			e.dropped++
			e.mu.Unlock()
			continue
		}
		e.mu.Lock()
		e.received++
		dst := e.target
		e.mu.Unlock()
		if !dst.IsValid() {
			dst = from
		}
		marker := e.follow(&pkt)
		e.sender.SetRemote(dst)
		_ = e.sender.WritePacket(pkt.PayloadType, pkt.Marker || marker, pkt.Payload)
	}
}

// maxTimestampStep is the largest incoming timestamp jump (either way) the echo mirrors; a
// bigger one is a discontinuity (RFC 3550 §5.1 allows a source to restart its clock).
const maxTimestampStep = 10 * SampleRate

// follow moves the echo stream's timestamp by the same amount the incoming one moved since the
// previous packet, so the echo keeps the caller's timing, including repeated timestamps (RFC
// 4733 event packets) and reordering. For the first packet of a new incoming stream, or a jump
// too large to be real, it steps one frame and asks for the marker bit.
func (e *Echo) follow(pkt *rtp.Packet) (marker bool) {
	switch {
	case !e.haveIn:
		e.haveIn = true
	case pkt.SSRC == e.inSSRC && abs32(int32(pkt.Timestamp-e.inTS)) <= maxTimestampStep:
		e.sender.AdvanceTimestamp(pkt.Timestamp - e.inTS)
	default:
		e.sender.AdvanceTimestamp(uint32(max(len(pkt.Payload), FrameSamples)))
		marker = true
	}
	e.inSSRC, e.inTS = pkt.SSRC, pkt.Timestamp
	return marker
}

func abs32(x int32) int64 {
	if x < 0 {
		return -int64(x)
	}
	return int64(x)
}
