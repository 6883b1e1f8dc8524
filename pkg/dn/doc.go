// Package dn is cmed's line-state core: directory numbers (ephone-dn and
// voice register dn alike), their line appearances on phones, calls between
// them, and the protocol-neutral registry of devices behind `show ephone` and
// `show voice register pool`.
//
// # Concurrency
//
// One goroutine, Switch.Run, owns every DN, call and device. Adapters (SCCP,
// SIP) call the typed methods of Switch (OffHook, Digits, Answer, ...); each
// enqueues a command, waits until the loop has executed it and returns its
// error; the phone commands also return the call they made or acted on
// (CallRef), so an adapter never reads its Device callbacks back to learn
// it (docs/architecture-decisions.md, decision 4). Effects go out through two consumer-facing interfaces, both called
// on the loop goroutine after the transition has been computed:
//
//   - Device: what the core tells a phone (ring, call state, tones, ...).
//     Implementations MUST NOT block and MUST NOT call back into Switch
//     synchronously: they enqueue to their own writer goroutine and return
//     (docs/architecture.md §Ownership). A full queue is the
//     adapter's problem (drop the connection; the phone re-registers).
//   - Observer: presence snapshots (LineEvent per DN, DeviceEvent per phone)
//     consumed by pkg/blf. Same rules: never block.
//
// Timers (interdigit, ringing timeout) are time.AfterFunc callbacks that post
// back into the loop with a generation number, so a timer that fires after
// its leg moved on is ignored. Under testing/synctest they run in zero time.
//
// # Features
//
//   - Media: Device.OpenMedia/StartMedia/StopMedia and Switch.MediaReady;
//     music on hold, the echo test (Options.EchoNumber, default *43) and
//     tones come from an Options.Media MediaServer. See Device.
//   - Hold/Resume; transfer: StartTransfer + CompleteTransfer
//     (consultative, also at alert), BlindTransfer, and
//     `transfer-system blind|full-blind` completing on the dialled number.
//   - Forwarding per DN (docs/cme-cli.md §Ephone-dn, docs/cme-behaviour.md §Forwarding): `call-forward all|busy|
//     noan N timeout T` and SetCallForwardAll (CfwdALL softkey), bounded
//     by Options.MaxForwardHops and a visited set; hunting over DNs with
//     the same number unless `huntstop`. See Switch.route.
//   - DND (docs/cme-behaviour.md §DND): CME's by default (no ring, the call
//     is shown and answerable; `dnd feature-ring` keeps the feature ring on
//     `f` buttons), or `dnd-mode` call-reject / ringer-off / soft-phone;
//     per user (`username`) across phones.
//   - Call records (missed/placed/received) to Options.Records.
//   - Trunk calls over `dial-peer voice N voip` through an Options.Trunk
//     (the SIP adapter): outbound with dial-peer hunting, inbound routed
//     like internal calls, translation profiles of DNs and dial-peers,
//     call-forward and blind transfer to external numbers. See Trunk and
//     trunk.go.
//
// The package imports only the stdlib, pkg/config and pkg/dialplan.
//
// # Lock order
//
// The Switch has no mutex: its state belongs to the goroutine running Run,
// and every other goroutine reaches it through commands on a channel. That
// goroutine calls out to Observers, Devices, the Trunk and the call-record
// sink; they must not block and must not wait for a Switch command
// synchronously (pkg/blf, for one, queues its deliveries and makes them
// with no lock held). Calls into the Switch from adapters are made with
// the adapters' own locks released (pkg/sccp, pkg/sip doc.go).
package dn
