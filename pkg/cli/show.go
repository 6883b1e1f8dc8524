package cli

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/cmdtree"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
)

// Layouts follow docs/cme-cli.md §Show-presence-global, §Show-presence-subscription and §Phone-show-commands; fields cmed does not
// model (voice ports, VAD, media counters) print the values an idle CME
// prints.

func cmdShowVersion(c *execCtx, _ *cmdtree.Match) error {
	info := c.s.b.Info()
	cfg := c.s.b.Running()
	host := cfg.HostnameOrDefault()
	c.printf("Cisco IOS Software, cmed Cisco Unified CME emulator, Version %s\n", cmp.Or(info.Version, "unknown"))
	c.printf("Technical Support: https://github.com/cmed-project/cmed\n\n")
	c.printf("ROM: cmed\n\n")
	c.printf("%s uptime is %s\n", host, uptime(time.Since(info.Started)))
	c.printf("System image file is \"cmed\"\n\n")
	c.printf("Cisco Unified Communications Manager Express (emulated)\n")
	c.printf("%d ephones, %d voice register pools, %d ephone-dns, %d voice register dns configured\n",
		len(cfg.Ephones), len(cfg.VoiceRegisterPools), len(cfg.EphoneDNs), len(cfg.VoiceRegisterDNs))
	c.printf("\nConfiguration register is 0x2102\n")
	return nil
}

// uptime words a duration like IOS: "1 day, 2 hours, 3 minutes".
func uptime(d time.Duration) string {
	mins := int(d / time.Minute)
	days, hours, m := mins/1440, mins/60%24, mins%60
	plural := func(n int, unit string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, unit)
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	var parts []string
	if days > 0 {
		parts = append(parts, plural(days, "day"))
	}
	if hours > 0 || days > 0 {
		parts = append(parts, plural(hours, "hour"))
	}
	parts = append(parts, plural(m, "minute"))
	return strings.Join(parts, ", ")
}

func cmdShowClock(c *execCtx, _ *cmdtree.Match) error {
	c.printf("%s\n", time.Now().Format("15:04:05.000 MST Mon Jan 2 2006"))
	return nil
}

func cmdShowUsers(c *execCtx, _ *cmdtree.Match) error {
	now := time.Now()
	c.printf("    Line       User       Host(s)              Idle       Location\n")
	for _, u := range c.s.srv.users() {
		mark := " "
		if u == c.s.info {
			mark = "*"
		}
		idle := u.idle(now)
		c.printf("%s %-10s %-10s %-20s %-10s %s\n", mark+" ", u.Line, u.user(), "idle",
			fmt.Sprintf("%02d:%02d:%02d", int(idle.Hours()), int(idle.Minutes())%60, int(idle.Seconds())%60), u.Location)
	}
	return nil
}

func cmdShowHistory(c *execCtx, _ *cmdtree.Match) error {
	for _, h := range c.s.history() {
		c.printf("  %s\n", h)
	}
	return nil
}

// ---- show ephone ---------------------------------------------------------------

// chState is CME's channel-state word for a line appearance.
func chState(st dn.LineState) string {
	switch st {
	case dn.LineDialing:
		return "SIEZE" // sic, as CME prints it
	case dn.LineRinging:
		return "RINGING"
	case dn.LineRingback:
		return "ALERTING"
	case dn.LineConnected:
		return "CONNECTED"
	case dn.LineHold:
		return "HOLD"
	case dn.LineBusy:
		return "BUSY"
	case dn.LineUnregistered:
		return "DOWN"
	}
	return "IDLE"
}

func extra(d dn.DeviceStatus, key, def string) string {
	if v := d.Info.Extra[key]; v != "" {
		return v
	}
	return def
}

func ephoneMAC(cfg *config.Config, tag int) string {
	for _, e := range cfg.Ephones {
		if e.Tag == tag {
			return e.MAC
		}
	}
	return ""
}

// ---- show ephone-dn --------------------------------------------------------------

func dnSummaryState(l dn.LineStatus) string {
	if len(l.Appearances) == 0 {
		return "INVALID"
	}
	reg := false
	best := dn.LineIdle
	for _, a := range l.Appearances {
		reg = reg || a.Registered
		if a.State != dn.LineUnregistered && a.State != dn.LineIdle && a.State != dn.LineRemoteInUse && a.State != dn.LineDND {
			best = a.State
		}
	}
	if !reg {
		return "DOWN"
	}
	return chState(best)
}

func cmdShowEphoneDN(c *execCtx, m *cmdtree.Match) error {
	if m.Has("park") {
		return cmdShowParkSlots(c)
	}
	lines, err := c.s.b.Lines()
	if err != nil {
		return fmt.Errorf("%% %v", err)
	}
	tag := m.Int(0)
	if tag == 0 || m.Has("summary") {
		c.printf("PORT     DN STATE    CODEC    VAD VTSP STATE            VPM STATE\n")
		c.printf("======== ==========  ======== === ===================== =========\n")
		for _, l := range lines {
			if l.Key.Kind != dn.EphoneDN {
				continue
			}
			st := dnSummaryState(l)
			vpm := "EFXS_ONHOOK"
			if st == "INVALID" {
				vpm = "EFXS_INIT"
			} else if st != "IDLE" && st != "DOWN" {
				vpm = "EFXS_OFFHOOK"
			}
			c.printf("%-8s %-11s %-9s %-2s %-21s %s\n", fmt.Sprintf("50/0/%d", l.Key.Tag), st, "-", "-", "-", vpm)
		}
		return nil
	}
	for _, l := range lines {
		if l.Key.Kind == dn.EphoneDN && l.Key.Tag == tag {
			showVoicePort(c, l)
			return nil
		}
	}
	return fmt.Errorf("%% ephone-dn %d is not configured", tag)
}

func enabled(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

// ---- show voice register ----------------------------------------------------

func cmdShowVoiceRegister(c *execCtx, m *cmdtree.Match) error {
	cfg := c.s.b.Running()
	// `pool all` lists every pool; bare `all` is every section.
	all := m.Has("all") && !m.Has("pool")
	tag := m.Int(0)
	if all || m.Has("global") {
		showRegisterGlobal(c, cfg)
	}
	if all || m.Has("dn") {
		c.printf("VOICE REGISTER DN\n=================\n\n")
		for _, d := range cfg.VoiceRegisterDNs {
			if tag != 0 && d.Tag != tag {
				continue
			}
			c.printf("Dn Tag %d\nConfig:\n", d.Tag)
			c.printf("  Number is %s\n", d.Number)
			if d.Name != "" {
				c.printf("  Name is %s\n", d.Name)
			}
			if d.Preference != 0 {
				c.printf("  Preference is %d\n", d.Preference)
			}
			c.printf("  Huntstop is %s\n", enabled(d.Huntstop))
			c.printf("  Allow watch is %s\n", enabled(d.AllowWatch))
			for _, p := range cfg.VoiceRegisterPools {
				for _, n := range p.Numbers {
					if n.DN == d.Tag {
						c.printf("  Pool %-4d has this DN configured for line %d\n", p.Tag, n.Tag)
					}
				}
			}
			c.printf("\n")
		}
	}
	if all || m.Has("pool") {
		devs, _ := c.s.b.Devices()
		reg := map[int]dn.DeviceStatus{}
		for _, d := range devs {
			if d.Kind == "pool" {
				reg[d.Tag] = d
			}
		}
		c.printf("VOICE REGISTER POOL\n===================\n\n")
		for _, p := range cfg.VoiceRegisterPools {
			if tag != 0 && p.Tag != tag {
				continue
			}
			c.printf("Pool Tag %d\nConfig:\n", p.Tag)
			c.printf("  Mac address is %s\n", cmp.Or(p.MAC, "0000.0000.0000"))
			if p.Type != "" {
				c.printf("  Type is %s\n", p.Type)
			}
			for _, n := range p.Numbers {
				c.printf("  Number list %d : DN %d\n", n.Tag, n.DN)
			}
			c.printf("  Proxy Ip address is 0.0.0.0\n")
			if len(p.DTMFRelay) > 0 {
				c.printf("  DTMF Relay is enabled, %s\n", strings.Join(p.DTMFRelay, ", "))
			} else {
				c.printf("  DTMF Relay is disabled\n")
			}
			c.printf("  Call Waiting is enabled\n")
			// DND set at run time (a feature access code, docs/cme-behaviour.md
			// §Feature-access-codes) shows like configured `dnd`.
			d, ok := reg[p.Tag]
			c.printf("  DnD is %s\n", enabled(p.DND || (ok && d.DND)))
			if ok && d.Registered {
				if len(d.Lines) > 0 {
					c.printf("  active primary line is: %s\n", d.Lines[0].Number)
				}
				host, port, _ := strings.Cut(d.Info.Addr, ":")
				c.printf("  contact IP address: %s port %s\n", host, cmp.Or(port, "5060"))
				if m := d.Info.Extra["moved-from"]; m != "" {
					c.printf("  contact moved here from %s\n", m)
				}
			}
			// CME lists the VoIP dial-peers it created for the pool's
			// registered lines (docs/cme-cli.md §Automatic-dial-peers).
			c.printf("Dialpeers created:\n")
			regs := c.registrations()
			for _, p2 := range autoPeers(cfg, regs) {
				for _, r := range regs {
					if p2.Kind == "voip" && r.Pool == p.Tag && r.Number == p2.Pattern {
						c.printf("dial-peer voice %d voip\n destination-pattern %s\n session target %s\n session protocol sipv2\n",
							p2.Tag, p2.Pattern, p2.Target)
					}
				}
			}
			c.printf("Statistics:\n")
			if ok && d.Registered {
				c.printf("  Active registrations  : %d\n", max(len(poolRegs(regs, p.Tag)), 1))
			} else {
				c.printf("  Active registrations  : 0\n")
			}
			c.printf("\n")
		}
	}
	return nil
}

func showRegisterGlobal(c *execCtx, cfg *config.Config) {
	c.printf("VOICE REGISTER GLOBAL\n=====================\n\n")
	g := cfg.VoiceRegisterGlobal
	if g == nil {
		c.printf("Not configured\n\n")
		return
	}
	c.printf("CONFIG [Version=8.1]\n========================\n")
	c.printf("  Version 8.1\n")
	c.printf("  Mode is %s\n", cmp.Or(g.Mode, "cme"))
	c.printf("  Max-pool is %d\n", g.MaxPool)
	c.printf("  Max-dn is %d\n", g.MaxDN)
	c.printf("  Source-address is %s port %d\n", cmp.Or(g.SourceAddress, "0.0.0.0"), g.Port)
	tf, df := 12, "M/D/Y"
	if cfg.Telephony != nil {
		if cfg.Telephony.TimeFormat != 0 {
			tf = cfg.Telephony.TimeFormat
		}
		switch cfg.Telephony.DateFormat {
		case "dd-mm-yy":
			df = "D/M/Y"
		case "yy-dd-mm":
			df = "Y/D/M"
		case "yy-mm-dd":
			df = "Y/M/D"
		}
	}
	c.printf("  Time-format is %d\n", tf)
	c.printf("  Date-format is %s\n", df)
	c.printf("  Authenticate register is %s\n", enabled(g.AuthenticateRegister))
	c.printf("  Authenticate presence is %s\n", enabled(g.AuthenticatePresence))
	c.printf("\n")
}

// ---- show presence ----------------------------------------------------------------

func boolWord(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

// cmdShowPresenceGlobal is docs/cme-cli.md §Show-presence-global, labels padded so the colons
// line up in column 36.
func cmdShowPresenceGlobal(c *execCtx, _ *cmdtree.Match) error {
	g := c.s.b.PresenceGlobal()
	c.printf("Presence Global Configuration Information:\n")
	c.printf("=============================================\n")
	row := func(label, v string) { c.printf("%-35s: %s\n", label, v) }
	row("Presence feature enable", boolWord(g.Enabled))
	row("Presence allow external watchers", boolWord(g.AllowExternalWatchers))
	row("Presence max subscription allowed", itoa(g.MaxSubscriptions))
	row("Presence number of subscriptions", itoa(g.Subscriptions))
	row("Presence allow external subscribe", boolWord(g.AllowExternalSubscribe))
	row("Presence call list enable", boolWord(g.CallList))
	row("Presence server IP address", cmp.Or(g.ServerIP, "0.0.0.0"))
	row("Presence sccp blfsd retry interval", itoa(g.RetryInterval))
	row("Presence sccp blfsd retry limit", itoa(g.RetryLimit))
	row("Presence router mode", cmp.Or(g.RouterMode, "CME mode"))
	if cfg := c.s.b.Running(); g.AllowExternalWatchers && (cfg.VoiceRegisterGlobal == nil || !cfg.VoiceRegisterGlobal.AuthenticatePresence) {
		// docs/security.md §Presence-exposure
		c.printf("Warning: external watchers are not authenticated (no authenticate presence);\n")
		c.printf("         only trusted peers may subscribe.\n")
	}
	return nil
}

// localAddress is the router's address shown after local presentities:
// the first specific source address of the config, else the address the
// daemon serves phones on (a router listening on 0.0.0.0 still shows
// its own IP, docs/cme-cli.md §Show-presence-subscription), else 0.0.0.0.
func localAddress(cfg *config.Config, info SystemInfo) string {
	specific := func(a string) bool { return a != "" && a != "0.0.0.0" && a != "::" }
	if cfg.Telephony != nil && specific(cfg.Telephony.SourceAddress) {
		return cfg.Telephony.SourceAddress
	}
	if cfg.VoiceRegisterGlobal != nil && specific(cfg.VoiceRegisterGlobal.SourceAddress) {
		return cfg.VoiceRegisterGlobal.SourceAddress
	}
	return cmp.Or(info.Address, "0.0.0.0")
}

// expiresSeconds is the Expires column: SCCP and web watchers have no
// expiry of their own and show CME's default, 3600 (docs/cme-cli.md §Show-presence-subscription).
func expiresSeconds(si blf.SubscriptionInfo) int {
	if si.Expires <= 0 {
		return 3600
	}
	return int(si.Expires / time.Second)
}

func withAddr(s, addr string) string {
	if strings.Contains(s, "@") {
		return s
	}
	return s + "@" + addr
}

// subStatus is the Status column: blf.State already uses CME's words.
func subStatus(st blf.State) string { return st.String() }

func cmdShowPresenceSub(c *execCtx, m *cmdtree.Match) error {
	subs := c.s.b.PresenceSubscriptions()
	addr := localAddress(c.s.b.Running(), c.s.b.Info())
	switch {
	case m.Has("summary"), len(m.Tokens) == 3:
		var rows []blf.SubscriptionInfo
		device := false
		for _, si := range subs {
			if si.Type == "Outgoing Request" {
				continue
			}
			rows = append(rows, si)
			device = device || si.Device
		}
		c.printf("Presence Active Subscription Records Summary: %d subscription\n", len(rows))
		if device {
			c.printf("Watcher                    Presentity               SubID  Expires SibID  Status\n")
			c.printf("========================== ======================== ====== ======= ====== ======\n")
		} else {
			c.printf("Watcher                  Presentity               SubID  Expires SibID  Status\n")
			c.printf("======================== ======================== ====== ======= ====== ======\n")
		}
		for _, si := range rows {
			w, p := withAddr(si.Watcher, addr), withAddr(si.Presentity, addr)
			exp, st := expiresSeconds(si), subStatus(si.State)
			if device {
				mark := "  "
				if si.Device {
					mark = "D "
				}
				c.printf("%-26s %-24s %-6d %-7d %-6d %s\n", mark+w, p, si.ID, exp, si.SibID, st)
			} else {
				c.printf("%-24s %-24s  %-5d %-7d %-6d %s\n", w, p, si.ID, exp, si.SibID, st)
			}
		}
	case m.Has("subid"):
		id := blf.SubID(m.Int(0))
		for _, si := range subs {
			if si.ID == id {
				c.printf("Presence Active Subscription Records:\n")
				c.printf("=============================================\n")
				subRecord(c, si, addr)
				return nil
			}
		}
		c.printf("Presence Active Subscription Records:\n")
		c.printf("=============================================\n")
	default: // details, presentity N
		number, byNumber := m.After("presentity")
		c.printf("Presence Active Subscription Records Details:\n")
		c.printf("=============================================\n")
		for _, si := range subs {
			if byNumber && si.Presentity != number {
				continue
			}
			subRecord(c, si, addr)
		}
	}
	return nil
}

// subRecord is one "Subscription ID" block (docs/cme-cli.md §Show-presence-subscription).
func subRecord(c *execCtx, si blf.SubscriptionInfo, addr string) {
	row := func(label string, v any) { c.printf("  %-22s: %v\n", label, v) }
	c.printf("\n%-24s: %d\n", "Subscription ID", si.ID)
	row("Watcher", withAddr(si.Watcher, addr))
	row("Presentity", withAddr(si.Presentity, addr))
	row("Expires", fmt.Sprintf("%d seconds", expiresSeconds(si)))
	row("Subscription Duration", fmt.Sprintf("%d seconds", int(si.Duration/time.Second)))
	row("line status", subStatus(si.State))
	row("watcher type", si.WatcherType)
	row("presentity type", si.PresentityType)
	row("Watcher phone type", si.Kind)
	if si.Status != "" {
		row("Presence status", si.Status) // docs/sip-presence.md §Rich-presence
	}
	row("subscription type", si.Type)
	row("retry limit", 0)
	row("sibling subID", si.SibID)
	row("sdb", 0)
	row("dp", 0)
	row("watcher dial peer tag", 0)
	row("number of presentity", 1)
}

// ---- dial-peer, calls ---------------------------------------------------------------

func cmdShowCallActive(c *execCtx, _ *cmdtree.Match) error {
	calls, err := c.s.b.Calls()
	if err != nil {
		return fmt.Errorf("%% %v", err)
	}
	c.printf("Total call-legs: %d\n", countLegs(calls))
	for _, call := range calls {
		dur := time.Since(call.Started).Truncate(time.Second)
		for _, l := range call.Legs {
			c.printf("%X : %d %s pid:%d Answer %s active\n", uint64(call.ID), l.Line, dur, l.DN.Tag, cmp.Or(l.Device, "-"))
			c.printf(" dur %s  %s -> %s  state %s\n", dur, call.Calling.Number, call.Called.Number, l.State)
		}
	}
	return nil
}

func countLegs(calls []dn.CallStatus) int {
	n := 0
	for _, c := range calls {
		n += len(c.Legs)
	}
	return n
}

func cmdShowCallHistory(c *execCtx, _ *cmdtree.Match) error {
	recs, err := c.s.b.CallHistory()
	if err != nil {
		return fmt.Errorf("%% %v", err)
	}
	c.printf("%-20s %-16s %-9s %-16s %-20s %-10s %s\n", "Start", "Phone", "Kind", "Number", "Name", "Line", "Duration")
	for _, r := range recs {
		c.printf("%-20s %-16s %-9s %-16s %-20s %-10s %s\n", r.Start.Format("Jan _2 15:04:05"), r.Phone, r.Kind, r.Number,
			r.Name, r.Line, r.Duration.Truncate(time.Second))
	}
	return nil
}

// trimLines drops trailing blanks from every line of b (padded tables).
func trimLines(b *strings.Builder) {
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	b.Reset()
	b.WriteString(strings.Join(lines, "\n"))
}

func poolRegs(regs []Registration, pool int) []Registration {
	var out []Registration
	for _, r := range regs {
		if r.Pool == pool {
			out = append(out, r)
		}
	}
	return out
}
