package config

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cmed-project/cmed/pkg/cmdtree"
)

// grammar holds one command tree per mode, built once; trees are read-only
// afterwards, so Editors in several CLI sessions share them.
var grammar = buildGrammar()

// Grammar is the command tree of a mode, for callers that want to walk it
// (for example to list commands). Do not add to it.
func Grammar(m Mode) *cmdtree.Tree { return grammar[m] }

type action func(e *Editor, m *cmdtree.Match) error

func act(fn action) cmdtree.Action {
	return func(m *cmdtree.Match) error { return fn(m.Ctx.(*Editor), m) }
}

// Ranges. Tags are bounded generously; Validate checks them against
// max-ephones / max-dn (docs/cme-cli.md §Telephony-service).
const (
	maxEphoneTag = 1000  // CME 4.3+: up to 1000 configurable ephones
	maxDNTag     = 10000 // well above every platform's max-dn
	maxPoolTag   = 1000
)

func newTree(words ...string) *cmdtree.Tree {
	t := cmdtree.New()
	t.AllowNegation()
	for _, p := range []*cmdtree.ParamType{buttonsParam, targetParam, sedParam, flashParam, numberParam,
		digitsParam, huntListParam, timeoutsParam, parkParam} {
		t.DefineParam(p)
	}
	t.Describe(helpTexts...)
	t.Describe(words...)
	return t
}

// helpTexts are `?` descriptions shared by all modes.
var helpTexts = []string{
	"exit", "Exit from the current mode", "end", "Exit to privileged EXEC mode",
	"allow", "Allow", "watch", "Allow this directory number to be watched (BLF presentity)",
	"call-forward", "Define call forwarding", "all", "Forward all calls", "busy", "Forward when busy",
	"noan", "Forward when not answered", "night-service", "Forward during night service",
	"timeout", "Ring time before forwarding", "description", "Description text",
	"huntstop", "Stop hunting on this DN", "preference", "Dial-peer preference order",
	"number", "Directory number", "name", "Caller-ID name", "label", "Text shown on the line button",
	"translation-profile", "Translation profile", "incoming", "Incoming direction", "outgoing", "Outgoing direction",
	"type", "Phone type", "username", "Login credentials", "password", "Password",
	"speed-dial", "Define a speed-dial", "blf-speed-dial", "Define a BLF speed-dial",
	"device", "Monitor the whole phone (device-based BLF)", "presence", "Presence (BLF)",
	"call-list", "BLF status in call lists and directories", "keepalive", "Keepalive interval in seconds",
	"load", "Phone firmware for a phone type", "max-dn", "Maximum directory numbers",
	"source-address", "Address phones register to", "port", "Port number", "dtmf-relay", "DTMF relay methods",
	"ip", "IP configuration", "secondary", "Secondary number", "dn", "Voice register dn tag",
	"ephone-dn-template", "ephone-dn template tag", "mac-address", "Phone MAC address",
	"button", "Assign lines to phone buttons", "dnd", "Do not disturb", "feature-ring", "Feature-ring lines ring in DND",
}

func buildGrammar() [numModes]*cmdtree.Tree {
	var g [numModes]*cmdtree.Tree
	g[ModeGlobal] = globalTree()
	g[ModeTelephony] = telephonyTree()
	g[ModeEphoneDN] = ephoneDNTree()
	g[ModeEphoneDNTemplate] = templateTree()
	g[ModeEphone] = ephoneTree()
	g[ModeVoiceService] = voiceServiceTree()
	g[ModeVoiceServiceSIP] = voiceServiceSIPTree()
	g[ModeRegisterGlobal] = registerGlobalTree()
	g[ModeRegisterDN] = registerDNTree()
	g[ModeRegisterPool] = registerPoolTree()
	g[ModeSIPUA] = sipUATree()
	g[ModePresence] = presenceTree()
	g[ModeDialPeer] = dialPeerTree()
	g[ModeTranslationRule] = translationRuleTree()
	g[ModeTranslationProfile] = translationProfileTree()
	g[ModeEphoneTemplate] = phoneTemplateTree(func(e *Editor) *PhoneTemplate {
		return find(e.cfg.EphoneTemplates, e.top().tag, phoneTemplateTag)
	})
	g[ModeRegisterTemplate] = phoneTemplateTree(func(e *Editor) *PhoneTemplate {
		return find(e.cfg.VoiceRegisterTemplates, e.top().tag, phoneTemplateTag)
	})
	g[ModeEphoneHunt] = huntTree(true)
	g[ModeVoiceHuntGroup] = huntTree(false)
	g[ModeVoiceClassCodec] = codecClassTree()
	for m, t := range g {
		if Mode(m) != ModeGlobal {
			t.MustAdd("exit", act(func(e *Editor, _ *cmdtree.Match) error {
				e.stack = e.stack[:len(e.stack)-1]
				return nil
			}))
		}
		t.MustAdd("end", act(func(e *Editor, _ *cmdtree.Match) error {
			e.stack, e.done = e.stack[:1], true
			return nil
		}))
	}
	addDeviceActions(g)
	return g
}

// ---- small helpers ----------------------------------------------------

func (e *Editor) top() frame { return e.stack[len(e.stack)-1] }

func (e *Editor) push(f frame) { e.stack = append(e.stack, f) }

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// set assigns v, or the zero value in the no/default form.
func set[T any](m *cmdtree.Match, p *T, v T) {
	var zero T
	if m.Negated() {
		*p = zero
		return
	}
	*p = v
}

func byKey[T any](key func(*T) int) func(T, int) int {
	return func(x T, k int) int { return cmp.Compare(key(&x), k) }
}

// getOrAdd finds the element with key k in sorted *s, inserting mk() if
// absent.
func getOrAdd[T any](s *[]T, k int, key func(*T) int, mk func() T) *T {
	i, found := slices.BinarySearchFunc(*s, k, byKey(key))
	if !found {
		*s = slices.Insert(*s, i, mk())
	}
	return &(*s)[i]
}

func find[T any](s []T, k int, key func(*T) int) *T {
	i, found := slices.BinarySearchFunc(s, k, byKey(key))
	if !found {
		return nil
	}
	return &s[i]
}

// upsert replaces the element with v's key or inserts v in order.
func upsert[T any](s []T, v T, key func(*T) int) []T {
	i, found := slices.BinarySearchFunc(s, key(&v), byKey(key))
	if found {
		s[i] = v
		return s
	}
	return slices.Insert(s, i, v)
}

func removeKey[T any](s []T, k int, key func(*T) int) []T {
	s = slices.DeleteFunc(s, func(x T) bool { return key(&x) == k })
	if len(s) == 0 {
		return nil
	}
	return s
}

func ephoneTag(x *Ephone) int                  { return x.Tag }
func ephoneDNTag(x *EphoneDN) int              { return x.Tag }
func templateTag(x *EphoneDNTemplate) int      { return x.Tag }
func poolTag(x *VoiceRegisterPool) int         { return x.Tag }
func regDNTag(x *VoiceRegisterDN) int          { return x.Tag }
func dialPeerTag(x *DialPeer) int              { return x.Tag }
func ruleTag(x *TranslationRule) int           { return x.Tag }
func ruleLineIndex(x *TranslationRuleLine) int { return x.Index }
func speedDialTag(x *SpeedDial) int            { return x.Tag }
func blfTag(x *BLFSpeedDial) int               { return x.Tag }
func poolNumberTag(x *PoolNumber) int          { return x.Tag }
func credentialTag(x *Credential) int          { return x.Tag }
func dialplanTag(x *DialplanPattern) int       { return x.Tag }
func phoneTemplateTag(x *PhoneTemplate) int    { return x.Tag }
func huntTag(x *HuntGroup) int                 { return x.Tag }
func codecClassTag(x *VoiceClassCodec) int     { return x.Tag }
func codecPrefIndex(x *CodecPreference) int    { return x.Index }

// addExtra declares accepted-but-unmodelled commands that are kept
// verbatim (canonical keyword + the rest as typed) so they round-trip
// through show running-config. `no KW ...` removes matching lines.
// catchAll records the first words addExtra keeps whole in each tree.
// matchUnknown prefers a real command of an enclosing mode over them, as
// IOS does: `ip http address ...` after `voice service voip` is the global
// command, not voice service's `ip [LINE]`. Written only by init.
var catchAll = map[*cmdtree.Tree]map[string]bool{}

func addExtra(t *cmdtree.Tree, get func(e *Editor) *[]string, words ...string) {
	if catchAll[t] == nil {
		catchAll[t] = map[string]bool{}
	}
	for _, w := range words {
		catchAll[t][w] = true
		t.MustAdd(w+" [LINE]", act(func(e *Editor, m *cmdtree.Match) error {
			p := get(e)
			text := m.Canonical()
			if m.Negated() {
				*p = slices.DeleteFunc(*p, func(s string) bool { return s == text || strings.HasPrefix(s, text+" ") })
				if len(*p) == 0 {
					*p = nil
				}
				return nil
			}
			if !slices.Contains(*p, text) {
				*p = append(*p, text)
			}
			return nil
		}), "LINE=Arguments (kept as typed)")
	}
}

// ---- global configuration ---------------------------------------------

func globalTree() *cmdtree.Tree {
	t := newTree(
		"hostname", "Set system's network name", "enable", "Modify enable password parameters",
		"secret", "Assign the privileged level secret", "privilege", "Set user privilege level",
		"http", "HTTP server configuration", "ssh", "SSH server configuration", "telnet", "Telnet server configuration (off by default)", "server", "Enable the server",
		"address", "Listen address", "tftp-server", "Provide TFTP service for netload requests",
		"directory", "Directory served over TFTP", "telephony-service", "Configure SCCP phone system (CME)",
		"ephone-dn", "Define ephone directory number", "ephone", "Define ephone (SCCP phone)",
		"ephone-dn-template", "Define ephone-dn template", "voice", "Voice configuration",
		"service", "Voice service", "voip", "Voice over IP", "pots", "Plain old telephone service",
		"register", "SIP phone registration (voice register)", "global", "Voice register global parameters",
		"pool", "SIP phone pool", "translation-rule", "Voice translation rule",
		"translation-profile", "Voice translation profile", "sip-ua", "SIP user agent configuration",
		"presence", "Enable presence service and enter presence mode", "dial-peer", "Dial peer configuration",
		"dual-line", "dual-line DN (2 calls per line/button)", "octo-line", "octo-line DN (8 calls per line/button)",
		"username", "Establish user name authentication",
		"limit", "Per-source resource limits", "sccp", "SCCP (Skinny) phones", "tftp", "TFTP server",
		"connections-per-source", "TCP connections one address may hold",
		"transfers-per-source", "Concurrent transfers one address may run", "transfers", "Concurrent transfers in all",
	)
	t.MustAdd("hostname ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.cfg.Hostname, m.Arg(0))
		return nil
	}), "WORD=This system's network name")
	t.MustAdd("enable secret ! [<0-9>] WORD", act(func(e *Editor, m *cmdtree.Match) error {
		if m.Negated() {
			e.cfg.EnableSecret = ""
			return nil
		}
		a := m.Args()
		typ := ""
		if len(a) == 2 {
			typ = a[0]
		}
		s, err := storeSecret(typ, a[len(a)-1], e.hash)
		if err != nil {
			return err
		}
		e.cfg.EnableSecret = s
		return nil
	}), "<0-9>=Encryption type: 0 clear text (hashed on entry), 5 MD5, 8 PBKDF2, 9 scrypt",
		"WORD=The enable secret")
	t.MustAdd("username WORD ! [privilege <0-15>] secret [<0-9>] WORD", act(func(e *Editor, m *cmdtree.Match) error {
		c := e.cfg
		name := m.Arg(0)
		i := slices.IndexFunc(c.Users, func(u User) bool { return u.Name == name })
		if m.Negated() {
			if i >= 0 {
				c.Users = slices.Delete(c.Users, i, i+1)
				if len(c.Users) == 0 {
					c.Users = nil
				}
			}
			return nil
		}
		u := User{Name: name, Privilege: 1}
		if p, ok := m.After("privilege"); ok {
			u.Privilege = atoi(p)
		}
		typ, secret := "", m.Arg(len(m.Args())-1)
		if t, _ := m.After("secret"); t != secret {
			typ = t
		}
		var err error
		if u.Secret, err = storeSecret(typ, secret, e.hash); err != nil {
			return err
		}
		if i >= 0 {
			c.Users[i] = u
		} else {
			c.Users = append(c.Users, u)
		}
		return nil
	}), "WORD=User name")
	// `username U [privilege N] password [T] P` is valid IOS but cmed only
	// stores hashed secrets: the line is kept verbatim (see keepLine).
	t.MustAdd("username WORD [privilege <0-15>] password LINE", keepLine)
	listener := func(kw string, get func(c *Config) *Listener) {
		t.MustAdd("ip "+kw+" server", act(func(e *Editor, m *cmdtree.Match) error {
			get(e.cfg).Enabled = !m.Negated()
			return nil
		}))
		t.MustAdd("ip "+kw+" address ! A.B.C.D port <0-65535>", act(func(e *Editor, m *cmdtree.Match) error {
			l := get(e.cfg)
			set(m, &l.Address, m.Arg(0))
			set(m, &l.Port, m.Int(1))
			return nil
		}))
	}
	listener("http", func(c *Config) *Listener { return &c.Services.HTTP })
	listener("ssh", func(c *Config) *Listener { return &c.Services.SSH })
	listener("telnet", func(c *Config) *Listener { return &c.Services.Telnet })
	t.MustAdd("tftp-server address ! A.B.C.D port <0-65535>", act(func(e *Editor, m *cmdtree.Match) error {
		l := &e.cfg.Services.TFTP
		l.Enabled = !m.Negated()
		set(m, &l.Address, m.Arg(0))
		set(m, &l.Port, m.Int(1))
		return nil
	}))
	limit := func(spec, help string, field func(*Limits) *int) {
		t.MustAdd(spec, act(func(e *Editor, m *cmdtree.Match) error {
			set(m, field(&e.cfg.Services.Limits), m.Int(0))
			return nil
		}), help)
	}
	limit("limit sccp connections-per-source ! <1-65535>", "<1-65535>=Connections (default 64)",
		func(l *Limits) *int { return &l.SCCPConnectionsPerSource })
	limit("limit tftp transfers-per-source ! <1-1000>", "<1-1000>=Transfers (default 8)",
		func(l *Limits) *int { return &l.TFTPTransfersPerSource })
	limit("limit tftp transfers ! <1-100000>", "<1-100000>=Transfers (default 512)",
		func(l *Limits) *int { return &l.TFTPTransfers })
	t.MustAdd("tftp-server directory ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.cfg.Services.TFTPRoot, m.Arg(0))
		return nil
	}), "WORD=Directory path")
	t.MustAdd("tftp-server flash:FILE [alias WORD]", act(func(e *Editor, m *cmdtree.Match) error {
		s := &e.cfg.Services
		name := m.Arg(0)[len("flash:"):]
		s.TFTPFiles = slices.DeleteFunc(s.TFTPFiles, func(f string) bool { return f == name })
		s.TFTPAliases = slices.DeleteFunc(s.TFTPAliases, func(a TFTPAlias) bool { return a.File == name })
		if !m.Negated() {
			s.TFTPFiles = append(s.TFTPFiles, name)
			if a, ok := m.After("alias"); ok {
				s.TFTPAliases = append(s.TFTPAliases, TFTPAlias{File: name, Alias: a})
			}
		}
		if len(s.TFTPFiles) == 0 {
			s.TFTPFiles = nil
		}
		if len(s.TFTPAliases) == 0 {
			s.TFTPAliases = nil
		}
		return nil
	}), "alias=Name phones ask for", "WORD=Alias file name")

	t.MustAdd("telephony-service", act(func(e *Editor, m *cmdtree.Match) error {
		if m.Negated() {
			e.cfg.Telephony = nil
			return nil
		}
		if e.cfg.Telephony == nil {
			e.cfg.Telephony = &Telephony{}
		}
		e.push(frame{mode: ModeTelephony})
		return nil
	}))
	t.MustAdd(fmt.Sprintf("ephone-dn <1-%d> [dual-line|octo-line]", maxDNTag), act(func(e *Editor, m *cmdtree.Match) error {
		c, tag := e.cfg, m.Int(0)
		if m.Negated() {
			c.EphoneDNs = removeKey(c.EphoneDNs, tag, ephoneDNTag)
			return nil
		}
		mode := SingleLine
		switch {
		case m.Has("dual-line"):
			mode = DualLine
		case m.Has("octo-line"):
			mode = OctoLine
		}
		if d := find(c.EphoneDNs, tag, ephoneDNTag); d != nil {
			if d.Mode != mode && (mode != SingleLine || len(m.Tokens) > 1) {
				return cmdErr(fmt.Sprintf("remove it first with \"no ephone-dn %d\"", tag),
					"ephone-dn %d exists with another line mode; the mode cannot be changed in place", tag)
			}
		} else {
			getOrAdd(&c.EphoneDNs, tag, ephoneDNTag, func() EphoneDN { return EphoneDN{Tag: tag, Mode: mode} })
		}
		e.push(frame{mode: ModeEphoneDN, tag: tag})
		return nil
	}), fmt.Sprintf("<1-%d>=ephone-dn tag", maxDNTag))
	t.MustAdd("ephone-dn-template <1-15>", act(func(e *Editor, m *cmdtree.Match) error {
		c, tag := e.cfg, m.Int(0)
		if m.Negated() {
			c.EphoneDNTemplates = removeKey(c.EphoneDNTemplates, tag, templateTag)
			return nil
		}
		getOrAdd(&c.EphoneDNTemplates, tag, templateTag, func() EphoneDNTemplate { return EphoneDNTemplate{Tag: tag} })
		e.push(frame{mode: ModeEphoneDNTemplate, tag: tag})
		return nil
	}), "<1-15>=ephone-dn-template tag")
	t.MustAdd(fmt.Sprintf("ephone <1-%d>", maxEphoneTag), act(func(e *Editor, m *cmdtree.Match) error {
		c, tag := e.cfg, m.Int(0)
		if m.Negated() {
			c.Ephones = removeKey(c.Ephones, tag, ephoneTag)
			return nil
		}
		getOrAdd(&c.Ephones, tag, ephoneTag, func() Ephone { return Ephone{Tag: tag} })
		e.push(frame{mode: ModeEphone, tag: tag})
		return nil
	}), fmt.Sprintf("<1-%d>=ephone tag", maxEphoneTag))
	t.MustAdd("voice service voip", act(func(e *Editor, m *cmdtree.Match) error {
		if m.Negated() {
			e.cfg.VoiceService = nil
			return nil
		}
		if e.cfg.VoiceService == nil {
			e.cfg.VoiceService = &VoiceService{}
		}
		e.push(frame{mode: ModeVoiceService})
		return nil
	}))
	t.MustAdd("voice register global", act(func(e *Editor, m *cmdtree.Match) error {
		if m.Negated() {
			e.cfg.VoiceRegisterGlobal = nil
			return nil
		}
		if e.cfg.VoiceRegisterGlobal == nil {
			e.cfg.VoiceRegisterGlobal = &VoiceRegisterGlobal{}
		}
		e.push(frame{mode: ModeRegisterGlobal})
		return nil
	}))
	t.MustAdd(fmt.Sprintf("voice register dn <1-%d>", maxDNTag), act(func(e *Editor, m *cmdtree.Match) error {
		c, tag := e.cfg, m.Int(0)
		if m.Negated() {
			c.VoiceRegisterDNs = removeKey(c.VoiceRegisterDNs, tag, regDNTag)
			return nil
		}
		getOrAdd(&c.VoiceRegisterDNs, tag, regDNTag, func() VoiceRegisterDN { return VoiceRegisterDN{Tag: tag} })
		e.push(frame{mode: ModeRegisterDN, tag: tag})
		return nil
	}), fmt.Sprintf("<1-%d>=voice register dn tag", maxDNTag))
	t.MustAdd(fmt.Sprintf("voice register pool <1-%d>", maxPoolTag), act(func(e *Editor, m *cmdtree.Match) error {
		c, tag := e.cfg, m.Int(0)
		if m.Negated() {
			c.VoiceRegisterPools = removeKey(c.VoiceRegisterPools, tag, poolTag)
			return nil
		}
		getOrAdd(&c.VoiceRegisterPools, tag, poolTag, func() VoiceRegisterPool { return VoiceRegisterPool{Tag: tag} })
		e.push(frame{mode: ModeRegisterPool, tag: tag})
		return nil
	}), fmt.Sprintf("<1-%d>=voice register pool tag", maxPoolTag))
	t.MustAdd("voice translation-rule <1-2147483647>", act(func(e *Editor, m *cmdtree.Match) error {
		c, tag := e.cfg, m.Int(0)
		if m.Negated() {
			c.TranslationRules = removeKey(c.TranslationRules, tag, ruleTag)
			return nil
		}
		getOrAdd(&c.TranslationRules, tag, ruleTag, func() TranslationRule { return TranslationRule{Tag: tag} })
		e.push(frame{mode: ModeTranslationRule, tag: tag})
		return nil
	}))
	t.MustAdd("voice translation-profile WORD", act(func(e *Editor, m *cmdtree.Match) error {
		c, name := e.cfg, m.Arg(0)
		i := slices.IndexFunc(c.TranslationProfiles, func(p TranslationProfile) bool { return p.Name == name })
		if m.Negated() {
			if i >= 0 {
				c.TranslationProfiles = slices.Delete(c.TranslationProfiles, i, i+1)
				if len(c.TranslationProfiles) == 0 {
					c.TranslationProfiles = nil
				}
			}
			return nil
		}
		if i < 0 {
			c.TranslationProfiles = append(c.TranslationProfiles, TranslationProfile{Name: name})
			slices.SortFunc(c.TranslationProfiles, func(a, b TranslationProfile) int { return strings.Compare(a.Name, b.Name) })
		}
		e.push(frame{mode: ModeTranslationProfile, name: name})
		return nil
	}), "WORD=Translation profile name")
	t.MustAdd("sip-ua", act(func(e *Editor, m *cmdtree.Match) error {
		if m.Negated() {
			e.cfg.SIPUA = nil
			return nil
		}
		if e.cfg.SIPUA == nil {
			e.cfg.SIPUA = &SIPUA{}
		}
		e.push(frame{mode: ModeSIPUA})
		return nil
	}))
	t.MustAdd("presence", act(func(e *Editor, m *cmdtree.Match) error {
		if m.Negated() {
			e.cfg.Presence = nil
			return nil
		}
		if e.cfg.Presence == nil {
			e.cfg.Presence = &Presence{}
		}
		e.push(frame{mode: ModePresence})
		return nil
	}))
	t.MustAdd("dial-peer voice <1-2147483647> ! {voip|pots}", act(func(e *Editor, m *cmdtree.Match) error {
		c, tag := e.cfg, m.Int(0)
		if m.Negated() {
			c.DialPeers = removeKey(c.DialPeers, tag, dialPeerTag)
			return nil
		}
		kind := "voip"
		if m.Has("pots") {
			kind = "pots"
		}
		if d := find(c.DialPeers, tag, dialPeerTag); d != nil && d.Kind != kind {
			return cmdErr(fmt.Sprintf("remove it first with \"no dial-peer voice %d\"", tag),
				"dial-peer %d exists as a %s peer", tag, d.Kind)
		}
		getOrAdd(&c.DialPeers, tag, dialPeerTag, func() DialPeer { return DialPeer{Tag: tag, Kind: kind} })
		e.push(frame{mode: ModeDialPeer, tag: tag})
		return nil
	}), "<1-2147483647>=Voice dial-peer tag")
	addCMESections(t)
	t.MustAdd("exit", act(func(e *Editor, _ *cmdtree.Match) error {
		e.done = true
		return nil
	}))
	return t
}

// ---- telephony-service ---------------------------------------------------

func telephonyTree() *cmdtree.Tree {
	t := newTree("max-ephones", "Maximum phones to support", "create", "Create configuration files",
		"cnf-files", "Generate XML configuration files for SCCP phones", "version-stamp", "Version stamp text",
		"system", "System parameters", "message", "Text shown on idle phones", "time-format", "Clock format",
		"date-format", "Date format", "dialplan-pattern", "Map extensions to E.164 numbers",
		"voicemail", "Voicemail access number", "timeouts", "Timeouts", "ringing", "Ringing timeout",
		"interdigit", "Interdigit timeout", "transfer-system", "Call transfer method",
		"transfer-pattern", "Numbers calls may be transferred to", "max-conferences", "Maximum three-party conferences",
		"gain", "Conference gain", "pattern", "Calling numbers that may be forwarded (H.450.3)")
	tel := func(e *Editor) *Telephony { return e.cfg.Telephony }
	t.MustAdd(fmt.Sprintf("max-ephones ! <1-%d>", maxEphoneTag), act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &tel(e).MaxEphones, m.Int(0))
		return nil
	}), fmt.Sprintf("<1-%d>=Maximum phones to support", maxEphoneTag))
	t.MustAdd(fmt.Sprintf("max-dn ! <1-%d>", maxDNTag), act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &tel(e).MaxDN, m.Int(0))
		return nil
	}), fmt.Sprintf("<1-%d>=Maximum directory numbers", maxDNTag))
	t.MustAdd("ip source-address ! A.B.C.D [port <0-65535>] [secondary A.B.C.D] [any-match|strict-match]", act(func(e *Editor, m *cmdtree.Match) error {
		tl := tel(e)
		set(m, &tl.SourceAddress, m.Arg(0))
		port := DefaultSCCPPort // show run always prints the port; store it so Port 0 can mean "any"
		if p, ok := m.After("port"); ok {
			port = atoi(p)
		}
		set(m, &tl.Port, port)
		sec, _ := m.After("secondary")
		set(m, &tl.SourceSecondary, sec)
		match := ""
		if m.Has("any-match") || m.Has("strict-match") {
			match = m.Keyword(len(m.Tokens) - 1)
		}
		set(m, &tl.SourceMatch, match)
		return nil
	}), "secondary=Backup CME address phones fail over to")
	t.MustAdd("auto-reg-ephone", act(func(e *Editor, m *cmdtree.Match) error {
		tel(e).NoAutoRegEphone = m.Negated()
		return nil
	}), "auto-reg-ephone=Let unconfigured phones register (no auto-reg-ephone refuses them)")
	t.MustAdd("service directed-pickup", act(func(e *Editor, m *cmdtree.Match) error {
		tel(e).DirectedPickup = !m.Negated()
		return nil
	}), "directed-pickup=Pickup softkey picks up a named extension")
	t.MustAdd("fac standard", act(func(e *Editor, m *cmdtree.Match) error {
		tel(e).FACStandard = !m.Negated()
		return nil
	}), "standard=Enable the standard feature access codes")
	t.MustAdd("conference hardware", act(func(e *Editor, m *cmdtree.Match) error {
		tel(e).ConferenceHardware = !m.Negated()
		return nil
	}), "hardware=Conferences use DSP farm resources")
	t.MustAdd("keepalive ! <10-65535>", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &tel(e).Keepalive, m.Int(0))
		return nil
	}))
	t.MustAdd("create cnf-files [version-stamp LINE]", act(func(e *Editor, m *cmdtree.Match) error {
		tl := tel(e)
		set(m, &tl.CreateCnfFiles, true)
		stamp, _ := m.After("version-stamp")
		set(m, &tl.CnfVersionStamp, stamp)
		return nil
	}))
	t.MustAdd("load WORD ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		tl := tel(e)
		tl.Loads = setLoad(tl.Loads, m)
		return nil
	}), "WORD=Phone type or firmware file name")
	t.MustAdd("system message ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &tel(e).SystemMessage, m.Arg(0))
		return nil
	}))
	t.MustAdd("time-format ! {12|24}", act(func(e *Editor, m *cmdtree.Match) error {
		v := 12
		if m.Has("24") {
			v = 24
		}
		set(m, &tel(e).TimeFormat, v)
		return nil
	}))
	t.MustAdd("date-format ! {dd-mm-yy|mm-dd-yy|yy-dd-mm|yy-mm-dd}", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &tel(e).DateFormat, m.Keyword(1))
		return nil
	}))
	t.MustAdd("dialplan-pattern <1-10> ! WORD extension-length <1-32> [extension-pattern WORD] [no-reg]", act(func(e *Editor, m *cmdtree.Match) error {
		tl := tel(e)
		tag := m.Int(0)
		if m.Negated() {
			tl.DialplanPatterns = removeKey(tl.DialplanPatterns, tag, dialplanTag)
			return nil
		}
		p := DialplanPattern{Tag: tag, Pattern: m.Arg(1), NoReg: m.Has("no-reg")}
		l, _ := m.After("extension-length")
		p.ExtensionLength = atoi(l)
		p.ExtensionPattern, _ = m.After("extension-pattern")
		tl.DialplanPatterns = upsert(tl.DialplanPatterns, p, dialplanTag)
		return nil
	}))
	t.MustAdd("voicemail ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &tel(e).Voicemail, m.Arg(0))
		return nil
	}))
	t.MustAdd("timeouts ringing ! <5-60000>", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &tel(e).TimeoutsRinging, m.Int(0))
		return nil
	}))
	t.MustAdd("timeouts interdigit ! <2-120>", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &tel(e).TimeoutsInterdigit, m.Int(0))
		return nil
	}))
	t.MustAdd("transfer-system ! {blind|full-blind|full-consult [dss]|local-consult}", act(func(e *Editor, m *cmdtree.Match) error {
		m2 := *m
		m2.Tokens = m.Tokens[1:]
		set(m, &tel(e).TransferSystem, m2.Canonical())
		return nil
	}))
	t.MustAdd("transfer-pattern ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &tel(e).TransferPattern, m.Arg(0))
		return nil
	}))
	t.MustAdd("call-forward pattern ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &tel(e).CallForwardPattern, m.Arg(0))
		return nil
	}))
	t.MustAdd("max-conferences ! <1-24> [gain {-6|0|3|6}]", act(func(e *Editor, m *cmdtree.Match) error {
		tl := tel(e)
		set(m, &tl.MaxConferences, m.Int(0))
		g := 0
		if m.Has("gain") {
			g = atoi(m.Keyword(3))
		}
		set(m, &tl.MaxConferencesGain, g)
		return nil
	}))
	addExtra(t, func(e *Editor) *[]string { return &tel(e).Extra },
		"url", "web", "dn-webedit", "time-webedit", "time-zone", "secondary-dialtone", "directory",
		"moh", "auto", "fac", "network-locale", "user-locale", "em", "night-service", "service", "cnf-file",
		"sdspfarm", "application", "hunt-group", "privacy", "privacy-on-hold", "max-redirect", "mwi",
		"calling-number", "after-hours", "xml", "caller-id", "call-park", "bulk-speed-dial", "log", "conference")
	return t
}

// setLoad applies `load TYPE FIRMWARE` / `no load TYPE`: one load per
// phone type, in the order typed.
func setLoad(loads []Load, m *cmdtree.Match) []Load {
	typ := m.Arg(0)
	i := slices.IndexFunc(loads, func(l Load) bool { return l.Type == typ })
	switch {
	case m.Negated() && i >= 0:
		loads = slices.Delete(loads, i, i+1)
	case m.Negated():
	case i >= 0:
		loads[i].Firmware = m.Arg(1)
	default:
		loads = append(loads, Load{Type: typ, Firmware: m.Arg(1)})
	}
	if len(loads) == 0 {
		return nil
	}
	return loads
}

// ---- ephone-dn and ephone-dn-template ------------------------------------

// dnCommon points at the fields ephone-dn and ephone-dn-template share.
type dnCommon struct {
	allowWatch  *bool
	cf          *CallForward
	description *string
	noHuntstop  *bool
	pickupGroup *string
	extra       *[]string
}

func addDNCommon(t *cmdtree.Tree, get func(e *Editor) dnCommon) {
	t.MustAdd("allow watch", act(func(e *Editor, m *cmdtree.Match) error {
		*get(e).allowWatch = !m.Negated()
		return nil
	}))
	t.MustAdd("call-forward all ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &get(e).cf.All, m.Arg(0))
		return nil
	}), "WORD=Target number")
	t.MustAdd("call-forward busy ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &get(e).cf.Busy, m.Arg(0))
		return nil
	}))
	t.MustAdd("call-forward noan ! WORD timeout <3-60000>", act(func(e *Editor, m *cmdtree.Match) error {
		cf := get(e).cf
		set(m, &cf.NoAnswer, m.Arg(0))
		set(m, &cf.NoAnswerTimeout, m.Int(1))
		return nil
	}), "<3-60000>=Ring time in seconds")
	t.MustAdd("call-forward night-service ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &get(e).cf.NightService, m.Arg(0))
		return nil
	}))
	t.MustAdd("description ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, get(e).description, m.Arg(0))
		return nil
	}))
	t.MustAdd("huntstop", act(func(e *Editor, m *cmdtree.Match) error {
		*get(e).noHuntstop = m.Negated()
		return nil
	}))
	t.MustAdd("pickup-group ! DIGITS", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, get(e).pickupGroup, m.Arg(0))
		return nil
	}), "pickup-group=Call pickup group", "DIGITS=Pickup group number")
	addExtra(t, func(e *Editor) *[]string { return get(e).extra },
		"call-waiting", "caller-id", "corlist", "hold-alert", "mwi", "translate")
}

func (e *Editor) ephoneDN() *EphoneDN {
	return find(e.cfg.EphoneDNs, e.top().tag, ephoneDNTag)
}

func ephoneDNTree() *cmdtree.Tree {
	t := newTree()
	addDNCommon(t, func(e *Editor) dnCommon {
		d := e.ephoneDN()
		return dnCommon{&d.AllowWatch, &d.CallForward, &d.Description, &d.NoHuntstop, &d.PickupGroup, &d.Extra}
	})
	t.MustAdd("number ! NUMBER [secondary NUMBER] [no-reg [both|primary]]", act(func(e *Editor, m *cmdtree.Match) error {
		d := e.ephoneDN()
		set(m, &d.Number, m.Arg(0))
		sec, _ := m.After("secondary")
		set(m, &d.Secondary, sec)
		noReg := ""
		switch {
		case m.Has("both"):
			noReg = "both"
		case m.Has("primary"):
			noReg = "primary"
		case m.Has("no-reg"):
			noReg = "secondary"
		}
		set(m, &d.NoReg, noReg)
		return nil
	}), "no-reg=Do not register with a gatekeeper or SIP proxy (alone: the secondary number)",
		"both=Neither number", "primary=The primary number only")
	t.MustAdd("huntstop channel [<1-8>]", act(func(e *Editor, m *cmdtree.Match) error {
		n := -1
		if len(m.Args()) > 0 {
			n = m.Int(0)
		}
		set(m, &e.ephoneDN().HuntstopChannel, n)
		return nil
	}), "channel=Keep channels of this line free for outgoing calls", "<1-8>=Channels kept free")
	t.MustAdd("park-slot [OPTIONS]", act(func(e *Editor, m *cmdtree.Match) error {
		d := e.ephoneDN()
		if m.Negated() {
			d.ParkSlot = nil
			return nil
		}
		p, _ := parseParkSlot(m.Arg(0))
		d.ParkSlot = &p
		return nil
	}), "park-slot=Make this DN a call-park slot")
	t.MustAdd("name ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.ephoneDN().Name, m.Arg(0))
		return nil
	}))
	t.MustAdd("label ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.ephoneDN().Label, m.Arg(0))
		return nil
	}))
	t.MustAdd("preference ! <0-10> [secondary <0-10>]", act(func(e *Editor, m *cmdtree.Match) error {
		d := e.ephoneDN()
		set(m, &d.Preference, m.Int(0))
		sec := 0
		if v, ok := m.After("secondary"); ok {
			sec = atoi(v)
		}
		set(m, &d.PreferenceSecondary, sec)
		return nil
	}), "secondary=Preference of the secondary number")
	t.MustAdd("ephone-dn-template ! <1-15>", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.ephoneDN().Template, m.Int(0))
		return nil
	}))
	t.MustAdd("translation-profile incoming ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.ephoneDN().TranslationProfileIn, m.Arg(0))
		return nil
	}))
	t.MustAdd("translation-profile outgoing ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.ephoneDN().TranslationProfileOut, m.Arg(0))
		return nil
	}))
	addExtra(t, func(e *Editor) *[]string { return &e.ephoneDN().Extra }, "intercom", "paging", "trunk",
		"application", "conference", "night-service", "snr", "mobility")
	return t
}

func templateTree() *cmdtree.Tree {
	t := newTree()
	addDNCommon(t, func(e *Editor) dnCommon {
		d := find(e.cfg.EphoneDNTemplates, e.top().tag, templateTag)
		return dnCommon{&d.AllowWatch, &d.CallForward, &d.Description, &d.NoHuntstop, &d.PickupGroup, &d.Extra}
	})
	return t
}

// ---- ephone and voice register pool ----------------------------------------

// phoneCommon points at what ephone and voice register pool share.
type phoneCommon struct {
	speedDials   *[]SpeedDial
	blf          *[]BLFSpeedDial
	callList     *bool
	username     *string
	password     *string
	passwordType *string
	description  *string
}

func addPhoneCommon(t *cmdtree.Tree, maxTag int, get func(e *Editor) phoneCommon) {
	t.MustAdd(fmt.Sprintf("speed-dial <1-%d> ! WORD [label LINE]", maxTag), act(func(e *Editor, m *cmdtree.Match) error {
		p := get(e)
		if m.Negated() {
			*p.speedDials = removeKey(*p.speedDials, m.Int(0), speedDialTag)
			return nil
		}
		sd := SpeedDial{Tag: m.Int(0), Number: m.Arg(1)}
		sd.Label, _ = m.After("label")
		*p.speedDials = upsert(*p.speedDials, sd, speedDialTag)
		return nil
	}), "WORD=Number to dial")
	t.MustAdd(fmt.Sprintf("blf-speed-dial <1-%d> ! WORD label STRING [device]", maxTag), act(func(e *Editor, m *cmdtree.Match) error {
		p := get(e)
		if m.Negated() {
			*p.blf = removeKey(*p.blf, m.Int(0), blfTag)
			return nil
		}
		b := BLFSpeedDial{Tag: m.Int(0), Number: m.Arg(1), Label: m.Arg(2), Device: m.Has("device")}
		*p.blf = upsert(*p.blf, b, blfTag)
		return nil
	}), "WORD=Number to dial and watch", `STRING=Label text (up to 30 characters, quote it if it has spaces)`)
	t.MustAdd("presence call-list", act(func(e *Editor, m *cmdtree.Match) error {
		*get(e).callList = !m.Negated()
		return nil
	}))
	t.MustAdd("username ! WORD password [0|6] WORD", act(func(e *Editor, m *cmdtree.Match) error {
		p := get(e)
		set(m, p.username, m.Arg(0))
		set(m, p.password, m.Arg(1))
		typ := ""
		if m.Has("0") || m.Has("6") {
			typ = m.Keyword(3)
		}
		set(m, p.passwordType, typ)
		return nil
	}), "0=The password follows in clear text", "6=The password follows encrypted (type 6)")
	t.MustAdd("description ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, get(e).description, m.Arg(0))
		return nil
	}))
}

func (e *Editor) ephone() *Ephone { return find(e.cfg.Ephones, e.top().tag, ephoneTag) }

func ephoneTree() *cmdtree.Tree {
	t := newTree()
	addPhoneCommon(t, 75, func(e *Editor) phoneCommon {
		p := e.ephone()
		return phoneCommon{&p.SpeedDials, &p.BLFSpeedDials, &p.PresenceCallList, &p.Username, &p.Password, &p.PasswordType, &p.Description}
	})
	t.MustAdd("mac-address ! H.H.H", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.ephone().MAC, NormalizeMAC(m.Arg(0)))
		return nil
	}))
	t.MustAdd("type ! WORD [addon LINE]", act(func(e *Editor, m *cmdtree.Match) error {
		p := e.ephone()
		set(m, &p.Type, m.Arg(0))
		addon, _ := m.After("addon")
		set(m, &p.TypeAddon, addon)
		return nil
	}), "WORD=Phone model, e.g. 7960, 7961, 7965, 7970", "addon=Key expansion modules, e.g. 1 7914")
	t.MustAdd("ephone-template ! <1-20>", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.ephone().Template, m.Int(0))
		return nil
	}), "ephone-template=Apply an ephone template", "<1-20>=Template tag")
	t.MustAdd("privacy-button", act(func(e *Editor, m *cmdtree.Match) error {
		e.ephone().PrivacyButton = !m.Negated()
		return nil
	}), "privacy-button=Privacy feature button")
	t.MustAdd("button ! BUTTONS", act(func(e *Editor, m *cmdtree.Match) error {
		p := e.ephone()
		if m.Negated() {
			p.Buttons = nil
			return nil
		}
		bs, _ := parseButtons(m.Arg(0))
		for _, b := range bs { // later `button` lines add to or replace earlier ones
			p.Buttons = upsert(p.Buttons, b, func(b *Button) int { return b.Index })
		}
		return nil
	}))
	t.MustAdd("keepalive ! <10-65535>", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.ephone().Keepalive, m.Int(0))
		return nil
	}))
	t.MustAdd("dnd feature-ring", act(func(e *Editor, m *cmdtree.Match) error {
		e.ephone().NoDNDFeatureRing = m.Negated()
		return nil
	}))
	addExtra(t, func(e *Editor) *[]string { return &e.ephone().Extra },
		"fastdial", "auto-line", "max-calls-per-button", "busy-trigger-per-button",
		"paging-dn", "softkeys", "video", "codec", "mwi-line", "night-service", "pin", "privacy",
		"transfer-max-length", "multicast-moh", "after-hour", "addon", "device-security-mode", "phone-ui",
		"headset", "mwi", "conference", "feature-button", "network-locale", "user-locale", "nte-end-digit-delay", "capf-auth-mode")
	return t
}

func (e *Editor) pool() *VoiceRegisterPool {
	return find(e.cfg.VoiceRegisterPools, e.top().tag, poolTag)
}

func registerPoolTree() *cmdtree.Tree {
	t := newTree("id", "Phone identification", "mac", "MAC address")
	t.DefineParam(dtmfParam(poolDTMF...))
	addPhoneCommon(t, 113, func(e *Editor) phoneCommon {
		p := e.pool()
		return phoneCommon{&p.SpeedDials, &p.BLFSpeedDials, &p.PresenceCallList, &p.Username, &p.Password, &p.PasswordType, &p.Description}
	})
	t.MustAdd("id mac ! H.H.H", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.pool().MAC, NormalizeMAC(m.Arg(0)))
		return nil
	}))
	t.MustAdd("type ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.pool().Type, m.Arg(0))
		return nil
	}))
	t.MustAdd(fmt.Sprintf("number <1-114> ! dn <1-%d>", maxDNTag), act(func(e *Editor, m *cmdtree.Match) error {
		p := e.pool()
		if m.Negated() {
			p.Numbers = removeKey(p.Numbers, m.Int(0), poolNumberTag)
			return nil
		}
		p.Numbers = upsert(p.Numbers, PoolNumber{Tag: m.Int(0), DN: m.Int(1)}, poolNumberTag)
		return nil
	}))
	t.MustAdd("dtmf-relay ! METHODS", act(func(e *Editor, m *cmdtree.Match) error {
		p := e.pool()
		p.DTMFRelay = nil
		if !m.Negated() {
			p.DTMFRelay, _ = parseDTMF(m.Arg(0), poolDTMF)
		}
		return nil
	}))
	t.MustAdd("template ! <1-10>", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.pool().Template, m.Int(0))
		return nil
	}), "template=Apply a voice register template", "<1-10>=Template tag")
	t.MustAdd("dnd", act(func(e *Editor, m *cmdtree.Match) error {
		e.pool().DND = !m.Negated()
		return nil
	}))
	addExtra(t, func(e *Editor) *[]string { return &e.pool().Extra },
		"codec", "call-forward", "voice-class", "busy-trigger-per-button", "paging-dn", "application",
		"camera", "video", "cor", "registration-timer", "session-transport", "preference", "huntstop", "dialplan")
	return t
}

// ---- voice service voip, voice register global / dn ---------------------

func voiceServiceTree() *cmdtree.Tree {
	t := newTree("allow-connections", "Allow connection types", "to", "to", "sip", "SIP configuration")
	vs := func(e *Editor) *VoiceService { return e.cfg.VoiceService }
	t.MustAdd("allow-connections WORD to WORD", act(func(e *Editor, m *cmdtree.Match) error {
		v := vs(e)
		s := m.Arg(0) + " to " + m.Arg(1)
		v.AllowConnections = slices.DeleteFunc(v.AllowConnections, func(x string) bool { return x == s })
		if !m.Negated() {
			v.AllowConnections = append(v.AllowConnections, s)
		}
		if len(v.AllowConnections) == 0 {
			v.AllowConnections = nil
		}
		return nil
	}), "WORD=Connection type, e.g. sip")
	t.MustAdd("sip", act(func(e *Editor, m *cmdtree.Match) error {
		v := vs(e)
		if m.Negated() {
			v.SIP, v.RegistrarServer, v.RegistrarExpiresMax, v.RegistrarExpiresMin, v.SIPExtra = false, false, 0, 0, nil
			return nil
		}
		v.SIP = true
		e.push(frame{mode: ModeVoiceServiceSIP})
		return nil
	}))
	addExtra(t, func(e *Editor) *[]string { return &vs(e).Extra }, "fax", "media", "supplementary-service", "h323", "modem",
		"redirect", "ip", "mode", "rtp-port", "callmonitor", "trace", "stun", "srtp", "shutdown")
	return t
}

func voiceServiceSIPTree() *cmdtree.Tree {
	t := newTree("registrar", "Enable the SIP registrar", "server", "Registrar server",
		"expires", "Registration expiry limits", "max", "Maximum expires (seconds)", "min", "Minimum expires (seconds)")
	vs := func(e *Editor) *VoiceService { return e.cfg.VoiceService }
	// The documented max range is 600-86400 (docs/cme-cli.md §Voice-register) but the
	// CME-3825 example uses 240, so cmed accepts 60-86400
	// (docs/cme-cli.md §Discrepancies).
	t.MustAdd("registrar server [expires [max <60-86400>] [min <60-3600>]]", act(func(e *Editor, m *cmdtree.Match) error {
		v := vs(e)
		set(m, &v.RegistrarServer, true)
		mx, _ := m.After("max")
		mn, _ := m.After("min")
		set(m, &v.RegistrarExpiresMax, atoi(mx))
		set(m, &v.RegistrarExpiresMin, atoi(mn))
		return nil
	}))
	addExtra(t, func(e *Editor) *[]string { return &vs(e).SIPExtra },
		"bind", "early-offer", "min-se", "session", "header-passing", "asserted-id", "privacy", "g729",
		"transport", "rel1xx", "midcall-signaling", "pass-thru", "localhost", "sip-profiles", "url", "silent-discard", "options-ping")
	return t
}

func registerGlobalTree() *cmdtree.Tree {
	t := newTree("mode", "Voice register mode", "cme", "CME mode", "cme-app", "CME as application", "esrst", "E-SRST mode",
		"max-pool", "Maximum SIP phones", "authenticate", "Authentication", "register", "Challenge REGISTERs",
		"realm", "Digest realm", "credential", "Credential file", "create", "Create files",
		"profile", "Generate SIP phone profiles", "sync", "Sync information")
	rg := func(e *Editor) *VoiceRegisterGlobal { return e.cfg.VoiceRegisterGlobal }
	t.MustAdd("mode ! {cme|cme-app|esrst}", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &rg(e).Mode, m.Keyword(1))
		return nil
	}))
	t.MustAdd("source-address ! A.B.C.D [port <0-65535>]", act(func(e *Editor, m *cmdtree.Match) error {
		g := rg(e)
		set(m, &g.SourceAddress, m.Arg(0))
		port := DefaultSIPPort // stored explicitly so that Port 0 can mean "any free port"
		if m.Has("port") {
			port = m.Int(1)
		}
		set(m, &g.Port, port)
		return nil
	}))
	t.MustAdd(fmt.Sprintf("max-dn ! <1-%d>", maxDNTag), act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &rg(e).MaxDN, m.Int(0))
		return nil
	}))
	t.MustAdd(fmt.Sprintf("max-pool ! <1-%d>", maxPoolTag), act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &rg(e).MaxPool, m.Int(0))
		return nil
	}))
	t.MustAdd("load WORD ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		g := rg(e)
		g.Loads = setLoad(g.Loads, m)
		return nil
	}))
	t.MustAdd("authenticate register", act(func(e *Editor, m *cmdtree.Match) error {
		rg(e).AuthenticateRegister = !m.Negated()
		return nil
	}))
	t.MustAdd("authenticate presence", act(func(e *Editor, m *cmdtree.Match) error {
		rg(e).AuthenticatePresence = !m.Negated()
		return nil
	}))
	t.MustAdd("authenticate realm ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &rg(e).AuthenticateRealm, m.Arg(0))
		return nil
	}))
	t.MustAdd("authenticate credential <1-5> ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		g := rg(e)
		if m.Negated() {
			g.Credentials = removeKey(g.Credentials, m.Int(0), credentialTag)
			return nil
		}
		g.Credentials = upsert(g.Credentials, Credential{Tag: m.Int(0), Location: m.Arg(1)}, credentialTag)
		return nil
	}), "WORD=Credential file URL (flash:, tftp://, http://)")
	t.MustAdd("create profile [sync WORD]", act(func(e *Editor, m *cmdtree.Match) error {
		g := rg(e)
		set(m, &g.CreateProfile, true)
		s, _ := m.After("sync")
		set(m, &g.ProfileSync, s)
		return nil
	}))
	addExtra(t, func(e *Editor) *[]string { return &rg(e).Extra },
		"tftp-path", "time-format", "date-format", "dialplan-pattern", "voicemail", "call-forward",
		"timezone", "ntp-server", "url", "hold-alert", "external-ring", "telnet", "bulk", "phone-mode", "dst", "time-zone")
	return t
}

func (e *Editor) regDN() *VoiceRegisterDN {
	return find(e.cfg.VoiceRegisterDNs, e.top().tag, regDNTag)
}

func registerDNTree() *cmdtree.Tree {
	t := newTree("b2bua", "Back-to-back user agent forwarding")
	t.DefineParam(sipNumberParam)
	t.MustAdd("number ! NUMBER", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.regDN().Number, m.Arg(0))
		return nil
	}))
	t.MustAdd("name ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.regDN().Name, m.Arg(0))
		return nil
	}))
	t.MustAdd("label ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.regDN().Label, m.Arg(0))
		return nil
	}))
	t.MustAdd("allow watch", act(func(e *Editor, m *cmdtree.Match) error {
		e.regDN().AllowWatch = !m.Negated()
		return nil
	}))
	t.MustAdd("call-forward b2bua all ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.regDN().CallForward.All, m.Arg(0))
		return nil
	}))
	t.MustAdd("call-forward b2bua busy ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.regDN().CallForward.Busy, m.Arg(0))
		return nil
	}))
	t.MustAdd("call-forward b2bua noan ! WORD timeout <3-60000>", act(func(e *Editor, m *cmdtree.Match) error {
		cf := &e.regDN().CallForward
		set(m, &cf.NoAnswer, m.Arg(0))
		set(m, &cf.NoAnswerTimeout, m.Int(1))
		return nil
	}))
	t.MustAdd("huntstop", act(func(e *Editor, m *cmdtree.Match) error {
		e.regDN().Huntstop = !m.Negated()
		return nil
	}))
	t.MustAdd("preference ! <0-10>", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.regDN().Preference, m.Int(0))
		return nil
	}))
	addExtra(t, func(e *Editor) *[]string { return &e.regDN().Extra },
		"translation-profile", "mwi", "pickup-group", "shared-line", "auto-answer", "after-hour", "intercom")
	return t
}

// ---- sip-ua, presence, dial-peer, translation ----------------------------

func sipUATree() *cmdtree.Tree {
	t := newTree("enable", "Accept incoming presence SUBSCRIBEs", "authentication", "Digest credentials")
	ua := func(e *Editor) *SIPUA { return e.cfg.SIPUA }
	t.MustAdd("presence enable", act(func(e *Editor, m *cmdtree.Match) error {
		ua(e).PresenceEnable = !m.Negated()
		return nil
	}))
	t.MustAdd("authentication username ! WORD password WORD", act(func(e *Editor, m *cmdtree.Match) error {
		u := ua(e)
		set(m, &u.AuthUsername, m.Arg(0))
		set(m, &u.AuthPassword, m.Arg(1))
		return nil
	}))
	addExtra(t, func(e *Editor) *[]string { return &ua(e).Extra },
		"registrar", "retry", "timers", "sip-server", "mwi-server", "calling-info", "transport", "nat", "connection-reuse")
	return t
}

func presenceTree() *cmdtree.Tree {
	t := newTree("max-subscription", "Maximum concurrent presence subscriptions",
		"watcher", "Watchers", "subscribe", "Let local phones watch remote presentities",
		"server", "Remote presence server", "sccp", "SCCP", "retry-interval", "Retry interval (seconds)",
		"limit", "Retry limit")
	pr := func(e *Editor) *Presence { return e.cfg.Presence }
	// docs/cme-cli.md §Presence-commands: 100-500 in the command reference; cmed uses that.
	t.MustAdd("max-subscription ! <100-500>", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &pr(e).MaxSubscription, m.Int(0))
		return nil
	}), "<100-500>=Maximum subscriptions")
	t.MustAdd("presence call-list", act(func(e *Editor, m *cmdtree.Match) error {
		pr(e).CallList = !m.Negated()
		return nil
	}))
	t.MustAdd("watcher all", act(func(e *Editor, m *cmdtree.Match) error {
		pr(e).WatcherAll = !m.Negated()
		return nil
	}))
	t.MustAdd("allow subscribe", act(func(e *Editor, m *cmdtree.Match) error {
		pr(e).AllowSubscribe = !m.Negated()
		return nil
	}))
	t.MustAdd("server ! A.B.C.D", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &pr(e).Server, m.Arg(0))
		return nil
	}))
	t.MustAdd("sccp blf-speed-dial retry-interval ! <60-3600> limit <10-100>", act(func(e *Editor, m *cmdtree.Match) error {
		p := pr(e)
		set(m, &p.BLFRetryInterval, m.Int(0))
		set(m, &p.BLFRetryLimit, m.Int(1))
		return nil
	}))
	return t
}

func (e *Editor) dialPeer() *DialPeer { return find(e.cfg.DialPeers, e.top().tag, dialPeerTag) }

func dialPeerTree() *cmdtree.Tree {
	t := newTree("destination-pattern", "Dialed digits this peer matches", "session", "Session parameters",
		"protocol", "Session protocol", "sipv2", "SIP (RFC 3261)", "target", "Where calls are sent")
	t.DefineParam(dtmfParam(dialPeerDTMF...))
	t.MustAdd("description ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.dialPeer().Description, m.Arg(0))
		return nil
	}))
	t.MustAdd("destination-pattern ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.dialPeer().DestinationPattern, m.Arg(0))
		return nil
	}), "WORD=Pattern, e.g. 1... or 9T")
	t.MustAdd("session protocol ! sipv2", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.dialPeer().SessionProtocol, "sipv2")
		return nil
	}))
	t.MustAdd("session target ! TARGET", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.dialPeer().SessionTarget, m.Arg(0))
		return nil
	}))
	t.MustAdd("preference ! <0-10>", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.dialPeer().Preference, m.Int(0))
		return nil
	}))
	t.MustAdd("dtmf-relay ! METHODS", act(func(e *Editor, m *cmdtree.Match) error {
		d := e.dialPeer()
		d.DTMFRelay = nil
		if !m.Negated() {
			d.DTMFRelay, _ = parseDTMF(m.Arg(0), dialPeerDTMF)
		}
		return nil
	}))
	t.MustAdd("voice-class codec ! <1-10000>", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.dialPeer().VoiceClassCodec, m.Int(0))
		return nil
	}), "voice-class=Voice class", "codec=Codec preference list (voice class codec)")
	t.MustAdd("translation-profile incoming ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.dialPeer().TranslationProfileIn, m.Arg(0))
		return nil
	}))
	t.MustAdd("translation-profile outgoing ! WORD", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.dialPeer().TranslationProfileOut, m.Arg(0))
		return nil
	}))
	addExtra(t, func(e *Editor) *[]string { return &e.dialPeer().Extra },
		"codec", "voice-class", "incoming", "answer-address", "port", "forward-digits", "huntstop",
		"max-conn", "fax", "b2bua", "direct-inward-dial", "trunkgroup", "prefix",
		"redirect", "supplementary-service", "clid", "ip", "media", "no-vad", "vad", "playout-delay", "shutdown")
	return t
}

func translationRuleTree() *cmdtree.Tree {
	t := newTree("rule", "Translation rule")
	t.MustAdd("rule <1-15> ! /PATTERN/ /PATTERN/", act(func(e *Editor, m *cmdtree.Match) error {
		r := find(e.cfg.TranslationRules, e.top().tag, ruleTag)
		if m.Negated() {
			r.Rules = removeKey(r.Rules, m.Int(0), ruleLineIndex)
			return nil
		}
		strip := func(s string) string { return s[1 : len(s)-1] }
		r.Rules = upsert(r.Rules, TranslationRuleLine{Index: m.Int(0), Match: strip(m.Arg(1)), Replace: strip(m.Arg(2))}, ruleLineIndex)
		return nil
	}))
	return t
}

func translationProfileTree() *cmdtree.Tree {
	t := newTree("translate", "Apply a translation rule", "called", "Called number",
		"calling", "Calling number", "redirect-called", "Redirecting called number")
	prof := func(e *Editor) *TranslationProfile {
		name := e.top().name
		i := slices.IndexFunc(e.cfg.TranslationProfiles, func(p TranslationProfile) bool { return p.Name == name })
		return &e.cfg.TranslationProfiles[i]
	}
	for _, kw := range []string{"called", "calling", "redirect-called"} {
		t.MustAdd("translate "+kw+" ! <1-2147483647>", act(func(e *Editor, m *cmdtree.Match) error {
			p := prof(e)
			f := map[string]*int{"called": &p.Called, "calling": &p.Calling, "redirect-called": &p.RedirectCalled}[kw]
			set(m, f, m.Int(0))
			return nil
		}), "<1-2147483647>=Translation rule tag")
	}
	return t
}
