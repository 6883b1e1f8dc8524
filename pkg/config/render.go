package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Render is the body of `show running-config`: sections in the order CME
// prints them (docs/cme-cli.md §Show-and-save), `!` between sections, sub-commands
// indented one space, the two-space forms `ephone-dn  1  dual-line`,
// `ephone  1`, `button  1:1 2:2`, `voice register dn  1` and
// `voice register pool  1`, and `end` last.
//
// Parse(Render(c)) reproduces c (the round-trip property tests check it).
func Render(c *Config) string {
	r := newRenderer(c)
	r.render(c)
	return r.b.String()
}

// RenderKeys are the keys of the sections Render prints, in order: the
// values Block.After may take ("hostname", "ip", "ephone-dn 5", ...).
func RenderKeys(c *Config) []string {
	r := newRenderer(c)
	r.render(c)
	return r.keys
}

func newRenderer(c *Config) *renderer {
	r := &renderer{blocks: map[string][]Block{}}
	for _, b := range c.Unmodelled {
		r.blocks[b.After] = append(r.blocks[b.After], b)
	}
	return r
}

func (r *renderer) render(c *Config) {
	r.kept("")
	r.section("hostname", func() {
		// Printed only when set, so that Parse(Render(c)) keeps "" (the
		// prompt still says Router: HostnameOrDefault).
		r.str("hostname", c.Hostname)
	})
	r.section("enable secret", func() {
		if c.EnableSecret != "" {
			r.line("enable secret %s", renderSecret(c.EnableSecret))
		}
	})
	r.section("username", func() {
		for _, u := range c.Users {
			r.line("username %s privilege %d secret %s", u.Name, u.Privilege, renderSecret(u.Secret))
		}
	})
	if v := c.VoiceService; v != nil {
		r.section("voice service voip", func() {
			r.line("voice service voip")
			for _, a := range v.AllowConnections {
				r.line(" allow-connections %s", a)
			}
			r.extra(" ", v.Extra)
			if v.SIP || v.RegistrarServer || len(v.SIPExtra) > 0 {
				r.line(" sip")
				if v.RegistrarServer {
					s := "  registrar server"
					if v.RegistrarExpiresMax != 0 || v.RegistrarExpiresMin != 0 {
						s += " expires"
						if v.RegistrarExpiresMax != 0 {
							s += " max " + strconv.Itoa(v.RegistrarExpiresMax)
						}
						if v.RegistrarExpiresMin != 0 {
							s += " min " + strconv.Itoa(v.RegistrarExpiresMin)
						}
					}
					r.line("%s", s)
				}
				r.extra("  ", v.SIPExtra)
			}
		})
	}
	for _, vc := range c.VoiceClassCodecs {
		r.section(fmt.Sprintf("voice class codec %d", vc.Tag), func() {
			r.line("voice class codec %d", vc.Tag)
			for _, p := range vc.Preferences {
				if p.Bytes != 0 {
					r.line(" codec preference %d %s bytes %d", p.Index, p.Codec, p.Bytes)
				} else {
					r.line(" codec preference %d %s", p.Index, p.Codec)
				}
			}
			r.extra(" ", vc.Extra)
		})
	}
	for _, tr := range c.TranslationRules {
		r.section(fmt.Sprintf("voice translation-rule %d", tr.Tag), func() {
			r.line("voice translation-rule %d", tr.Tag)
			for _, l := range tr.Rules {
				r.line(" rule %d /%s/ /%s/", l.Index, l.Match, l.Replace)
			}
			r.extra(" ", tr.Extra)
		})
	}
	for _, p := range c.TranslationProfiles {
		r.section("voice translation-profile "+p.Name, func() {
			r.line("voice translation-profile %s", p.Name)
			r.num(" translate called", p.Called)
			r.num(" translate calling", p.Calling)
			r.num(" translate redirect-called", p.RedirectCalled)
			r.extra(" ", p.Extra)
		})
	}
	renderDialRules(r, c)
	renderLoginBlock(r, c)
	if g := c.VoiceRegisterGlobal; g != nil {
		r.section("voice register global", func() {
			r.line("voice register global")
			r.str(" mode", g.Mode)
			if g.SourceAddress != "" {
				r.line(" source-address %s port %d", g.SourceAddress, g.Port)
			}
			r.num(" max-dn", g.MaxDN)
			r.num(" max-pool", g.MaxPool)
			for _, l := range g.Loads {
				r.line(" load %s %s", l.Type, l.Firmware)
			}
			r.flag(" authenticate register", g.AuthenticateRegister)
			r.flag(" authenticate presence", g.AuthenticatePresence)
			r.str(" authenticate realm", g.AuthenticateRealm)
			for _, cr := range g.Credentials {
				r.line(" authenticate credential %d %s", cr.Tag, cr.Location)
			}
			if g.CreateProfile {
				if g.ProfileSync != "" {
					r.line(" create profile sync %s", g.ProfileSync)
				} else {
					r.line(" create profile")
				}
			}
			r.extra(" ", g.Extra)
		})
	}
	for _, t := range c.VoiceRegisterTemplates {
		r.section(fmt.Sprintf("voice register template %d", t.Tag), func() {
			r.line("voice register template  %d", t.Tag)
			r.template(t)
		})
	}
	for _, d := range c.VoiceRegisterDNs {
		r.section(fmt.Sprintf("voice register dn %d", d.Tag), func() {
			r.line("voice register dn  %d", d.Tag)
			r.str(" number", d.Number)
			r.str(" name", d.Name)
			r.str(" label", d.Label)
			cf := d.CallForward
			r.str(" call-forward b2bua all", cf.All)
			r.str(" call-forward b2bua busy", cf.Busy)
			if cf.NoAnswer != "" {
				r.line(" call-forward b2bua noan %s timeout %d", cf.NoAnswer, cf.NoAnswerTimeout)
			}
			r.flag(" huntstop", d.Huntstop)
			r.num(" preference", d.Preference)
			r.flag(" allow watch", d.AllowWatch)
			r.extra(" ", d.Extra)
		})
	}
	for _, p := range c.VoiceRegisterPools {
		r.section(fmt.Sprintf("voice register pool %d", p.Tag), func() {
			r.line("voice register pool  %d", p.Tag)
			r.str(" id mac", p.MAC)
			r.str(" type", p.Type)
			for _, n := range p.Numbers {
				r.line(" number %d dn %d", n.Tag, n.DN)
			}
			r.num(" template", p.Template)
			r.credentials(p.Username, p.PasswordType, p.Password)
			if len(p.DTMFRelay) > 0 {
				r.line(" dtmf-relay %s", strings.Join(p.DTMFRelay, " "))
			}
			r.phone(p.SpeedDials, p.BLFSpeedDials, p.PresenceCallList)
			r.flag(" dnd", p.DND)
			r.str(" dnd-mode", string(p.DNDMode))
			r.str(" description", p.Description)
			r.extra(" ", p.Extra)
		})
	}
	for _, h := range c.VoiceHuntGroups {
		r.section(fmt.Sprintf("voice hunt-group %d", h.Tag), func() {
			r.line("voice hunt-group %d %s", h.Tag, h.Kind)
			r.hunt(h)
		})
	}
	s := c.Services
	r.section("ip", func() {
		r.flag("ip http server", s.HTTP.Enabled)
		if s.HTTP.Address != "" {
			r.line("ip http address %s port %d", s.HTTP.Address, s.HTTP.Port)
		}
		r.flag("ip http pprof", s.HTTPPprof)
		r.flag("ip ssh server", s.SSH.Enabled)
		if s.SSH.Address != "" {
			r.line("ip ssh address %s port %d", s.SSH.Address, s.SSH.Port)
		}
		r.flag("ip telnet server", s.Telnet.Enabled)
		if s.Telnet.Address != "" {
			r.line("ip telnet address %s port %d", s.Telnet.Address, s.Telnet.Port)
		}
	})
	r.section("tftp-server", func() {
		if s.TFTP.Enabled {
			r.line("tftp-server address %s port %d", orAny(s.TFTP.Address), s.TFTP.Port)
		}
		r.str("tftp-server directory", s.TFTPRoot)
		for _, f := range s.TFTPFiles {
			if i := slices.IndexFunc(s.TFTPAliases, func(a TFTPAlias) bool { return a.File == f }); i >= 0 {
				r.line("tftp-server flash:%s alias %s", f, s.TFTPAliases[i].Alias)
			} else {
				r.line("tftp-server flash:%s", f)
			}
		}
	})
	r.section("limit", func() {
		if n := s.Limits.SCCPConnectionsPerSource; n != 0 {
			r.line("limit sccp connections-per-source %d", n)
		}
		if n := s.Limits.TFTPTransfersPerSource; n != 0 {
			r.line("limit tftp transfers-per-source %d", n)
		}
		if n := s.Limits.TFTPTransfers; n != 0 {
			r.line("limit tftp transfers %d", n)
		}
	})
	for _, d := range c.DialPeers {
		r.section(fmt.Sprintf("dial-peer voice %d", d.Tag), func() {
			r.line("dial-peer voice %d %s", d.Tag, d.Kind)
			r.str(" description", d.Description)
			r.str(" translation-profile incoming", d.TranslationProfileIn)
			r.str(" translation-profile outgoing", d.TranslationProfileOut)
			r.num(" preference", d.Preference)
			r.str(" destination-pattern", d.DestinationPattern)
			r.str(" session protocol", d.SessionProtocol)
			r.str(" session target", d.SessionTarget)
			r.num(" voice-class codec", d.VoiceClassCodec)
			if len(d.DTMFRelay) > 0 {
				r.line(" dtmf-relay %s", strings.Join(d.DTMFRelay, " "))
			}
			r.extra(" ", d.Extra)
		})
	}
	if p := c.Presence; p != nil {
		r.section("presence", func() {
			r.line("presence")
			r.str(" server", p.Server)
			if p.BLFRetryInterval != 0 || p.BLFRetryLimit != 0 {
				r.line(" sccp blf-speed-dial retry-interval %d limit %d", p.BLFRetryInterval, p.BLFRetryLimit)
			}
			r.flag(" presence call-list", p.CallList)
			r.num(" max-subscription", p.MaxSubscription)
			r.flag(" watcher all", p.WatcherAll)
			r.flag(" allow subscribe", p.AllowSubscribe)
			r.extra(" ", p.Extra)
		})
	}
	if u := c.SIPUA; u != nil {
		r.section("sip-ua", func() {
			r.line("sip-ua")
			if u.AuthUsername != "" || u.AuthPassword != "" {
				r.line(" authentication username %s password %s", u.AuthUsername, u.AuthPassword)
			}
			r.flag(" presence enable", u.PresenceEnable)
			r.extra(" ", u.Extra)
		})
	}
	if t := c.Telephony; t != nil {
		r.section("telephony-service", func() {
			r.line("telephony-service")
			for _, l := range t.Loads {
				r.line(" load %s %s", l.Type, l.Firmware)
			}
			r.num(" max-ephones", t.MaxEphones)
			r.num(" max-dn", t.MaxDN)
			if t.SourceAddress != "" {
				s := fmt.Sprintf(" ip source-address %s port %d", t.SourceAddress, t.Port)
				if t.SourceSecondary != "" {
					s += " secondary " + t.SourceSecondary
				}
				if t.SourceMatch != "" {
					s += " " + t.SourceMatch
				}
				r.line("%s", s)
			}
			r.flag(" no auto-reg-ephone", t.NoAutoRegEphone)
			r.flag(" service directed-pickup", t.DirectedPickup)
			r.str(" system message", t.SystemMessage)
			r.num(" time-format", t.TimeFormat)
			r.str(" date-format", t.DateFormat)
			r.num(" keepalive", t.Keepalive)
			r.str(" voicemail", t.Voicemail)
			if t.MaxConferences != 0 {
				if t.MaxConferencesGain != 0 {
					r.line(" max-conferences %d gain %d", t.MaxConferences, t.MaxConferencesGain)
				} else {
					r.line(" max-conferences %d", t.MaxConferences)
				}
			}
			r.flag(" conference hardware", t.ConferenceHardware)
			r.str(" call-forward pattern", t.CallForwardPattern)
			for _, d := range t.DialplanPatterns {
				s := fmt.Sprintf(" dialplan-pattern %d %s extension-length %d", d.Tag, d.Pattern, d.ExtensionLength)
				if d.ExtensionPattern != "" {
					s += " extension-pattern " + d.ExtensionPattern
				}
				if d.NoReg {
					s += " no-reg"
				}
				r.line("%s", s)
			}
			r.num(" timeouts interdigit", t.TimeoutsInterdigit)
			r.num(" timeouts ringing", t.TimeoutsRinging)
			r.str(" transfer-system", t.TransferSystem)
			r.str(" transfer-pattern", t.TransferPattern)
			r.flag(" fac standard", t.FACStandard)
			r.extra(" ", t.Extra)
			if t.CreateCnfFiles {
				if t.CnfVersionStamp != "" {
					r.line(" create cnf-files version-stamp %s", t.CnfVersionStamp)
				} else {
					r.line(" create cnf-files")
				}
			}
		})
	}
	for _, t := range c.EphoneTemplates {
		r.section(fmt.Sprintf("ephone-template %d", t.Tag), func() {
			r.line("ephone-template  %d", t.Tag)
			r.template(t)
		})
	}
	for _, d := range c.EphoneDNTemplates {
		r.section(fmt.Sprintf("ephone-dn-template %d", d.Tag), func() {
			r.line("ephone-dn-template  %d", d.Tag)
			r.str(" description", d.Description)
			r.str(" pickup-group", d.PickupGroup)
			r.flag(" no huntstop", d.NoHuntstop)
			r.callForward(d.CallForward)
			r.flag(" allow watch", d.AllowWatch)
			r.extra(" ", d.Extra)
		})
	}
	for _, d := range c.EphoneDNs {
		r.section(fmt.Sprintf("ephone-dn %d", d.Tag), func() {
			switch d.Mode {
			case DualLine:
				r.line("ephone-dn  %d  dual-line", d.Tag)
			case OctoLine:
				r.line("ephone-dn  %d  octo-line", d.Tag)
			default:
				r.line("ephone-dn  %d", d.Tag)
			}
			if d.ParkSlot != nil {
				r.line("%s", strings.TrimRight(" park-slot "+formatParkSlot(*d.ParkSlot), " "))
			}
			if d.Number != "" {
				s := " number " + d.Number
				if d.Secondary != "" {
					s += " secondary " + d.Secondary
				}
				switch d.NoReg {
				case "":
				case "secondary":
					s += " no-reg"
				default:
					s += " no-reg " + d.NoReg
				}
				r.line("%s", s)
			}
			r.str(" pickup-group", d.PickupGroup)
			r.str(" label", d.Label)
			r.str(" description", d.Description)
			r.str(" name", d.Name)
			r.num(" ephone-dn-template", d.Template)
			r.str(" translation-profile incoming", d.TranslationProfileIn)
			r.str(" translation-profile outgoing", d.TranslationProfileOut)
			if d.PreferenceSecondary != 0 {
				r.line(" preference %d secondary %d", d.Preference, d.PreferenceSecondary)
			} else {
				r.num(" preference", d.Preference)
			}
			r.flag(" no huntstop", d.NoHuntstop)
			switch {
			case d.HuntstopChannel < 0:
				r.line(" huntstop channel")
			case d.HuntstopChannel > 0:
				r.line(" huntstop channel %d", d.HuntstopChannel)
			}
			r.callForward(d.CallForward)
			r.flag(" allow watch", d.AllowWatch)
			r.extra(" ", d.Extra)
		})
	}
	for _, p := range c.Ephones {
		r.section(fmt.Sprintf("ephone %d", p.Tag), func() {
			r.line("ephone  %d", p.Tag)
			r.str(" mac-address", p.MAC)
			r.num(" ephone-template", p.Template)
			r.extra(" ", p.Extra)
			r.phone(p.SpeedDials, p.BLFSpeedDials, p.PresenceCallList)
			r.credentials(p.Username, p.PasswordType, p.Password)
			r.str(" description", p.Description)
			r.num(" keepalive", p.Keepalive)
			if p.TypeAddon != "" {
				r.line(" type %s addon %s", p.Type, p.TypeAddon)
			} else {
				r.str(" type", p.Type)
			}
			r.flag(" privacy-button", p.PrivacyButton)
			r.flag(" no dnd feature-ring", p.NoDNDFeatureRing)
			r.str(" dnd-mode", string(p.DNDMode))
			if len(p.Buttons) > 0 {
				r.line(" button  %s", formatButtons(p.Buttons))
			}
		})
	}
	for _, h := range c.EphoneHunts {
		r.section(fmt.Sprintf("ephone-hunt %d", h.Tag), func() {
			r.line("ephone-hunt %d %s", h.Tag, h.Kind)
			r.hunt(h)
		})
	}
	// Blocks whose section is gone (removed later in the file or from
	// the CLI) go last, before end.
	for _, b := range c.Unmodelled {
		if !r.done[b.After] {
			r.block(b)
		}
	}
	r.b.WriteString("end\n")
}

// RenderRunning is the whole `show running-config` output, with the
// `Building configuration...` / `Current configuration : N bytes` header
// (N counts the body, as IOS does).
func RenderRunning(c *Config) string {
	body := "!\n" + Render(c)
	return fmt.Sprintf("Building configuration...\n\nCurrent configuration : %d bytes\n%s", len(body), body)
}

func orAny(addr string) string {
	if addr == "" {
		return "0.0.0.0"
	}
	return addr
}

// renderer writes lines and puts `!` between non-empty sections; after
// each section it prints the unmodelled blocks that followed it.
type renderer struct {
	b      strings.Builder
	keys   []string           // keys of the non-empty sections, in order
	blocks map[string][]Block // unmodelled blocks by Block.After
	done   map[string]bool    // anchors whose blocks are printed
}

func (r *renderer) section(key string, f func()) {
	n := r.b.Len()
	f()
	if r.b.Len() > n {
		r.b.WriteString("!\n")
		r.keys = append(r.keys, key)
		r.kept(key)
	}
}

// kept prints the blocks anchored after key, each followed by `!`.
func (r *renderer) kept(key string) {
	if r.done == nil {
		r.done = map[string]bool{}
	}
	if r.done[key] {
		return
	}
	r.done[key] = true
	for _, b := range r.blocks[key] {
		r.block(b)
	}
}

func (r *renderer) block(b Block) {
	for _, l := range b.Lines {
		r.b.WriteString(l)
		r.b.WriteByte('\n')
	}
	if len(b.Lines) > 0 {
		r.b.WriteString("!\n")
	}
}

func (r *renderer) credentials(user, typ, pass string) {
	switch {
	case user == "" && pass == "":
	case typ != "":
		r.line(" username %s password %s %s", user, typ, pass)
	default:
		r.line(" username %s password %s", user, pass)
	}
}

func (r *renderer) template(t PhoneTemplate) {
	r.flag(" privacy-button", t.PrivacyButton)
	for _, sk := range t.Softkeys {
		r.line(" softkeys %s %s", sk.State, strings.Join(sk.Keys, " "))
	}
	for _, b := range t.ButtonLayout {
		r.line(" button-layout %s", b)
	}
	if len(t.FeaturesBlocked) > 0 {
		r.line(" features blocked %s", strings.Join(t.FeaturesBlocked, " "))
	}
	r.extra(" ", t.Extra)
}

func (r *renderer) hunt(h HuntGroup) {
	if h.PilotSecondary != "" {
		r.line(" pilot %s secondary %s", h.Pilot, h.PilotSecondary)
	} else {
		r.str(" pilot", h.Pilot)
	}
	switch h.NoReg {
	case "":
	case "secondary":
		r.line(" no-reg")
	default:
		r.line(" no-reg %s", h.NoReg)
	}
	if len(h.List) > 0 {
		r.line(" list %s", strings.Join(h.List, ", "))
	}
	r.str(" final", h.Final)
	r.num(" preference", h.Preference)
	r.num(" hops", h.Hops)
	if len(h.Timeout) > 0 {
		r.line(" timeout %s", joinInts(h.Timeout))
	}
	r.str(" name", h.Name)
	r.str(" description", h.Description)
	r.extra(" ", h.Extra)
}

func (r *renderer) line(format string, a ...any) {
	fmt.Fprintf(&r.b, format, a...)
	r.b.WriteByte('\n')
}

func (r *renderer) str(prefix, v string) {
	if v != "" {
		r.line("%s %s", prefix, v)
	}
}

func (r *renderer) num(prefix string, v int) {
	if v != 0 {
		r.line("%s %d", prefix, v)
	}
}

func (r *renderer) flag(text string, on bool) {
	if on {
		r.line("%s", text)
	}
}

func (r *renderer) extra(indent string, lines []string) {
	for _, l := range lines {
		r.line("%s%s", indent, l)
	}
}

func (r *renderer) callForward(cf CallForward) {
	r.str(" call-forward all", cf.All)
	r.str(" call-forward busy", cf.Busy)
	if cf.NoAnswer != "" {
		r.line(" call-forward noan %s timeout %d", cf.NoAnswer, cf.NoAnswerTimeout)
	}
	r.str(" call-forward night-service", cf.NightService)
}

func (r *renderer) phone(sds []SpeedDial, blfs []BLFSpeedDial, callList bool) {
	for _, s := range sds {
		if s.Label != "" {
			r.line(" speed-dial %d %s label %s", s.Tag, s.Number, s.Label)
		} else {
			r.line(" speed-dial %d %s", s.Tag, s.Number)
		}
	}
	for _, b := range blfs {
		dev := ""
		if b.Device {
			dev = " device"
		}
		r.line(" blf-speed-dial %d %s label \"%s\"%s", b.Tag, b.Number, b.Label, dev)
	}
	r.flag(" presence call-list", callList)
}
