package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/metrics"
	"github.com/cmed-project/cmed/pkg/sip"
)

// sipMetrics maps SIP events onto the Prometheus counters.
type sipMetrics struct{ m *metrics.Metrics }

func (s sipMetrics) NotifySent(int)     { s.m.NotifySent("sip") }
func (s sipMetrics) AuthFailure(string) { s.m.AuthFailure("sip") }
func (s sipMetrics) Registration(ok bool) {
	if ok {
		s.m.Registered("sip")
	}
}
func (s sipMetrics) RegistrationRefused(reason string) { s.m.RegistrationRefused("sip", reason) }
func (s sipMetrics) ResponseSent(status int)           { s.m.SIPResponse(status) }
func (s sipMetrics) ListenerEvent(listener, event string) {
	s.m.ListenerEvent(listener, event)
}
func (s sipMetrics) ListenerUp(listener string, up bool) { s.m.ListenerUp(listener, up) }
func (s sipMetrics) SIPDropped(reason string)            { s.m.SIPDropped(reason) }
func (s sipMetrics) AuthRejected(method, reason string)  { s.m.AuthRejected("sip", reason) }

// flashDir is the router's flash: the state directory (docs/peering.md),
// or the database's directory when only the database and socket paths
// were given.
func (d *Daemon) flashDir() string {
	if d.opts.StateDir != "" {
		return d.opts.StateDir
	}
	return filepath.Dir(d.opts.DBPath)
}

// readCredential resolves `authenticate credential N LOCATION`: flash:NAME
// is a file in the state directory (a router's flash), never in the
// working directory; an absolute path is read as is.
func (d *Daemon) readCredential(loc string) ([]byte, error) {
	if name, ok := strings.CutPrefix(loc, "flash:"); ok {
		if !filepath.IsAbs(name) {
			name = filepath.Join(d.flashDir(), name)
		}
		return os.ReadFile(name)
	}
	return os.ReadFile(loc)
}

// checkCredentials refuses a config whose `authenticate credential` files
// are missing or not credential files: a trunk peer would otherwise be
// challenged with no password to check against, silently.
func (d *Daemon) checkCredentials(cfg *config.Config) error {
	if cfg == nil || cfg.VoiceRegisterGlobal == nil {
		return nil
	}
	for _, c := range cfg.VoiceRegisterGlobal.Credentials {
		b, err := d.readCredential(c.Location)
		if err == nil {
			_, err = sip.ParseCredentials(b)
		}
		if err != nil {
			where := ""
			if strings.HasPrefix(c.Location, "flash:") {
				where = " (flash: is " + d.flashDir() + ")"
			}
			return fmt.Errorf("authenticate credential %d %s%s: %w", c.Tag, c.Location, where, err)
		}
	}
	return nil
}

// startSIP serves SIP phones and trunks on UDP and TCP at `voice register
// global` / `source-address A port P`.
func (d *Daemon) startSIP(ctx context.Context, cfg *config.Config) error {
	g := cfg.VoiceRegisterGlobal
	if g == nil {
		return nil
	}
	addr := d.hostPort(g.SourceAddress, g.Port, config.DefaultSIPPort, true)
	udp, tcp, err := listenUDPTCP(addr)
	if err != nil {
		return err
	}
	d.addListener("sip-udp", "udp", udp.LocalAddr())
	d.addListener("sip-tcp", "tcp", tcp.Addr())
	host := ""
	if a, _ := netip.ParseAddr(g.SourceAddress); !a.IsValid() || a.IsUnspecified() || d.opts.LoopbackListeners {
		host = d.mediaAddress(cfg).String()
	}
	srv, err := sip.New(sip.Options{
		Switch:   d.sw,
		Presence: d.blf,
		Config:   cfg,
		Logger:   d.log.With("service", "sip"),
		Metrics:  sipMetrics{d.metrics},
		Host:     host,
		ReadFile: d.readCredential,
	})
	if err != nil {
		udp.Close()
		tcp.Close()
		return err
	}
	d.sip = srv
	d.sipLive.Store(srv)
	d.trunk.Set(srv)
	d.upstream.mu.Lock()
	d.upstream.target = srv
	d.upstream.mu.Unlock()
	// SIP watchers get terminated NOTIFYs on shutdown (RFC 6665 §4.2.2),
	// so Serve keeps running until Shutdown has sent them.
	serveCtx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			d.log.Warn("sip shutdown", "err", err)
		}
		stopServe()
	}()
	d.goServe("sip", func() error { return srv.Serve(serveCtx, udp, tcp) })
	return nil
}
