package subs

// Verdict is the authorisation answer of the presence engine (pkg/blf) for
// one SUBSCRIBE. The engine decides; this package only maps the verdict to
// SIP, in the one table below.
type Verdict int

const (
	// Allow accepts the subscription. A DN without `allow watch` is
	// normally allowed too and simply reported unknown (PIDF closed, no
	// dialog): CME shows "unknown" for it (docs/sip-presence.md §Unwatchable-DN, docs/cme-behaviour.md §Presence-rules
	// rule 2).
	Allow Verdict = iota
	// RefuseServiceDisabled: `no presence`, or `sip-ua` / `no presence
	// enable` (docs/cme-cli.md §Presence-commands, docs/cme-behaviour.md §Presence-rules rule 1).
	RefuseServiceDisabled
	// RefuseWatcherNotAllowed: a SIP-trunk watcher while `watcher all` is
	// off (docs/cme-cli.md §Presence-commands "watcher all",
	// docs/cme-behaviour.md §Presence-rules rule 3).
	RefuseWatcherNotAllowed
	// RefuseNotWatchable: the DN lacks `allow watch` and the operator chose
	// explicit rejection over "unknown" (docs/sip-presence.md §Unwatchable-DN configurable
	// alternative).
	RefuseNotWatchable
	// RefuseNoSuchPresentity: no such local DN and nothing to forward the
	// subscription to (`allow subscribe`/`server` unset, docs/cme-behaviour.md §Presence-rules
	// rule 4).
	RefuseNoSuchPresentity
	// RefuseLimit: `max-subscription` reached, internal and external
	// subscriptions counted together (docs/sip-presence.md §Limits, docs/cme-behaviour.md §Presence-rules rule 5).
	RefuseLimit
)

var verdictNames = [...]string{"allow", "service-disabled", "watcher-not-allowed", "not-watchable", "no-such-presentity", "limit"}

func (v Verdict) String() string {
	if v >= 0 && int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "unknown"
}

// refusal is how one Verdict looks on the wire.
type refusal struct {
	status     int    // SIP response to the SUBSCRIBE
	reason     string // reason phrase
	retryAfter bool   // add Retry-After (Config.RetryAfter)
	// termination is the Subscription-State reason used when the same
	// verdict ends an existing subscription on refresh (RFC 6665 §4.1.3).
	termination string
}

// refusals is THE mapping table from verdicts to SIP. Cisco documents none
// of these codes (docs/sip-presence.md §Limits, §Unwatchable-DN, §Open-questions), so these are design choices:
//
//   - Administrative refusals are 403: the package is implemented (so not
//     489, which would make RFC 6665 subscribers drop the package for good
//     and is reserved for unknown Event values), the request is understood
//     but not allowed; 403 is final, so phones and trunks stop instead of
//     hammering (docs/sip-presence.md §Unwatchable-DN "configurable alternative 403"; CUCM also denies
//     on authorisation failure, docs/sip-presence.md §Trunk-auth).
//   - An unknown presentity is 404 (RFC 3261 §21.4.5), and noresource if it
//     disappears later (RFC 6665 §4.1.3).
//   - The subscription cap is 503 + Retry-After: retryable, tells a trunk
//     peer to come back (docs/sip-presence.md §Summary and §Limits recommendation).
var refusals = [...]refusal{
	Allow:                   {status: 200, reason: "OK"},
	RefuseServiceDisabled:   {status: 403, reason: "Forbidden", termination: "rejected"},
	RefuseWatcherNotAllowed: {status: 403, reason: "Forbidden", termination: "rejected"},
	RefuseNotWatchable:      {status: 403, reason: "Forbidden", termination: "rejected"},
	RefuseNoSuchPresentity:  {status: 404, reason: "Not Found", termination: "noresource"},
	RefuseLimit:             {status: 503, reason: "Service Unavailable", retryAfter: true, termination: "giveup"},
}

func refusalFor(v Verdict) refusal {
	if v >= 0 && int(v) < len(refusals) {
		return refusals[v]
	}
	return refusals[RefuseServiceDisabled] // unknown verdicts fail closed
}

// Subscription-State termination reasons used by this package (RFC 6665
// §4.1.3 lists them with the subscriber's expected reaction).
const (
	// ReasonTimeout: the subscription expired, or the subscriber
	// unsubscribed with Expires: 0 (Kamailio does the same, docs/sip-presence.md §Test-rig;
	// subscribers re-subscribe only if they still want to).
	ReasonTimeout = "timeout"
	// ReasonDeactivated: server shutdown/restart; subscribers should
	// re-subscribe at once (docs/sip-presence.md §Terminated-NOTIFY). With Config.ShutdownRetryAfter set,
	// "probation;retry-after=N" is sent instead.
	ReasonDeactivated = "deactivated"
	// ReasonNoResource: the DN was deleted (docs/sip-presence.md §Terminated-NOTIFY).
	ReasonNoResource = "noresource"
	// ReasonRejected: authorisation revoked (docs/sip-presence.md §Terminated-NOTIFY).
	ReasonRejected = "rejected"
)
