// Package daemon is cmed's composition root: it opens the store, loads the
// startup-config, builds the core and starts every adapter on the listeners
// the config names. cmd/cmed and the whole-daemon tests (internal/cmedtest)
// both start cmed through it, so a test boots exactly what `cmed serve` boots.
//
// The running config changes only through Daemon.Configure (the CLI's
// configuration mode and ApplyConfig): the core accepts or refuses a new
// config first, and only an accepted one becomes running and is pushed to
// the presence engine and the phone adapters. Phone files follow in the
// background, rebuilt only when their inputs changed.
//
// # Lock order
//
// Daemon.configMu comes first and only serialises configuration changes:
// it is held while Configure hands the new config to the Switch, the blf
// engine and the adapters (docs/architecture-decisions.md, decision 1).
// Nothing called under it ever takes it again and no component takes it
// from a callback, so it can only be first in any chain. Every other
// daemon lock is a leaf released before calling out: observers.mu (the
// switch's observers are called on a copy of the list), upstream.mu (the
// SIP adapter is called after it is released), Daemon.mu (listeners) and
// cliState.mu (resetters are called on a copy).
package daemon
