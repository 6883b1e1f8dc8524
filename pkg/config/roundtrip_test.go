package config

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// gen builds random configurations in the canonical form Parse produces
// (sorted tags, defaults stored where Parse stores them), covering every
// field the grammar can express.
type gen struct{ r *rand.Rand }

func (g gen) n(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }
func (g gen) coin() bool       { return g.r.IntN(2) == 0 }
func (g gen) maybe(f func() string) string {
	if g.coin() {
		return ""
	}
	return f()
}
func (g gen) numOr0(lo, hi int) int {
	if g.coin() {
		return 0
	}
	return g.n(lo, hi)
}

const wordChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_+*#:/@!"

func (g gen) word() string {
	b := make([]byte, g.n(1, 10))
	for i := range b {
		b[i] = wordChars[g.r.IntN(len(wordChars))]
	}
	return string(b)
}

// text is a LINE value: words separated by one or two spaces, quotes allowed.
func (g gen) text() string {
	parts := make([]string, g.n(1, 4))
	for i := range parts {
		parts[i] = g.word()
		if g.r.IntN(5) == 0 {
			parts[i] = `"` + parts[i]
		}
	}
	sep := " "
	if g.r.IntN(4) == 0 {
		sep = "  "
	}
	return strings.Join(parts, sep)
}

// label is a BLF label: spaces allowed, double quotes not.
func (g gen) label() string {
	if g.r.IntN(8) == 0 {
		return ""
	}
	return strings.ReplaceAll(g.text(), `"`, "'")
}

// number is a dial string as the NUMBER parameter takes it.
func (g gen) number(letters bool) string {
	chars := "0123456789.*#"
	if letters {
		chars += "ABCDabcd"
	}
	b := make([]byte, g.n(1, MaxNumberLength))
	for i := range b {
		b[i] = chars[g.r.IntN(len(chars))]
	}
	if g.r.IntN(5) == 0 {
		b[0] = '+'
	}
	return string(b)
}

func (g gen) pick(s ...string) string { return s[g.r.IntN(len(s))] }

func (g gen) template(tag int) PhoneTemplate {
	t := PhoneTemplate{Tag: tag, PrivacyButton: g.coin(), Extra: g.extra("conference", "dnd-control")}
	for _, st := range SoftkeyStates {
		if g.r.IntN(3) == 0 {
			t.Softkeys = append(t.Softkeys, Softkeys{State: st, Keys: strings.Fields(strings.ReplaceAll(g.text(), `"`, ""))})
		}
	}
	for range g.n(0, 2) {
		if l := g.word(); !slices.Contains(t.ButtonLayout, l) {
			t.ButtonLayout = append(t.ButtonLayout, l)
		}
	}
	if g.coin() {
		t.FeaturesBlocked = []string{g.word(), g.word()}
	}
	return t
}

func (g gen) huntGroup(tag int, ephone bool) HuntGroup {
	kinds := HuntKinds
	if ephone {
		kinds = kinds[:3]
	}
	h := HuntGroup{Tag: tag, Kind: kinds[g.r.IntN(len(kinds))], Pilot: g.maybe(func() string { return g.number(true) }),
		Final: g.maybe(func() string { return g.number(true) }), Hops: g.numOr0(2, MaxHuntMembers),
		Preference: g.n(0, 10), Description: g.maybe(g.text), Name: g.maybe(g.text), Extra: g.extra("statistics", "auto")}
	if h.Pilot != "" && g.coin() {
		h.PilotSecondary = g.number(true)
	}
	for range g.n(0, 4) {
		if g.r.IntN(6) == 0 {
			h.List = append(h.List, "*")
		} else {
			h.List = append(h.List, g.number(true))
		}
	}
	for range g.n(0, 3) {
		h.Timeout = append(h.Timeout, g.n(3, 60000))
	}
	if ephone {
		h.NoReg = g.pick("", "secondary", "both", "pilot")
	}
	return h
}

func (g gen) ip() string {
	return fmt.Sprintf("%d.%d.%d.%d", g.n(0, 255), g.n(0, 255), g.n(0, 255), g.n(0, 255))
}

func (g gen) mac() string {
	return fmt.Sprintf("%04X.%04X.%04X", g.n(0, 0xFFFF), g.n(0, 0xFFFF), g.n(0, 0xFFFF))
}

// tags returns up to n distinct sorted values in [lo, hi].
func (g gen) tags(n, lo, hi int) []int {
	seen := map[int]bool{}
	var out []int
	for range g.n(0, n) {
		t := g.n(lo, hi)
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

func (g gen) extra(words ...string) []string {
	var out []string
	for range g.n(0, 2) {
		s := words[g.r.IntN(len(words))]
		if g.coin() {
			s += " " + g.text()
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (g gen) listener() Listener {
	l := Listener{Enabled: g.coin()}
	if g.coin() {
		l.Address, l.Port = g.ip(), g.n(0, 65535)
	}
	return l
}

func (g gen) callForward(night bool) CallForward {
	cf := CallForward{All: g.maybe(g.word), Busy: g.maybe(g.word)}
	if g.coin() {
		cf.NoAnswer, cf.NoAnswerTimeout = g.word(), g.n(3, 60000)
	}
	if night {
		cf.NightService = g.maybe(g.word)
	}
	return cf
}

func (g gen) loads() []Load {
	var out []Load
	for i, t := range g.tags(3, 1, 50) {
		out = append(out, Load{Type: fmt.Sprintf("t%d-%d", t, i), Firmware: g.word()})
	}
	return out
}

func (g gen) speedDials(maxTag int) []SpeedDial {
	var out []SpeedDial
	for _, t := range g.tags(3, 1, maxTag) {
		out = append(out, SpeedDial{Tag: t, Number: g.word(), Label: g.maybe(g.text)})
	}
	return out
}

func (g gen) blfs(maxTag int) []BLFSpeedDial {
	var out []BLFSpeedDial
	for _, t := range g.tags(3, 1, maxTag) {
		out = append(out, BLFSpeedDial{Tag: t, Number: g.word(), Label: g.label(), Device: g.coin()})
	}
	return out
}

func (g gen) dtmf(all ...string) []string {
	var out []string
	for _, d := range all {
		if g.r.IntN(3) == 0 {
			out = append(out, d)
		}
	}
	return out
}

func (g gen) buttons() []Button {
	modes := []ButtonMode{ButtonNormal, ButtonBeep, ButtonFeature, ButtonSilent, ButtonMonitor, ButtonWatch, ButtonOverlay, ButtonOverlayCW, ButtonExpand}
	var out []Button
	for _, idx := range g.tags(5, 1, 100) {
		b := Button{Index: idx, Mode: modes[g.r.IntN(len(modes))]}
		switch b.Mode {
		case ButtonExpand:
			b.ExpandOf = g.n(1, 100)
		case ButtonOverlay, ButtonOverlayCW:
			for range g.n(1, 25) {
				b.DNs = append(b.DNs, g.n(1, 999999999))
			}
		default:
			b.DNs = []int{g.n(1, 10000)}
		}
		out = append(out, b)
	}
	return out
}

func (g gen) config() *Config {
	// Secrets are stored hashed (secret.go); a few precomputed hashes keep
	// the cases reproducible and the test fast.
	hashed := func() string { return testHashes()[g.n(0, 2)] }
	c := &Config{Hostname: g.maybe(g.word), EnableSecret: g.maybe(hashed)}
	for i := range g.n(0, 3) {
		c.Users = append(c.Users, User{Name: fmt.Sprintf("u%d%s", i, g.word()), Privilege: g.n(0, 15), Secret: hashed()})
	}
	c.Services = Services{HTTP: g.listener(), SSH: g.listener(), Telnet: g.listener(), TFTPRoot: g.maybe(g.word)}
	if g.coin() {
		c.Services.TFTP = Listener{Enabled: true, Address: g.ip(), Port: g.n(0, 65535)}
	}
	for i := range g.n(0, 2) {
		f := fmt.Sprintf("f%d%s", i, g.word())
		c.Services.TFTPFiles = append(c.Services.TFTPFiles, f)
		if g.coin() {
			c.Services.TFTPAliases = append(c.Services.TFTPAliases, TFTPAlias{File: f, Alias: g.word()})
		}
	}
	if g.coin() {
		t := &Telephony{MaxEphones: g.numOr0(1, 1000), MaxDN: g.numOr0(1, 10000), Keepalive: g.numOr0(10, 65535),
			CreateCnfFiles: g.coin(), Loads: g.loads(), SystemMessage: g.maybe(g.text),
			DateFormat:         []string{"", "dd-mm-yy", "mm-dd-yy", "yy-dd-mm", "yy-mm-dd"}[g.r.IntN(5)],
			TimeFormat:         []int{0, 12, 24}[g.r.IntN(3)],
			Voicemail:          g.maybe(g.word),
			TimeoutsRinging:    g.numOr0(5, 60000),
			TimeoutsInterdigit: g.numOr0(2, 120),
			TransferSystem:     []string{"", "blind", "full-blind", "full-consult", "full-consult dss", "local-consult"}[g.r.IntN(6)],
			TransferPattern:    g.maybe(g.word), CallForwardPattern: g.maybe(g.word),
			Extra: g.extra("url", "web", "dn-webedit", "time-zone", "moh", "night-service")}
		if g.coin() {
			t.SourceAddress, t.Port = g.ip(), g.n(0, 65535)
			t.SourceSecondary = g.maybe(g.ip)
			t.SourceMatch = g.pick("", "any-match", "strict-match")
		}
		t.NoAutoRegEphone, t.DirectedPickup, t.FACStandard, t.ConferenceHardware = g.coin(), g.coin(), g.coin(), g.coin()
		if t.CreateCnfFiles {
			t.CnfVersionStamp = g.maybe(g.text)
		}
		for _, tag := range g.tags(3, 1, 10) {
			t.DialplanPatterns = append(t.DialplanPatterns, DialplanPattern{Tag: tag, Pattern: g.word(),
				ExtensionLength: g.n(1, 32), ExtensionPattern: g.maybe(g.word), NoReg: g.coin()})
		}
		if g.coin() {
			t.MaxConferences, t.MaxConferencesGain = g.n(1, 24), []int{0, -6, 3, 6}[g.r.IntN(4)]
		}
		c.Telephony = t
	}
	for _, tag := range g.tags(2, 1, 15) {
		c.EphoneDNTemplates = append(c.EphoneDNTemplates, EphoneDNTemplate{Tag: tag, AllowWatch: g.coin(),
			CallForward: g.callForward(true), Description: g.maybe(g.text), NoHuntstop: g.coin(),
			PickupGroup: g.maybe(func() string { return fmt.Sprint(g.n(0, 99999)) }),
			Extra:       g.extra("call-waiting", "mwi")})
	}
	for _, tag := range g.tags(5, 1, 10000) {
		d := EphoneDN{Tag: tag, Mode: LineMode(g.n(0, 2)), Name: g.maybe(g.text), Label: g.maybe(g.text),
			Description: g.maybe(g.text), AllowWatch: g.coin(), CallForward: g.callForward(true), NoHuntstop: g.coin(),
			Preference: g.n(0, 10), Template: g.numOr0(1, 15), TranslationProfileIn: g.maybe(g.word),
			TranslationProfileOut: g.maybe(g.word), Extra: g.extra("intercom", "paging", "mwi", "call-waiting")}
		if g.coin() {
			d.Number = g.number(true)
			d.Secondary = g.maybe(func() string { return g.number(true) })
			d.NoReg = g.pick("", "secondary", "both", "primary")
		}
		if d.Preference != 0 && g.coin() {
			d.PreferenceSecondary = g.n(1, 10)
		}
		d.HuntstopChannel = g.n(-1, 8)
		d.PickupGroup = g.maybe(func() string { return fmt.Sprint(g.n(0, 99999)) })
		if g.r.IntN(4) == 0 {
			p := ParkSlot{Recall: g.coin(), Directed: g.coin(), ReservedFor: g.maybe(func() string { return g.number(true) })}
			if g.coin() {
				p.Timeout, p.Limit = g.n(1, 65535), g.n(1, 65535)
				p.Notify = g.maybe(func() string { return g.number(true) })
				p.NotifyOnly = p.Notify != "" && g.coin()
			}
			p.Transfer, p.Alternate = g.maybe(func() string { return g.number(true) }), g.maybe(func() string { return g.number(true) })
			if g.coin() {
				p.Retry, p.RetryLimit = g.n(1, 65535), g.n(1, 65535)
			}
			d.ParkSlot = &p
		}
		c.EphoneDNs = append(c.EphoneDNs, d)
	}
	for _, tag := range g.tags(4, 1, 1000) {
		p := Ephone{Tag: tag, MAC: g.maybe(g.mac), Type: g.maybe(g.word), Buttons: g.buttons(),
			SpeedDials: g.speedDials(75), BLFSpeedDials: g.blfs(75), PresenceCallList: g.coin(),
			Description: g.maybe(g.text), Keepalive: g.numOr0(10, 65535), NoDNDFeatureRing: g.coin(),
			Extra: g.extra("fastdial", "auto-line", "paging-dn", "softkeys")}
		if g.coin() {
			p.Username, p.Password, p.PasswordType = g.word(), g.word(), g.pick("", "0", "6")
		}
		if p.Type != "" && g.coin() {
			p.TypeAddon = g.text()
		}
		p.Template, p.PrivacyButton = g.numOr0(1, 20), g.coin()
		c.Ephones = append(c.Ephones, p)
	}
	for _, tag := range g.tags(2, 1, 20) {
		c.EphoneTemplates = append(c.EphoneTemplates, g.template(tag))
	}
	for _, tag := range g.tags(2, 1, 10) {
		c.VoiceRegisterTemplates = append(c.VoiceRegisterTemplates, g.template(tag))
	}
	for _, tag := range g.tags(2, 1, 100) {
		c.EphoneHunts = append(c.EphoneHunts, g.huntGroup(tag, true))
	}
	for _, tag := range g.tags(2, 1, 100) {
		c.VoiceHuntGroups = append(c.VoiceHuntGroups, g.huntGroup(tag, false))
	}
	for _, tag := range g.tags(2, 1, 10000) {
		vc := VoiceClassCodec{Tag: tag, Extra: g.extra("video")}
		for _, i := range g.tags(3, 1, 14) {
			vc.Preferences = append(vc.Preferences, CodecPreference{Index: i, Codec: g.pick("g711ulaw", "g711alaw", "g729r8"), Bytes: g.numOr0(10, 320)})
		}
		c.VoiceClassCodecs = append(c.VoiceClassCodecs, vc)
	}
	if g.coin() {
		v := &VoiceService{Extra: g.extra("fax", "media")}
		for i := range g.n(0, 2) {
			v.AllowConnections = append(v.AllowConnections, fmt.Sprintf("p%d to %s", i, g.word()))
		}
		if g.coin() {
			v.SIP, v.SIPExtra = true, g.extra("bind", "early-offer")
			if g.coin() {
				v.RegistrarServer, v.RegistrarExpiresMax, v.RegistrarExpiresMin = true, g.numOr0(60, 86400), g.numOr0(60, 3600)
			}
		}
		c.VoiceService = v
	}
	if g.coin() {
		r := &VoiceRegisterGlobal{Mode: []string{"", "cme", "cme-app", "esrst"}[g.r.IntN(4)], MaxDN: g.numOr0(1, 10000),
			MaxPool: g.numOr0(1, 1000), AuthenticateRegister: g.coin(), AuthenticatePresence: g.coin(),
			AuthenticateRealm: g.maybe(g.word), CreateProfile: g.coin(), Loads: g.loads(), Extra: g.extra("tftp-path", "timezone")}
		if g.coin() {
			r.SourceAddress, r.Port = g.ip(), g.n(0, 65535)
		}
		for _, tag := range g.tags(3, 1, 5) {
			r.Credentials = append(r.Credentials, Credential{Tag: tag, Location: g.word()})
		}
		if r.CreateProfile {
			r.ProfileSync = g.maybe(g.word)
		}
		c.VoiceRegisterGlobal = r
	}
	for _, tag := range g.tags(3, 1, 10000) {
		c.VoiceRegisterDNs = append(c.VoiceRegisterDNs, VoiceRegisterDN{Tag: tag, Number: g.maybe(func() string { return g.number(false) }),
			Name: g.maybe(g.text), Label: g.maybe(g.text), AllowWatch: g.coin(), CallForward: g.callForward(false),
			Huntstop: g.coin(), Preference: g.n(0, 10), Extra: g.extra("mwi", "shared-line")})
	}
	for _, tag := range g.tags(3, 1, 1000) {
		p := VoiceRegisterPool{Tag: tag, MAC: g.maybe(g.mac), Type: g.maybe(g.word),
			SpeedDials: g.speedDials(113), BLFSpeedDials: g.blfs(113), PresenceCallList: g.coin(),
			DTMFRelay: g.dtmf("cisco-rtp", "rtp-nte", "sip-notify", "sip-kpml"), DND: g.coin(),
			Description: g.maybe(g.text), Extra: g.extra("codec", "application"), Template: g.numOr0(1, 10)}
		for _, n := range g.tags(3, 1, 114) {
			p.Numbers = append(p.Numbers, PoolNumber{Tag: n, DN: g.n(1, 10000)})
		}
		if g.coin() {
			p.Username, p.Password, p.PasswordType = g.word(), g.word(), g.pick("", "0", "6")
		}
		c.VoiceRegisterPools = append(c.VoiceRegisterPools, p)
	}
	if g.coin() {
		u := &SIPUA{PresenceEnable: g.coin(), Extra: g.extra("retry", "timers")}
		if g.coin() {
			u.AuthUsername, u.AuthPassword = g.word(), g.word()
		}
		c.SIPUA = u
	}
	if g.coin() {
		p := &Presence{MaxSubscription: g.numOr0(100, 500), CallList: g.coin(), WatcherAll: g.coin(),
			AllowSubscribe: g.coin(), Server: g.maybe(g.ip), Extra: g.extra("frobnicate", "xyzzy")}
		if g.coin() {
			p.BLFRetryInterval, p.BLFRetryLimit = g.n(60, 3600), g.n(10, 100)
		}
		c.Presence = p
	}
	for _, tag := range g.tags(3, 1, 2147483647) {
		d := DialPeer{Tag: tag, Kind: []string{"voip", "pots"}[g.r.IntN(2)], Description: g.maybe(g.text),
			DestinationPattern: g.maybe(g.word), SessionProtocol: []string{"", "sipv2"}[g.r.IntN(2)],
			Preference: g.n(0, 10), DTMFRelay: g.dtmf("rtp-nte", "sip-notify", "h245-alphanumeric", "sip-kpml", "sip-info", "cisco-rtp"),
			VoiceClassCodec:      g.numOr0(1, 10000),
			TranslationProfileIn: g.maybe(g.word), TranslationProfileOut: g.maybe(g.word), Extra: g.extra("codec", "forward-digits")}
		switch g.n(0, 3) {
		case 1:
			d.SessionTarget = "ipv4:" + g.ip()
		case 2:
			d.SessionTarget = fmt.Sprintf("ipv4:%s:%d", g.ip(), g.n(0, 65535))
		case 3:
			d.SessionTarget = "sip-server"
		}
		c.DialPeers = append(c.DialPeers, d)
	}
	for _, tag := range g.tags(2, 1, 2147483647) {
		r := TranslationRule{Tag: tag}
		for _, i := range g.tags(3, 1, 15) {
			r.Rules = append(r.Rules, TranslationRuleLine{Index: i, Match: g.maybe(g.word), Replace: g.maybe(g.word)})
		}
		c.TranslationRules = append(c.TranslationRules, r)
	}
	for i := range g.n(0, 2) {
		c.TranslationProfiles = append(c.TranslationProfiles, TranslationProfile{Name: fmt.Sprintf("p%d%s", i, g.word()),
			Called: g.numOr0(1, 2147483647), Calling: g.numOr0(1, 2147483647), RedirectCalled: g.numOr0(1, 2147483647)})
	}
	slices.SortFunc(c.TranslationProfiles, func(a, b TranslationProfile) int { return strings.Compare(a.Name, b.Name) })
	// Kept blocks, in the form Parse leaves them: after a section that
	// renders (or first), one block per section, in render order.
	keys := append([]string{""}, RenderKeys(c)...)
	for i, k := range keys {
		if g.r.IntN(4) != 0 {
			continue
		}
		b := Block{After: k, Lines: []string{fmt.Sprintf("interface Loopback%d", i), " description " + g.word()}}
		if g.coin() {
			b.Lines = append(b.Lines, "!", "line vty 0 4", " login")
		}
		c.Unmodelled = append(c.Unmodelled, b)
	}
	return c
}

// TestRoundTripProperty: Parse(Render(c)) == c for random valid configs.
func TestRoundTripProperty(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	for i := range 500 {
		c := g.config()
		text := Render(c)
		got, err := Parse("gen.cfg", []byte(text))
		if err != nil {
			t.Fatalf("case %d: Parse(Render(c)): %v\n%s", i, err, text)
		}
		if diff := cmp.Diff(c, got, cfgOpts); diff != "" {
			t.Fatalf("case %d: Parse(Render(c)) != c (-want +got):\n%s\n%s", i, diff, text)
		}
		if again := Render(got); again != text {
			t.Fatalf("case %d: Render is not stable", i)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(3, 4))}
	for range 50 {
		c := g.config()
		want := Render(c)
		cl := c.Clone()
		if diff := cmp.Diff(c, cl); diff != "" {
			t.Fatalf("Clone differs:\n%s", diff)
		}
		// Scribble over every reachable slice element of the clone via a
		// render-parse-mutate cycle: mutate through the Editor, which works
		// on clones, and check the original still renders the same.
		e := NewEditor(cl)
		for _, p := range cl.Ephones {
			_ = e.Exec(fmt.Sprintf("ephone %d", p.Tag))
			_ = e.Exec("button 1o1,2,3")
			_ = e.Exec("blf-speed-dial 1 9 label zz")
		}
		mutate(cl)
		if got := Render(c); got != want {
			t.Fatal("mutating a clone changed the original")
		}
	}
}

// mutate changes every slice element and pointer target in c.
func mutate(c *Config) {
	for i := range c.Users {
		c.Users[i].Name += "x"
	}
	for i := range c.Services.TFTPFiles {
		c.Services.TFTPFiles[i] += "x"
	}
	if t := c.Telephony; t != nil {
		t.MaxDN++
		for i := range t.Loads {
			t.Loads[i].Firmware += "x"
		}
		for i := range t.DialplanPatterns {
			t.DialplanPatterns[i].Pattern += "x"
		}
		for i := range t.Extra {
			t.Extra[i] += "x"
		}
	}
	for i := range c.EphoneDNTemplates {
		c.EphoneDNTemplates[i].Description += "x"
		for j := range c.EphoneDNTemplates[i].Extra {
			c.EphoneDNTemplates[i].Extra[j] += "x"
		}
	}
	for i := range c.EphoneDNs {
		c.EphoneDNs[i].Number += "x"
		for j := range c.EphoneDNs[i].Extra {
			c.EphoneDNs[i].Extra[j] += "x"
		}
	}
	for i := range c.Ephones {
		p := &c.Ephones[i]
		p.Type += "x"
		for j := range p.Buttons {
			for k := range p.Buttons[j].DNs {
				p.Buttons[j].DNs[k]++
			}
		}
		for j := range p.SpeedDials {
			p.SpeedDials[j].Number += "x"
		}
		for j := range p.BLFSpeedDials {
			p.BLFSpeedDials[j].Label += "x"
		}
		for j := range p.Extra {
			p.Extra[j] += "x"
		}
	}
	if v := c.VoiceService; v != nil {
		for i := range v.AllowConnections {
			v.AllowConnections[i] += "x"
		}
		for i := range v.Extra {
			v.Extra[i] += "x"
		}
		for i := range v.SIPExtra {
			v.SIPExtra[i] += "x"
		}
	}
	if r := c.VoiceRegisterGlobal; r != nil {
		r.Mode += "x"
		for i := range r.Credentials {
			r.Credentials[i].Location += "x"
		}
		for i := range r.Loads {
			r.Loads[i].Firmware += "x"
		}
		for i := range r.Extra {
			r.Extra[i] += "x"
		}
	}
	for i := range c.VoiceRegisterDNs {
		c.VoiceRegisterDNs[i].Number += "x"
		for j := range c.VoiceRegisterDNs[i].Extra {
			c.VoiceRegisterDNs[i].Extra[j] += "x"
		}
	}
	for i := range c.VoiceRegisterPools {
		p := &c.VoiceRegisterPools[i]
		for j := range p.Numbers {
			p.Numbers[j].DN++
		}
		for j := range p.SpeedDials {
			p.SpeedDials[j].Number += "x"
		}
		for j := range p.BLFSpeedDials {
			p.BLFSpeedDials[j].Number += "x"
		}
		for j := range p.DTMFRelay {
			p.DTMFRelay[j] += "x"
		}
		for j := range p.Extra {
			p.Extra[j] += "x"
		}
	}
	if u := c.SIPUA; u != nil {
		u.AuthUsername += "x"
		for i := range u.Extra {
			u.Extra[i] += "x"
		}
	}
	if p := c.Presence; p != nil {
		p.Server += "x"
	}
	for i := range c.DialPeers {
		c.DialPeers[i].Description += "x"
		for j := range c.DialPeers[i].DTMFRelay {
			c.DialPeers[i].DTMFRelay[j] += "x"
		}
		for j := range c.DialPeers[i].Extra {
			c.DialPeers[i].Extra[j] += "x"
		}
	}
	for i := range c.TranslationRules {
		for j := range c.TranslationRules[i].Rules {
			c.TranslationRules[i].Rules[j].Match += "x"
		}
	}
	for i := range c.TranslationProfiles {
		c.TranslationProfiles[i].Called++
	}
	for i := range c.Unmodelled {
		for j := range c.Unmodelled[i].Lines {
			c.Unmodelled[i].Lines[j] += "x"
		}
	}
	for _, ts := range [][]PhoneTemplate{c.EphoneTemplates, c.VoiceRegisterTemplates} {
		for i := range ts {
			for j := range ts[i].Softkeys {
				for k := range ts[i].Softkeys[j].Keys {
					ts[i].Softkeys[j].Keys[k] += "x"
				}
			}
			for j := range ts[i].ButtonLayout {
				ts[i].ButtonLayout[j] += "x"
			}
		}
	}
	for _, hs := range [][]HuntGroup{c.EphoneHunts, c.VoiceHuntGroups} {
		for i := range hs {
			for j := range hs[i].List {
				hs[i].List[j] += "x"
			}
			for j := range hs[i].Timeout {
				hs[i].Timeout[j]++
			}
		}
	}
	for i := range c.EphoneDNs {
		if p := c.EphoneDNs[i].ParkSlot; p != nil {
			p.Timeout++
		}
	}
	for i := range c.VoiceClassCodecs {
		for j := range c.VoiceClassCodecs[i].Preferences {
			c.VoiceClassCodecs[i].Preferences[j].Bytes++
		}
	}
	for i := range c.Services.TFTPAliases {
		c.Services.TFTPAliases[i].Alias += "x"
	}
}

var testHashes = sync.OnceValue(func() []string {
	return []string{hashType8("a", "0123456789abcd"), hashType8("b b", "0123456789abcd"), MD5Crypt("c", "salt")}
})
