package config

import (
	"fmt"
	"strings"
)

// UnmodelledLine is one line cmed keeps and prints back without acting on
// it: a line of a kept top-level block, or an unmodelled sub-command of a
// modelled section.
type UnmodelledLine struct {
	Section string // "" for top-level blocks, else the section ("ephone 3")
	Text    string // the line as show running-config prints it
}

// UnmodelledLines lists every kept line, in show running-config order:
// top-level blocks first (without their `!` separators), then each
// section's Extra. The daemon logs their number at load ("N lines kept
// unmodelled"); RenderUnmodelled prints them.
func (c *Config) UnmodelledLines() []UnmodelledLine {
	var out []UnmodelledLine
	for _, b := range c.Unmodelled {
		for _, l := range b.Lines {
			if t := strings.TrimSpace(l); t != "" && t[0] != '!' {
				out = append(out, UnmodelledLine{Text: l})
			}
		}
	}
	add := func(sec, indent string, extra []string) {
		for _, l := range extra {
			out = append(out, UnmodelledLine{Section: sec, Text: indent + l})
		}
	}
	if v := c.VoiceService; v != nil {
		add("voice service voip", " ", v.Extra)
		add("voice service voip", "  ", v.SIPExtra)
	}
	for _, x := range c.VoiceClassCodecs {
		add(fmt.Sprintf("voice class codec %d", x.Tag), " ", x.Extra)
	}
	for _, x := range c.TranslationRules {
		add(fmt.Sprintf("voice translation-rule %d", x.Tag), " ", x.Extra)
	}
	for _, x := range c.TranslationProfiles {
		add("voice translation-profile "+x.Name, " ", x.Extra)
	}
	if g := c.VoiceRegisterGlobal; g != nil {
		add("voice register global", " ", g.Extra)
	}
	for _, x := range c.VoiceRegisterTemplates {
		add(fmt.Sprintf("voice register template %d", x.Tag), " ", x.Extra)
	}
	for _, x := range c.VoiceRegisterDNs {
		add(fmt.Sprintf("voice register dn %d", x.Tag), " ", x.Extra)
	}
	for _, x := range c.VoiceRegisterPools {
		add(fmt.Sprintf("voice register pool %d", x.Tag), " ", x.Extra)
	}
	for _, x := range c.VoiceHuntGroups {
		add(fmt.Sprintf("voice hunt-group %d", x.Tag), " ", x.Extra)
	}
	for _, x := range c.DialPeers {
		add(fmt.Sprintf("dial-peer voice %d", x.Tag), " ", x.Extra)
	}
	if p := c.Presence; p != nil {
		add("presence", " ", p.Extra)
	}
	if u := c.SIPUA; u != nil {
		add("sip-ua", " ", u.Extra)
	}
	if t := c.Telephony; t != nil {
		add("telephony-service", " ", t.Extra)
	}
	for _, x := range c.EphoneTemplates {
		add(fmt.Sprintf("ephone-template %d", x.Tag), " ", x.Extra)
	}
	for _, x := range c.EphoneDNTemplates {
		add(fmt.Sprintf("ephone-dn-template %d", x.Tag), " ", x.Extra)
	}
	for _, x := range c.EphoneDNs {
		add(fmt.Sprintf("ephone-dn %d", x.Tag), " ", x.Extra)
	}
	for _, x := range c.Ephones {
		add(fmt.Sprintf("ephone %d", x.Tag), " ", x.Extra)
	}
	for _, x := range c.EphoneHunts {
		add(fmt.Sprintf("ephone-hunt %d", x.Tag), " ", x.Extra)
	}
	return out
}

// RenderUnmodelled is the body of `show cmed unmodelled`: a count, then
// the kept lines, each section's under its header.
func RenderUnmodelled(c *Config) string {
	lines := c.UnmodelledLines()
	var b strings.Builder
	fmt.Fprintf(&b, "%d lines kept unmodelled (printed by show running-config, not acted on)\n", len(lines))
	sec := ""
	for _, l := range lines {
		if l.Section != sec {
			if l.Section != "" {
				b.WriteString(l.Section + "\n")
			}
			sec = l.Section
		}
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}
