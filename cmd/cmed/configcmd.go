package main

import (
	"fmt"
	"os"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/spf13/cobra"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check or normalise a startup-config file",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Parse and validate FILE; errors read FILE:LINE: message",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadFile(args[0])
			if err != nil {
				return &exitError{1, err}
			}
			for _, w := range c.Warnings() {
				fmt.Fprintln(cmd.ErrOrStderr(), w)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: OK: %s\n", args[0], summary(c))
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "unmodelled FILE",
		Short: "List the lines of FILE that cmed keeps verbatim but does not act on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadFile(args[0])
			if err != nil {
				return &exitError{1, err}
			}
			fmt.Fprint(cmd.OutOrStdout(), config.RenderUnmodelled(c))
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show FILE",
		Short: "Print FILE normalised, as show running-config would",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadFile(args[0])
			if err != nil {
				return &exitError{1, err}
			}
			fmt.Fprint(cmd.OutOrStdout(), config.RenderRunning(c))
			return nil
		},
	})
	return cmd
}

func loadFile(name string) (*config.Config, error) {
	text, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	c, err := config.Parse(name, text)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func summary(c *config.Config) string {
	presence := "off"
	if c.PresenceEnabled() {
		presence = fmt.Sprintf("on (max-subscription %d)", c.Presence.MaxSubscriptions())
	}
	return fmt.Sprintf("%d ephone-dn, %d ephone, %d voice register dn, %d voice register pool, %d dial-peer, %d hunt group; presence %s; %d lines kept unmodelled",
		len(c.EphoneDNs), len(c.Ephones), len(c.VoiceRegisterDNs), len(c.VoiceRegisterPools), len(c.DialPeers),
		len(c.EphoneHunts)+len(c.VoiceHuntGroups), presence, len(c.UnmodelledLines()))
}
