package daemon

import (
	"time"

	"github.com/cmed-project/cmed/internal/ctlsock"
	"github.com/cmed-project/cmed/pkg/config"
)

// SaveRunning renders the running config and saves it as the new
// startup-config (`write memory`). It returns an error the CLI prints when
// the disk refuses; the running config stays in memory either way.
func (d *Daemon) SaveRunning() error {
	return d.store.SaveStartupConfig(config.Render(d.Running()), time.Now())
}

// StartupText is the saved startup-config text, or "" when none was saved.
func (d *Daemon) StartupText() (string, error) {
	v, ok, err := d.store.StartupConfig()
	if err != nil || !ok {
		return "", err
	}
	return v.Text, nil
}

// cliHandler is the control socket's handler: the IOS CLI of pkg/cli (the
// same server, and so the same `show users`, as the SSH sessions).
func (d *Daemon) cliHandler() ctlsock.Handler { return d.cli.server }
