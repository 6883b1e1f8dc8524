package cli

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/cmed-project/cmed/pkg/cmdtree"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
)

// `show ephone` and its filters, in the layouts of Cisco's command
// reference (docs/cme-cli.md §Show-layouts-sources).

// telecasterModels are the phone types CME names "Telecaster <model>" in
// the IP line: the command reference's samples print `Telecaster 7940` and
// `Telecaster 7960`, while later models (7970, 6941) print the bare type
// (docs/cme-cli.md §Show-layouts-sources).
var telecasterModels = map[string]bool{"7940": true, "7960": true}

func ephoneModel(d dn.DeviceStatus) string {
	m := cmp.Or(extra(d, "sccp.model", ""), d.Info.Model, d.Model)
	switch {
	case m == "":
		return "Unknown"
	case telecasterModels[m]:
		return "Telecaster " + m
	}
	return m
}

// phoneActivity is what the counters line and activeLine say about a
// phone: the first button with a call, off-hook, ringing, media.
type phoneActivity struct {
	activeLine       int
	offhook, ringing int
	media            int
}

func activity(d dn.DeviceStatus) phoneActivity {
	var a phoneActivity
	for _, l := range d.Lines {
		switch l.State {
		case dn.LineRinging:
			a.ringing = 1
		case dn.LineConnected:
			a.media = 1
			a.offhook = 1
			if a.activeLine == 0 {
				a.activeLine = l.Button
			}
		case dn.LineDialing, dn.LineRingback, dn.LineBusy, dn.LineHold:
			a.offhook = 1
			if a.activeLine == 0 {
				a.activeLine = l.Button
			}
		}
	}
	return a
}

// ephoneFilter is which phones a `show ephone …` form lists.
type ephoneFilter struct {
	registered, unregistered, dnd, offhook bool
	tag                                    int
	mac                                    string
}

func (f ephoneFilter) keep(d dn.DeviceStatus, mac string) bool {
	switch {
	case f.registered && !d.Registered, f.unregistered && d.Registered:
		return false
	case f.dnd && !(d.Registered && d.DND), f.offhook && !(d.Registered && activity(d).offhook == 1):
		return false
	case f.tag != 0 && d.Tag != f.tag, f.mac != "" && !strings.EqualFold(mac, f.mac):
		return false
	}
	return true
}

func ephones(c *execCtx) ([]dn.DeviceStatus, error) {
	devs, err := c.s.b.Devices()
	if err != nil {
		return nil, fmt.Errorf("%% %v", err)
	}
	var out []dn.DeviceStatus
	for _, d := range devs {
		if d.Kind == "ephone" {
			out = append(out, d)
		}
	}
	return out, nil
}

func cmdShowEphone(c *execCtx, m *cmdtree.Match) error {
	devs, err := ephones(c)
	if err != nil {
		return err
	}
	cfg := c.s.b.Running()
	f := ephoneFilter{registered: m.Has("registered"), unregistered: m.Has("unregistered"),
		dnd: m.Has("dnd"), offhook: m.Has("offhook")}
	if mac, ok := m.After("mac-address"); ok {
		f.mac = mac
	} else {
		f.tag = m.Int(0)
	}
	if m.Has("summary") && f.registered {
		return showEphoneRegisteredSummary(c, cfg, devs)
	}
	if m.Has("summary") {
		return showEphoneSummary(c, cfg, devs)
	}
	lines, _ := c.s.b.Lines()
	calls := map[dn.DNKey]int{}
	for _, l := range lines {
		calls[l.Key] = max(l.MaxCalls, 1)
	}
	shown := 0
	for _, d := range devs {
		mac := cmp.Or(ephoneMAC(cfg, d.Tag), "0000.0000.0000")
		if !f.keep(d, mac) {
			continue
		}
		shown++
		ephoneBlock(c, d, mac, calls)
	}
	// The command reference's `show ephone offhook` sample answers this
	// when no phone matches (docs/cme-cli.md §Show-layouts-sources).
	if shown == 0 && (f.dnd || f.offhook) {
		c.printf("No ephone in specified type/condition.\n")
	}
	return nil
}

// ephoneBlock is one phone of `show ephone` (CME 8.0+ form).
func ephoneBlock(c *execCtx, d dn.DeviceStatus, mac string, calls map[dn.DNKey]int) {
	if !d.Registered {
		c.printf("ephone-%d[%d] Mac:%s TCP socket:[-1] activeLine:0 whisperLine:0 UNREGISTERED\n", d.Tag, d.Tag-1, mac)
		c.printf("mediaActive:0 whisper_mediaActive:0 startMedia:0 offhook:0 ringing:0 reset:0 reset_sent:0 paging 0 debug:0 caps:0\n")
		c.printf("IP:0.0.0.0 0 Unknown 0  keepalive 0 max_line 0 available_line 0\n")
	} else {
		a := activity(d)
		c.printf("ephone-%d[%d] Mac:%s TCP socket:[%d] activeLine:%d whisperLine:0 REGISTERED in SCCP ver %s/%s max_streams=%s\n",
			d.Tag, d.Tag-1, mac, d.Tag, a.activeLine, extra(d, "sccp.phone_version", "0"), extra(d, "sccp.version", "0"),
			extra(d, "sccp.max_streams", "0"))
		c.printf("mediaActive:%d whisper_mediaActive:0 startMedia:%d offhook:%d ringing:%d reset:0 reset_sent:0 paging 0 debug:0 caps:8\n",
			a.media, a.media, a.offhook, a.ringing)
		ip := extra(d, "sccp.ip", strings.Split(d.Info.Addr, ":")[0])
		maxLine := extra(d, "sccp.max_lines", itoa(len(d.Lines)))
		dnd := ""
		if d.DND {
			dnd = " DnD"
		}
		// keepalive is the number of KeepAlive messages received
		// (the command reference's field table), not the interval.
		c.printf("IP:%s * %s %s  keepalive %s max_line %s available_line %s%s\n", cmp.Or(ip, "0.0.0.0"),
			extra(d, "sccp.port", "0"), ephoneModel(d), extra(d, "sccp.keepalives", "0"), maxLine, maxLine, dnd)
	}
	for _, a := range d.Lines {
		c.printf("button %d: cw:1 ccw:(%s)\n", a.Button, strings.TrimSpace(strings.Repeat("0 ", max(calls[a.DN], 2))))
		var chs strings.Builder
		for ch := 1; ch <= max(calls[a.DN], 1); ch++ {
			st := "IDLE"
			if ch == 1 {
				st = chState(a.State)
			}
			fmt.Fprintf(&chs, "CH%d   %-13s", ch, st)
		}
		c.printf("  dn %-2d number %s %s\n", a.DN.Tag, a.Number, strings.TrimRight(chs.String(), " "))
	}
	if d.Registered {
		c.printf("Preferred Codec: g711ulaw\n")
	}
	c.printf("\n")
}

// showEphoneSummary is `show ephone summary`: three lines per phone, the
// totals line, then the conference and music-on-hold summary.
func showEphoneSummary(c *execCtx, cfg *config.Config, devs []dn.DeviceStatus) error {
	var reg, unreg int
	for _, d := range devs {
		mac := cmp.Or(ephoneMAC(cfg, d.Tag), "0000.0000.0000")
		var buttons []string
		for _, a := range d.Lines {
			buttons = append(buttons, fmt.Sprintf("%d:%d", a.Button, a.DN.Tag))
		}
		primary := ""
		if len(d.Lines) > 0 {
			primary = fmt.Sprintf("  primary_dn: %d*", d.Lines[0].DN.Tag)
		}
		if d.Registered {
			reg++
			a := activity(d)
			c.printf("ephone-%d[%d] Mac:%s TCP socket:[%d] activeLine:%d whisperLine:0 REGISTERED\n", d.Tag, d.Tag-1, mac, d.Tag, a.activeLine)
			c.printf("mediaActive:%d whisper_mediaActive:0 startMedia:%d offhook:%d ringing:%d reset:0 reset_sent:0 debug:0%s\n",
				a.media, a.media, a.offhook, a.ringing, primary)
			ip := cmp.Or(extra(d, "sccp.ip", strings.Split(d.Info.Addr, ":")[0]), "0.0.0.0")
			c.printf("IP:%s * %s  keepalive %s   music 0  %s\n", ip, ephoneModel(d), extra(d, "sccp.keepalives", "0"), strings.Join(buttons, " "))
		} else {
			unreg++
			c.printf("ephone-%d[%d] Mac:%s TCP socket:[-1] activeLine:0 whisperLine:0 UNREGISTERED\n", d.Tag, d.Tag-1, mac)
			c.printf("mediaActive:0 whisper_mediaActive:0 startMedia:0 offhook:0 ringing:0 reset:0 reset_sent:0 debug:0%s\n", primary)
			c.printf("IP:0.0.0.0 Unknown  keepalive 0   music 0  %s\n", strings.Join(buttons, " "))
		}
	}
	maxEphones, maxConf := 0, 0
	if cfg.Telephony != nil {
		maxEphones, maxConf = cfg.Telephony.MaxEphones, cfg.Telephony.MaxConferences
	}
	if maxConf == 0 {
		maxConf = 4 // `max-conferences` default (docs/cme-cli.md §Show-layouts-sources)
	}
	c.printf("Max %d, Registered %d, Unregistered %d, Deceased 0, Sockets %d\n", maxEphones, reg, unreg, reg)
	active := 0
	if calls, err := c.s.b.Calls(); err == nil {
		for _, call := range calls {
			if len(call.Legs) > 2 {
				active++
			}
		}
	}
	c.printf("Max Conferences %d with %d active (%d allowed)\n", maxConf, active, maxConf)
	c.printf("Skinny Music On Hold Status\n")
	c.printf("Active MOH clients 0 (max %d), Media Clients 0\n", maxEphones*3)
	c.printf("No MOH file loaded\n")
	return nil
}

// showEphoneRegisteredSummary is `show ephone registered summary`: one
// row per line of every registered phone, then the totals.
func showEphoneRegisteredSummary(c *execCtx, cfg *config.Config, devs []dn.DeviceStatus) error {
	defer trimLines(c.out)
	rule := strings.Repeat("=", 82)
	row := "%-10s %-7s %-15s %-16s %-3s %-4s %-10s %s\n"
	c.printf("%s\n", rule)
	c.printf(row, "PhoneType", "Ephone", "MacAddress", "IpAddress", "Ln", "Dn", "Number", "Status")
	c.printf("%s\n", rule)
	reg := 0
	for _, d := range devs {
		if !d.Registered {
			continue
		}
		reg++
		model := cmp.Or(extra(d, "sccp.model", ""), d.Info.Model, d.Model, "Unknown")
		mac := cmp.Or(ephoneMAC(cfg, d.Tag), "0000.0000.0000")
		ip := cmp.Or(extra(d, "sccp.ip", strings.Split(d.Info.Addr, ":")[0]), "0.0.0.0")
		if len(d.Lines) == 0 {
			c.printf(row, model, itoa(d.Tag), mac, ip, "", "", "", "Registered")
		}
		for i, a := range d.Lines {
			if i == 0 {
				c.printf(row, model, itoa(d.Tag), mac, ip, itoa(a.Button), itoa(a.DN.Tag), a.Number, "Registered")
			} else {
				c.printf(row, "", "", "", "", itoa(a.Button), itoa(a.DN.Tag), a.Number, "Registered")
			}
		}
	}
	c.printf("%s\n", rule)
	c.printf("%-27s: %d\n", "Total ephones configured", len(devs))
	c.printf("%-27s: %d\n", "Total ephones registered", reg)
	c.printf("%-27s: %d\n", "Total ephones unregistered", len(devs)-reg)
	c.printf("%-27s: %d\n", "Total ephones deceased", 0)
	c.printf("%-27s: %d\n", "Ephones in unknown state", 0)
	return nil
}

// showVoicePort is `show ephone-dn TAG`: the DN's channel states, then
// the virtual voice port 50/0/TAG as CME dumps it. cmed has no DSP, so the
// port's analog settings print CME's defaults; the number, name, timeouts
// and translation profiles come from the configuration.
func showVoicePort(c *execCtx, l dn.LineStatus) {
	cfg := c.s.b.Running()
	tag := l.Key.Tag
	st := dnSummaryState(l)
	var chs strings.Builder
	for ch := 1; ch <= max(l.MaxCalls, 1); ch++ {
		s := "IDLE"
		if ch == 1 {
			s = st
		}
		fmt.Fprintf(&chs, " CH%d %-9s", ch, s)
	}
	c.printf("50/0/%d%s\n", tag, strings.TrimRight(chs.String(), " "))
	op := "UP"
	if st == "IDLE" {
		op = "DORMANT"
	}
	interdigit, ringing := 10, 180
	if t := cfg.Telephony; t != nil {
		interdigit, ringing = cmp.Or(t.TimeoutsInterdigit, interdigit), cmp.Or(t.TimeoutsRinging, ringing)
	}
	var in, out string
	for _, e := range cfg.EphoneDNs {
		if e.Tag == tag {
			in, out = e.TranslationProfileIn, e.TranslationProfileOut
		}
	}
	for _, s := range []string{
		fmt.Sprintf("EFXS 50/0/%d Slot is 50, Sub-unit is 0, Port is %d", tag, tag),
		" Type of VoicePort is EFXS",
		" Operation State is " + op,
		" Administrative State is UP",
		" No Interface Down Failure",
		" Description is not set",
		" Noise Regeneration is enabled",
		" Non Linear Processing is enabled",
		" Non Linear Mute is disabled",
		" Non Linear Threshold is -21 dB",
		" Music On Hold Threshold is Set to -38 dBm",
		" In Gain is Set to 0 dB",
		" Out Attenuation is Set to 0 dB",
		" Echo Cancellation is enabled",
		" Echo Cancellation NLP mute is disabled",
		" Echo Cancellation NLP threshold is -21 dB",
		" Echo Cancel Coverage is set to 8 ms",
		" Playout-delay Mode is set to adaptive",
		" Playout-delay Nominal is set to 60 ms",
		" Playout-delay Maximum is set to 200 ms",
		" Playout-delay Minimum mode is set to default, value 40 ms",
		" Playout-delay Fax is set to 300 ms",
		" Connection Mode is normal",
		" Connection Number is not set",
		" Initial Time Out is set to 10 s",
		fmt.Sprintf(" Interdigit Time Out is set to %d s", interdigit),
		" Call Disconnect Time Out is set to 60 s",
		fmt.Sprintf(" Ringing Time Out is set to %d s", ringing),
		" Wait Release Time Out is set to 30 s",
		" Companding Type is u-law",
		" Region Tone is set for US",
		fmt.Sprintf(" Station name %s, Station number %s", cmp.Or(l.Name, "None"), cmp.Or(l.Number, "None")),
		" Caller ID Info Follows:",
		" Standard BELLCORE",
		" Translation profile (Incoming): " + in,
		" Translation profile (Outgoing): " + out,
		" Digit Duration Timing is set to 100 ms",
	} {
		c.printf("%s\n", strings.TrimRight(s, " "))
	}
}
