package cli

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cmed-project/cmed/pkg/cmdtree"
	"github.com/cmed-project/cmed/pkg/config"
)

// Saving, erasing, restoring and reloading the configuration
// (docs/cme-cli.md §Archive-and-reload).

// iosVersion is the IOS train `show running-config` names in its
// `version` line: CME 8.1 (cmeVersion) ships with IOS 15.1.
const iosVersion = "15.1"

// ask flushes the output so far and asks the session a question.
func (c *execCtx) ask(question string) (string, bool) {
	c.s.emit(c.out.String())
	c.out.Reset()
	return c.s.ask(question)
}

// confirmed reads a `[confirm]` answer: Enter or y/yes proceeds.
func confirmed(answer string) bool {
	a := strings.ToLower(answer)
	return a == "" || a == "y" || a == "yes"
}

// runningConfigText is show running-config: the renderer's text with the
// `! Last configuration change` and `version` lines IOS puts first.
func runningConfigText(c *execCtx) string {
	var head strings.Builder
	head.WriteString("!\n")
	if at, user := c.s.srv.lastConfigChange(); !at.IsZero() {
		fmt.Fprintf(&head, "! Last configuration change at %s by %s\n!\n",
			at.UTC().Format("15:04:05 UTC Mon Jan 2 2006"), cmp.Or(user, "console"))
	}
	fmt.Fprintf(&head, "version %s\n", iosVersion)
	body := head.String() + "!\n" + config.Render(c.s.b.Running())
	return fmt.Sprintf("Building configuration...\n\nCurrent configuration : %d bytes\n%s", len(body), body)
}

func cmdCopyRunStart(c *execCtx, m *cmdtree.Match) error {
	answer, ok := c.ask("Destination filename [startup-config]? ")
	if !ok {
		return nil
	}
	if answer != "" && answer != "startup-config" {
		return fmt.Errorf("%%Error opening nvram:%s (cmed keeps only startup-config)", answer)
	}
	return cmdWrite(c, m)
}

func archiveOf(c *execCtx) (ConfigArchive, error) {
	a, ok := c.s.b.(ConfigArchive)
	if !ok {
		return nil, errors.New("% No configuration archive in this daemon")
	}
	return a, nil
}

func cmdWriteErase(c *execCtx, _ *cmdtree.Match) error {
	a, err := archiveOf(c)
	if err != nil {
		return err
	}
	answer, ok := c.ask("Erasing the nvram filesystem will remove all configuration files! Continue? [confirm]")
	if !ok || !confirmed(answer) {
		return nil
	}
	if err := a.EraseStartup(); err != nil {
		return fmt.Errorf("%%Error erasing nvram: %v", err)
	}
	c.printf("[OK]\nErase of nvram: complete\n")
	c.s.srv.syslog("%SYS-7-NV_BLOCK_INIT: Initialized the geometry of nvram")
	return nil
}

// archiveName is how `show archive` names saved version seq.
func archiveName(seq uint64) string { return "nvram:startup-config-" + strconv.FormatUint(seq, 10) }

func cmdShowArchive(c *execCtx, _ *cmdtree.Match) error {
	a, err := archiveOf(c)
	if err != nil {
		return err
	}
	vs, err := a.ArchivedConfigs()
	if err != nil {
		return fmt.Errorf("%% %v", err)
	}
	next := uint64(1)
	if len(vs) > 0 {
		next = vs[0].Seq + 1
	}
	c.printf("The maximum archive configurations allowed is %d.\n", a.ArchiveMax())
	c.printf("The next archive file will be named %s\n", archiveName(next))
	c.printf(" Archive #  Name\n")
	for i := len(vs) - 1; i >= 0; i-- {
		mark := ""
		if i == 0 {
			mark = " <- Most Recent"
		}
		c.printf("   %-8d %s%s\n", len(vs)-i, archiveName(vs[i].Seq), mark)
	}
	return nil
}

func cmdConfigureReplace(c *execCtx, m *cmdtree.Match) error {
	a, err := archiveOf(c)
	if err != nil {
		return err
	}
	name := m.Arg(0)
	vs, err := a.ArchivedConfigs()
	if err != nil {
		return fmt.Errorf("%% %v", err)
	}
	var text string
	found := false
	for _, v := range vs {
		if name == archiveName(v.Seq) || name == strconv.FormatUint(v.Seq, 10) {
			text, found = v.Text, true
			break
		}
	}
	if !found {
		return fmt.Errorf("%%Error opening %s (No such file or directory)", name)
	}
	cfg, err := config.Parse(name, []byte(text))
	if err != nil {
		return fmt.Errorf("%% %s does not load: %v", name, err)
	}
	if !m.Has("force") {
		answer, ok := c.ask("This will apply all necessary additions and deletions to replace the current running configuration " +
			"with the contents of the specified configuration file, which is assumed to be a complete configuration, " +
			"not a partial configuration. Enter Y if you are sure you want to proceed. ? [no]: ")
		if a := strings.ToLower(answer); !ok || (a != "y" && a != "yes") {
			return nil
		}
	}
	if err := c.s.b.Configure(func(*config.Config) (*config.Config, error) { return cfg, nil }); err != nil {
		return err
	}
	c.s.srv.noteChange(c.s.info.user())
	c.printf("Total number of passes: 1\nRollback Done\n")
	c.s.srv.syslog("%SYS-5-CONFIG_I: Configured from " + name + " by " + cmp.Or(c.s.info.user(), "console"))
	return nil
}

// cmdReload is an emulated reload: the daemon keeps running, but the
// running config is replaced by the startup-config and every phone is
// reset, so they re-register against it as after a router reboot.
func cmdReload(c *execCtx, _ *cmdtree.Match) error {
	startup, err := c.s.b.StartupText()
	if err != nil {
		return fmt.Errorf("%% Error reading startup-config: %v", err)
	}
	if config.Render(c.s.b.Running()) != startup {
		answer, ok := c.ask("System configuration has been modified. Save? [yes/no]: ")
		if !ok {
			return nil
		}
		if a := strings.ToLower(answer); a == "y" || a == "yes" {
			if err := cmdWrite(c, nil); err != nil {
				return err
			}
			startup, err = c.s.b.StartupText()
			if err != nil {
				return fmt.Errorf("%% Error reading startup-config: %v", err)
			}
		}
	}
	answer, ok := c.ask("Proceed with reload? [confirm]")
	if !ok || !confirmed(answer) {
		return nil
	}
	cfg, err := config.Parse("startup-config", []byte(startup))
	if err != nil {
		return fmt.Errorf("%% startup-config does not load: %v", err)
	}
	if err := c.s.b.Configure(func(*config.Config) (*config.Config, error) { return cfg, nil }); err != nil {
		return err
	}
	c.s.srv.syslog("%SYS-5-RELOAD: Reload requested by " + cmp.Or(c.s.info.user(), "console") + ". Reload Reason: Reload Command.")
	var errs []error
	for _, kind := range []string{"ephone", "pool"} {
		if err := c.s.b.Reset(config.DeviceAction{Kind: kind}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
