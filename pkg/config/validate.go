package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cmed-project/cmed/pkg/cmdtree"
)

// Limits Validate enforces (docs/cme-cli.md §Presence-commands, §Telephony-service to §Voice-register).
const (
	MinMaxSubscription = 100
	// MaxMaxSubscription: the command reference says 100-500, the admin
	// guide "100 to the platform's max DN count" (docs/cme-cli.md §Discrepancies); cmed
	// uses the command reference's 500.
	MaxMaxSubscription = 500
	MaxSCCPBLFTag      = 75  // ephone blf-speed-dial tag (command reference)
	MaxSIPBLFTag       = 113 // voice register pool blf-speed-dial tag (9.1+)
	MaxBLFLabel        = 30  // characters
	MinKeepalive       = 10
	MaxKeepalive       = 65535
)

// Validate checks CME ranges and cross-references. Each error names the
// config line Parse read the offending command from (when known) and says
// what to do. It returns nil or an ErrorList sorted by line.
func (c *Config) Validate() error {
	v := &validator{c: c}
	if c.Source != nil {
		v.file = c.Source.File
	}
	v.ranges()
	v.ephones()
	v.pools()
	v.numbers()
	v.macs()
	v.references()
	v.templates()
	v.hunts()
	if len(v.errs) == 0 {
		return nil
	}
	sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Line < v.errs[j].Line })
	var out ErrorList
	for _, e := range v.errs {
		if !out.add(e) {
			break
		}
	}
	return out
}

type validator struct {
	c    *Config
	file string
	errs []*Error
}

// errorf records an error at the first known line among keys.
func (v *validator) errorf(keys []string, format string, a ...any) {
	v.errs = append(v.errs, &Error{File: v.file, Line: v.c.Source.Line(keys...), Msg: fmt.Sprintf(format, a...)})
}

func keys(k ...string) []string { return k }

func (v *validator) port(key, what string, p int) {
	if p < 0 || p > 65535 {
		v.errorf(keys(key), "%s port %d is out of range - use 0 to 65535 (0 picks a free port)", what, p)
	}
}

func (v *validator) ranges() {
	c := v.c
	v.port("|ip", "ip http", c.Services.HTTP.Port)
	v.port("|ip", "ip ssh", c.Services.SSH.Port)
	v.port("|ip", "ip telnet", c.Services.Telnet.Port)
	v.port("|tftp-server", "tftp-server", c.Services.TFTP.Port)
	for _, l := range []struct{ name, addr string }{
		{"ip http address", c.Services.HTTP.Address}, {"ip ssh address", c.Services.SSH.Address},
		{"ip telnet address", c.Services.Telnet.Address},
		{"tftp-server address", c.Services.TFTP.Address},
	} {
		if l.name == "ip http address" && ipv6Param.Check(l.addr) < 0 {
			continue // security.go
		}
		if l.addr != "" && cmdtree.CheckIPv4(l.addr) >= 0 {
			v.errorf(nil, "%s %q is not an IPv4 address - write A.B.C.D", l.name, l.addr)
		}
	}
	if t := c.Telephony; t != nil {
		const sec = "telephony-service"
		v.port(sec+"|ip", "telephony-service ip source-address", t.Port)
		if t.Keepalive != 0 && (t.Keepalive < MinKeepalive || t.Keepalive > MaxKeepalive) {
			v.errorf(keys(sec+"|keepalive", sec), "keepalive %d is out of range - use %d to %d seconds", t.Keepalive, MinKeepalive, MaxKeepalive)
		}
		if t.SourceAddress != "" && cmdtree.CheckIPv4(t.SourceAddress) >= 0 {
			v.errorf(keys(sec+"|ip", sec), "ip source-address %q is not an IPv4 address", t.SourceAddress)
		}
	}
	if g := c.VoiceRegisterGlobal; g != nil {
		v.port("voice register global|source-address", "voice register global source-address", g.Port)
	}
	if p := c.Presence; p != nil && p.MaxSubscription != 0 &&
		(p.MaxSubscription < MinMaxSubscription || p.MaxSubscription > MaxMaxSubscription) {
		v.errorf(keys("presence|max-subscription", "presence"),
			"max-subscription %d is out of range - use %d to %d (cmed follows the CME command reference)",
			p.MaxSubscription, MinMaxSubscription, MaxMaxSubscription)
	}
}

func (v *validator) blf(sec, kind string, maxTag int, blfs []BLFSpeedDial) {
	for _, b := range blfs {
		k := keys(fmt.Sprintf("%s|blf-speed-dial %d", sec, b.Tag), sec)
		if b.Tag < 1 || b.Tag > maxTag {
			v.errorf(k, "blf-speed-dial tag %d is out of range - %s phones take 1 to %d", b.Tag, kind, maxTag)
		}
		if n := len([]rune(b.Label)); n > MaxBLFLabel {
			v.errorf(k, "blf-speed-dial %d label is %d characters - shorten it to %d", b.Tag, n, MaxBLFLabel)
		}
	}
}

func (v *validator) ephones() {
	c := v.c
	maxEphones, maxDN := 0, 0
	if c.Telephony != nil {
		maxEphones, maxDN = c.Telephony.MaxEphones, c.Telephony.MaxDN
	}
	for i, p := range c.Ephones {
		sec := fmt.Sprintf("ephone %d", p.Tag)
		if maxEphones > 0 && i == maxEphones {
			v.errorf(keys(sec), "ephone %d is phone number %d but telephony-service max-ephones is %d - raise max-ephones or remove ephones",
				p.Tag, i+1, maxEphones)
		}
		if p.Keepalive != 0 && (p.Keepalive < MinKeepalive || p.Keepalive > MaxKeepalive) {
			v.errorf(keys(sec+"|keepalive", sec), "ephone %d keepalive %d is out of range - use %d to %d seconds", p.Tag, p.Keepalive, MinKeepalive, MaxKeepalive)
		}
		v.blf(sec, "SCCP", MaxSCCPBLFTag, p.BLFSpeedDials)
		for _, b := range p.Buttons {
			for _, dn := range b.DNs {
				if c.EphoneDNByTag(dn) == nil {
					v.errorf(keys(sec+"|button", sec), "ephone %d button %d names ephone-dn %d, which does not exist - add \"ephone-dn %d\" or fix the button",
						p.Tag, b.Index, dn, dn)
				}
			}
			if b.Mode == ButtonExpand {
				if o := findButton(p.Buttons, b.ExpandOf); o == nil || (o.Mode != ButtonOverlay && o.Mode != ButtonOverlayCW) {
					v.errorf(keys(sec+"|button", sec), "ephone %d button %dx%d: button %d is not an overlay (o) button",
						p.Tag, b.Index, b.ExpandOf, b.ExpandOf)
				}
			}
		}
	}
	for _, d := range c.EphoneDNs {
		if maxDN > 0 && d.Tag > maxDN {
			v.errorf(keys(fmt.Sprintf("ephone-dn %d", d.Tag)), "ephone-dn %d is above telephony-service max-dn %d - raise max-dn or renumber the DN", d.Tag, maxDN)
		}
	}
}

func findButton(bs []Button, idx int) *Button {
	for i := range bs {
		if bs[i].Index == idx {
			return &bs[i]
		}
	}
	return nil
}

func (v *validator) pools() {
	c := v.c
	maxPool, maxDN := 0, 0
	if g := c.VoiceRegisterGlobal; g != nil {
		maxPool, maxDN = g.MaxPool, g.MaxDN
	}
	for _, p := range c.VoiceRegisterPools {
		sec := fmt.Sprintf("voice register pool %d", p.Tag)
		if maxPool > 0 && p.Tag > maxPool {
			v.errorf(keys(sec), "voice register pool %d is above voice register global max-pool %d", p.Tag, maxPool)
		}
		v.blf(sec, "SIP", MaxSIPBLFTag, p.BLFSpeedDials)
		for _, n := range p.Numbers {
			if c.VoiceRegisterDNByTag(n.DN) == nil {
				v.errorf(keys(fmt.Sprintf("%s|number %d", sec, n.Tag), sec),
					"voice register pool %d number %d names voice register dn %d, which does not exist - add \"voice register dn %d\"",
					p.Tag, n.Tag, n.DN, n.DN)
			}
		}
	}
	for _, d := range c.VoiceRegisterDNs {
		if maxDN > 0 && d.Tag > maxDN {
			v.errorf(keys(fmt.Sprintf("voice register dn %d", d.Tag)), "voice register dn %d is above voice register global max-dn %d", d.Tag, maxDN)
		}
	}
}

// numbers reports directory numbers configured twice. Two ephone-dns may
// share a number only as a hunt group, which CME builds from different
// `preference` values (docs/cme-behaviour.md §Lines); a SIP DN never shares an SCCP DN's
// number, and two voice register dns never share one (SIP shared lines
// share the dn tag instead).
func (v *validator) numbers() {
	type owner struct {
		key, what string
		pref      int
		sip       bool
	}
	seen := map[string]owner{}
	check := func(num string, o owner) {
		if num == "" {
			return
		}
		prev, dup := seen[num]
		if !dup {
			seen[num] = o
			return
		}
		if !prev.sip && !o.sip && prev.pref != o.pref {
			return
		}
		v.errorf(keys(o.key+"|number", o.key), "number %s of %s is already used by %s - give it another number (ephone-dns may share one only with different preference values)",
			num, o.what, prev.what)
	}
	for _, d := range v.c.EphoneDNs {
		k := fmt.Sprintf("ephone-dn %d", d.Tag)
		check(d.Number, owner{key: k, what: k, pref: d.Preference})
	}
	for _, d := range v.c.VoiceRegisterDNs {
		k := fmt.Sprintf("voice register dn %d", d.Tag)
		check(d.Number, owner{key: k, what: k, sip: true})
	}
}

func (v *validator) macs() {
	seen := map[string]string{}
	check := func(mac, key, macKey string) {
		if mac == "" {
			return
		}
		k := keys(key+"|"+macKey, key)
		if cmdtree.CheckMAC(mac) >= 0 {
			v.errorf(k, "%s MAC %q is malformed - a MAC is H.H.H, e.g. 0012.7F57.62A5", key, mac)
			return
		}
		norm := NormalizeMAC(mac)
		if prev, ok := seen[norm]; ok {
			v.errorf(k, "%s MAC %s is already used by %s - each phone needs its own MAC", key, norm, prev)
			return
		}
		seen[norm] = key
	}
	for _, p := range v.c.Ephones {
		check(p.MAC, fmt.Sprintf("ephone %d", p.Tag), "mac-address")
	}
	for _, p := range v.c.VoiceRegisterPools {
		check(p.MAC, fmt.Sprintf("voice register pool %d", p.Tag), "id")
	}
}

// references checks names that point at other sections.
func (v *validator) references() {
	c := v.c
	profiles := map[string]bool{}
	for _, p := range c.TranslationProfiles {
		profiles[p.Name] = true
		for _, r := range []int{p.Called, p.Calling, p.RedirectCalled} {
			if r != 0 && find(c.TranslationRules, r, ruleTag) == nil {
				k := "voice translation-profile " + p.Name
				v.errorf(keys(k+"|translate", k), "voice translation-profile %s uses voice translation-rule %d, which does not exist", p.Name, r)
			}
		}
	}
	prof := func(key, name string) {
		if name != "" && !profiles[name] {
			v.errorf(keys(key+"|translation-profile", key), "%s uses voice translation-profile %s, which does not exist", key, name)
		}
	}
	for _, d := range c.EphoneDNs {
		k := fmt.Sprintf("ephone-dn %d", d.Tag)
		prof(k, d.TranslationProfileIn)
		prof(k, d.TranslationProfileOut)
		if d.Template != 0 && find(c.EphoneDNTemplates, d.Template, templateTag) == nil {
			v.errorf(keys(k+"|ephone-dn-template", k), "%s uses ephone-dn-template %d, which does not exist", k, d.Template)
		}
	}
	for _, d := range c.DialPeers {
		k := fmt.Sprintf("dial-peer voice %d", d.Tag)
		prof(k, d.TranslationProfileIn)
		prof(k, d.TranslationProfileOut)
		if d.Kind != "voip" && d.Kind != "pots" {
			v.errorf(keys(k), "%s has kind %q - use voip or pots", k, d.Kind)
		}
	}
}

// MaxEphoneHuntMembers is the longest ephone-hunt list CME takes (20
// numbers).
const MaxEphoneHuntMembers = 20

// templates checks that phones name templates that exist.
func (v *validator) templates() {
	c := v.c
	for _, p := range c.Ephones {
		k := fmt.Sprintf("ephone %d", p.Tag)
		if p.Template != 0 && find(c.EphoneTemplates, p.Template, phoneTemplateTag) == nil {
			v.errorf(keys(k+"|ephone-template", k), "%s uses ephone-template %d, which does not exist - add \"ephone-template %d\" or fix the phone",
				k, p.Template, p.Template)
		}
	}
	for _, p := range c.VoiceRegisterPools {
		k := fmt.Sprintf("voice register pool %d", p.Tag)
		if p.Template != 0 && find(c.VoiceRegisterTemplates, p.Template, phoneTemplateTag) == nil {
			v.errorf(keys(k+"|template", k), "%s uses voice register template %d, which does not exist - add \"voice register template %d\"",
				k, p.Template, p.Template)
		}
	}
	for _, d := range c.DialPeers {
		k := fmt.Sprintf("dial-peer voice %d", d.Tag)
		if d.VoiceClassCodec != 0 && find(c.VoiceClassCodecs, d.VoiceClassCodec, codecClassTag) == nil {
			v.errorf(keys(k+"|voice-class", k), "%s uses voice class codec %d, which does not exist", k, d.VoiceClassCodec)
		}
	}
}

// hunts checks hunt groups: a pilot, members that are local numbers, and
// hops and timeouts that fit the list, as CME refuses them otherwise.
func (v *validator) hunts() {
	c := v.c
	sccp := map[string]bool{}
	for _, d := range c.EphoneDNs {
		sccp[d.Number], sccp[d.Secondary] = true, true
	}
	local := map[string]bool{}
	for n := range sccp {
		local[n] = true
	}
	for _, d := range c.VoiceRegisterDNs {
		local[d.Number] = true
	}
	for _, d := range c.DialPeers {
		if d.Kind == "pots" {
			local[d.DestinationPattern] = true // an FXS port
		}
	}
	delete(sccp, "")
	delete(local, "")
	pilots := map[string]string{}
	check := func(h HuntGroup, what string, members map[string]bool, maxList int, ephone bool) {
		sec := fmt.Sprintf("%s %d", what, h.Tag)
		at := func(kw string) []string { return keys(sec+"|"+kw, sec) }
		if h.Pilot == "" {
			v.errorf(keys(sec), "%s has no pilot number - add \"pilot NUMBER\"", sec)
		}
		for _, p := range []string{h.Pilot, h.PilotSecondary} {
			if p == "" {
				continue
			}
			if prev, dup := pilots[p]; dup {
				v.errorf(at("pilot"), "%s pilot %s is already the pilot of %s", sec, p, prev)
			} else if sccp[p] {
				v.errorf(at("pilot"), "%s pilot %s is also an ephone-dn number - a pilot must be its own number", sec, p)
			}
			pilots[p] = sec
		}
		if len(h.List) == 0 {
			v.errorf(keys(sec), "%s has no list - add \"list NUMBER, NUMBER...\"", sec)
		}
		if len(h.List) > maxList {
			v.errorf(at("list"), "%s list has %d numbers - at most %d", sec, len(h.List), maxList)
		}
		for _, n := range h.List {
			switch {
			case n == "*" && ephone:
			case n == "*":
				v.errorf(at("list"), "%s list has * - only ephone-hunt lists take dynamic agents", sec)
			case !members[n]:
				whose := "no ephone-dn has"
				if !ephone {
					whose = "no ephone-dn, voice register dn or pots dial-peer has"
				}
				v.errorf(at("list"), "%s list names %s, which %s - add the DN or fix the list", sec, n, whose)
			}
		}
		if h.Hops != 0 {
			if h.Kind != "peer" && h.Kind != "longest-idle" {
				v.errorf(at("hops"), "%s is %s: hops only applies to peer and longest-idle groups", sec, h.Kind)
			} else if len(h.List) > 0 && h.Hops > len(h.List) {
				v.errorf(at("hops"), "%s hops %d is more than its %d list numbers", sec, h.Hops, len(h.List))
			}
		}
		if len(h.Timeout) > 1 && len(h.List) > 0 && len(h.Timeout) > len(h.List) {
			v.errorf(at("timeout"), "%s has %d timeouts for %d list numbers - give one per number, or one for all", sec, len(h.Timeout), len(h.List))
		}
	}
	for _, h := range c.EphoneHunts {
		if h.Kind == "parallel" {
			v.errorf(keys(fmt.Sprintf("ephone-hunt %d", h.Tag)), "ephone-hunt %d cannot be parallel - use voice hunt-group for parallel hunting", h.Tag)
		}
		check(h, "ephone-hunt", sccp, MaxEphoneHuntMembers, true)
	}
	for _, h := range c.VoiceHuntGroups {
		check(h, "voice hunt-group", local, MaxHuntMembers, false)
	}
}

// KnownPhoneTypes are the phone `type` values CME predefines for SCCP
// `ephone` and SIP `voice register pool` sections, lower case.
var KnownPhoneTypes = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`7902 7905 7906 7910 7911 7912 7914 7915 7916 7920 7921 7925 7926 7931
		7935 7936 7937 7940 7941 7941ge 7942 7945 7960 7961 7961ge 7962 7965 7970 7971 7975 7985
		6901 6911 6921 6941 6945 6961 7811 7821 7832 7841 7861 8811 8831 8841 8845 8851 8861 8865
		8941 8945 8961 9951 9971 ata ata-187 ata190 anl bri cipc ip-communicator cisco-ip-communicator
		cme-kem ckem`) {
		KnownPhoneTypes[t] = true
	}
}

// KnownCodecs are `codec preference` codec names cmed recognises.
var KnownCodecs = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`g711ulaw g711alaw g722-64 g723ar53 g723ar63 g723r53 g723r63 g726r16
		g726r24 g726r32 g728 g729br8 g729r8 gsmamr-nb gsmefr gsmfr ilbc isac aacld mp4a-latm opus clear-channel transparent`) {
		KnownCodecs[c] = true
	}
}

// Warnings reports what loads but looks wrong: a phone type or a codec
// cmed does not know (a typo, or a model newer than its list). They do not
// stop a config from loading.
func (c *Config) Warnings() ErrorList {
	v := &validator{c: c}
	if c.Source != nil {
		v.file = c.Source.File
	}
	for _, p := range c.Ephones {
		k := fmt.Sprintf("ephone %d", p.Tag)
		if p.Type != "" && !KnownPhoneTypes[strings.ToLower(p.Type)] {
			v.errorf(keys(k+"|type", k), "warning: %s type %s is not a phone type cmed knows (e.g. 7960, 7965, 8945)", k, p.Type)
		}
	}
	for _, p := range c.VoiceRegisterPools {
		k := fmt.Sprintf("voice register pool %d", p.Tag)
		if p.Type != "" && !KnownPhoneTypes[strings.ToLower(p.Type)] {
			v.errorf(keys(k+"|type", k), "warning: %s type %s is not a phone type cmed knows (e.g. 7965, 8845, 9971)", k, p.Type)
		}
	}
	for _, vc := range c.VoiceClassCodecs {
		k := fmt.Sprintf("voice class codec %d", vc.Tag)
		for _, p := range vc.Preferences {
			if !KnownCodecs[p.Codec] {
				v.errorf(keys(fmt.Sprintf("%s|codec %d", k, p.Index), k), "warning: %s preference %d codec %s is not a codec cmed knows (e.g. g711ulaw, g729r8)", k, p.Index, p.Codec)
			}
		}
	}
	sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Line < v.errs[j].Line })
	return ErrorList(v.errs)
}
