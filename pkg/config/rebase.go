package config

// Rebase makes c (cloned) the working config while keeping the mode stack,
// so that a CLI session can apply each line to the router's current running
// config rather than to a private copy that other sessions cannot see.
// Sub-modes whose object no longer exists in c (another session removed
// it) are left, as if the operator had typed `exit`.
func (e *Editor) Rebase(c *Config) {
	if c == nil {
		c = &Config{}
	}
	e.cfg = c.Clone()
	for i := 1; i < len(e.stack); i++ {
		if !e.exists(e.stack[i]) {
			e.stack = e.stack[:i]
			break
		}
	}
}

// Reset returns to global configuration mode (`configure terminal` again).
func (e *Editor) Reset() {
	e.stack = e.stack[:1]
	e.done = false
}

// Section is the current mode with the tag (ephone, DN, pool, dial-peer,
// rule) or name (translation profile) of the object it edits.
func (e *Editor) Section() (m Mode, tag int, name string) {
	f := e.top()
	return f.mode, f.tag, f.name
}

func (e *Editor) exists(f frame) bool {
	c := e.cfg
	switch f.mode {
	case ModeTelephony:
		return c.Telephony != nil
	case ModeEphone:
		return find(c.Ephones, f.tag, ephoneTag) != nil
	case ModeEphoneDN:
		return find(c.EphoneDNs, f.tag, ephoneDNTag) != nil
	case ModeEphoneDNTemplate:
		return find(c.EphoneDNTemplates, f.tag, templateTag) != nil
	case ModeVoiceService, ModeVoiceServiceSIP:
		return c.VoiceService != nil
	case ModeRegisterGlobal:
		return c.VoiceRegisterGlobal != nil
	case ModeRegisterDN:
		return find(c.VoiceRegisterDNs, f.tag, regDNTag) != nil
	case ModeRegisterPool:
		return find(c.VoiceRegisterPools, f.tag, poolTag) != nil
	case ModeSIPUA:
		return c.SIPUA != nil
	case ModePresence:
		return c.Presence != nil
	case ModeDialPeer:
		return find(c.DialPeers, f.tag, dialPeerTag) != nil
	case ModeTranslationRule:
		return find(c.TranslationRules, f.tag, ruleTag) != nil
	case ModeEphoneTemplate:
		return find(c.EphoneTemplates, f.tag, phoneTemplateTag) != nil
	case ModeRegisterTemplate:
		return find(c.VoiceRegisterTemplates, f.tag, phoneTemplateTag) != nil
	case ModeEphoneHunt:
		return find(c.EphoneHunts, f.tag, huntTag) != nil
	case ModeVoiceHuntGroup:
		return find(c.VoiceHuntGroups, f.tag, huntTag) != nil
	case ModeVoiceClassCodec:
		return find(c.VoiceClassCodecs, f.tag, codecClassTag) != nil
	case ModeTranslationProfile:
		for _, p := range c.TranslationProfiles {
			if p.Name == f.name {
				return true
			}
		}
		return false
	}
	return true
}

// Fork is a new Editor on c (cloned) in e's mode, as Rebase would leave
// it, with e itself untouched: a CLI session runs each line on a fork and
// keeps it only when the change is accepted.
func (e *Editor) Fork(c *Config) *Editor {
	n := &Editor{stack: append([]frame(nil), e.stack...), done: e.done}
	n.Rebase(c)
	return n
}
