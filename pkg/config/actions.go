package config

import "github.com/cmed-project/cmed/pkg/cmdtree"

// DeviceAction is a `reset` or `restart` typed in configuration mode. It
// changes no configuration: the Editor only records it, and the CLI asks
// the phone adapters to carry it out after the line (docs/cme-cli.md §Modes: `no
// reset` / `no restart` are accepted and do nothing).
type DeviceAction struct {
	Kind    string // "ephone" or "pool"
	Tag     int    // 0: every phone of that kind
	Restart bool   // restart (re-read config) rather than reset (reboot)
}

// TakeActions returns the reset/restart requests recorded since the last
// call and forgets them.
func (e *Editor) TakeActions() []DeviceAction {
	a := e.actions
	e.actions = nil
	return a
}

func addDeviceActions(g [numModes]*cmdtree.Tree) {
	record := func(kind string, all bool) cmdtree.Action {
		return act(func(e *Editor, m *cmdtree.Match) error {
			if m.Negated() {
				return nil
			}
			tag := e.top().tag
			if all {
				tag = 0
			}
			e.actions = append(e.actions, DeviceAction{Kind: kind, Tag: tag, Restart: m.Keyword(0) == "restart"})
			return nil
		})
	}
	for _, kw := range []string{"reset", "restart"} {
		g[ModeEphone].Describe("reset", "Reset this ephone (reboot)", "restart", "Restart this ephone (reload its configuration)")
		g[ModeEphone].MustAdd(kw, record("ephone", false))
		g[ModeRegisterPool].Describe("reset", "Reset this SIP phone (reboot)", "restart", "Restart this SIP phone (reload its configuration)")
		g[ModeRegisterPool].MustAdd(kw, record("pool", false))
		g[ModeTelephony].Describe("reset", "Reset ephones", "restart", "Restart ephones", "all", "All ephones")
		g[ModeTelephony].MustAdd(kw+" all", record("ephone", true))
		g[ModeRegisterGlobal].Describe("reset", "Reset all SIP phones", "restart", "Restart all SIP phones")
		g[ModeRegisterGlobal].MustAdd(kw, record("pool", true))
	}
}
