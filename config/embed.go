// Package configs embeds cmed's default startup-config and the example
// configurations, so the daemon can boot with no files on disk and tests
// and docs share one copy. (go:embed cannot reach ../ from pkg/, hence a
// package at the repository root.)
package configs

import "embed"

// Default is the startup-config used on first boot: a small demo office
// that works unchanged (default.cfg).
//
//go:embed default.cfg
var Default []byte

// Examples holds examples/*.cfg (valid configurations) and
// examples/invalid/*.cfg (files that must fail, each saying why on line 1).
//
//go:embed examples
var Examples embed.FS
