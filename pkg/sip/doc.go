// Package sip is cmed's SIP adapter, on emiago/sipgo: the registrar for
// `voice register pool` phones, the presence server for SIP watchers (local
// phones and trunk peers), the watcher of external presentities on the
// presence `server`, and a B2BUA for the registered phones' calls.
//
// # Wiring
//
//	srv, _ := sip.New(sip.Options{Switch: sw, Presence: engine, Config: cfg, Logger: log})
//	go srv.Serve(ctx, udpConn, tcpListener) // `voice register global` source-address A port P
//	upstreamForwarder.target = srv            // srv implements blf.Upstream
//	srv.Apply(next)                           // after every config change the core accepted
//	srv.Shutdown(ctx)                         // SIGTERM: terminated NOTIFYs, then cancel Serve's ctx
//
// Bindings, Subscriptions and Upstreams feed `show voice register` and
// `show presence subscription`.
//
// # Registrar (registrar.go)
//
// REGISTER's To user is a DN number; the pool is the one whose `number N dn
// T` carries it. Under `authenticate register` the pool's username/password
// are checked with digest (digest.go, RFC 3261 §22.4); Expires is clamped
// to `registrar server expires max/min` (423 below min). The first binding
// registers the pool with dn.Switch as device SEP<MAC> (or POOLn); the last
// one gone (Expires 0, expiry) unregisters it, so a SIP phone's DNs take
// part in line state and BLF like an SCCP phone's.
//
// # Presence server (notifier.go)
//
// RFC 6665 rules live in pkg/sip/subs; bodies in pkg/sip/pidf. Policy is
// CME's (docs/cme-behaviour.md §Presence-rules), decided by the blf engine: `sip-ua` / `presence
// enable`, trunk watchers need `watcher all` and, with `authenticate
// presence`, digest against the `authenticate credential` files (CSV
// username,password); registered phones are authorised by their
// registration; DNs without `allow watch` are served as unknown;
// max-subscription (shared with SCCP) gives 503 + Retry-After.
//
// # External presentities (upstream.go)
//
// With `allow subscribe` and `server A` the engine calls Watch for a number
// that is not local; cmed SUBSCRIBEs to A (port: a dial-peer's `session
// target ipv4:A:P`, else 5060; digest with `sip-ua authentication`),
// relays NOTIFY bodies to Engine.SetExternalState, refreshes, and retries
// failures and terminated NOTIFYs per `sccp blf-speed-dial retry-interval S
// limit N`.
//
// # Calls (calls.go)
//
// A registered phone's INVITE becomes OffHook + Digits on its line; calls
// the core offers to a phone become an offerless INVITE (the phone offers
// in its 200, cmed answers in the ACK). SDP always carries the other
// endpoint's RTP address (media flows between the endpoints) and RFC 4733
// telephone-event. CANCEL, BYE, 486/404/480 and hold/resume by re-INVITE
// (sendonly/inactive/c=0.0.0.0) map to the core, which plays music on
// hold; a phone held by its peer is re-INVITEd sendonly. REFER transfers
// (blind, or attended with Replaces) and feature access codes are in
// refer.go and features.go (docs/cme-behaviour.md §Transfer,
// §Feature-access-codes), as are session-timer answers (RFC 4028).
// The Server is also the dn.Trunk for voip dial-peers (trunk.go): INVITE to
// the session target, and INVITEs from peers offered with TrunkIncoming.
//
// # Trust (trust.go)
//
// Toll-fraud prevention as in IOS 15.1(2)T+: an out-of-dialog INVITE that
// is not from a registered phone is a trunk call only from a trusted
// address, a dial-peer's `session target ipv4:A[:P]` or the presence
// `server` (plus Options.TrustedPeers, IOS `ip address trusted list`);
// others get a stateless 403, or under `authenticate register` a digest
// challenge, the same for every number. Under `authenticate register`
// phones' INVITEs are digest-authenticated like their REGISTERs, and
// REGISTERs for unassigned numbers are challenged too, so svwar-style
// scans cannot enumerate extensions. OPTIONS answers 200 for every number.
//
// # Lock order
//
// Each lock here is a leaf for calls out: it guards this package's tables
// and is released before cmed calls the Switch, the presence engine,
// sipgo's network calls or another lock-holding component. Nested within
// the package only as registrar's phoneDevice.mu before a leg's mu. The
// engine calls Watch/Unwatch (upstream.mu) and Deliver (notifier.mu)
// without its own lock; upstream reports to Engine.SetExternalState after
// releasing upstream.mu (pkg/blf doc.go, "Lock order"). subs.Table.mu is
// a leaf: the Table returns the NOTIFYs to send and the caller sends them.
package sip
