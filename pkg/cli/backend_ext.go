package cli

import "time"

// Optional Backend capabilities. A backend that lacks one makes the
// commands that need it answer with an IOS-style error instead of
// inventing output; internal/daemon implements all of them.

// Registrar lists the SIP registrar's live bindings, for `show sip-ua
// status registrar` and `show voice register statistics`.
type Registrar interface {
	Registrations() []Registration
}

// Registration is one registered SIP contact of a voice register pool.
type Registration struct {
	Pool       int    // voice register pool tag
	Number     string // the registered line (AoR user)
	Contact    string // Contact URI
	Source     string // signalling source "ip:port"
	Transport  string // "UDP" / "TCP"
	CallID     string
	Registered time.Time
	Expires    time.Time
}

// ConfigArchive is the store's saved startup-config versions, for `show
// archive`, `configure replace` and `write erase` (docs/cme-cli.md
// §Archive-and-reload).
type ConfigArchive interface {
	// ArchivedConfigs lists the saved versions, newest first.
	ArchivedConfigs() ([]ArchivedConfig, error)
	// ArchiveMax is how many versions the store keeps.
	ArchiveMax() int
	// EraseStartup makes the startup-config empty (`write erase`); the
	// older versions stay in the archive.
	EraseStartup() error
}

// ArchivedConfig is one saved startup-config.
type ArchivedConfig struct {
	Seq   uint64
	Saved time.Time
	Text  string
}
