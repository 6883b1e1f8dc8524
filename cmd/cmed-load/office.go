package main

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/cmed-project/cmed/pkg/config"
)

// Office is the set of SCCP phones a run registers. The generated load
// office (cmed-load genconfig, harness) has N phones: phone i owns one line
// (number Base+i) and watches the next M phones' lines on its BLF speed
// dials, wrapping around, so every line has exactly M watchers. An office
// read from a config (OfficeFromConfig: the embedded demo office or a file)
// lists its phones instead.
type Office struct {
	// Name says where the office came from, for reports and errors.
	Name string
	N, M int
	Base int    // first directory number; default 100000
	Addr string // SCCP address written into the config
	Port int
	// Model is the phone type; 7961 takes two 7914 modules, which makes
	// room for 10 BLF buttons next to the line (docs/sccp.md §Device-types).
	Model string
	// phones, when set, are the ephones of a config office; nil for the
	// generated office.
	phones []officePhone
}

// officePhone is one ephone of a config office.
type officePhone struct {
	mac    string // 12 hex digits
	model  string
	number string // the DN on its lowest line button
	// watched maps a BLF lamp's SCCP instance to the office phone whose
	// line it shows; watchers lists the reverse, by phone.
	watched  map[int]int
	watchers []watcherButton
}

type watcherButton struct{ phone, button int }

func (o Office) withDefaults() Office {
	if o.Base == 0 {
		o.Base = 100000
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = 2000
	}
	if o.Model == "" {
		o.Model = "7961"
	}
	return o
}

// Number is phone i's directory number.
func (o Office) Number(i int) string {
	if o.phones != nil {
		return o.phones[i].number
	}
	return fmt.Sprint(o.Base + i)
}

// MAC is phone i's MAC as 12 hex digits (the SEP name without "SEP").
func (o Office) MAC(i int) string {
	if o.phones != nil {
		return o.phones[i].mac
	}
	return fmt.Sprintf("0000%08X", i+1)
}

// PhoneModel is phone i's type, which its Register must claim.
func (o Office) PhoneModel(i int) string {
	if o.phones != nil {
		return o.phones[i].model
	}
	return o.Model
}

// Watched is the phone whose line phone i's BLF lamp k (the SCCP instance
// FeatureStatV2 carries, 1-based) shows, or -1 if that lamp shows no
// phone of the office.
func (o Office) Watched(i, k int) int {
	if o.phones != nil {
		if w, ok := o.phones[i].watched[k]; ok {
			return w
		}
		return -1
	}
	if k < 1 || k > o.M || k >= o.N {
		return -1
	}
	return (i + k) % o.N
}

// Watchers are the phones showing phone i's line, with their lamp index.
func (o Office) Watchers(i int) (phones, buttons []int) {
	if o.phones != nil {
		for _, w := range o.phones[i].watchers {
			phones = append(phones, w.phone)
			buttons = append(buttons, w.button)
		}
		return phones, buttons
	}
	for k := 1; k <= o.M && k < o.N; k++ {
		phones = append(phones, (i-k+o.N)%o.N)
		buttons = append(buttons, k)
	}
	return phones, buttons
}

// OfficeFromConfig takes the SCCP phones of a cmed config, in ephone tag
// order, at most n of them (n <= 0: all). A phone's number is the DN on its
// lowest line button; phones without a line are left out, since no
// scenario can use them. BLF lamps are numbered as the daemon numbers
// speed-dial instances: speed-dials first, then blf-speed-dials, each by
// tag (pkg/sccp/layout.go); a lamp counts when its number is another
// office phone's number.
func OfficeFromConfig(name string, c *config.Config, n int) (Office, error) {
	dns := map[int]string{}
	for _, d := range c.EphoneDNs {
		dns[d.Tag] = d.Number
	}
	ephones := slices.Clone(c.Ephones)
	slices.SortFunc(ephones, func(a, b config.Ephone) int { return cmp.Compare(a.Tag, b.Tag) })
	o := Office{Name: name}
	var kept []config.Ephone
	for _, e := range ephones {
		number := ""
		lowest := 0
		for _, b := range e.Buttons {
			if len(b.DNs) > 0 && dns[b.DNs[0]] != "" && (number == "" || b.Index < lowest) {
				number, lowest = dns[b.DNs[0]], b.Index
			}
		}
		if number == "" {
			continue
		}
		if n > 0 && len(o.phones) == n {
			break
		}
		o.phones = append(o.phones, officePhone{mac: strings.ReplaceAll(e.MAC, ".", ""), model: e.Type,
			number: number, watched: map[int]int{}})
		kept = append(kept, e)
	}
	if len(o.phones) == 0 {
		return Office{}, fmt.Errorf("office %s has no SCCP phone with a line (ephone with a button)", name)
	}
	if n > len(o.phones) {
		return Office{}, fmt.Errorf("office %s has %d SCCP phones, -n asks for %d (--office gen runs the generated office of `cmed-load genconfig`)",
			name, len(o.phones), n)
	}
	byNumber := map[string]int{}
	for i, p := range o.phones {
		if _, dup := byNumber[p.number]; !dup {
			byNumber[p.number] = i
		}
	}
	for i, e := range kept {
		blfs := slices.Clone(e.BLFSpeedDials)
		slices.SortFunc(blfs, func(a, b config.BLFSpeedDial) int { return cmp.Compare(a.Tag, b.Tag) })
		for k, b := range blfs {
			owner, ok := byNumber[b.Number]
			if !ok || owner == i {
				continue
			}
			inst := len(e.SpeedDials) + k + 1
			o.phones[i].watched[inst] = owner
			o.phones[owner].watchers = append(o.phones[owner].watchers, watcherButton{phone: i, button: inst})
		}
	}
	o.N = len(o.phones)
	for _, p := range o.phones {
		o.M = max(o.M, len(p.watched))
	}
	return o, nil
}

// Config builds the typed config. It is not validated: beyond 1000 ephones
// or 500 subscriptions it is outside what CME (and cmed's validation)
// accepts, and only the in-process harness can run it.
func (o Office) Config() *config.Config {
	o = o.withDefaults()
	c := &config.Config{
		Hostname: "cmed-load",
		Telephony: &config.Telephony{
			MaxEphones: o.N, MaxDN: o.N, SourceAddress: o.Addr, Port: o.Port,
			// The fake phones send no keepalives during a run; a long
			// interval keeps them registered for the whole scenario.
			Keepalive:          3600,
			TimeoutsInterdigit: 120,
			SystemMessage:      "cmed load office",
		},
		// Headroom over the office's own BLF subscriptions, so SIP watchers
		// (cmed-load mixed / subscribe) are not refused by the shared limit
		// (docs/cme-behaviour.md §Presentity-state). Uncapped here: the harness skips validation;
		// Text caps it for the daemon.
		Presence: &config.Presence{MaxSubscription: o.N*o.M + subscriptionHeadroom, WatcherAll: true},
		SIPUA:    &config.SIPUA{PresenceEnable: true},
	}
	for i := range o.N {
		c.EphoneDNs = append(c.EphoneDNs, config.EphoneDN{Tag: i + 1, Number: o.Number(i),
			Name: fmt.Sprintf("Load %d", i), Label: o.Number(i), AllowWatch: true})
		mac := o.MAC(i)
		e := config.Ephone{Tag: i + 1, MAC: mac[0:4] + "." + mac[4:8] + "." + mac[8:12], Type: o.Model,
			Buttons: []config.Button{{Index: 1, Mode: config.ButtonNormal, DNs: []int{i + 1}}}}
		for k := 1; k <= o.M && k < o.N; k++ {
			e.BLFSpeedDials = append(e.BLFSpeedDials, config.BLFSpeedDial{Tag: k, Number: o.Number(o.Watched(i, k)),
				Label: "BLF " + o.Number(o.Watched(i, k))})
		}
		c.Ephones = append(c.Ephones, e)
	}
	return c
}

// subscriptionHeadroom is how many subscriptions beyond N x M the office
// allows for SIP watchers.
const subscriptionHeadroom = 100

// Text renders the office as IOS config text (`cmed-load genconfig`) for
// the daemon, whose validation allows max-subscription up to CME's 500
// (config.MaxMaxSubscription): above that it is capped, and
// SubscriptionsCapped says so.
func (o Office) Text() string {
	c := o.Config()
	c.Presence.MaxSubscription = min(c.Presence.MaxSubscription, config.MaxMaxSubscription)
	return config.Render(c)
}

// SubscriptionsCapped reports whether Text's max-subscription (capped at
// 500) is below the office's own N x M BLF subscriptions, so the daemon
// refuses some of them and leaves SIP watchers nothing.
func (o Office) SubscriptionsCapped() bool {
	o = o.withDefaults()
	return o.N*o.M > config.MaxMaxSubscription
}

// sourceAddr spreads phones over loopback source addresses, 50 per address,
// so neither the ephemeral ports of one address nor the server's
// per-source connection cap (sccp Limits.MaxConnsPerIP, default 64) is hit.
func sourceAddr(i int) netip.Addr {
	n := i / 50
	return netip.AddrFrom4([4]byte{127, 1, byte(n / 250), byte(n%250 + 1)})
}
