package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
)

// Side names one leg of a Relay.
type Side int

const (
	// SideA is the leg whose endpoint sends to RelaySession.Local(SideA).
	SideA Side = iota
	// SideB is the other leg.
	SideB
)

func (s Side) String() string {
	if s == SideA {
		return "A"
	}
	return "B"
}

// RelaySideStats counts one leg of a relay: packets received from that leg's endpoint and
// forwarded to the other, and packets dropped (not RTP, from an unexpected source, or with no
// destination known yet).
type RelaySideStats struct {
	Received, Forwarded, Dropped uint64
	Remote                       netip.AddrPort
	Latched                      bool
}

// relaySide is one leg: the local socket that endpoint talks to, and where that endpoint is.
type relaySide struct {
	conn net.PacketConn

	mu        sync.Mutex // guards the fields below
	remote    netip.AddrPort
	latched   bool // remote was learned from received traffic
	received  uint64
	forwarded uint64
	dropped   uint64
}

// Relay forwards RTP between two endpoints, A and B, through two local sockets: what A sends to
// the A socket leaves the B socket towards B, and the other way round. Packets are forwarded
// unchanged: the relay is a media-path anchor, not a mixer.
//
// Each side latches (symmetric RTP, RFC 4961; the "comedia" behaviour of RFC 4145 §4): the first
// RTP packet received on a side's socket fixes that endpoint's real address, which replaces any
// address signalled for it (SDP or SCCP may name a private address behind NAT). After latching,
// packets from any other source are dropped, so a stray or spoofed sender cannot take over the
// call; SetRemote re-arms latching when signalling moves the endpoint.
type Relay struct {
	sides [2]*relaySide
}

// NewRelay returns a relay between the sockets for A and for B. Until a side has latched, its
// packets go to the address set with SetRemote, if any, and are otherwise dropped.
func NewRelay(a, b net.PacketConn) *Relay {
	return &Relay{sides: [2]*relaySide{{conn: a}, {conn: b}}}
}

// SetRemote sets the signalled address of side's endpoint and re-arms latching for it.
func (r *Relay) SetRemote(side Side, remote netip.AddrPort) {
	s := r.sides[side]
	s.mu.Lock()
	s.remote = remote
	s.latched = false
	s.mu.Unlock()
}

// Stats returns one side's counters.
func (r *Relay) Stats(side Side) RelaySideStats {
	s := r.sides[side]
	s.mu.Lock()
	defer s.mu.Unlock()
	return RelaySideStats{Received: s.received, Forwarded: s.forwarded, Dropped: s.dropped,
		Remote: s.remote, Latched: s.latched}
}

// Serve relays in both directions until ctx ends or a socket is closed (both return nil) or a
// read fails.
func (r *Relay) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	for i := range r.sides {
		from, to := r.sides[i], r.sides[1-i]
		go func() {
			err := r.forward(ctx, from, to)
			cancel() // one direction failing ends the relay
			errs <- err
		}()
	}
	return errors.Join(<-errs, <-errs)
}

// forward reads from side from's socket and sends out of side to's socket towards to's remote.
func (r *Relay) forward(ctx context.Context, from, to *relaySide) error {
	defer serveUntil(ctx, from.conn)()
	var buf [maxPacket]byte
	for {
		n, src, err := readFrom(from.conn, buf[:])
		if err != nil {
			if endOfServe(ctx, err) {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return err
		}
		if !from.accept(src, isRTP(buf[:n])) {
			continue
		}
		to.mu.Lock()
		dst := to.remote
		to.mu.Unlock()
		if !dst.IsValid() {
			from.count(&from.dropped)
			continue
		}
		if _, err := writeTo(to.conn, buf[:n], dst); err != nil {
			from.count(&from.dropped)
			continue
		}
		from.count(&from.forwarded)
	}
}

// accept applies latching to a packet from src and counts it.
func (s *relaySide) accept(src netip.AddrPort, rtpOK bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !rtpOK:
	case !s.latched:
		s.remote, s.latched = src, true
		s.received++
		return true
	case s.remote == src:
		s.received++
		return true
	}
	s.dropped++
	return false
}

func (s *relaySide) count(c *uint64) {
	s.mu.Lock()
	*c++
	s.mu.Unlock()
}

// writeTo sends b to dst, using the allocation-free path when conn has it.
func writeTo(conn net.PacketConn, b []byte, dst netip.AddrPort) (int, error) {
	if w, ok := conn.(addrPortWriter); ok {
		return w.WriteToUDPAddrPort(b, dst)
	}
	return conn.WriteTo(b, net.UDPAddrFromAddrPort(dst))
}
