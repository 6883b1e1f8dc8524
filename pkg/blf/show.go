package blf

import (
	"cmp"
	"slices"
	"time"
)

// GlobalInfo is the data of `show presence global` (docs/cme-cli.md §Show-presence-global) plus
// counters.
type GlobalInfo struct {
	Enabled                bool   // Presence feature enable
	AllowExternalWatchers  bool   // watcher all
	MaxSubscriptions       int    // max-subscription
	Subscriptions          int    // number of subscriptions (counted kinds)
	AllowExternalSubscribe bool   // allow subscribe
	CallList               bool   // presence call-list (global)
	ServerIP               string // "0.0.0.0" when unset
	RetryInterval          int    // sccp blf-speed-dial retry-interval
	RetryLimit             int
	RouterMode             string // "CME mode"
	SIPEnabled             bool   // sip-ua presence enable
	Refused                map[Reason]uint64
	Deliveries             uint64 // updates handed to watchers since start
}

// Global returns the presence service summary.
func (e *Engine) Global() GlobalInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := GlobalInfo{Enabled: e.enabled, AllowExternalWatchers: e.watcherAll, MaxSubscriptions: e.max,
		Subscriptions: e.counted, AllowExternalSubscribe: e.allowSubscribe, CallList: e.callList,
		ServerIP: cmp.Or(e.server, "0.0.0.0"), RetryInterval: e.retryInterval, RetryLimit: e.retryLimit,
		RouterMode: e.routerMode, SIPEnabled: e.sipEnabled, Refused: map[Reason]uint64{},
		Deliveries: e.deliveries}
	for r, n := range e.refused {
		if n > 0 {
			g.Refused[Reason(r)] = n
		}
	}
	return g
}

// SubscriptionInfo is one row/record of `show presence subscription`
// (docs/cme-cli.md §Show-presence-subscription).
type SubscriptionInfo struct {
	ID             SubID
	SibID          SubID // outbound record for an external presentity, 0 if local
	Watcher        string
	Presentity     string
	Kind           Kind // Kind.String() is "Watcher phone type"
	Device         bool // summary rows prefixed "D "
	State          State
	Expires        time.Duration
	Duration       time.Duration // "Subscription Duration"
	WatcherType    string        // "local" | "remote"
	PresentityType string        // "local" | "remote"
	Type           string        // "Incoming Indication" | "Outgoing Request"
	// Status is the composed presence status SIP watchers are shown
	// (docs/sip-presence.md §Rich-presence), filled by the SIP adapter's
	// owner; empty for SCCP watchers, whose lamps show State only.
	Status string
}

func (e *Engine) info(s *sub) SubscriptionInfo {
	si := SubscriptionInfo{ID: s.id, SibID: s.sib, Watcher: s.req.WatcherName, Presentity: s.p.number,
		Kind: s.req.Kind, Device: s.p.device, State: s.last, Expires: s.req.Expires,
		Duration: e.now().Sub(s.since), WatcherType: "local", PresentityType: "local", Type: "Incoming Indication"}
	if s.req.Kind == KindSIPTrunk {
		si.WatcherType = "remote"
	}
	if s.p.sibling != nil {
		si.PresentityType = "remote"
	}
	if s.req.Kind == KindOutbound {
		si.Type, si.State = "Outgoing Request", mapFor(s.p.state, &s.req)
	}
	return si
}

// Subscriptions returns every subscription, sibling (outbound) records
// included, by ID. The summary view shows only records with Type
// "Incoming Indication".
func (e *Engine) Subscriptions() []SubscriptionInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]SubscriptionInfo, 0, len(e.subs))
	for _, s := range e.subs {
		out = append(out, e.info(s))
	}
	for _, p := range e.presentities {
		if p.sibling != nil {
			out = append(out, e.info(p.sibling))
		}
	}
	slices.SortFunc(out, func(a, b SubscriptionInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Subscription is `show presence subscription subid N`.
func (e *Engine) Subscription(id SubID) (SubscriptionInfo, bool) {
	for _, si := range e.Subscriptions() {
		if si.ID == id {
			return si, true
		}
	}
	return SubscriptionInfo{}, false
}

// SubscriptionsFor is `show presence subscription presentity NUMBER`.
func (e *Engine) SubscriptionsFor(number string) []SubscriptionInfo {
	return slices.DeleteFunc(e.Subscriptions(), func(si SubscriptionInfo) bool { return si.Presentity != number })
}
