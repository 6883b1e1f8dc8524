package config

import (
	"net/netip"
	"strings"

	"github.com/cmed-project/cmed/pkg/cmdtree"
)

// Security commands of global configuration (docs/security.md
// §Guessing), registered on the grammar's trees like cmedext.go:
//
//   - `login block-for SECONDS attempts N within SECONDS`, IOS's own
//     syntax: after N failed logins within the window, logins from that
//     source (and to that account) are refused for SECONDS. cmed applies
//     it to SSH, the HTTP login and SIP digest.
//   - `ip http address X:X:X:X::X port P`: the HTTP listener on an IPv6
//     address, next to the A.B.C.D form of grammar.go.

// LoginBlock is `login block-for`; the zero value means none configured.
type LoginBlock struct {
	BlockFor int // seconds a source or account stays blocked
	Attempts int // failures that block
	Within   int // seconds the failures are counted over
}

// ipv6Param is IOS's X:X:X:X::X.
var ipv6Param = &cmdtree.ParamType{
	Name: "X:X:X:X::X", Help: "IPv6 address",
	Hint: "an IPv6 address is X:X:X:X::X, e.g. 2001:db8::10",
	Check: func(s string) int {
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() && a.Zone() == "" {
			return -1
		}
		if i := strings.IndexFunc(s, func(r rune) bool {
			return !strings.ContainsRune("0123456789abcdefABCDEF:.", r)
		}); i >= 0 {
			return i
		}
		return 0
	},
}

func init() { addSecurityCommands(&grammar) }

func addSecurityCommands(g *[numModes]*cmdtree.Tree) {
	gl := g[ModeGlobal]
	gl.DefineParam(ipv6Param)
	gl.MustAdd("ip http address ! X:X:X:X::X port <0-65535>", act(func(e *Editor, m *cmdtree.Match) error {
		l := &e.cfg.Services.HTTP
		set(m, &l.Address, m.Arg(0))
		set(m, &l.Port, m.Int(1))
		return nil
	}))
	gl.Describe("login", "Enable secure login checking",
		"block-for", "Set quiet-mode active time period",
		"attempts", "Set max number of fail attempts", "within", "Watch period for repeated login failures")
	gl.MustAdd("login block-for ! <1-65535> attempts <1-65535> within <1-65535>", act(func(e *Editor, m *cmdtree.Match) error {
		if m.Negated() {
			e.cfg.LoginBlock = LoginBlock{}
			return nil
		}
		e.cfg.LoginBlock = LoginBlock{BlockFor: m.Int(0), Attempts: m.Int(1), Within: m.Int(2)}
		return nil
	}), "<1-65535>=Seconds")
}

// renderLoginBlock writes `login block-for` when configured.
func renderLoginBlock(r *renderer, c *Config) {
	if b := c.LoginBlock; b != (LoginBlock{}) {
		r.line("login block-for %d attempts %d within %d", b.BlockFor, b.Attempts, b.Within)
	}
}
