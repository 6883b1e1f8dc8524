package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/cmed-project/cmed/pkg/cli"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/netx"
	"github.com/cmed-project/cmed/pkg/sip"
	"github.com/cmed-project/cmed/pkg/web"
)

// startHTTP serves the lamp board, /metrics and (when enabled) pprof on the
// `ip http` listener.
func (d *Daemon) startHTTP(ctx context.Context, cfg *config.Config) error {
	l := cfg.Services.HTTP
	if !l.Enabled {
		return nil
	}
	ln, err := net.Listen("tcp", d.listenerAddr(l, 80))
	if err != nil {
		return err
	}
	d.addListener("http", "tcp", ln.Addr())
	// Bounded like every listener (docs/security.md §Listeners): a host
	// cannot hold every descriptor with connections. No idle timeout at
	// this layer: the board's event stream is quiet while no lamp moves;
	// http.Server's own timeouts bound requests and keep-alives.
	ln = netx.Guard(ln, netx.GuardOptions{Name: "http", Logger: d.log.With("service", "http"), Limits: httpLimits})
	ws := web.New(web.Options{
		Source:   d.sw,
		Presence: d.blf,
		PresenceStatus: func(number string) string {
			if s := d.sipLive.Load(); s != nil {
				return s.PresenceStatus(number)
			}
			return ""
		},
		Config: d.Running,
		Users:  func() []config.User { return d.Running().Users },
		Verify: d.verifyWebUser,
		OnAuthFailure: func(_, _, reason string) {
			d.metrics.AuthFailure("http")
			d.metrics.AuthRejected("http", reason)
		},
		Metrics:     d.metrics.Handler(),
		EnablePprof: cfg.Services.HTTPPprof,
		Health:      d.health,
		Hostname:    func() string { return d.Running().HostnameOrDefault() },
		Logger:      d.log.With("service", "http"),
	})
	d.observers.add(ws)
	srv := &http.Server{Handler: ws.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	d.goServe("http", func() error {
		go func() {
			<-ctx.Done()
			// SSE streams never end by themselves: close them first.
			ws.Close()
			sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	return nil
}

// verifyWebUser checks a lamp-board login against the config's users
// (`username X privilege P secret S`).
func (d *Daemon) verifyWebUser(user, pass string) bool {
	return d.verifyUser(user, pass)
}

// verifyUser is the one place logins are checked (SSH, lamp board).
func (d *Daemon) verifyUser(user, pass string) bool {
	for _, u := range d.Running().Users {
		if u.Name == user {
			return cli.VerifySecret(u.Secret, pass)
		}
	}
	return false
}

// health is /healthz: every listener the daemon opened, up unless its
// serve loop failed; SIP reports each transport itself, as it serves a
// failed one again (docs/security.md §Health).
func (d *Daemon) health() []web.HealthCheck {
	var sipStates []sip.ListenerStatus
	if srv := d.sipLive.Load(); srv != nil {
		sipStates = srv.Listeners()
	}
	d.mu.Lock()
	var out []web.HealthCheck
	for name := range d.listeners {
		c := web.HealthCheck{Name: name, OK: true}
		service := name
		if strings.HasPrefix(name, "sip-") {
			service = "sip"
		}
		if err := d.down[service]; err != nil {
			c.OK, c.Detail = false, err.Error()
		}
		out = append(out, c)
	}
	d.mu.Unlock()
	for _, st := range sipStates {
		for i := range out {
			if out[i].Name == st.Name && !st.Up {
				out[i].OK, out[i].Detail = false, st.Err
			}
		}
	}
	return out
}

// httpLimits caps lamp-board, /metrics and /healthz connections: a few
// browsers and a scraper per host, with room to spare.
var httpLimits = netx.Limits{Total: 256, PerSource: 32}
