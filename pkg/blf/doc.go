// Package blf is cmed's presence engine: it turns the line state published
// by pkg/dn into BLF lamp states and fans them out to watchers, following
// Cisco CME's presence service (docs/cme-cli.md §Presence-commands, docs/cme-behaviour.md §Presentity-state to §Presence-rules).
//
// # Model
//
// A presentity is a DN number (every ephone-dn / voice register dn with that
// number or secondary number), a phone ("device:" monitoring, the phone
// whose first line is the number), or an external number served by a remote
// presence server. A watcher is anything that shows lamps: SCCP speed-dial
// buttons and call lists, SIP phones and trunks, web clients. All of them
// implement Watcher.
//
// # Delivery: state, not a stream
//
// Watcher.Deliver is called after the engine lock is released, on whatever
// goroutine changed the state (usually the dn.Switch loop), by one
// goroutine at a time and in the order the changes happened. It MUST NOT
// block: the switch goroutine may be the one delivering. Use Mailbox, which
// keeps only the latest Update per subscription and signals a capacity-1
// channel: a slow watcher skips intermediate states and never stalls the
// core or other watchers (docs/architecture.md §Line-state-path). A new subscription gets the
// full current state at once, then changes. Updates queued before
// Unsubscribe may still arrive after it returns, while another goroutine
// is delivering; being in order, such an update never overtakes one queued
// after it (e.g. a new subscription's first state for the same button).
//
// # Lock order
//
// Engine.mu is the only engine lock; it guards all engine state and is
// never held while calling out of the package. The calls a change implies
// (Watcher.Deliver, Upstream.Watch and Upstream.Unwatch) are queued under
// the lock and made once it is released (Engine.unlock), so a watcher or
// the upstream adapter may take its own locks, and may even call back into
// the Engine, without a lock-order cycle. Watcher.Deliver calls are made by
// whichever goroutine unlocks (one at a time, in order); Upstream calls by
// a short-lived goroutine of the engine's own (Engine.upMu, a leaf, guards
// its queue), so the upstream is never re-entered on the stack of its own
// SetExternalState: Watch and Unwatch happen just after the Subscribe or
// Unsubscribe that decided them, in the order decided. The only code run under
// Engine.mu that is not the engine's is the debug logger's handler, a leaf.
// Mailbox.mu guards one mailbox and is a leaf: nothing is called under it.
//
//	dn.Switch loop ─LineChanged─▶ Engine.mu (released) ─▶ Watcher.Deliver ─▶ watcher's leaf lock
//	sip upstream   ─SetExternalState─▶ Engine.mu   (upstream.mu released first)
//	Engine (mu released) ─Watch/Unwatch─▶ sip upstream.mu
package blf
