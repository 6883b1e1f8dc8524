package dn

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
)

// DeviceName is the device name of a MAC address in any common notation
// ("0012.7F57.62A5", "00:12:7f:57:62:a5"): "SEP00127F5762A5", as SCCP
// phones register and as SIP pools are identified (`id mac`).
func DeviceName(mac string) string {
	var b strings.Builder
	b.WriteString("SEP")
	for _, c := range strings.ToUpper(mac) {
		if (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// poolName names a pool without `id mac`; such a pool can only register by
// this name.
func poolName(tag int) string { return fmt.Sprintf("POOL%d", tag) }

// sipDNCalls is how many calls a voice register dn carries: SIP phones do
// call waiting on a line (docs/cme-behaviour.md §Lines), so two, like a dual-line.
const sipDNCalls = 2

// appearance is one DN on one phone button.
type appearance struct {
	device  string
	button  int
	dn      DNKey
	monitor bool              // `button m`/`w`: shows state, cannot place or take calls
	mode    config.ButtonMode // ring style (`:` `b` `f` `s` ...)
}

type dnConf struct {
	key        DNKey
	number     string
	secondary  string
	name       string
	label      string
	calls      int
	allowWatch bool
	huntstop   bool
	preference int

	// Forwarding (docs/cme-cli.md §Ephone-dn, docs/cme-behaviour.md §Forwarding): cfa as configured (the softkey
	// may override it at run time), cfb busy, cfna no-answer after
	// cfnaTimeout.
	cfa         string
	cfb         string
	cfna        string
	cfnaTimeout time.Duration

	// xin and xout are `translation-profile incoming|outgoing`, applied
	// to trunk calls (see trunk.go).
	xin, xout string

	// park is the `park-slot` configuration of a call-park slot
	// (docs/cme-behaviour.md §Call-park); nil for an ordinary DN.
	park *config.ParkSlot
	// pickup is the DN's `pickup-group` (own, else its template's).
	pickup string
}

type deviceConf struct {
	name     string
	kind     string // "ephone" or "pool"
	tag      int
	model    string
	protocol Protocol
	apps     []appearance // sorted by button
	dnd      bool         // initial DND (voice register pool `dnd`)
	username string       // `username`: devices sharing one are one user (DND)
	// dndFeatureRing is `dnd feature-ring` (ephone default on): in DND,
	// `f` buttons still present calls with the ringer off.
	dndFeatureRing bool
	// dndMode is cmed's `dnd-mode`: CME's DND when empty, else the
	// CallManager-style call reject, ringer off or soft-phone DND
	// (docs/cme-behaviour.md §DND).
	dndMode config.DNDMode
}

// buildTables derives the DN and device tables from a snapshot.
func buildTables(cfg *config.Config) (map[DNKey]*dnConf, map[string]*deviceConf) {
	dns := make(map[DNKey]*dnConf)
	for i := range cfg.EphoneDNs {
		d := &cfg.EphoneDNs[i]
		k := DNKey{EphoneDN, d.Tag}
		cf := d.CallForward
		pickup := d.PickupGroup
		if d.Template != 0 {
			for _, t := range cfg.EphoneDNTemplates {
				if t.Tag == d.Template { // the DN's own setting wins (docs/cme-cli.md §Ephone-dn)
					cf.All = cmp.Or(cf.All, t.CallForward.All)
					cf.Busy = cmp.Or(cf.Busy, t.CallForward.Busy)
					if cf.NoAnswer == "" {
						cf.NoAnswer, cf.NoAnswerTimeout = t.CallForward.NoAnswer, t.CallForward.NoAnswerTimeout
					}
					pickup = cmp.Or(pickup, t.PickupGroup)
				}
			}
		}
		dns[k] = &dnConf{key: k, number: d.Number, secondary: d.Secondary, name: d.Name, label: d.Label,
			calls: d.Mode.Calls(), allowWatch: cfg.EphoneDNAllowWatch(d), huntstop: !d.NoHuntstop,
			preference: d.Preference, xin: d.TranslationProfileIn, xout: d.TranslationProfileOut,
			park: d.ParkSlot, pickup: pickup}
		dns[k].setForward(cf)
	}
	for _, d := range cfg.VoiceRegisterDNs {
		k := DNKey{VoiceRegisterDN, d.Tag}
		dns[k] = &dnConf{key: k, number: d.Number, name: d.Name, label: d.Label, calls: sipDNCalls,
			allowWatch: d.AllowWatch, huntstop: d.Huntstop, preference: d.Preference}
		dns[k].setForward(d.CallForward)
	}
	devs := make(map[string]*deviceConf)
	for _, e := range cfg.Ephones {
		dc := &deviceConf{name: DeviceName(e.MAC), kind: "ephone", tag: e.Tag, model: e.Type, protocol: SCCP,
			username: e.Username, dndFeatureRing: !e.NoDNDFeatureRing, dndMode: e.DNDMode}
		for _, b := range e.Buttons {
			mon := b.Mode == config.ButtonMonitor || b.Mode == config.ButtonWatch
			for _, t := range b.DNs {
				k := DNKey{EphoneDN, t}
				if dns[k] == nil {
					continue // dangling reference; config validation reports it
				}
				dc.apps = append(dc.apps, appearance{device: dc.name, button: b.Index, dn: k, monitor: mon, mode: b.Mode})
			}
		}
		slices.SortStableFunc(dc.apps, func(a, b appearance) int { return cmp.Compare(a.button, b.button) })
		if e.MAC != "" {
			devs[dc.name] = dc
		}
	}
	for _, p := range cfg.VoiceRegisterPools {
		name := poolName(p.Tag)
		if p.MAC != "" {
			name = DeviceName(p.MAC)
		}
		dc := &deviceConf{name: name, kind: "pool", tag: p.Tag, model: p.Type, protocol: SIP, dnd: p.DND,
			username: p.Username, dndMode: p.DNDMode}
		for _, n := range p.Numbers {
			k := DNKey{VoiceRegisterDN, n.DN}
			if dns[k] == nil {
				continue
			}
			dc.apps = append(dc.apps, appearance{device: name, button: n.Tag, dn: k, mode: config.ButtonNormal})
		}
		slices.SortStableFunc(dc.apps, func(a, b appearance) int { return cmp.Compare(a.button, b.button) })
		devs[name] = dc
	}
	return dns, devs
}

// PrimaryDevices maps every number to the phone a device-based BLF
// speed-dial on it monitors (`blf-speed-dial … device`): the phone whose
// first line button carries a DN with that number; ties go to the lowest
// ephone tag, then the lowest pool tag (docs/cme-behaviour.md §Presentity-state).
func PrimaryDevices(cfg *config.Config) map[string]string {
	dns, devs := buildTables(cfg)
	list := make([]*deviceConf, 0, len(devs))
	for _, dc := range devs {
		list = append(list, dc)
	}
	slices.SortFunc(list, func(a, b *deviceConf) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.tag, b.tag)) // "ephone" < "pool"
	})
	out := make(map[string]string)
	for _, dc := range list {
		for _, a := range dc.apps {
			if a.monitor {
				continue
			}
			if n := dns[a.dn].number; n != "" {
				if _, taken := out[n]; !taken {
					out[n] = dc.name
				}
			}
			break
		}
	}
	return out
}

// setForward copies a DN's call-forward settings. A no-answer target
// without a timeout uses the ringing timeout (CME requires one; cmed is
// lenient).
func (c *dnConf) setForward(cf config.CallForward) {
	c.cfa, c.cfb, c.cfna = cf.All, cf.Busy, cf.NoAnswer
	c.cfnaTimeout = time.Duration(cf.NoAnswerTimeout) * time.Second
}

// equalApps reports whether a phone's button layout is unchanged.
func equalApps(a, b []appearance) bool { return slices.Equal(a, b) }
