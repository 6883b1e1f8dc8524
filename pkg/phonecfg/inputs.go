package phonecfg

import (
	"reflect"

	"github.com/cmed-project/cmed/pkg/config"
)

// Inputs is the part of cfg that Generate reads: Generate(Inputs(cfg), o)
// builds the same files as Generate(cfg, o) (TestInputsAreEnough holds
// Generate to that). Keep it next to Generate: a generator that starts
// reading another section must add it here.
func Inputs(cfg *config.Config) *config.Config {
	return &config.Config{
		Telephony:           cfg.Telephony,
		Ephones:             cfg.Ephones,
		VoiceService:        cfg.VoiceService,
		VoiceRegisterGlobal: cfg.VoiceRegisterGlobal,
		VoiceRegisterDNs:    cfg.VoiceRegisterDNs,
		VoiceRegisterPools:  cfg.VoiceRegisterPools,
		Presence:            cfg.Presence,
	}
}

// SameInputs reports whether Generate would build the same files from a
// and b (with the same Options), so a caller can skip regenerating after a
// change that touches no phone file (a dial-peer, a `hostname`, a DN's
// `allow watch`).
func SameInputs(a, b *config.Config) bool {
	if a == nil || b == nil {
		return a == b
	}
	return reflect.DeepEqual(Inputs(a), Inputs(b))
}
