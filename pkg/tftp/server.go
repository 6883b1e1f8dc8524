// Package tftp is cmed's read-only TFTP server: RFC 1350 with option
// negotiation (RFC 2347), blksize (RFC 2348) and timeout/tsize (RFC 2349).
// Phones fetch their configuration (SEP<MAC>.cnf.xml, XMLDefault.cnf.xml)
// and firmware from it at boot (docs/sccp.md §Boot-order).
//
// packet.go is a pure codec; server.go owns sockets. Writes are always
// refused. The package imports no cmed package.
package tftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server defaults.
const (
	DefaultTimeout            = time.Second
	DefaultRetries            = 5
	DefaultMaxPerSource       = 8
	DefaultMaxTransfers       = 512
	defaultMaxNegotiatedBlock = MaxBlockSize
)

// Server serves read requests arriving on one UDP socket. The zero value
// (plus a Handler) is ready to use; Serve may be called once per socket.
type Server struct {
	Handler Handler
	Logger  *slog.Logger // nil: discard

	// Timeout is the retransmission timeout when the client does not ask
	// for one with the timeout option (RFC 2349). Default 1s.
	Timeout time.Duration
	// Retries is how many times a packet is resent before the transfer is
	// abandoned. Default 5.
	Retries int
	// MaxBlockSize caps the negotiated blksize (RFC 2348 lets the server
	// answer a smaller value). Default 65464.
	MaxBlockSize int
	// MaxPerSource limits concurrent transfers from one client IP; requests
	// beyond it get error 0 "too many transfers". Default 8.
	MaxPerSource int
	// MaxTransfers limits concurrent transfers overall. Default 512.
	MaxTransfers int
	// ListenTransfer opens the socket of one transfer. The default binds
	// UDP port 0 on the request socket's local IP, so that replies leave
	// from the address the phone sent to (RFC 1350 §4: a new TID per
	// transfer).
	ListenTransfer func(local net.Addr) (net.PacketConn, error)
	// Metrics is told about every finished transfer and every error; nil:
	// not counted.
	Metrics Metrics

	mu        sync.Mutex                  // guards active and perSource; a leaf
	active    map[netip.AddrPort]struct{} // transfers by client TID
	perSource map[netip.Addr]int
}

// Metrics receives counters; every method must be cheap and non-blocking.
type Metrics interface {
	Transferred()                // every block of a read transfer was acknowledged
	TransferError(reason string) // one of the Reason* values
}

// Reasons passed to Metrics.TransferError.
const (
	ReasonMalformed = "malformed"  // not a valid RRQ/WRQ
	ReasonWrite     = "write"      // WRQ: the server is read-only
	ReasonMode      = "mode"       // transfer mode other than octet/netascii
	ReasonLimit     = "limit"      // MaxPerSource or MaxTransfers reached
	ReasonNotFound  = "not-found"  // TFTP error 1
	ReasonAccess    = "access"     // TFTP error 2
	ReasonRead      = "read-error" // the handler could not open or read the file
	ReasonTimeout   = "timeout"    // the client stopped acknowledging
	ReasonAborted   = "aborted"    // the client sent an ERROR, or a socket failed
	ReasonShutdown  = "shutdown"   // the server stopped mid-transfer
)

func (s *Server) countError(reason string) {
	if s.Metrics != nil {
		s.Metrics.TransferError(reason)
	}
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Serve reads requests from pc until ctx is done, then waits for running
// transfers to stop and returns nil. It returns a read error other than the
// one ctx's cancellation causes. pc is not closed.
func (s *Server) Serve(ctx context.Context, pc net.PacketConn) error {
	if s.Handler == nil {
		return errors.New("tftp: Server.Handler is nil")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = pc.SetReadDeadline(time.Now()) })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()

	buf := make([]byte, MaxPacketSize+1)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tftp: read: %w", err)
		}
		s.handleRequest(ctx, pc, buf[:n], from, &wg)
	}
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func sendError(pc net.PacketConn, to net.Addr, code ErrorCode, msg string) {
	b, err := (&Error{Code: code, Message: msg}).Marshal()
	if err == nil {
		_, _ = pc.WriteTo(b, to)
	}
}

// handleRequest deals with one datagram on the well-known port.
func (s *Server) handleRequest(ctx context.Context, pc net.PacketConn, b []byte, from net.Addr, wg *sync.WaitGroup) {
	log := s.logger()
	var req Request
	if err := req.Unmarshal(b); err != nil {
		// Only requests belong on this port. Answer malformed requests;
		// stray DATA/ACK/ERROR get no reply, so a spoofed source cannot
		// bounce traffic off us.
		if len(b) >= 2 && (b[1] == byte(OpRRQ) || b[1] == byte(OpWRQ)) && b[0] == 0 {
			s.countError(ReasonMalformed)
			sendError(pc, from, ErrCodeIllegalOperation, "malformed request")
		}
		log.Debug("tftp: ignored packet", "from", from.String(), "err", err)
		return
	}
	if req.Write {
		log.Info("tftp: write refused", "from", from.String(), "file", req.Filename)
		s.countError(ReasonWrite)
		sendError(pc, from, ErrCodeAccessViolation, "read-only server")
		return
	}
	switch strings.ToLower(req.Mode) {
	case "octet", "netascii":
		// netascii is served as stored: phones and curl use octet, and the
		// files we serve are XML or binary images.
	default:
		s.countError(ReasonMode)
		sendError(pc, from, ErrCodeIllegalOperation, "unsupported mode "+req.Mode)
		return
	}
	remote := addrPortOf(from)
	switch s.admit(remote) {
	case admitDuplicate:
		log.Debug("tftp: retransmitted request ignored", "from", from.String(), "file", req.Filename)
		return
	case admitRefused:
		log.Warn("tftp: transfer refused, limit reached", "from", from.String(), "file", req.Filename)
		s.countError(ReasonLimit)
		sendError(pc, from, ErrCodeUndefined, "too many transfers")
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer s.release(remote)
		s.transfer(ctx, pc, &req, from, remote)
	}()
}

type admission int

const (
	admitted       admission = iota
	admitDuplicate           // same client TID already has a transfer
	admitRefused             // a limit is reached
)

// admit registers a transfer for remote. A retransmitted RRQ from a TID that
// already has a transfer is dropped silently: that transfer's own
// retransmission answers it, and a second transfer to the same TID would
// confuse the client.
func (s *Server) admit(remote netip.AddrPort) admission {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		s.active = make(map[netip.AddrPort]struct{})
		s.perSource = make(map[netip.Addr]int)
	}
	if _, dup := s.active[remote]; dup {
		return admitDuplicate
	}
	if len(s.active) >= orDefault(s.MaxTransfers, DefaultMaxTransfers) ||
		s.perSource[remote.Addr()] >= orDefault(s.MaxPerSource, DefaultMaxPerSource) {
		return admitRefused
	}
	s.active[remote] = struct{}{}
	s.perSource[remote.Addr()]++
	return admitted
}

func (s *Server) release(remote netip.AddrPort) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.active, remote)
	if s.perSource[remote.Addr()]--; s.perSource[remote.Addr()] <= 0 {
		delete(s.perSource, remote.Addr())
	}
}

// ActiveTransfers reports the number of running transfers.
func (s *Server) ActiveTransfers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.active)
}

func (s *Server) listen(local net.Addr) (net.PacketConn, error) {
	if s.ListenTransfer != nil {
		return s.ListenTransfer(local)
	}
	la := &net.UDPAddr{}
	if u, ok := local.(*net.UDPAddr); ok {
		la.IP, la.Zone = u.IP, u.Zone
	}
	return net.ListenUDP("udp", la)
}

// negotiated holds the result of RFC 2347 option negotiation.
type negotiated struct {
	blockSize int
	timeout   time.Duration
	oack      Options // empty: no OACK, start with DATA 1
}

// negotiate picks the options the server accepts; unknown or invalid
// options are left out of the OACK, which RFC 2347 allows.
func (s *Server) negotiate(opts Options, size int64) negotiated {
	n := negotiated{blockSize: DefaultBlockSize, timeout: orDefault(s.Timeout, DefaultTimeout)}
	maxBlock := min(orDefault(s.MaxBlockSize, defaultMaxNegotiatedBlock), MaxBlockSize)
	seen := map[string]bool{}
	for _, o := range opts {
		name := strings.ToLower(o.Name)
		if seen[name] {
			continue
		}
		seen[name] = true
		v, err := strconv.Atoi(o.Value)
		if err != nil {
			continue
		}
		switch name {
		case "blksize": // RFC 2348: 8..65464; the server may answer less
			if v < MinBlockSize {
				continue
			}
			n.blockSize = min(v, max(maxBlock, MinBlockSize))
			n.oack = append(n.oack, Option{Name: o.Name, Value: strconv.Itoa(n.blockSize)})
		case "timeout": // RFC 2349: 1..255 seconds, echoed unchanged
			if v < 1 || v > 255 {
				continue
			}
			n.timeout = time.Duration(v) * time.Second
			n.oack = append(n.oack, Option{Name: o.Name, Value: o.Value})
		case "tsize": // RFC 2349: a read request sends 0, we answer the size
			if v != 0 {
				continue
			}
			n.oack = append(n.oack, Option{Name: o.Name, Value: strconv.FormatInt(size, 10)})
		}
	}
	return n
}

// transfer runs one read transfer on its own socket.
func (s *Server) transfer(ctx context.Context, pc net.PacketConn, req *Request, from net.Addr, remote netip.AddrPort) {
	log := s.logger().With("from", remote.String(), "file", req.Filename)
	conn, err := s.listen(pc.LocalAddr())
	if err != nil {
		log.Error("tftp: cannot open transfer socket", "err", err)
		s.countError(ReasonAborted)
		sendError(pc, from, ErrCodeUndefined, "server error")
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()

	r, size, err := s.Handler.Open(ctx, req.Filename, remote)
	if err != nil {
		code, msg := errorFor(err)
		log.Debug("tftp: request refused", "code", code, "err", err)
		switch code {
		case ErrCodeNotFound:
			s.countError(ReasonNotFound)
		case ErrCodeAccessViolation:
			s.countError(ReasonAccess)
		default:
			s.countError(ReasonRead)
		}
		sendError(conn, from, code, msg)
		return
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	t := &sender{
		conn:    conn,
		peer:    from,
		remote:  remote,
		ctx:     ctx,
		retries: orDefault(s.Retries, DefaultRetries),
	}
	nego := s.negotiate(req.Options, size)
	t.timeout = nego.timeout
	start := time.Now()
	blocks, err := t.run(r, size, nego)
	if err != nil {
		log.Info("tftp: transfer failed", "err", err, "blocks", blocks)
		s.countError(failureReason(err))
		return
	}
	if s.Metrics != nil {
		s.Metrics.Transferred()
	}
	log.Info("tftp: sent", "bytes", size, "blocks", blocks, "blksize", nego.blockSize,
		"duration", time.Since(start).Round(time.Millisecond))
}

// failureReason classifies why a started transfer ended early.
func failureReason(err error) string {
	var perr *Error
	switch {
	case errors.Is(err, errTimeout):
		return ReasonTimeout
	case errors.Is(err, errCancelled):
		return ReasonShutdown
	case errors.As(err, &perr):
		return ReasonAborted
	case errors.Is(err, errRead):
		return ReasonRead
	}
	return ReasonAborted
}

func errorFor(err error) (ErrorCode, string) {
	switch {
	case isNotFound(err):
		return ErrCodeNotFound, "File not found"
	case errors.Is(err, ErrAccessViolation), errors.Is(err, fs.ErrPermission):
		return ErrCodeAccessViolation, "Access violation"
	}
	return ErrCodeUndefined, "cannot read file"
}

// sender is the state of one outgoing transfer.
type sender struct {
	conn    net.PacketConn
	peer    net.Addr
	remote  netip.AddrPort
	ctx     context.Context
	timeout time.Duration
	retries int
	rbuf    [MaxPacketSize + 1]byte
}

var (
	errTimeout   = errors.New("tftp: peer stopped answering")
	errCancelled = errors.New("tftp: server shutting down")
	errRead      = errors.New("tftp: read")
)

// run sends the OACK (if any) and then every block, and returns the number
// of DATA blocks acknowledged.
func (t *sender) run(r io.ReaderAt, size int64, nego negotiated) (int64, error) {
	if len(nego.oack) > 0 {
		b, err := (&OptionAck{Options: nego.oack}).Marshal()
		if err != nil {
			return 0, err
		}
		// RFC 2347: the client acknowledges an OACK with ACK 0.
		if err := t.sendAndAwait(b, 0); err != nil {
			return 0, err
		}
	}
	bs := int64(nego.blockSize)
	pkt := make([]byte, 4+bs)
	// The last block is the first one shorter than blksize, so a size
	// that is a multiple of blksize ends with an empty block (RFC 1350 §6).
	nblocks := size/bs + 1
	for i := int64(1); i <= nblocks; i++ {
		off := (i - 1) * bs
		want := min(bs, size-off)
		n, err := r.ReadAt(pkt[4:4+want], off)
		if int64(n) < want {
			_ = t.sendErr(ErrCodeUndefined, "read error")
			return i - 1, fmt.Errorf("%w at %d: %w", errRead, off, err)
		}
		// Block numbers wrap from 65535 to 0, as tftp-hpa and curl expect
		// (RFC 1350 does not say; a 16-bit counter at 512 bytes would
		// otherwise cap files at 32 MiB).
		block := uint16(i)
		d := Data{Block: block, Payload: pkt[4 : 4+want]}
		if _, err := d.MarshalTo(pkt); err != nil {
			return i - 1, err
		}
		if err := t.sendAndAwait(pkt[:4+want], block); err != nil {
			return i - 1, err
		}
	}
	return nblocks, nil
}

func (t *sender) sendErr(code ErrorCode, msg string) error {
	b, err := (&Error{Code: code, Message: msg}).Marshal()
	if err != nil {
		return err
	}
	_, err = t.conn.WriteTo(b, t.peer)
	return err
}

// sendAndAwait sends pkt and waits for ACK block, resending on timeout.
// Duplicate or old ACKs are ignored rather than answered: resending on them
// would double every packet from then on (the Sorcerer's Apprentice
// Syndrome, RFC 1123 §4.2.3.1). Packets from another TID get error 5 and do
// not disturb the transfer (RFC 1350 §4).
func (t *sender) sendAndAwait(pkt []byte, block uint16) error {
	for attempt := 0; attempt <= t.retries; attempt++ {
		if _, err := t.conn.WriteTo(pkt, t.peer); err != nil {
			return fmt.Errorf("tftp: write: %w", err)
		}
		deadline := time.Now().Add(t.timeout)
		for {
			if t.ctx.Err() != nil {
				return errCancelled
			}
			_ = t.conn.SetReadDeadline(deadline)
			n, from, err := t.conn.ReadFrom(t.rbuf[:])
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					if t.ctx.Err() != nil {
						return errCancelled
					}
					break // resend
				}
				return fmt.Errorf("tftp: read: %w", err)
			}
			if addrPortOf(from) != t.remote {
				b, _ := (&Error{Code: ErrCodeUnknownTID, Message: "Unknown transfer ID"}).Marshal()
				_, _ = t.conn.WriteTo(b, from)
				continue
			}
			p, err := ParsePacket(t.rbuf[:n])
			if err != nil {
				continue
			}
			switch p := p.(type) {
			case *Ack:
				if p.Block == block {
					return nil
				}
			case *Error:
				return p
			}
		}
	}
	return errTimeout
}

// Listen opens the TFTP socket, explaining permission errors with
// ListenError.
func Listen(addr string) (net.PacketConn, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, ListenError(err, addr)
	}
	return pc, nil
}
