// Package web serves cmed's read-only HTTP side on the `ip http` listener:
// the live lamp board (every DN with its lamp, every phone with its
// buttons, presence subscriptions and trunk watchers), its server-sent
// event stream, a JSON snapshot, Prometheus /metrics and, when enabled,
// pprof.
//
// # Live updates without stalling the core
//
// Server implements dn.Observer, but it does not keep or queue events: an
// event only pokes a capacity-1 wake-up channel per connected browser.
// Each browser's own handler goroutine then reads the current state from
// the Source (off the switch goroutine) and sends only what changed since
// its last send. A slow browser therefore skips intermediate states, latest
// state wins, and LineChanged costs one mutex and one non-blocking send per
// browser (docs/architecture.md §Dependencies, §Line-state-path).
//
// # Access
//
// Requests from loopback addresses pass. Anything else needs HTTP Basic
// credentials (RFC 7617) of a CLI user (`username X privilege P secret S`),
// checked by Options.Verify; failed logins are delayed and, under `login
// block-for`, blocked like SSH logins (Server.login). The board only reads: every route answers GET
// and HEAD, nothing else. Pages fetch nothing from outside: assets are
// embedded and a Content-Security-Policy of 'self' enforces it.
package web

import (
	"bytes"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/netx/throttle"
)

// Source is the line and device state the board shows; *dn.Switch
// implements it. Its methods are called from HTTP goroutines, never from
// the Observer callbacks.
type Source interface {
	Lines() ([]dn.LineStatus, error)
	Devices() ([]dn.DeviceStatus, error)
}

// Presence lists presence subscriptions; *blf.Engine implements it.
type Presence interface {
	Subscriptions() []blf.SubscriptionInfo
}

// Options configure a Server. Source is required.
type Options struct {
	Source   Source
	Presence Presence // nil: no subscription tables
	// PresenceStatus returns a DN's composed presence as SIP watchers are
	// told it ("Away (reachability)", docs/sip-presence.md
	// §Rich-presence), or "" when there is none; (*sip.Server).PresenceStatus
	// fits. The board shows it under the DN. nil: not shown.
	PresenceStatus func(number string) string
	// Config returns the running configuration; the board reads each
	// phone's blf-speed-dial keys from it. nil: no speed-dial lamps.
	Config func() *config.Config

	// Users returns the current CLI users; used by the default Verify.
	Users func() []config.User
	// Verify checks Basic credentials of non-loopback requests. nil
	// compares pass with the user's secret as stored in Users (constant
	// time); pass a hash-aware check once the CLI stores secrets hashed.
	Verify func(user, pass string) bool
	// OnAuthFailure is told about rejected credentials with the reason:
	// "bad-password", or "throttled" and "blocked" for credentials refused
	// unchecked (for metrics such as Metrics.AuthFailure("http") and
	// Metrics.AuthRejected("http", reason)). May be nil.
	OnAuthFailure func(user, remote, reason string)
	// Throttle keeps the books on failed logins (docs/security.md
	// §Guessing). nil: one whose policy follows `login block-for` of
	// Config (the default policy without Config); given: used with its own
	// policy (tests).
	Throttle *throttle.Throttle

	Metrics http.Handler // served on /metrics; nil: 404
	// Health lists the daemon's listeners and whether each serves; served
	// on /healthz (docs/security.md §Health). nil: 404.
	Health func() []HealthCheck
	// EnablePprof serves Go's profiles on /debug/pprof/ (`ip http pprof`),
	// to loopback clients only: a profile shows memory contents and the
	// command line, so credentials alone are not enough
	// (docs/architecture.md §Profiling).
	EnablePprof bool

	Hostname func() string // board title; nil: "Router"
	Logger   *slog.Logger  // nil: slog.Default()

	// Heartbeat is the SSE comment interval that keeps proxies and NATs
	// from closing an idle stream (default 15 s). Poll re-reads state at
	// this interval even without events, for subscription changes that
	// dn does not announce (default 2 s).
	Heartbeat time.Duration
	Poll      time.Duration
	// WriteTimeout bounds one SSE write: a browser that stops reading is
	// disconnected after it, and EventSource reconnects (default 10 s).
	WriteTimeout time.Duration
}

// Server is the web UI. Create it with New; it is safe for concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	handler http.Handler
	page    *template.Template

	mu      sync.Mutex // guards clients; a leaf: poke only does non-blocking sends under it
	clients map[*client]struct{}

	th     *throttle.Throttle // failed logins per source and account
	thConf bool               // th follows `login block-for` (Options.Throttle was nil)

	done      chan struct{} // closed by Close: ends every event stream
	closeOnce sync.Once
}

var _ dn.Observer = (*Server)(nil)

// client is one connected SSE stream.
type client struct {
	wake chan struct{} // capacity 1: "state changed since you last looked"
}

//go:embed assets
var assets embed.FS

// New builds a Server.
func New(opts Options) *Server {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	s := &Server{opts: opts, log: opts.Logger, clients: map[*client]struct{}{}, done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.th, s.thConf = opts.Throttle, opts.Throttle == nil
	if s.thConf {
		s.th = throttle.New(throttle.DefaultPolicy)
	}
	s.log = s.log.With("component", "web", "category", "web")
	s.page = template.Must(template.New("board.html").Funcs(template.FuncMap{"word": lampWord}).
		ParseFS(assets, "assets/board.html"))

	static, _ := fs.Sub(assets, "assets/static")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.board)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("GET /api/state", s.apiState)
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics)
	}
	if opts.Health != nil {
		mux.HandleFunc("GET /healthz", s.healthz)
	}
	if opts.EnablePprof {
		mux.HandleFunc("GET /debug/pprof/", loopbackOnly(pprof.Index))
		mux.HandleFunc("GET /debug/pprof/cmdline", loopbackOnly(pprof.Cmdline))
		mux.HandleFunc("GET /debug/pprof/profile", loopbackOnly(pprof.Profile))
		mux.HandleFunc("GET /debug/pprof/symbol", loopbackOnly(pprof.Symbol))
		mux.HandleFunc("GET /debug/pprof/trace", loopbackOnly(pprof.Trace))
	}
	s.handler = s.guard(mux)
	return s
}

// Handler is the whole site; serve it on the `ip http` listener.
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends every open event stream (browsers reconnect to whatever
// serves next). http.Server.Shutdown does not cancel running handlers, so
// call Close first, or register it with http.Server.RegisterOnShutdown.
// It is idempotent; the Handler keeps serving other routes.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// LineChanged implements dn.Observer: it only wakes the browsers.
func (s *Server) LineChanged(dn.LineEvent) { s.poke() }

// DeviceChanged implements dn.Observer: it only wakes the browsers.
func (s *Server) DeviceChanged(dn.DeviceEvent) { s.poke() }

// Deliver implements blf.Watcher, so the Server can also be subscribed to
// presentities (kind blf.KindWeb) and wake browsers on lamp changes.
func (s *Server) Deliver(blf.Update) { s.poke() }

func (s *Server) poke() {
	s.mu.Lock()
	for c := range s.clients {
		select {
		case c.wake <- struct{}{}:
		default: // already pending: the client will read the latest state anyway
		}
	}
	s.mu.Unlock()
}

// Clients is the number of connected event streams.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

func (s *Server) addClient() *client {
	c := &client{wake: make(chan struct{}, 1)}
	s.mu.Lock()
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	return c
}

func (s *Server) removeClient(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
}

// State reads the current board state from the sources.
func (s *Server) State() (State, error) {
	lines, err := s.opts.Source.Lines()
	if err != nil {
		return State{}, err
	}
	devs, err := s.opts.Source.Devices()
	if err != nil {
		return State{}, err
	}
	var subs []blf.SubscriptionInfo
	if s.opts.Presence != nil {
		subs = s.opts.Presence.Subscriptions()
	}
	host := "Router"
	if s.opts.Hostname != nil {
		if h := s.opts.Hostname(); h != "" {
			host = h
		}
	}
	var dials func(string, int) []config.BLFSpeedDial
	if s.opts.Config != nil {
		if cfg := s.opts.Config(); cfg != nil {
			dials = func(kind string, tag int) []config.BLFSpeedDial { return speedDials(cfg, kind, tag) }
		}
	}
	st := buildState(host, lines, devs, subs, dials)
	if f := s.opts.PresenceStatus; f != nil {
		for i := range st.DNs {
			if n := st.DNs[i].Number; n != "" {
				st.DNs[i].Status = f(n)
			}
		}
	}
	return st, nil
}

// speedDials are the blf-speed-dial keys of `ephone TAG` or `voice
// register pool TAG`.
func speedDials(cfg *config.Config, kind string, tag int) []config.BLFSpeedDial {
	switch kind {
	case "ephone":
		for i := range cfg.Ephones {
			if cfg.Ephones[i].Tag == tag {
				return cfg.Ephones[i].BLFSpeedDials
			}
		}
	case "pool":
		for i := range cfg.VoiceRegisterPools {
			if cfg.VoiceRegisterPools[i].Tag == tag {
				return cfg.VoiceRegisterPools[i].BLFSpeedDials
			}
		}
	}
	return nil
}

// csp allows nothing but this origin: the board must work on a closed
// network and must not leak to third parties.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// guard applies the access rules and security headers to every route.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "read-only", http.StatusMethodNotAllowed)
			return
		}
		if !isLoopback(r.RemoteAddr) && !s.login(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// login checks the Basic credentials of a non-loopback request and
// answers it itself when they do not pass. Guessing is slowed with the
// policy of SSH logins (docs/security.md §Guessing): a wrong password is
// answered 401 only after the delay the failure earned (250 ms doubling to
// 4 s, cut short if the client goes away); while that delay runs, or
// while `login block-for` blocks the source or the account, credentials
// from that source or for that account are refused unchecked with 429 and
// Retry-After (RFC 6585 §4), so guessing on parallel connections gains
// nothing.
func (s *Server) login(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		s.askCredentials(w)
		return false
	}
	keys := []string{"src:" + hostOf(r.RemoteAddr), "user:" + user}
	if s.thConf && s.opts.Config != nil {
		lb := s.opts.Config().LoginBlock
		s.th.SetPolicy(throttle.FromConfig(lb.BlockFor, lb.Attempts, lb.Within))
	}
	now := time.Now()
	refused, until := s.th.Blocked(now, keys...)
	reason := "blocked"
	if !refused {
		refused, until = s.th.Held(now, keys...)
		reason = "throttled"
	}
	if refused {
		s.authFailed(user, r.RemoteAddr, reason)
		s.log.Debug("http login refused unchecked", "reason", reason, "user", user, "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((until.Sub(now)+time.Second-1)/time.Second))))
		http.Error(w, "too many failed logins", http.StatusTooManyRequests)
		return false
	}
	if s.verify(user, pass) {
		s.th.Succeed(keys...)
		return true
	}
	now = time.Now()
	delay, blocked := s.th.Fail(now, keys...)
	s.log.Warn("http login failed", "user", user, "remote", r.RemoteAddr, "delay", delay)
	if blocked {
		s.log.Warn("http logins blocked (login block-for)", "user", user, "remote", r.RemoteAddr)
	}
	s.authFailed(user, r.RemoteAddr, "bad-password")
	if delay > 0 {
		t := time.NewTimer(time.Until(now.Add(delay)))
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	s.askCredentials(w)
	return false
}

func (s *Server) authFailed(user, remote, reason string) {
	if s.opts.OnAuthFailure != nil {
		s.opts.OnAuthFailure(user, remote, reason)
	}
}

func (s *Server) askCredentials(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="cmed", charset="UTF-8"`)
	http.Error(w, "authentication required", http.StatusUnauthorized)
}

// hostOf is the address of remote without its port.
func hostOf(remote string) string {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().String()
	}
	return remote
}

// loopbackOnly answers 403 to anyone not on a loopback address, whatever
// credentials they bring.
func loopbackOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !isLoopback(r.RemoteAddr) {
			http.Error(w, "pprof is served to loopback clients only", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

func isLoopback(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	return ap.Addr().Unmap().IsLoopback()
}

func (s *Server) verify(user, pass string) bool {
	if s.opts.Verify != nil {
		return s.opts.Verify(user, pass)
	}
	if s.opts.Users == nil {
		return false
	}
	for _, u := range s.opts.Users() {
		if u.Name == user && u.Secret != "" {
			return subtle.ConstantTimeCompare([]byte(u.Secret), []byte(pass)) == 1
		}
	}
	return false
}

func (s *Server) board(w http.ResponseWriter, r *http.Request) {
	st, err := s.State()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	var buf bytes.Buffer
	if err := s.page.Execute(&buf, st); err != nil {
		s.log.Error("render board", "err", err)
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) apiState(w http.ResponseWriter, r *http.Request) {
	st, err := s.State()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(st)
}

// HealthCheck is the state of one listener for /healthz.
type HealthCheck struct {
	Name   string // "sip-udp", "sccp", ...
	OK     bool
	Detail string // why not OK
}

// healthz answers 200 when every listener serves and 503 when any does
// not, one line per listener either way (docs/security.md §Health).
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	checks := s.opts.Health()
	sort.Slice(checks, func(i, j int) bool { return checks[i].Name < checks[j].Name })
	var b strings.Builder
	status := http.StatusOK
	for _, c := range checks {
		if c.OK {
			fmt.Fprintf(&b, "%s up\n", c.Name)
			continue
		}
		status = http.StatusServiceUnavailable
		fmt.Fprintf(&b, "%s down: %s\n", c.Name, c.Detail)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, b.String())
}
