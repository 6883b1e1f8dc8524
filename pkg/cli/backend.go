// Package cli is cmed's IOS-like command line (docs/cme-cli.md §Modes): EXEC and
// configuration modes with IOS prompts, `?` help, abbreviations, Tab
// completion, paging and the show commands, served over SSH (package
// sshd) and the local control socket (`cmed cli`).
//
// cli is an adapter: it reads the core (config, dn, blf snapshots) and
// reaches everything else (the store, the phone adapters, the debug
// switchboard) through the small interfaces below, which internal/daemon
// implements.
package cli

import (
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
)

// Backend is the router the CLI drives.
type Backend interface {
	// Running is the current running-config snapshot (never mutated).
	Running() *config.Config
	// Configure serialises configuration changes from all sessions: it
	// calls edit with the current running config and, when edit returns a
	// config and no error, makes that config running before any other
	// session's edit runs (so two sessions never overwrite each other).
	Configure(edit func(running *config.Config) (*config.Config, error)) error
	// SaveRunning writes the running config as startup-config.
	SaveRunning() error
	// StartupText is the saved startup-config, "" when none.
	StartupText() (string, error)

	// Core snapshots for the show commands.
	Devices() ([]dn.DeviceStatus, error)
	Lines() ([]dn.LineStatus, error)
	Calls() ([]dn.CallStatus, error)
	PresenceGlobal() blf.GlobalInfo
	PresenceSubscriptions() []blf.SubscriptionInfo
	CallHistory() ([]CallRecord, error)

	// Reset carries out a `reset`/`restart` typed in config mode.
	Reset(a config.DeviceAction) error

	// Info is static data for `show version`.
	Info() SystemInfo
	// Debug is the debug switchboard, nil when the daemon has none.
	Debug() Debugger
}

// SystemInfo is what `show version` prints.
type SystemInfo struct {
	Version string
	Started time.Time
	// Address is the router's own IP address as phones reach it, shown
	// after local presentities when the config's source addresses are
	// 0.0.0.0 ("" = unknown).
	Address string
}

// CallRecord is one call-history entry (`show call history voice`).
type CallRecord struct {
	Phone    string // device name
	Kind     string // missed, placed, received
	Number   string
	Name     string
	Line     string
	Start    time.Time
	Duration time.Duration
}

// Debugger is the runtime debug-category switchboard behind `debug`,
// `undebug all` and `terminal monitor`.
type Debugger interface {
	// Enable and Disable switch one category ("ephone blf", "presence").
	Enable(category string) error
	Disable(category string) error
	DisableAll()
	// Active lists the categories switched on, for `show debugging`.
	Active() []string
	// Subscribe streams formatted debug lines until cancel is called.
	Subscribe() (lines <-chan string, cancel func())
}
