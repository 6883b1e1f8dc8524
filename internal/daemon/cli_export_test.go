package daemon

import "context"

// StartSSHForTest opens the SSH and telnet listeners for tests, for as
// long as startServices does not call startCLIListeners itself (it is
// idempotent, so the call is harmless afterwards). The listener stops with the daemon.
func (d *Daemon) StartSSHForTest() error {
	ctx, cancel := context.WithCancel(context.Background())
	stop := d.cancel
	d.cancel = func() { cancel(); stop() }
	if err := d.startCLIListeners(ctx, d.Running()); err != nil {
		cancel()
		return err
	}
	return nil
}
