package main

import (
	"fmt"
	"net/netip"

	"github.com/cmed-project/cmed/pkg/config"
)

// Office describes the generated load office: N SCCP phones, phone i owns
// one line (number Base+i) and watches the next M phones' lines on its BLF
// speed dials, wrapping around, so every line has exactly M watchers.
type Office struct {
	N, M int
	Base int    // first directory number; default 100000
	Addr string // SCCP address written into the config
	Port int
	// Model is the phone type; 7961 takes two 7914 modules, which makes
	// room for 10 BLF buttons next to the line (docs/sccp.md §Device-types).
	Model string
}

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
func (o Office) Number(i int) string { return fmt.Sprint(o.Base + i) }

// MAC is phone i's MAC as 12 hex digits (the SEP name without "SEP").
func (o Office) MAC(i int) string { return fmt.Sprintf("0000%08X", i+1) }

// Watched is the phone whose line phone i's BLF button k (1-based) shows.
func (o Office) Watched(i, k int) int { return (i + k) % o.N }

// Watchers are the phones showing phone i's line, with their button index.
func (o Office) Watchers(i int) (phones, buttons []int) {
	for k := 1; k <= o.M && k < o.N; k++ {
		phones = append(phones, (i-k+o.N)%o.N)
		buttons = append(buttons, k)
	}
	return phones, buttons
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
