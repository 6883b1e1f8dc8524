package web

import (
	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/metrics"
)

// SwitchStats is what the metrics snapshot reads from the core;
// *dn.Switch implements it.
type SwitchStats interface {
	Source
	Calls() ([]dn.CallStatus, error)
}

// PresenceStats is what the metrics snapshot reads from the presence
// engine; *blf.Engine implements it.
type PresenceStats interface {
	Presence
	Global() blf.GlobalInfo
}

// SnapshotFunc adapts the core to metrics.SnapshotFunc, so pkg/metrics
// needs no core import:
//
//	m.SetSnapshotFunc(web.SnapshotFunc(sw, engine))
//
// DN states use the board's lamp words; subscriptions count the records
// `show presence subscription` lists as incoming (not our outbound ones).
// presence may be nil.
func SnapshotFunc(sw SwitchStats, presence PresenceStats) metrics.SnapshotFunc {
	return func() metrics.Snapshot {
		var snap metrics.Snapshot
		lines, err := sw.Lines()
		if err != nil {
			return snap // switch stopped: export nothing rather than zeros
		}
		devs, _ := sw.Devices()
		calls, _ := sw.Calls()
		snap.ActiveCalls = len(calls)
		snap.DNs = map[string]int{}
		for _, l := range lines {
			snap.DNs[dnLamp(l)]++
		}
		index := map[[2]string]int{}
		for _, d := range devs {
			if !d.Registered {
				continue
			}
			model := d.Model
			if d.Info.Model != "" {
				model = d.Info.Model
			}
			k := [2]string{string(d.Protocol), model}
			if i, ok := index[k]; ok {
				snap.Devices[i].Count++
				continue
			}
			index[k] = len(snap.Devices)
			snap.Devices = append(snap.Devices, metrics.DeviceCount{Protocol: k[0], Model: k[1], Count: 1})
		}
		if presence == nil {
			return snap
		}
		// Every watcher kind is exported, at 0 when none is active, so a
		// dashboard's series exist before the first subscription.
		snap.Subscriptions = map[string]int{}
		for _, k := range watcherKinds {
			snap.Subscriptions[kindLabel(k)] = 0
		}
		for _, s := range presence.Subscriptions() {
			if s.Kind != blf.KindOutbound {
				snap.Subscriptions[kindLabel(s.Kind)]++
			}
		}
		g := presence.Global()
		snap.Refused = map[string]uint64{}
		for r, n := range g.Refused {
			snap.Refused[r.String()] = n
		}
		snap.Deliveries = g.Deliveries
		return snap
	}
}

// watcherKinds are the incoming watcher kinds (KindOutbound is ours).
var watcherKinds = []blf.Kind{blf.KindSCCPSpeedDial, blf.KindSCCPCallList, blf.KindSIPPhone, blf.KindSIPTrunk, blf.KindWeb}

// kindLabel is a Prometheus-friendly watcher kind.
func kindLabel(k blf.Kind) string {
	switch k {
	case blf.KindSCCPSpeedDial:
		return "sccp-speed-dial"
	case blf.KindSCCPCallList:
		return "sccp-call-list"
	case blf.KindSIPPhone:
		return "sip-phone"
	case blf.KindSIPTrunk:
		return "sip-trunk"
	case blf.KindWeb:
		return "web"
	case blf.KindOutbound:
		return "outbound"
	}
	return k.String()
}
