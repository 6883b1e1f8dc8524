package daemon

import (
	"context"
	"fmt"
	"net"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/store"
)

// DefaultSSHPort is used when `ip ssh server` is given without `ip ssh
// address A port P`.
const DefaultSSHPort = 22

// startSSH opens the SSH CLI listener when the config enables it (`ip ssh
// server`, or `ip ssh address A port P`) and serves it until ctx ends. It
// is idempotent: a second call while the listener is up does nothing.
func (d *Daemon) startSSH(ctx context.Context, cfg *config.Config) error {
	l := cfg.Services.SSH
	if d.Addr("ssh") != nil || (!l.Enabled && l.Address == "" && l.Port == 0) {
		return nil
	}
	addr := d.listenerAddr(l, DefaultSSHPort)
	if l.Address == "" && l.Port == 0 && !d.opts.LoopbackListeners {
		addr = fmt.Sprintf(":%d", DefaultSSHPort)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot open the SSH listener on %s: %w (change `ip ssh address A port P`)", addr, err)
	}
	d.addListener("ssh", "tcp", ln.Addr())
	srv := d.CLIServer()
	d.goServe("ssh", func() error { return srv.ServeSSH(ctx, ln, hostKeys{d.store}) })
	return nil
}

// hostKeys keeps the SSH host key in the database (sshd.HostKeyStore).
type hostKeys struct{ s *store.Store }

func (h hostKeys) Load() ([]byte, error) { return h.s.HostKey() }
func (h hostKeys) Save(b []byte) error   { return h.s.SaveHostKey(b) }
