package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cmed-project/cmed/pkg/cmdtree"
)

// DTMF relay methods `dtmf-relay` takes in a dial-peer and in a voice
// register pool, as IOS spells them in show running-config.
var (
	dialPeerDTMF = []string{"cisco-rtp", "h245-alphanumeric", "h245-signal", "rtp-nte", "sip-info", "sip-kpml", "sip-notify"}
	poolDTMF     = []string{"cisco-rtp", "rtp-nte", "sip-notify", "sip-kpml"}
)

// keptError is what keepLine returns: the command is valid IOS, but cmed
// keeps it verbatim rather than models it. Parse keeps such a line like any
// other unmodelled line; the interactive CLI refuses it, saying why.
type keptError struct{ CommandError }

const errKeptMsg = "cmed keeps this command verbatim from a startup-config but does not model it"

var keepLine = act(func(e *Editor, m *cmdtree.Match) error {
	return &keptError{CommandError{Msg: errKeptMsg, Hint: "load it from a startup-config file to keep it"}}
})

// HuntKinds are the hunt strategies: ephone-hunt takes the first three,
// voice hunt-group all four.
var HuntKinds = []string{"sequential", "peer", "longest-idle", "parallel"}

// addCMESections declares the global commands that open the CME
// sections added for real running-configs: phone templates, hunt groups
// and codec classes.
func addCMESections(t *cmdtree.Tree) {
	t.Describe("ephone-template", "Define ephone template", "template", "Voice register template",
		"ephone-hunt", "Define ephone hunt group", "hunt-group", "Voice hunt group",
		"sequential", "Ring members in list order, always from the first",
		"peer", "Ring members round-robin, from the one after the last to ring",
		"longest-idle", "Ring the member idle longest first", "parallel", "Ring all members at once",
		"class", "Voice class", "codec", "Codec preference list")
	tmpl := func(spec, what string, get func(c *Config) *[]PhoneTemplate, mode Mode) {
		t.MustAdd(spec, act(func(e *Editor, m *cmdtree.Match) error {
			s, tag := get(e.cfg), m.Int(0)
			if m.Negated() {
				*s = removeKey(*s, tag, phoneTemplateTag)
				return nil
			}
			getOrAdd(s, tag, phoneTemplateTag, func() PhoneTemplate { return PhoneTemplate{Tag: tag} })
			e.push(frame{mode: mode, tag: tag})
			return nil
		}), what)
	}
	tmpl("ephone-template <1-20>", "<1-20>=ephone-template tag", func(c *Config) *[]PhoneTemplate { return &c.EphoneTemplates }, ModeEphoneTemplate)
	tmpl("voice register template <1-10>", "<1-10>=voice register template tag", func(c *Config) *[]PhoneTemplate { return &c.VoiceRegisterTemplates }, ModeRegisterTemplate)

	hunt := func(spec, what string, get func(c *Config) *[]HuntGroup, mode Mode) {
		t.MustAdd(spec, act(func(e *Editor, m *cmdtree.Match) error {
			s, tag := get(e.cfg), m.Int(0)
			if m.Negated() {
				*s = removeKey(*s, tag, huntTag)
				return nil
			}
			kind := ""
			if len(m.Tokens) > 0 && m.Tokens[len(m.Tokens)-1].IsKeyword() {
				if k := m.Keyword(len(m.Tokens) - 1); slices.Contains(HuntKinds, k) {
					kind = k
				}
			}
			name := strings.TrimSuffix(strings.TrimSuffix(m.Canonical(), " "+kind), " "+m.Arg(0))
			if h := find(*s, tag, huntTag); h != nil {
				if kind != "" && kind != h.Kind {
					return cmdErr(fmt.Sprintf("remove it first with \"no %s %d\"", name, tag),
						"%s %d exists as a %s group; the kind cannot be changed in place", name, tag, h.Kind)
				}
			} else {
				if kind == "" {
					return cmdErr(fmt.Sprintf("type \"%s %d sequential\" (or peer, longest-idle...)", name, tag),
						"a new %s needs its kind", name)
				}
				getOrAdd(s, tag, huntTag, func() HuntGroup { return HuntGroup{Tag: tag, Kind: kind} })
			}
			e.push(frame{mode: mode, tag: tag})
			return nil
		}), what)
	}
	hunt("ephone-hunt <1-100> ! [sequential|peer|longest-idle]", "<1-100>=ephone-hunt tag",
		func(c *Config) *[]HuntGroup { return &c.EphoneHunts }, ModeEphoneHunt)
	hunt("voice hunt-group <1-100> ! [sequential|peer|longest-idle|parallel]", "<1-100>=voice hunt-group tag",
		func(c *Config) *[]HuntGroup { return &c.VoiceHuntGroups }, ModeVoiceHuntGroup)

	t.MustAdd("voice class codec <1-10000>", act(func(e *Editor, m *cmdtree.Match) error {
		c, tag := e.cfg, m.Int(0)
		if m.Negated() {
			c.VoiceClassCodecs = removeKey(c.VoiceClassCodecs, tag, codecClassTag)
			return nil
		}
		getOrAdd(&c.VoiceClassCodecs, tag, codecClassTag, func() VoiceClassCodec { return VoiceClassCodec{Tag: tag} })
		e.push(frame{mode: ModeVoiceClassCodec, tag: tag})
		return nil
	}), "<1-10000>=voice class codec tag")
}

// SoftkeyStates are the call states a template's `softkeys` command sets.
var SoftkeyStates = []string{"alerting", "connected", "hold", "idle", "remote-in-use", "ringing", "seized", "hold-full"}

func phoneTemplateTree(get func(e *Editor) *PhoneTemplate) *cmdtree.Tree {
	t := newTree("softkeys", "Softkeys shown per call state", "button-layout", "Line button layout",
		"features", "Phone features", "blocked", "Features the phone may not use",
		"privacy-button", "Privacy feature button")
	for _, st := range SoftkeyStates {
		t.MustAdd("softkeys "+st+" ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
			p := get(e)
			i := slices.IndexFunc(p.Softkeys, func(s Softkeys) bool { return s.State == st })
			if m.Negated() {
				if i >= 0 {
					p.Softkeys = slices.Delete(p.Softkeys, i, i+1)
				}
				if len(p.Softkeys) == 0 {
					p.Softkeys = nil
				}
				return nil
			}
			sk := Softkeys{State: st, Keys: strings.Fields(m.Arg(0))}
			if i >= 0 {
				p.Softkeys[i] = sk
			} else {
				p.Softkeys = append(p.Softkeys, sk)
			}
			return nil
		}), "LINE=Softkey names in display order, e.g. Redial Newcall Cfwdall Dnd")
	}
	t.MustAdd("button-layout ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
		p := get(e)
		if m.Negated() {
			p.ButtonLayout = nil
			return nil
		}
		if v := m.Arg(0); !slices.Contains(p.ButtonLayout, v) {
			p.ButtonLayout = append(p.ButtonLayout, v)
		}
		return nil
	}))
	t.MustAdd("features blocked ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
		p := get(e)
		p.FeaturesBlocked = nil
		if !m.Negated() {
			p.FeaturesBlocked = strings.Fields(m.Arg(0))
		}
		return nil
	}))
	t.MustAdd("privacy-button", act(func(e *Editor, m *cmdtree.Match) error {
		get(e).PrivacyButton = !m.Negated()
		return nil
	}))
	addExtra(t, func(e *Editor) *[]string { return &get(e).Extra },
		"conference", "fastdial", "night-service", "mwi-line", "dnd-control", "transfer-park", "keep-conference",
		"service", "codec", "after-hour", "phone-ui", "url-button", "network-locale", "user-locale", "dnd",
		"video", "max-calls-per-button", "busy-trigger-per-button", "transfer-pattern", "paging-dn", "voicemail",
		"emergency", "caller-id", "auto-line", "feature-button", "transfer-max-length", "anonymous", "privacy")
	return t
}

func (e *Editor) hunt() *HuntGroup {
	if e.top().mode == ModeEphoneHunt {
		return find(e.cfg.EphoneHunts, e.top().tag, huntTag)
	}
	return find(e.cfg.VoiceHuntGroups, e.top().tag, huntTag)
}

func huntTree(ephone bool) *cmdtree.Tree {
	t := newTree("pilot", "Number callers dial to reach the group", "list", "Member numbers in hunt order",
		"final", "Number tried after the last member", "hops", "Members tried before the final number",
		"no-reg", "Do not register the pilot with a gatekeeper or SIP proxy",
		"secondary", "Secondary pilot number")
	t.MustAdd("pilot ! NUMBER [secondary NUMBER]", act(func(e *Editor, m *cmdtree.Match) error {
		h := e.hunt()
		set(m, &h.Pilot, m.Arg(0))
		sec, _ := m.After("secondary")
		set(m, &h.PilotSecondary, sec)
		return nil
	}))
	t.MustAdd("list ! NUMBERS", act(func(e *Editor, m *cmdtree.Match) error {
		h := e.hunt()
		h.List = nil
		if !m.Negated() {
			h.List, _ = parseHuntList(m.Arg(0))
		}
		return nil
	}))
	t.MustAdd("final ! NUMBER", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.hunt().Final, m.Arg(0))
		return nil
	}))
	t.MustAdd(fmt.Sprintf("hops ! <2-%d>", MaxHuntMembers), act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.hunt().Hops, m.Int(0))
		return nil
	}))
	t.MustAdd("timeout ! SECONDS", act(func(e *Editor, m *cmdtree.Match) error {
		h := e.hunt()
		h.Timeout = nil
		if !m.Negated() {
			h.Timeout, _ = parseTimeouts(m.Arg(0))
		}
		return nil
	}))
	t.MustAdd("preference ! <0-10>", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.hunt().Preference, m.Int(0))
		return nil
	}))
	t.MustAdd("description ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.hunt().Description, m.Arg(0))
		return nil
	}))
	t.MustAdd("name ! LINE", act(func(e *Editor, m *cmdtree.Match) error {
		set(m, &e.hunt().Name, m.Arg(0))
		return nil
	}))
	if ephone {
		t.MustAdd("no-reg [both|pilot]", act(func(e *Editor, m *cmdtree.Match) error {
			v := "secondary"
			if len(m.Tokens) > 1 {
				v = m.Keyword(1)
			}
			set(m, &e.hunt().NoReg, v)
			return nil
		}))
	}
	addExtra(t, func(e *Editor) *[]string { return &e.hunt().Extra },
		"max-timeout", "auto", "present-call", "statistics", "from-ring", "fwd-final", "emergency",
		"display-logout", "hunt-group", "channel")
	return t
}

func codecClassTree() *cmdtree.Tree {
	t := newTree("codec", "Codec", "preference", "Codec preference order", "bytes", "Voice payload size")
	get := func(e *Editor) *VoiceClassCodec { return find(e.cfg.VoiceClassCodecs, e.top().tag, codecClassTag) }
	t.MustAdd("codec preference <1-14> ! WORD [bytes <10-320>]", act(func(e *Editor, m *cmdtree.Match) error {
		c := get(e)
		if m.Negated() {
			c.Preferences = removeKey(c.Preferences, m.Int(0), codecPrefIndex)
			return nil
		}
		p := CodecPreference{Index: m.Int(0), Codec: strings.ToLower(m.Arg(1))}
		if b, ok := m.After("bytes"); ok {
			p.Bytes = atoi(b)
		}
		c.Preferences = upsert(c.Preferences, p, codecPrefIndex)
		return nil
	}), "<1-14>=Preference order", "WORD=Codec, e.g. g711ulaw, g729r8")
	addExtra(t, func(e *Editor) *[]string { return &get(e).Extra }, "video", "offer-all")
	return t
}
