package daemon

import (
	"context"
	"fmt"
	"net"

	"github.com/cmed-project/cmed/pkg/config"
)

// DefaultTelnetPort is used for `ip telnet server` without an address line.
const DefaultTelnetPort = 23

// startTelnet opens the telnet CLI listener only when the config asks for
// it (`ip telnet server` or `ip telnet address A port P`); it is off by
// default. Idempotent like startSSH.
func (d *Daemon) startTelnet(ctx context.Context, cfg *config.Config) error {
	l := cfg.Services.Telnet
	if d.Addr("telnet") != nil || (!l.Enabled && l.Address == "" && l.Port == 0) {
		return nil
	}
	addr := d.listenerAddr(l, DefaultTelnetPort)
	if l.Address == "" && l.Port == 0 && !d.opts.LoopbackListeners {
		addr = fmt.Sprintf(":%d", DefaultTelnetPort)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot open the telnet listener on %s: %w (change `ip telnet address A port P`)", addr, err)
	}
	d.addListener("telnet", "tcp", ln.Addr())
	srv := d.CLIServer()
	d.goServe("telnet", func() error { return srv.ServeTelnet(ctx, ln) })
	return nil
}

// startCLIListeners opens the SSH and (when configured) telnet listeners.
// startServices calls it after the control socket's handler exists.
func (d *Daemon) startCLIListeners(ctx context.Context, cfg *config.Config) error {
	if err := d.startSSH(ctx, cfg); err != nil {
		return err
	}
	return d.startTelnet(ctx, cfg)
}
