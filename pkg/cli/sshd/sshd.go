// Package sshd is the CLI's SSH transport on x/crypto/ssh: password
// logins, one `session` channel with pty-req, window-change and shell (or
// exec) requests, and a host key generated once and kept by the caller
// (docs/architecture.md §Dependencies).
package sshd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/cmed-project/cmed/pkg/netx"
	"github.com/cmed-project/cmed/pkg/netx/throttle"
	"golang.org/x/crypto/ssh"
)

// HostKeyStore keeps the server's private host key (PEM, OpenSSH format)
// across restarts, as IOS keeps its `crypto key generate` key in NVRAM.
// Load returns (nil, nil) when no key was saved yet.
type HostKeyStore interface {
	Load() ([]byte, error)
	Save(pemBytes []byte) error
}

// Session is one logged-in shell.
type Session struct {
	User      string
	Privilege int
	Remote    net.Addr
	Channel   io.ReadWriter
	Width     int
	Height    int
	// Resize delivers (width, height) on window-change.
	Resize <-chan [2]int
	// Command is the `ssh host COMMAND` text for an exec request, "" for
	// a shell.
	Command string
}

// Server accepts SSH connections.
type Server struct {
	HostKeys HostKeyStore
	Logger   *slog.Logger
	// Password checks a login and returns the privilege level.
	Password func(user, password string) (privilege int, ok bool)
	// Handle runs the shell; the channel closes when it returns.
	Handle func(ctx context.Context, s *Session) error
	// LoginTimeout bounds the handshake (default 30 s).
	LoginTimeout time.Duration

	// Limits caps concurrent connections (DefaultLimits when zero).
	Limits netx.Limits

	// Throttle slows password guessing (docs/security.md §Guessing):
	// each failure delays the answer by the source's and the account's
	// streak, and a blocked source or account is refused without its
	// password being looked at. nil: a throttle with the default policy.
	Throttle *throttle.Throttle
	// OnAuthFailure reports every refused password with its reason
	// ("bad-password", "blocked"), for metrics.
	OnAuthFailure func(user, remote, reason string)
}

// checkPassword runs Password through the throttle.
func (s *Server) checkPassword(th *throttle.Throttle, log *slog.Logger, user string, remote net.Addr, pw string) (int, bool) {
	src := "src:" + hostOf(remote)
	acct := "user:" + user
	fail := func(reason string) {
		if s.OnAuthFailure != nil {
			s.OnAuthFailure(user, remote.String(), reason)
		}
	}
	if blocked, until := th.Blocked(time.Now(), src, acct); blocked {
		log.Warn("ssh login refused: blocked (login block-for)", "user", user, "remote", remote.String(), "until", until.Format(time.RFC3339))
		fail("blocked")
		return 0, false
	}
	priv, ok := s.Password(user, pw)
	if ok {
		th.Succeed(src, acct)
		return priv, true
	}
	delay, nowBlocked := th.Fail(time.Now(), src, acct)
	log.Warn("ssh login refused", "user", user, "remote", remote.String(), "delay", delay)
	if nowBlocked {
		log.Warn("ssh logins blocked (login block-for)", "user", user, "remote", remote.String())
	}
	fail("bad-password")
	// The answer waits: a guesser pays the delay on every try, while
	// the handshake stays bounded by LoginTimeout.
	time.Sleep(delay)
	return 0, false
}

func hostOf(a net.Addr) string {
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}

// LoadOrCreateHostKey returns the saved host key, generating and saving an
// ed25519 key on first use.
func LoadOrCreateHostKey(store HostKeyStore) (ssh.Signer, error) {
	if store != nil {
		b, err := store.Load()
		if err != nil {
			return nil, fmt.Errorf("sshd: loading host key: %w", err)
		}
		if len(b) > 0 {
			s, err := ssh.ParsePrivateKey(b)
			if err != nil {
				return nil, fmt.Errorf("sshd: saved host key is damaged: %w", err)
			}
			return s, nil
		}
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "cmed host key")
	if err != nil {
		return nil, err
	}
	if store != nil {
		if err := store.Save(pem.EncodeToMemory(blk)); err != nil {
			return nil, fmt.Errorf("sshd: saving host key: %w", err)
		}
	}
	return ssh.NewSignerFromKey(priv)
}

// Serve accepts on l until ctx ends, then closes l and waits for sessions.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	signer, err := LoadOrCreateHostKey(s.HostKeys)
	if err != nil {
		return err
	}
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	th := s.Throttle
	if th == nil {
		th = throttle.New(throttle.DefaultPolicy)
	}
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(md ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			priv, ok := s.checkPassword(th, log, md.User(), md.RemoteAddr(), string(pw))
			if !ok {
				return nil, errors.New("access denied")
			}
			return &ssh.Permissions{Extensions: map[string]string{"privilege": fmt.Sprint(priv)}}, nil
		},
		MaxAuthTries:  3,
		ServerVersion: "SSH-2.0-Cisco-1.25",
	}
	cfg.AddHostKey(signer)
	limits := s.Limits
	if limits == (netx.Limits{}) {
		limits = DefaultLimits
	}
	srv := &netx.Server{Name: "ssh", Logger: log, Limits: limits}
	return srv.Serve(ctx, l, func(ctx context.Context, c net.Conn) {
		if err := s.serveConn(ctx, c, cfg, log); err != nil && ctx.Err() == nil {
			log.Debug("ssh connection ended", "remote", c.RemoteAddr().String(), "err", err)
		}
	})
}

// DefaultLimits bound SSH connections when Server.Limits is zero: enough
// for a classroom on one NAT address, few enough that a flood of
// half-open logins cannot take every descriptor.
var DefaultLimits = netx.Limits{Total: 64, PerSource: 16}

func (s *Server) serveConn(ctx context.Context, c net.Conn, cfg *ssh.ServerConfig, log *slog.Logger) error {
	timeout := s.LoginTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	c.SetDeadline(time.Now().Add(timeout))
	conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return err
	}
	c.SetDeadline(time.Time{})
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	priv := 1
	fmt.Sscan(conn.Permissions.Extensions["privilege"], &priv)
	log.Info("ssh login", "user", conn.User(), "remote", conn.RemoteAddr().String(), "privilege", priv)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ch.Close()
			s.session(ctx, conn, ch, creqs, priv)
		}()
	}
	return nil
}

// session answers the channel requests (RFC 4254 §6.2-6.7) and runs the
// handler once a shell or exec request arrives.
func (s *Server) session(ctx context.Context, conn *ssh.ServerConn, ch ssh.Channel, reqs <-chan *ssh.Request, priv int) {
	sess := &Session{User: conn.User(), Privilege: priv, Remote: conn.RemoteAddr(), Channel: ch}
	resize := make(chan [2]int, 4)
	sess.Resize = resize
	done := make(chan struct{})
	started := false
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case r, ok := <-reqs:
			if !ok {
				if started {
					<-done
				}
				return
			}
			switch r.Type {
			case "pty-req":
				w, h, ok := parsePty(r.Payload)
				if ok {
					sess.Width, sess.Height = w, h
				}
				r.Reply(ok, nil)
			case "window-change":
				if len(r.Payload) >= 8 {
					w := int(binary.BigEndian.Uint32(r.Payload))
					h := int(binary.BigEndian.Uint32(r.Payload[4:]))
					select {
					case resize <- [2]int{w, h}:
					default:
					}
				}
				if r.WantReply {
					r.Reply(true, nil)
				}
			case "shell", "exec":
				if started {
					r.Reply(false, nil)
					continue
				}
				if r.Type == "exec" && len(r.Payload) >= 4 {
					n := binary.BigEndian.Uint32(r.Payload)
					if int(n) <= len(r.Payload)-4 {
						sess.Command = string(r.Payload[4 : 4+n])
					}
				}
				started = true
				r.Reply(true, nil)
				go func() {
					defer close(done)
					err := s.Handle(ctx, sess)
					status := uint32(0)
					if err != nil {
						status = 1
					}
					ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, status))
					ch.Close()
				}()
			default:
				if r.WantReply {
					r.Reply(false, nil)
				}
			}
		}
	}
}

// parsePty reads the pty-req payload: string TERM, uint32 cols, rows,
// width px, height px, string modes (RFC 4254 §6.2).
func parsePty(p []byte) (w, h int, ok bool) {
	if len(p) < 4 {
		return 0, 0, false
	}
	n := int(binary.BigEndian.Uint32(p))
	if n < 0 || 4+n+8 > len(p) {
		return 0, 0, false
	}
	p = p[4+n:]
	return int(binary.BigEndian.Uint32(p)), int(binary.BigEndian.Uint32(p[4:])), true
}
