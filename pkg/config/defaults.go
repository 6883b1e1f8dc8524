package config

// CME defaults, applied when a value was not configured. Sources are in
// shared reference docs/cme-cli.md §Presence-commands and §Telephony-service to §Voice-register.
const (
	DefaultSCCPPort           = 2000
	DefaultSIPPort            = 5060
	DefaultKeepalive          = 30  // seconds
	DefaultMaxSubscription    = 100 // presence max-subscription
	DefaultBLFRetryInterval   = 60  // seconds
	DefaultBLFRetryLimit      = 10
	DefaultTimeoutsRinging    = 180 // seconds
	DefaultTimeoutsInterdigit = 10  // seconds
)

// HostnameOrDefault is the prompt name: "Router" until `hostname` is set.
func (c *Config) HostnameOrDefault() string {
	if c.Hostname == "" {
		return "Router"
	}
	return c.Hostname
}

// KeepaliveSeconds is the keepalive interval for SCCP phones.
func (t *Telephony) KeepaliveSeconds() int {
	if t == nil || t.Keepalive == 0 {
		return DefaultKeepalive
	}
	return t.Keepalive
}

// InterdigitSeconds is `timeouts interdigit`, or CME's default.
func (t *Telephony) InterdigitSeconds() int {
	if t == nil || t.TimeoutsInterdigit == 0 {
		return DefaultTimeoutsInterdigit
	}
	return t.TimeoutsInterdigit
}

// RingingSeconds is `timeouts ringing`, or CME's default.
func (t *Telephony) RingingSeconds() int {
	if t == nil || t.TimeoutsRinging == 0 {
		return DefaultTimeoutsRinging
	}
	return t.TimeoutsRinging
}

// MaxSubscriptions is the effective presence max-subscription.
func (p *Presence) MaxSubscriptions() int {
	if p == nil || p.MaxSubscription == 0 {
		return DefaultMaxSubscription
	}
	return p.MaxSubscription
}

// PresenceEnabled reports whether the presence service is on (`presence`).
func (c *Config) PresenceEnabled() bool { return c.Presence != nil }

// SIPPresenceEnabled reports `sip-ua` / `presence enable`: incoming SIP
// SUBSCRIBEs are accepted only when it is set (docs/cme-cli.md §Presence-commands).
func (c *Config) SIPPresenceEnabled() bool { return c.SIPUA != nil && c.SIPUA.PresenceEnable }

// EphoneDNByTag finds an ephone-dn, or nil.
func (c *Config) EphoneDNByTag(tag int) *EphoneDN {
	for i := range c.EphoneDNs {
		if c.EphoneDNs[i].Tag == tag {
			return &c.EphoneDNs[i]
		}
	}
	return nil
}

// VoiceRegisterDNByTag finds a voice register dn, or nil.
func (c *Config) VoiceRegisterDNByTag(tag int) *VoiceRegisterDN {
	for i := range c.VoiceRegisterDNs {
		if c.VoiceRegisterDNs[i].Tag == tag {
			return &c.VoiceRegisterDNs[i]
		}
	}
	return nil
}

// EphoneDNAllowWatch is the effective `allow watch` of an ephone-dn: set on
// the DN itself or inherited from its ephone-dn-template (docs/cme-cli.md §Presence-commands).
func (c *Config) EphoneDNAllowWatch(d *EphoneDN) bool {
	if d.AllowWatch {
		return true
	}
	if d.Template == 0 {
		return false
	}
	for _, t := range c.EphoneDNTemplates {
		if t.Tag == d.Template {
			return t.AllowWatch
		}
	}
	return false
}

// PresenceCallListFor reports whether call-list BLF applies to a phone:
// globally under `presence`, or on the phone itself (docs/cme-cli.md §Presence-commands).
func (c *Config) PresenceCallListFor(perPhone bool) bool {
	if c.Presence != nil && c.Presence.CallList {
		return true
	}
	return perPhone
}
