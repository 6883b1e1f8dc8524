package cli

import (
	"github.com/cmed-project/cmed/pkg/cmdtree"
	"github.com/cmed-project/cmed/pkg/config"
)

// cmdShowDialRules is `show dial-rules` (a cmed extension): the
// application dialing rules and directory lookup rules in the order they
// are tried (docs/cme-behaviour.md §Dialing-rules).
func cmdShowDialRules(c *execCtx, _ *cmdtree.Match) error {
	cfg := c.s.b.Running()
	list := func(title string, rules []config.DialRule) {
		c.printf("%s:\n", title)
		if len(rules) == 0 {
			c.printf("  (none)\n")
		}
		for _, r := range rules {
			c.printf("  %s\n", r)
		}
	}
	list("Application dialing rules (numbers dialled from call lists and directories)", cfg.ApplicationDialRules)
	list("Directory lookup rules (incoming caller numbers)", cfg.DirectoryLookupRules)
	return nil
}
