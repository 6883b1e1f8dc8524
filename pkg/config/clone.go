package config

import "slices"

// Clone returns a deep copy: the result shares no slice, map or pointer
// with c, so a caller may edit it while others read c.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	n := *c
	n.Users = slices.Clone(c.Users)
	n.Services.TFTPFiles = slices.Clone(c.Services.TFTPFiles)
	n.Services.TFTPAliases = slices.Clone(c.Services.TFTPAliases)
	n.Unmodelled = slices.Clone(c.Unmodelled)
	for i := range n.Unmodelled {
		n.Unmodelled[i].Lines = slices.Clone(n.Unmodelled[i].Lines)
	}
	n.EphoneTemplates = cloneTemplates(c.EphoneTemplates)
	n.VoiceRegisterTemplates = cloneTemplates(c.VoiceRegisterTemplates)
	n.EphoneHunts = cloneHunts(c.EphoneHunts)
	n.VoiceHuntGroups = cloneHunts(c.VoiceHuntGroups)
	n.VoiceClassCodecs = slices.Clone(c.VoiceClassCodecs)
	for i := range n.VoiceClassCodecs {
		n.VoiceClassCodecs[i].Preferences = slices.Clone(n.VoiceClassCodecs[i].Preferences)
		n.VoiceClassCodecs[i].Extra = slices.Clone(n.VoiceClassCodecs[i].Extra)
	}
	if c.Telephony != nil {
		t := *c.Telephony
		t.Loads = slices.Clone(t.Loads)
		t.DialplanPatterns = slices.Clone(t.DialplanPatterns)
		t.Extra = slices.Clone(t.Extra)
		n.Telephony = &t
	}
	n.EphoneDNTemplates = slices.Clone(c.EphoneDNTemplates)
	for i := range n.EphoneDNTemplates {
		n.EphoneDNTemplates[i].Extra = slices.Clone(n.EphoneDNTemplates[i].Extra)
	}
	n.EphoneDNs = slices.Clone(c.EphoneDNs)
	for i := range n.EphoneDNs {
		d := &n.EphoneDNs[i]
		d.Extra = slices.Clone(d.Extra)
		if d.ParkSlot != nil {
			p := *d.ParkSlot
			d.ParkSlot = &p
		}
	}
	n.Ephones = slices.Clone(c.Ephones)
	for i := range n.Ephones {
		e := &n.Ephones[i]
		e.Buttons = slices.Clone(e.Buttons)
		for j := range e.Buttons {
			e.Buttons[j].DNs = slices.Clone(e.Buttons[j].DNs)
		}
		e.SpeedDials = slices.Clone(e.SpeedDials)
		e.BLFSpeedDials = slices.Clone(e.BLFSpeedDials)
		e.Extra = slices.Clone(e.Extra)
	}
	if c.VoiceService != nil {
		v := *c.VoiceService
		v.AllowConnections = slices.Clone(v.AllowConnections)
		v.Extra = slices.Clone(v.Extra)
		v.SIPExtra = slices.Clone(v.SIPExtra)
		n.VoiceService = &v
	}
	if c.VoiceRegisterGlobal != nil {
		g := *c.VoiceRegisterGlobal
		g.Credentials = slices.Clone(g.Credentials)
		g.Loads = slices.Clone(g.Loads)
		g.Extra = slices.Clone(g.Extra)
		n.VoiceRegisterGlobal = &g
	}
	n.VoiceRegisterDNs = slices.Clone(c.VoiceRegisterDNs)
	for i := range n.VoiceRegisterDNs {
		n.VoiceRegisterDNs[i].Extra = slices.Clone(n.VoiceRegisterDNs[i].Extra)
	}
	n.VoiceRegisterPools = slices.Clone(c.VoiceRegisterPools)
	for i := range n.VoiceRegisterPools {
		p := &n.VoiceRegisterPools[i]
		p.Numbers = slices.Clone(p.Numbers)
		p.SpeedDials = slices.Clone(p.SpeedDials)
		p.BLFSpeedDials = slices.Clone(p.BLFSpeedDials)
		p.DTMFRelay = slices.Clone(p.DTMFRelay)
		p.Extra = slices.Clone(p.Extra)
	}
	if c.SIPUA != nil {
		s := *c.SIPUA
		s.Extra = slices.Clone(s.Extra)
		n.SIPUA = &s
	}
	if c.Presence != nil {
		p := *c.Presence
		p.Extra = slices.Clone(p.Extra)
		n.Presence = &p
	}
	n.DialPeers = slices.Clone(c.DialPeers)
	for i := range n.DialPeers {
		n.DialPeers[i].DTMFRelay = slices.Clone(n.DialPeers[i].DTMFRelay)
		n.DialPeers[i].Extra = slices.Clone(n.DialPeers[i].Extra)
	}
	n.TranslationRules = slices.Clone(c.TranslationRules)
	for i := range n.TranslationRules {
		n.TranslationRules[i].Rules = slices.Clone(n.TranslationRules[i].Rules)
		n.TranslationRules[i].Extra = slices.Clone(n.TranslationRules[i].Extra)
	}
	n.TranslationProfiles = slices.Clone(c.TranslationProfiles)
	for i := range n.TranslationProfiles {
		n.TranslationProfiles[i].Extra = slices.Clone(n.TranslationProfiles[i].Extra)
	}
	n.ApplicationDialRules = slices.Clone(c.ApplicationDialRules)
	n.DirectoryLookupRules = slices.Clone(c.DirectoryLookupRules)
	n.Source = c.Source.clone()
	return &n
}

func cloneTemplates(ts []PhoneTemplate) []PhoneTemplate {
	out := slices.Clone(ts)
	for i := range out {
		t := &out[i]
		t.Softkeys = slices.Clone(t.Softkeys)
		for j := range t.Softkeys {
			t.Softkeys[j].Keys = slices.Clone(t.Softkeys[j].Keys)
		}
		t.ButtonLayout = slices.Clone(t.ButtonLayout)
		t.FeaturesBlocked = slices.Clone(t.FeaturesBlocked)
		t.Extra = slices.Clone(t.Extra)
	}
	return out
}

func cloneHunts(hs []HuntGroup) []HuntGroup {
	out := slices.Clone(hs)
	for i := range out {
		h := &out[i]
		h.List = slices.Clone(h.List)
		h.Timeout = slices.Clone(h.Timeout)
		h.Extra = slices.Clone(h.Extra)
	}
	return out
}
