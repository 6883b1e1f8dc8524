package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/metrics"
	"github.com/cmed-project/cmed/pkg/sccp"
)

// sccpMetrics maps the SCCP server's events onto the Prometheus counters.
type sccpMetrics struct{ m *metrics.Metrics }

func (s sccpMetrics) Registered(string) { s.m.Registered("sccp") }
func (s sccpMetrics) Rejected(reason string) {
	s.m.RegistrationRefused("sccp", reason)
}
func (s sccpMetrics) Disconnected(string) {}

// startSCCP serves Skinny phones on telephony-service's
// `ip source-address A port P`. Without telephony-service there is no SCCP
// system, as on a router.
func (d *Daemon) startSCCP(ctx context.Context, cfg *config.Config) error {
	t := cfg.Telephony
	if t == nil {
		return nil
	}
	// No TCP keepalive on phone connections: SCCP's own KeepAlive finds a
	// dead phone (docs/sccp.md §Registration-sequence step 16), and Go's
	// default costs four setsockopt calls per accepted phone.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(ctx, "tcp", d.hostPort(t.SourceAddress, t.Port, config.DefaultSCCPPort, true))
	if err != nil {
		return err
	}
	d.addListener("sccp", "tcp", ln.Addr())
	if a, ok := ln.Addr().(*net.TCPAddr); ok && a.Port != t.Port {
		// The listener is not where the config says (port 0, or
		// LoopbackListeners): phone files must send phones to it.
		d.phoneFiles.sccpPort = a.Port
	}
	d.sccp = &sccp.Server{
		Switch:   d.sw,
		Presence: d.blf,
		Config:   cfg,
		Logger:   d.log.With("service", "sccp"),
		Metrics:  sccpMetrics{d.metrics},
		Limits:   sccp.Limits{MaxConnsPerIP: cfg.Services.Limits.SCCPConnectionsPerSource},
	}
	srv := d.sccp
	d.AddResetter(func(a config.DeviceAction) error {
		if a.Kind != "ephone" {
			return nil
		}
		if n := srv.ResetPhones(a.Tag, a.Restart); n == 0 && a.Tag != 0 {
			return fmt.Errorf("ephone %d is not registered", a.Tag)
		}
		return nil
	})
	d.goServe("sccp", func() error {
		if err := d.sccp.Serve(ctx, ln); err != nil && !errors.Is(err, sccp.ErrServerClosed) {
			return err
		}
		return nil
	})
	return nil
}
