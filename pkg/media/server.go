package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/cmed-project/cmed/pkg/media/moh"
	"github.com/cmed-project/cmed/pkg/media/tone"
)

// Config configures a Server.
type Config struct {
	// Ports hands out the local RTP sockets. Required.
	Ports *PortAllocator
	// MOH is the music on hold; nil means the built-in default melody (moh.Default).
	MOH *moh.Clip
	// Logger receives session start/stop records; nil discards them.
	Logger *slog.Logger
}

// Stats counts one session's traffic.
type Stats struct {
	PacketsSent, OctetsSent uint64
	PacketsReceived         uint64
	Dropped                 uint64 // received but not usable (not RTP, wrong source)
	WriteErrors             uint64
}

// Session is one media stream the Server runs for a call leg.
type Session interface {
	// Local is the session's RTP address: where the phone should send (SCCP
	// StartMediaTransmission / the SDP c= and m= lines), and where cmed's packets come from.
	Local() netip.AddrPort
	// Retarget sends to a new remote address (a phone re-opened its receive channel, a SIP
	// re-INVITE) without restarting the RTP stream.
	Retarget(remote netip.AddrPort) error
	// Stats returns the traffic counters so far.
	Stats() Stats
	// Close stops the session's goroutines and releases its port. It is idempotent.
	Close() error
}

// Server runs media sessions: music on hold, tones, the echo test and relays. Every session's
// goroutines stop when the session is closed, when the Server is closed, or when the context
// given to NewServer ends.
type Server struct {
	ports *PortAllocator
	log   *slog.Logger
	music atomic.Pointer[moh.Clip]

	ctx       context.Context
	cancel    context.CancelFunc
	stopAfter func() bool // unregisters the close-on-ctx-end hook

	mu       sync.Mutex // guards sessions and closed
	sessions map[closer]struct{}
	closed   bool
}

type closer interface{ Close() error }

// NewServer returns a Server whose sessions live at most as long as ctx.
func NewServer(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Ports == nil {
		return nil, errors.New("media: Config.Ports is required")
	}
	s := &Server{ports: cfg.Ports, log: cfg.Logger, sessions: map[closer]struct{}{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.SetMOH(cfg.MOH)
	s.ctx, s.cancel = context.WithCancel(ctx)
	// When the parent context ends, release every session's port too, not only its goroutines.
	s.stopAfter = context.AfterFunc(ctx, func() { _ = s.Close() })
	return s, nil
}

// SetMOH replaces the music on hold for sessions attached from now on; nil restores the default.
func (s *Server) SetMOH(c *moh.Clip) {
	if c == nil {
		c = moh.Default()
	}
	s.music.Store(c)
}

// MOH is the current music-on-hold clip.
func (s *Server) MOH() *moh.Clip { return s.music.Load() }

// Sessions is the number of open sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close closes every session and refuses new ones. It waits for all session goroutines to stop.
func (s *Server) Close() error {
	s.stopAfter()
	s.mu.Lock()
	s.closed = true
	all := make([]closer, 0, len(s.sessions))
	for c := range s.sessions {
		all = append(all, c)
	}
	s.mu.Unlock()
	s.cancel()
	var errs []error
	for _, c := range all {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

func (s *Server) add(c closer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.ctx.Err() != nil {
		return ErrClosed
	}
	s.sessions[c] = struct{}{}
	return nil
}

func (s *Server) remove(c closer) {
	s.mu.Lock()
	delete(s.sessions, c)
	s.mu.Unlock()
}

// AttachMOH streams the music on hold to remote (the held phone's receive address) from a new
// local RTP port, in 20 ms G.711 packets.
func (s *Server) AttachMOH(remote netip.AddrPort, codec Codec) (Session, error) {
	return s.attachPlayer("moh", remote, codec, s.music.Load().NewReader())
}

// AttachTone streams a tone (dial, ringback, busy, reorder, or an announcement-less
// "unassigned number" indication) to remote.
func (s *Server) AttachTone(remote netip.AddrPort, codec Codec, t tone.Tone) (Session, error) {
	g, err := tone.NewGenerator(t)
	if err != nil {
		return nil, err
	}
	return s.attachPlayer("tone "+t.Name, remote, codec, g)
}

// AttachSource streams any FrameSource to remote (an announcement, a test signal).
func (s *Server) AttachSource(remote netip.AddrPort, codec Codec, src FrameSource) (Session, error) {
	return s.attachPlayer("source", remote, codec, src)
}

func (s *Server) attachPlayer(kind string, remote netip.AddrPort, codec Codec, src FrameSource) (Session, error) {
	if !codec.Valid() {
		return nil, fmt.Errorf("%w: %v", ErrCodec, codec)
	}
	if !remote.IsValid() {
		return nil, fmt.Errorf("media: %s: invalid remote address %v", kind, remote)
	}
	conn, err := s.ports.Listen()
	if err != nil {
		return nil, err
	}
	sender := NewSender(conn, remote, codec.PayloadType())
	player, err := NewPlayer(sender, codec, src)
	if err != nil {
		conn.Close()
		return nil, err
	}
	ps := &playerSession{srv: s, kind: kind, conn: conn, player: player}
	if err := s.add(ps); err != nil {
		conn.Close()
		return nil, err
	}
	if err := player.Start(s.ctx); err != nil {
		ps.Close()
		return nil, err
	}
	s.log.Debug("media session started", "kind", kind, "local", conn.AddrPort(), "remote", remote,
		"codec", codec, "ssrc", sender.SSRC())
	return ps, nil
}

type playerSession struct {
	srv    *Server
	kind   string
	conn   *PortConn
	player *Player
	once   sync.Once
}

func (p *playerSession) Local() netip.AddrPort { return p.conn.AddrPort() }

func (p *playerSession) Retarget(remote netip.AddrPort) error {
	if !remote.IsValid() {
		return fmt.Errorf("media: invalid remote address %v", remote)
	}
	p.player.Retarget(remote)
	return nil
}

func (p *playerSession) Stats() Stats {
	st := p.player.Sender().Stats()
	return Stats{PacketsSent: st.Packets, OctetsSent: st.Octets, WriteErrors: st.WriteErrors}
}

func (p *playerSession) Close() error {
	var err error
	p.once.Do(func() {
		p.player.Stop()
		err = p.conn.Close()
		p.srv.remove(p)
		st := p.Stats()
		p.srv.log.Debug("media session closed", "kind", p.kind, "local", p.conn.AddrPort(),
			"packets", st.PacketsSent)
	})
	return err
}

// AttachEcho opens an echo-test port: every RTP packet received there is sent back to its
// source. It returns the local address to give the caller's phone.
func (s *Server) AttachEcho(codec Codec) (netip.AddrPort, Session, error) {
	if !codec.Valid() {
		return netip.AddrPort{}, nil, fmt.Errorf("%w: %v", ErrCodec, codec)
	}
	conn, err := s.ports.Listen()
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	es := &echoSession{srv: s, conn: conn, echo: NewEcho(conn, codec), done: make(chan struct{})}
	if err := s.add(es); err != nil {
		conn.Close()
		return netip.AddrPort{}, nil, err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	es.cancel = cancel
	go func() {
		defer close(es.done)
		if err := es.echo.Serve(ctx); err != nil {
			s.log.Warn("echo session ended", "local", conn.AddrPort(), "err", err)
		}
	}()
	return conn.AddrPort(), es, nil
}

type echoSession struct {
	srv    *Server
	conn   *PortConn
	echo   *Echo
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func (e *echoSession) Local() netip.AddrPort { return e.conn.AddrPort() }

// Retarget fixes where echoes go; the zero AddrPort means "back to each packet's source".
func (e *echoSession) Retarget(remote netip.AddrPort) error {
	e.echo.SetTarget(remote)
	return nil
}

func (e *echoSession) Stats() Stats {
	st := e.echo.Stats()
	return Stats{PacketsSent: st.Sent.Packets, OctetsSent: st.Sent.Octets, PacketsReceived: st.Received,
		Dropped: st.Dropped, WriteErrors: st.Sent.WriteErrors}
}

func (e *echoSession) Close() error {
	var err error
	e.once.Do(func() {
		e.cancel()
		<-e.done
		err = e.conn.Close()
		e.srv.remove(e)
	})
	return err
}

// RelaySession is a running two-sided relay (see Relay).
type RelaySession struct {
	srv    *Server
	a, b   *PortConn
	relay  *Relay
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// AttachRelay opens a relay with one local port per side. remoteA and remoteB are the signalled
// endpoint addresses; either may be the zero AddrPort, and either is replaced by the address the
// endpoint's first packet actually comes from (latching).
func (s *Server) AttachRelay(remoteA, remoteB netip.AddrPort) (*RelaySession, error) {
	a, err := s.ports.Listen()
	if err != nil {
		return nil, err
	}
	b, err := s.ports.Listen()
	if err != nil {
		a.Close()
		return nil, err
	}
	rs := &RelaySession{srv: s, a: a, b: b, relay: NewRelay(a, b), done: make(chan struct{})}
	if remoteA.IsValid() {
		rs.relay.SetRemote(SideA, remoteA)
	}
	if remoteB.IsValid() {
		rs.relay.SetRemote(SideB, remoteB)
	}
	if err := s.add(rs); err != nil {
		a.Close()
		b.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	rs.cancel = cancel
	go func() {
		defer close(rs.done)
		if err := rs.relay.Serve(ctx); err != nil {
			s.log.Warn("relay session ended", "a", a.AddrPort(), "b", b.AddrPort(), "err", err)
		}
	}()
	return rs, nil
}

// Local is the local address side's endpoint must send to.
func (r *RelaySession) Local(side Side) netip.AddrPort {
	if side == SideA {
		return r.a.AddrPort()
	}
	return r.b.AddrPort()
}

// SetRemote sets side's signalled endpoint address and re-arms latching.
func (r *RelaySession) SetRemote(side Side, remote netip.AddrPort) { r.relay.SetRemote(side, remote) }

// Stats returns side's counters.
func (r *RelaySession) Stats(side Side) RelaySideStats { return r.relay.Stats(side) }

// Close stops the relay and releases both ports. It is idempotent.
func (r *RelaySession) Close() error {
	var err error
	r.once.Do(func() {
		r.cancel()
		<-r.done
		err = errors.Join(r.a.Close(), r.b.Close())
		r.srv.remove(r)
	})
	return err
}
