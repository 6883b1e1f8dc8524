package config

// Mode is an IOS configuration mode (docs/cme-cli.md §Modes).
type Mode int

const (
	ModeGlobal Mode = iota
	ModeTelephony
	ModeEphone
	ModeEphoneDN
	ModeEphoneDNTemplate
	ModeVoiceService
	ModeVoiceServiceSIP
	ModeRegisterGlobal
	ModeRegisterDN
	ModeRegisterPool
	ModeSIPUA
	ModePresence
	ModeDialPeer
	ModeTranslationRule
	ModeTranslationProfile
	ModeEphoneTemplate
	ModeRegisterTemplate
	ModeEphoneHunt
	ModeVoiceHuntGroup
	ModeVoiceClassCodec
	numModes
)

// Prompt is the text IOS shows in parentheses: "Router(config-ephone)#".
func (m Mode) Prompt() string {
	switch m {
	case ModeTelephony:
		return "config-telephony"
	case ModeEphone:
		return "config-ephone"
	case ModeEphoneDN:
		return "config-ephone-dn"
	case ModeEphoneDNTemplate:
		return "config-ephone-dn-template"
	case ModeVoiceService:
		return "conf-voi-serv"
	case ModeVoiceServiceSIP:
		return "conf-serv-sip"
	case ModeRegisterGlobal:
		return "config-register-global"
	case ModeRegisterDN:
		return "config-register-dn"
	case ModeRegisterPool:
		return "config-register-pool"
	case ModeSIPUA:
		return "config-sip-ua"
	case ModePresence:
		return "config-presence"
	case ModeDialPeer:
		return "config-dial-peer"
	case ModeTranslationRule:
		return "config-voice-translation-rule"
	case ModeTranslationProfile:
		return "config-voice-translation-profile"
	case ModeEphoneTemplate:
		return "config-ephone-template"
	case ModeRegisterTemplate:
		return "config-register-temp"
	case ModeEphoneHunt:
		return "config-ephone-hunt"
	case ModeVoiceHuntGroup:
		return "config-voice-hunt-group"
	case ModeVoiceClassCodec:
		return "config-class"
	}
	return "config"
}

// String names the mode for messages ("ephone", "global configuration").
func (m Mode) String() string {
	switch m {
	case ModeGlobal:
		return "global configuration"
	case ModeTelephony:
		return "telephony-service"
	case ModeEphone:
		return "ephone"
	case ModeEphoneDN:
		return "ephone-dn"
	case ModeEphoneDNTemplate:
		return "ephone-dn-template"
	case ModeVoiceService:
		return "voice service voip"
	case ModeVoiceServiceSIP:
		return "voice service voip sip"
	case ModeRegisterGlobal:
		return "voice register global"
	case ModeRegisterDN:
		return "voice register dn"
	case ModeRegisterPool:
		return "voice register pool"
	case ModeSIPUA:
		return "sip-ua"
	case ModePresence:
		return "presence"
	case ModeDialPeer:
		return "dial-peer"
	case ModeTranslationRule:
		return "voice translation-rule"
	case ModeTranslationProfile:
		return "voice translation-profile"
	case ModeEphoneTemplate:
		return "ephone-template"
	case ModeRegisterTemplate:
		return "voice register template"
	case ModeEphoneHunt:
		return "ephone-hunt"
	case ModeVoiceHuntGroup:
		return "voice hunt-group"
	case ModeVoiceClassCodec:
		return "voice class codec"
	}
	return "unknown"
}
