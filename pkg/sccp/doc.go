// Package sccp is cmed's SCCP ("Skinny") server: the TCP listener of
// `telephony-service` / `ip source-address A port P`, one session per Cisco
// phone. A session registers the phone (docs/sccp.md §Registration), answers every
// provisioning request, drives the phone's display, lamps and media from the
// line-state core (it implements dn.Device) and shows BLF lamps from the
// presence engine (docs/sccp.md §BLF). Wire encoding is pkg/sccp/msg's job.
//
// # Goroutines
//
// Each connection has one reader goroutine, which decodes frames and calls
// the core (Switch methods block until the core's loop ran them). Everything
// the session sends goes through a bounded queue drained by a writer
// goroutine that exists only while there is something to write, so an idle
// phone costs one goroutine. The core's Device callbacks and the presence
// engine's Deliver only enqueue; a full queue drops the connection (the
// phone re-registers) rather than stalling the core (docs/architecture.md
// §Ownership).
//
// # Configuration
//
// Snapshots are pushed: Server.Config is the first, Server.Apply hands
// over each later one once the core has accepted it. The server never
// pulls the caller's running config, so the snapshot it reads is always
// the one it has reacted to (restarting phones whose buttons changed).
//
// # Lock order
//
// Server.mu (sessions by name and address) is released before a session's
// locks are taken. A session has two leaf locks: mu for registration
// state and wmu for the write side, including lamp states the blf engine
// delivers; neither is held while the other is taken, while writing to
// the socket, or while calling the Switch or the presence engine.
// Server.idxMu guards the config index and is a leaf.
package sccp
