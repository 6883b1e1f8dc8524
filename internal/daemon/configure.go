package daemon

import (
	"fmt"

	"github.com/cmed-project/cmed/pkg/config"
)

// RefusedError is a configuration change the line-state core refused
// (dn.Switch.Apply, e.g. a destination-pattern that is no dial pattern).
// The running config is the one before the change.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("Not applied, the running configuration is unchanged: %v", e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Configure is the one path by which the running config changes: the
// CLI's configuration mode and ApplyConfig both come here. Under configMu
// it calls edit with the running config; a nil result (or an error) ends
// there. Otherwise the core gets the new config first; if it refuses,
// nothing changed and the error (a *RefusedError) says why. Only once the
// core accepted it does the config become running, and then the presence
// engine and the phone adapters get it, in that order, by push: adapters
// never read the daemon's running config themselves, so none sees a
// snapshot the core has not accepted or before it is its turn. Phone files
// are rebuilt afterwards in the background, and only if their inputs
// changed (phoneFiles.schedule), so a CLI line never waits for them.
func (d *Daemon) Configure(edit func(running *config.Config) (*config.Config, error)) error {
	d.configMu.Lock()
	defer d.configMu.Unlock()
	next, err := edit(d.Running())
	if err != nil || next == nil {
		return err
	}
	// A credential file that cannot be read would lock out every
	// authenticated trunk watcher later; refuse the change now instead.
	if err := d.checkCredentials(next); err != nil {
		d.log.Warn("configuration change refused", "err", err)
		return &RefusedError{Err: err}
	}
	if err := d.sw.Apply(next); err != nil {
		d.log.Warn("configuration change refused by the core", "err", err)
		return &RefusedError{Err: err}
	}
	d.running.Store(next)
	d.blf.Apply(next)
	if d.sccp != nil {
		d.sccp.Apply(next)
	}
	if d.sip != nil {
		d.sip.Apply(next)
	}
	d.phoneFiles.schedule(next)
	return nil
}

// ApplyConfig makes cfg the running config through Configure.
func (d *Daemon) ApplyConfig(cfg *config.Config) error {
	return d.Configure(func(*config.Config) (*config.Config, error) { return cfg, nil })
}
