package cli

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/cmed-project/cmed/pkg/cmdtree"
	"github.com/cmed-project/cmed/pkg/config"
)

// CME show commands added for the system view: telephony-service, the
// automatic dial-peers, SIP registrar status and statistics. Layouts and
// their sources: docs/cme-cli.md §Show-layouts-sources.

// cmeVersion is the CME release cmed reports in `CONFIG (Version=…)`
// headers (the same as `show voice register global`).
const cmeVersion = "8.1"

// ---- automatic dial-peers --------------------------------------------------

// autoPeer is a dial-peer CME creates itself: a POTS peer 20001+ for each
// ephone-dn number (primary and secondary) and a VoIP peer 40001+ for each
// registered SIP line (docs/cme-cli.md §Automatic-dial-peers). cmed's
// number analysis already routes those numbers to the DNs directly
// (pkg/dialplan.FromConfig), so these peers are for display.
type autoPeer struct {
	Tag      int
	Kind     string // pots, voip
	Pattern  string
	Port     string // 50/0/<dn-tag> for pots
	Target   string // ipv4:<ip>:<port> for voip
	Huntstop bool
	CFNA     string // call-forward noan target (pots)
	DNTag    int
}

func autoPeers(cfg *config.Config, regs []Registration) []autoPeer {
	var out []autoPeer
	tag := 20001
	for _, d := range cfg.EphoneDNs {
		for _, n := range []string{d.Number, d.Secondary} {
			if n == "" {
				continue
			}
			out = append(out, autoPeer{Tag: tag, Kind: "pots", Pattern: n, Port: fmt.Sprintf("50/0/%d", d.Tag),
				Huntstop: !d.NoHuntstop, CFNA: d.CallForward.NoAnswer, DNTag: d.Tag})
			tag++
		}
	}
	tag = 40001
	for _, r := range regs {
		if r.Number == "" {
			continue
		}
		out = append(out, autoPeer{Tag: tag, Kind: "voip", Pattern: r.Number, Target: "ipv4:" + r.Source})
		tag++
	}
	return out
}

func (c *execCtx) registrations() []Registration {
	if r, ok := c.s.b.(Registrar); ok {
		return r.Registrations()
	}
	return nil
}

func cmdShowDialPeerSummary(c *execCtx, _ *cmdtree.Match) error {
	cfg := c.s.b.Running()
	defer trimLines(c.out)
	row := "%-6s %-5s %-4s %-4s %-9s %-17s %-3s %-4s %-22s %-4s %s\n"
	c.printf("dial-peer hunt 0\n")
	c.printf(row, "", "", "AD", "", "", "", "PRE", "PASS", "", "OUT", "")
	c.printf(row, "TAG", "TYPE", "MIN", "OPER", "PREFIX", "DEST-PATTERN", "FER", "THRU", "SESS-TARGET", "STAT", "PORT")
	for _, d := range cfg.DialPeers {
		c.printf(row, itoa(d.Tag), d.Kind, "up", "up", "", d.DestinationPattern, itoa(d.Preference), "syst", d.SessionTarget, "", "")
	}
	for _, p := range autoPeers(cfg, c.registrations()) {
		thru := ""
		if p.Kind == "voip" {
			thru = "syst"
		}
		c.printf(row, itoa(p.Tag), p.Kind, "up", "up", "", p.Pattern, "0", thru, p.Target, "", p.Port)
	}
	return nil
}

// ---- show telephony-service ------------------------------------------------

func cmdShowTelephonyService(c *execCtx, m *cmdtree.Match) error {
	cfg := c.s.b.Running()
	t := cfg.Telephony
	if t == nil {
		return fmt.Errorf("%% telephony-service is not configured")
	}
	c.printf("CONFIG (Version=%s)\n=====================\n", cmeVersion)
	c.printf("Version %s\n", cmeVersion)
	c.printf("Cisco Unified Communications Manager Express\n")
	c.printf("protocol mode default\n")
	c.printf("ip source-address %s port %d\n", cmp.Or(t.SourceAddress, "0.0.0.0"), t.Port)
	for _, l := range t.Loads {
		c.printf("load %s %s\n", l.Type, l.Firmware)
	}
	c.printf("max-ephones %d\n", t.MaxEphones)
	c.printf("max-dn %d\n", t.MaxDN)
	c.printf("max-conferences %d gain %d\n", cmp.Or(t.MaxConferences, 4), cmp.Or(t.MaxConferencesGain, -6))
	for _, p := range t.DialplanPatterns {
		c.printf("dialplan-pattern %d %s extension-length %d\n", p.Tag, p.Pattern, p.ExtensionLength)
	}
	if t.Voicemail != "" {
		c.printf("voicemail %s\n", t.Voicemail)
	}
	if t.TransferPattern != "" {
		c.printf("transfer-pattern %s\n", t.TransferPattern)
	}
	c.printf("transfer-system %s\n", cmp.Or(t.TransferSystem, "full-consult"))
	c.printf("keepalive %d\n", cmp.Or(t.Keepalive, 30))
	c.printf("timeouts interdigit %d\n", cmp.Or(t.TimeoutsInterdigit, 10))
	c.printf("timeouts ringing %d\n", cmp.Or(t.TimeoutsRinging, 180))
	c.printf("time-format %d\n", cmp.Or(t.TimeFormat, 12))
	c.printf("date-format %s\n", cmp.Or(t.DateFormat, "mm-dd-yy"))
	if t.SystemMessage != "" {
		c.printf("system message %s\n", t.SystemMessage)
	}
	c.printf("cnf-file location: system:\n")
	c.printf("cnf-file option: PER-PHONE-TYPE\n")
	if !m.Has("all") {
		return nil
	}
	// `all` adds the effective ephone-dn, ephone, voice-port and
	// automatic dial-peer configuration, unindented like CME prints it.
	for _, d := range cfg.EphoneDNs {
		c.printf("ephone-dn %d\n", d.Tag)
		if d.Number != "" {
			c.printf("number %s\n", d.Number)
		}
		if d.Name != "" {
			c.printf("name %s\n", d.Name)
		}
		if !d.NoHuntstop {
			c.printf("huntstop\n")
		}
		if d.CallForward.NoAnswer != "" {
			c.printf("call-forward noan %s timeout %d\n", d.CallForward.NoAnswer, d.CallForward.NoAnswerTimeout)
		}
	}
	for _, e := range cfg.Ephones {
		c.printf("ephone %d\n", e.Tag)
		if e.MAC != "" {
			c.printf("mac-address %s\n", e.MAC)
		}
		c.printf("type %s\n", cmp.Or(e.Type, "0"))
		if b := buttonLine(cfg, e.Tag); b != "" {
			c.printf("%s\n", b)
		}
		for _, s := range e.SpeedDials {
			c.printf("speed-dial %d %s\n", s.Tag, s.Number)
		}
		c.printf("!\n")
	}
	for _, d := range cfg.EphoneDNs {
		c.printf("voice-port 50/0/%d\n", d.Tag)
		if d.Number != "" {
			c.printf(" station-id number %s\n", d.Number)
		}
		if t.TimeoutsRinging != 0 {
			c.printf(" timeout ringing %d\n", t.TimeoutsRinging)
		}
		c.printf("!\n")
	}
	for _, p := range autoPeers(cfg, nil) {
		c.printf("dial-peer voice %d pots\n", p.Tag)
		c.printf(" destination-pattern %s\n", p.Pattern)
		if p.Huntstop {
			c.printf(" huntstop\n")
		}
		if p.CFNA != "" {
			c.printf(" call-forward noan %s\n", p.CFNA)
		}
		c.printf(" port %s\n", p.Port)
	}
	return nil
}

// ---- SIP registrar -------------------------------------------------------------

func cmdShowSIPUARegistrar(c *execCtx, _ *cmdtree.Match) error {
	regs := c.registrations()
	cfg := c.s.b.Running()
	peers := autoPeers(cfg, regs)
	peerOf := map[string]int{}
	for _, p := range peers {
		if p.Kind == "voip" {
			peerOf[p.Pattern] = p.Tag
		}
	}
	defer trimLines(c.out)
	c.printf("%-12s %-15s %-12s %s\n", "Line", "destination", "expires(sec)", "contact")
	c.printf("%-12s %s\n", "transport", "call-id")
	c.printf("%-12s %s\n", "", "peer")
	c.printf("%s %s %s %s\n", strings.Repeat("=", 12), strings.Repeat("=", 15), strings.Repeat("=", 12), strings.Repeat("=", 15))
	now := c.s.srv.now()
	for _, r := range regs {
		host, _, _ := strings.Cut(r.Source, ":")
		left := max(int(r.Expires.Sub(now)/time.Second), 0)
		c.printf("%-12s %-15s %-12d %s\n", r.Number, host, left, host)
		c.printf("%-12s %s\n", cmp.Or(r.Transport, "UDP"), r.CallID)
		c.printf("%-12s %d\n", "", peerOf[r.Number])
	}
	return nil
}

func cmdShowVoiceRegisterStatistics(c *execCtx, m *cmdtree.Match) error {
	if _, ok := c.s.b.(Registrar); !ok {
		return fmt.Errorf("%% No SIP registrar is running")
	}
	regs := c.registrations()
	cfg := c.s.b.Running()
	byPool := map[int][]Registration{}
	for _, r := range regs {
		byPool[r.Pool] = append(byPool[r.Pool], r)
	}
	block := func(title string, rs []Registration) {
		phones := map[int]bool{}
		var last time.Time
		for _, r := range rs {
			phones[r.Pool] = true
			if r.Registered.After(last) {
				last = r.Registered
			}
		}
		c.printf("%s\n", title)
		c.printf("  Active registrations  : %d\n", len(rs))
		c.printf("  Total SIP phones registered: %d\n", len(phones))
		c.printf("  Total Registration Statistics\n")
		stamp := ""
		if !last.IsZero() {
			stamp = last.UTC().Format("*15:04:05.000 UTC Mon Jan 2 2006")
		}
		c.printf("    Register Success Time        : %s\n", stamp)
	}
	pool, byTag := m.After("pool")
	if !byTag {
		block("Global statistics", regs)
	}
	if m.Has("global") {
		return nil
	}
	for _, p := range cfg.VoiceRegisterPools {
		if byTag && itoa(p.Tag) != pool {
			continue
		}
		block(fmt.Sprintf("Register pool %d statistics", p.Tag), byPool[p.Tag])
	}
	return nil
}

// ---- show logging ------------------------------------------------------------------

// logBufferSize is the buffer size `show logging` reports; the ring keeps
// at most logBufferLines lines.
const (
	logBufferSize  = 4096
	logBufferLines = 200
)

func cmdShowLogging(c *execCtx, _ *cmdtree.Match) error {
	lines := c.s.srv.logLines()
	c.printf("Syslog logging: enabled (0 messages dropped, 0 flushes, 0 overruns)\n")
	c.printf("    Buffer logging: level debugging, %d messages logged\n", c.s.srv.logCount())
	c.printf("\nLog Buffer (%d bytes):\n", logBufferSize)
	for _, l := range lines {
		c.printf("%s\n", l)
	}
	return nil
}

// buttonLine is the `button` line of ephone tag as show running-config
// renders it (the renderer owns the separator syntax), "" when none.
func buttonLine(cfg *config.Config, tag int) string {
	in := false
	for _, l := range strings.Split(config.Render(cfg), "\n") {
		switch {
		case strings.HasPrefix(l, "ephone "):
			f := strings.Fields(l)
			in = len(f) == 2 && f[1] == itoa(tag)
		case in && strings.HasPrefix(l, " button "):
			return strings.TrimSpace(l)
		}
	}
	return ""
}
