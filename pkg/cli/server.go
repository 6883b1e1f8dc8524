package cli

import (
	"context"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/cmed-project/cmed/pkg/cli/sshd"
	"github.com/cmed-project/cmed/pkg/cli/telnet"
	"github.com/cmed-project/cmed/pkg/netx/throttle"
)

// Server owns the CLI sessions of one daemon, whatever their transport.
// It implements the control socket's handler (Batch, Interactive).
type Server struct {
	b   Backend
	log *slog.Logger
	// now is the clock for times the CLI prints (expiry countdowns, log
	// stamps); tests fix it so transcripts are stable.
	now func() time.Time

	mu       sync.Mutex // guards sessions, nextVTY, the log ring and lastChange; a leaf
	sessions []*sessionInfo
	nextVTY  int
	// logRing is the `show logging` buffer: the system messages the CLI
	// itself raises (%SYS-5-CONFIG_I, reload, write erase), newest last.
	logRing  []string
	logTotal int
	// lastChange is when and by whom the running config last changed, for
	// the `! Last configuration change` line of show running-config.
	lastChange     time.Time
	lastChangeUser string
}

// syslog records an IOS system message in the `show logging` buffer and
// the daemon log.
func (srv *Server) syslog(msg string, args ...any) {
	now := srv.now()
	srv.mu.Lock()
	srv.logRing = append(srv.logRing, now.UTC().Format("*Jan _2 15:04:05.000: ")+msg)
	if len(srv.logRing) > logBufferLines {
		srv.logRing = slices.Delete(srv.logRing, 0, len(srv.logRing)-logBufferLines)
	}
	srv.logTotal++
	srv.mu.Unlock()
	srv.log.Info(msg, args...)
}

func (srv *Server) logLines() []string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return slices.Clone(srv.logRing)
}

func (srv *Server) logCount() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.logTotal
}

func (srv *Server) noteChange(user string) {
	srv.mu.Lock()
	srv.lastChange, srv.lastChangeUser = srv.now(), user
	srv.mu.Unlock()
}

func (srv *Server) lastConfigChange() (time.Time, string) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.lastChange, srv.lastChangeUser
}

// NewServer returns a CLI server driving b.
func NewServer(b Backend, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{b: b, log: log, now: time.Now}
}

// sessionInfo is one row of `show users`.
type sessionInfo struct {
	Line     string
	User     string
	Location string
	Since    time.Time

	mu   sync.Mutex // guards User and last; a leaf
	last time.Time
}

func (i *sessionInfo) setUser(u string) {
	i.mu.Lock()
	i.User = u
	i.mu.Unlock()
}

func (i *sessionInfo) user() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.User
}

func (i *sessionInfo) touch() {
	i.mu.Lock()
	i.last = time.Now()
	i.mu.Unlock()
}

func (srv *Server) register(o SessionOptions) *sessionInfo {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	line := o.Line
	if line == "" {
		line = "vty " + itoa(srv.nextVTY)
		srv.nextVTY++
	}
	now := time.Now()
	i := &sessionInfo{Line: line, User: o.User, Location: o.Location, Since: now, last: now}
	srv.sessions = append(srv.sessions, i)
	return i
}

func (srv *Server) unregister(i *sessionInfo) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.sessions = slices.DeleteFunc(srv.sessions, func(x *sessionInfo) bool { return x == i })
}

func (srv *Server) users() []*sessionInfo {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return slices.Clone(srv.sessions)
}

// Batch runs `cmed cli -c` commands: privileged (the socket is owner-only),
// no paging, no prompts.
func (srv *Server) Batch(ctx context.Context, w io.Writer, commands []string) error {
	s := srv.newSession(w, SessionOptions{User: "local", Line: "con 0", Location: "local", Privilege: PrivMax})
	return s.RunBatch(ctx, commands)
}

// Transcript runs commands like Batch but echoes each prompt and command,
// so the output reads like a console log (tests, `cmed cli` scripts).
func (srv *Server) Transcript(ctx context.Context, w io.Writer, privilege int, commands []string) error {
	s := srv.newSession(w, SessionOptions{User: "local", Line: "con 0", Location: "local", Privilege: privilege, Echo: true})
	return s.RunBatch(ctx, commands)
}

// Interactive is the local `cmed cli` terminal session, privileged.
func (srv *Server) Interactive(ctx context.Context, rw io.ReadWriter, width, height int) error {
	s := srv.newSession(rw, SessionOptions{User: "local", Line: "con 0", Location: "local", Privilege: PrivMax,
		Width: width, Height: height})
	srv.greet(rw)
	return s.RunTerminal(ctx, rw, nil)
}

func (srv *Server) greet(w io.Writer) {
	io.WriteString(w, "\r\n")
}

// AuthReporter is optionally implemented by a Backend: failed logins for
// metrics (cmed_auth_failures_total and its reasons).
type AuthReporter interface {
	AuthFailure(proto string)
	AuthRejected(proto, reason string)
}

// ServeSSH accepts SSH logins on l until ctx ends. Users and their
// privilege come from the running config's `username` lines; the host key
// is loaded from keys (generated and saved there on first use).
func (srv *Server) ServeSSH(ctx context.Context, l net.Listener, keys sshd.HostKeyStore) error {
	lb := srv.b.Running().LoginBlock
	th := throttle.New(throttle.FromConfig(lb.BlockFor, lb.Attempts, lb.Within))
	ssrv := &sshd.Server{
		HostKeys: keys,
		Logger:   srv.log,
		Throttle: th,
		OnAuthFailure: func(user, remote, reason string) {
			if r, ok := srv.b.(AuthReporter); ok {
				r.AuthFailure("ssh")
				r.AuthRejected("ssh", reason)
			}
		},
		Password: func(user, password string) (int, bool) {
			cfg := srv.b.Running()
			// The policy follows `login block-for` as configured now.
			lb := cfg.LoginBlock
			th.SetPolicy(throttle.FromConfig(lb.BlockFor, lb.Attempts, lb.Within))
			return Authenticate(cfg, user, password)
		},
		Handle: func(ctx context.Context, sess *sshd.Session) error {
			s := srv.newSession(sess.Channel, SessionOptions{User: sess.User, Location: sess.Remote.String(),
				Privilege: sess.Privilege, Width: sess.Width, Height: sess.Height})
			if sess.Command != "" { // `ssh router "show version"`
				return s.RunBatch(ctx, []string{sess.Command})
			}
			srv.greet(sess.Channel)
			return s.RunTerminal(ctx, sess.Channel, sess.Resize)
		},
	}
	return ssrv.Serve(ctx, l)
}

// ServeTelnet accepts telnet sessions on l until ctx ends; each logs in
// with a `username` from the running config (telnet is off unless the
// config enables it: it carries passwords in clear).
func (srv *Server) ServeTelnet(ctx context.Context, l net.Listener) error {
	return telnet.Serve(ctx, l, srv.log, func(ctx context.Context, c *telnet.Conn) error {
		s := srv.newSession(c, SessionOptions{Location: c.RemoteAddr().String(), Login: true, Width: 80})
		return s.RunTerminal(ctx, c, c.Resize())
	})
}
