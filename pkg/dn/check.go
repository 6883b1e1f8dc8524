package dn

import (
	"errors"
	"fmt"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dialplan"
)

// CheckConfig reports what in cfg the core cannot carry out although
// config.Validate accepts it: numbers and destination-patterns that are not
// dial patterns (dialplan.Compile: digits, * # +, '.', [sets], trailing T)
// and translation rules that do not compile. Validate cannot check these
// because pkg/config does not know the dial-plan syntax (pkg/dialplan
// imports pkg/config, not the other way round). Switch.Apply refuses such a
// config and keeps the one it runs; a daemon also calls CheckConfig on its
// startup-config before NewWithOptions, which takes any config as given.
func CheckConfig(cfg *config.Config) error {
	var errs []error
	pattern := func(what, p string) {
		if p == "" {
			return
		}
		if _, err := dialplan.Compile(p); err != nil {
			errs = append(errs, fmt.Errorf("%s %s cannot be dialled: %w", what, p, err))
		}
	}
	for _, d := range cfg.EphoneDNs {
		if dialplan.Dialable(d.Number) {
			pattern(fmt.Sprintf("ephone-dn %d number", d.Tag), d.Number)
		}
		if dialplan.Dialable(d.Secondary) {
			pattern(fmt.Sprintf("ephone-dn %d secondary number", d.Tag), d.Secondary)
		}
	}
	for _, d := range cfg.VoiceRegisterDNs {
		pattern(fmt.Sprintf("voice register dn %d number", d.Tag), d.Number)
	}
	for _, dp := range cfg.DialPeers {
		pattern(fmt.Sprintf("dial-peer voice %d destination-pattern", dp.Tag), dp.DestinationPattern)
	}
	_, terrs := dialplan.NewTranslator(cfg)
	errs = append(errs, terrs...)
	return errors.Join(errs...)
}
