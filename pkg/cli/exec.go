package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/cmed-project/cmed/pkg/cmdtree"
	"github.com/cmed-project/cmed/pkg/config"
)

// execCtx is what EXEC actions see: the session and the output buffer
// (filtered by `| include ...` and paged afterwards).
type execCtx struct {
	s   *Session
	out *strings.Builder
}

func (c *execCtx) printf(format string, a ...any) { fmt.Fprintf(c.out, format, a...) }

type execAction func(c *execCtx, m *cmdtree.Match) error

func ex(fn execAction) cmdtree.Action {
	return func(m *cmdtree.Match) error { return fn(m.Ctx.(*execCtx), m) }
}

// The EXEC grammars, built once and shared by every session (trees are
// immutable after building). userTree is `Router>`, privTree `Router#`.
var userTree, privTree = buildExecTrees()

// pipeTree is the grammar after `|` (IOS output modifiers).
var pipeTree = func() *cmdtree.Tree {
	t := cmdtree.New()
	t.Describe("begin", "Begin with the line that matches", "exclude", "Exclude lines that match",
		"include", "Include lines that match", "section", "Filter a section of output")
	nop := func(*cmdtree.Match) error { return nil }
	for _, w := range []string{"begin", "exclude", "include", "section"} {
		t.MustAdd(w+" LINE", nop, "LINE=Regular Expression")
	}
	return t
}()

var execHelp = []string{
	"enable", "Turn on privileged commands", "disable", "Turn off privileged commands",
	"exit", "Exit from the EXEC", "logout", "Exit from the EXEC", "quit", "Exit from the EXEC",
	"configure", "Enter configuration mode", "terminal", "Set terminal line parameters",
	"show", "Show running system information", "write", "Write running configuration to memory, network, or terminal",
	"memory", "Write to NV memory", "copy", "Copy from one file to another",
	"running-config", "Current operating configuration", "startup-config", "Contents of startup configuration",
	"version", "System hardware and software status", "clock", "Display the system clock",
	"users", "Display information about terminal lines", "history", "Display the session command history",
	"ephone", "Show ephone status", "ephone-dn", "Show ephone-dn status", "ephone-hunt", "Show ephone hunt groups",
	"hunt-group", "Voice hunt groups", "summary", "Summary",
	"registered", "Registered ephones", "unregistered", "Unregistered ephones",
	"voice", "Voice information", "register", "Voice register (SIP phones) information",
	"all", "All", "global", "Global configuration", "pool", "Pool information", "dn", "DN information",
	"presence", "Presence (BLF) information", "subscription", "Subscription records",
	"details", "Detailed records", "presentity", "Records for one presentity", "subid", "One record by subscription ID",
	"dial-peer", "Dial plan mapping table for voice", "call", "Call information", "active", "Active calls",
	"brief", "Brief output", "dial-rules", "Application dialing and directory lookup rules (cmed extension)",
	"debug", "Debugging functions (see also 'undebug')", "undebug", "Disable debugging functions (see also 'debug')",
	"debugging", "State of each debugging option",
	"length", "Set number of lines on a screen", "width", "Set width of the display terminal",
	"monitor", "Copy debug output to the current terminal line", "no", "Negate a command or set its defaults",
	"blf", "BLF (presence) events", "keepalive", "Keepalive messages", "message", "SCCP messages",
	"mac-address", "Only this phone", "ccsip", "SIP debugging", "messages", "SIP messages", "events", "SIP events",
	"asnl", "Application subscribe/notify layer", "errors", "Errors", "event", "Events", "info", "Information",
	"timer", "Timers", "trace", "Traces", "xml", "XML", "size", "Set history buffer size",
	"dnd", "Ephones with do not disturb set", "offhook", "Ephones that are off hook",
	"statistics", "Registration statistics", "telephony-service", "Telephony service information",
	"sip-ua", "SIP User Agent information", "status", "SIP UA status", "registrar", "SIP registrar clients",
	"logging", "Show the contents of logging buffers",
	"archive", "Archive of saved configurations", "replace", "Replace the running-config with an archived configuration",
	"cmed", "cmed extensions", "unmodelled", "Config lines kept but not acted on",
	"force", "Replace without asking", "erase", "Erase the startup-config", "reload", "Halt and perform a cold restart",
}

func buildExecTrees() (*cmdtree.Tree, *cmdtree.Tree) {
	user, priv := cmdtree.New(), cmdtree.New()
	user.Describe(execHelp...)
	priv.Describe(execHelp...)
	both := func(spec string, fn execAction, help ...string) {
		user.MustAdd(spec, ex(fn), help...)
		priv.MustAdd(spec, ex(fn), help...)
	}
	both("enable", cmdEnable)
	for _, w := range []string{"exit", "logout", "quit"} {
		both(w, func(c *execCtx, _ *cmdtree.Match) error { c.s.done = true; return nil })
	}
	both("show version", cmdShowVersion)
	both("show clock", cmdShowClock)
	both("show users", cmdShowUsers)
	both("show history", cmdShowHistory)
	both("terminal length <0-512>", func(c *execCtx, m *cmdtree.Match) error { c.s.length = m.Int(0); return nil },
		"<0-512>=Number of lines on screen (0 for no pausing)")
	both("terminal width <0-512>", func(c *execCtx, m *cmdtree.Match) error { c.s.width = m.Int(0); return nil },
		"<0-512>=Number of characters on a screen line")
	both("terminal history size <0-256>", func(c *execCtx, m *cmdtree.Match) error { c.s.historyMax = m.Int(0); return nil },
		"<0-256>=Size of history buffer")

	priv.MustAdd("disable", ex(func(c *execCtx, _ *cmdtree.Match) error { c.s.priv = PrivUser; return nil }))
	priv.MustAdd("configure [terminal]", ex(func(c *execCtx, _ *cmdtree.Match) error {
		c.s.enterConfig()
		c.printf("Enter configuration commands, one per line.  End with CNTL/Z.\n")
		return nil
	}))
	priv.MustAdd("show running-config", ex(func(c *execCtx, _ *cmdtree.Match) error {
		c.out.WriteString(runningConfigText(c))
		return nil
	}))
	priv.MustAdd("configure replace WORD [force]", ex(cmdConfigureReplace),
		"WORD=Archived configuration (see show archive), e.g. nvram:startup-config-3")
	priv.MustAdd("show archive", ex(cmdShowArchive))
	// A cmed extension: the lines of a pasted router config that cmed keeps
	// and prints back but does not act on (docs/cme-cli.md §Unmodelled-lines).
	priv.MustAdd("show cmed unmodelled", ex(func(c *execCtx, _ *cmdtree.Match) error {
		c.out.WriteString(config.RenderUnmodelled(c.s.b.Running()))
		return nil
	}))
	priv.MustAdd("write erase", ex(cmdWriteErase))
	priv.MustAdd("reload", ex(cmdReload))
	priv.MustAdd("show startup-config", ex(cmdShowStartup))
	priv.MustAdd("show ephone [summary|registered [summary]|unregistered|dnd|offhook|<1-1000>|mac-address H.H.H]", ex(cmdShowEphone),
		"<1-1000>=ephone tag", "H.H.H=MAC address of the ephone")
	priv.MustAdd("show ephone-dn [summary|park|<1-10000>]", ex(cmdShowEphoneDN), "<1-10000>=ephone-dn tag",
		"park=Call-park slots and parked calls")
	priv.MustAdd("show ephone-hunt [<1-100>]", ex(cmdShowEphoneHunt), "<1-100>=ephone-hunt tag")
	priv.MustAdd("show voice hunt-group [<1-100>]", ex(cmdShowVoiceHuntGroup), "<1-100>=voice hunt-group tag")
	priv.MustAdd("show voice register {all|global|pool [<1-1000>|all]|dn [<1-10000>]}", ex(cmdShowVoiceRegister),
		"<1-1000>=Pool tag", "<1-10000>=DN tag")
	priv.MustAdd("show voice register statistics [global|pool <1-1000>]", ex(cmdShowVoiceRegisterStatistics),
		"<1-1000>=Pool tag")
	priv.MustAdd("show telephony-service [all]", ex(cmdShowTelephonyService))
	priv.MustAdd("show sip-ua status registrar", ex(cmdShowSIPUARegistrar))
	priv.MustAdd("show logging", ex(cmdShowLogging))
	priv.MustAdd("show presence global", ex(cmdShowPresenceGlobal))
	priv.MustAdd("show presence subscription [summary|details|presentity WORD|subid <1-2147483647>]", ex(cmdShowPresenceSub),
		"WORD=Presentity number", "<1-2147483647>=Subscription ID")
	priv.MustAdd("show dial-peer voice summary", ex(cmdShowDialPeerSummary))
	priv.MustAdd("show dial-rules", ex(cmdShowDialRules))
	priv.MustAdd("show call active voice brief", ex(cmdShowCallActive))
	priv.MustAdd("show call history voice [brief]", ex(cmdShowCallHistory))
	priv.MustAdd("show debugging", ex(cmdShowDebugging))
	priv.MustAdd("write [memory]", ex(cmdWrite))
	priv.MustAdd("write terminal", ex(func(c *execCtx, _ *cmdtree.Match) error {
		c.out.WriteString(runningConfigText(c))
		return nil
	}))
	priv.MustAdd("copy running-config startup-config", ex(cmdCopyRunStart))
	priv.MustAdd("terminal monitor", ex(func(c *execCtx, _ *cmdtree.Match) error { return c.s.startMonitor() }))
	priv.MustAdd("terminal no monitor", ex(func(c *execCtx, _ *cmdtree.Match) error { c.s.stopMonitor(); return nil }))

	// debug / undebug (docs/cme-cli.md §Debugging). Each maps to a category of the
	// daemon's debug switchboard (pkg/metrics.Categories).
	debugs := map[string]string{
		"ephone blf": "ephone blf", "ephone register": "ephone register", "ephone keepalive": "ephone keepalive",
		"ephone message": "ephone message", "ephone all": "ephone",
		"ccsip messages": "ccsip messages", "ccsip events": "ccsip events",
		"voice register events": "voice register", "voice register errors": "voice register",
	}
	for _, p := range []string{"all", "asnl", "errors", "event", "info", "timer", "trace", "xml"} {
		debugs["presence "+p] = "presence"
	}
	for words, cat := range debugs {
		spec := words
		if strings.HasPrefix(words, "ephone") && words != "ephone all" {
			spec += " [mac-address H.H.H]"
		}
		priv.MustAdd("debug "+spec, ex(func(c *execCtx, m *cmdtree.Match) error { return debugSet(c, cat, true, words) }))
		priv.MustAdd("undebug "+spec, ex(func(c *execCtx, m *cmdtree.Match) error { return debugSet(c, cat, false, words) }))
	}
	priv.MustAdd("undebug all", ex(cmdUndebugAll))
	priv.MustAdd("no debug all", ex(cmdUndebugAll))
	return user, priv
}

func (s *Session) execTree() *cmdtree.Tree {
	if s.priv >= PrivMax || s.ed != nil {
		return privTree
	}
	return userTree
}

// splitPipe cuts `COMMAND | MODIFIER REGEX` at the first `|` outside
// quotes; off is the index of the text after `|`.
func splitPipe(line string) (cmd, mod string, off int, ok bool) {
	quoted := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			quoted = !quoted
		case '|':
			if !quoted {
				return line[:i], line[i+1:], i + 1, true
			}
		}
	}
	return line, "", 0, false
}

// execLine runs an EXEC command. whole is the typed line (for errors),
// line the command part starting at off in it (after `do` in config mode).
func (s *Session) execLine(whole, line string, off, indent int) {
	cmd, mod, modOff, piped := splitPipe(line)
	tree := s.execTree()
	m, err := tree.Parse(cmd)
	var ce *cmdtree.Error
	if f := strings.Fields(cmd); err != nil && errors.As(err, &ce) && ce.Kind == cmdtree.Incomplete && len(f) == 1 &&
		strings.HasPrefix("show", strings.ToLower(f[0])) {
		// IOS answers a bare `show` this way, not `% Incomplete command.`
		s.failed++
		s.write("% Type \"show ?\" for a list of subcommands\n")
		return
	}
	if err != nil {
		s.printError(err, whole, off, indent)
		return
	}
	if m == nil {
		return
	}
	var filter func(string) string
	if piped {
		if m.Keyword(0) != "show" && !(m.Keyword(0) == "write" && m.Has("terminal")) {
			s.printError(&cmdtree.Error{Kind: cmdtree.Invalid, Line: line, Offset: modOff - 1}, whole, off, indent)
			return
		}
		pm, err := pipeTree.Parse(mod)
		if err == nil && pm == nil {
			err = &cmdtree.Error{Kind: cmdtree.Incomplete}
		}
		if err != nil {
			s.printError(err, whole, off+modOff, indent)
			return
		}
		filter, err = outputFilter(pm.Keyword(0), pm.Arg(0))
		if err != nil {
			s.printError(err, whole, off, indent)
			return
		}
	}
	c := &execCtx{s: s, out: &strings.Builder{}}
	runErr := m.Run(c)
	text := c.out.String()
	if filter != nil {
		text = filter(text)
	}
	s.emit(text)
	if runErr != nil {
		s.printError(runErr, whole, off, indent)
	}
}

// execHelp answers `?` in EXEC mode (and after `do`), including the output
// modifiers after `|`.
func (s *Session) execHelp(prefix string) (string, error) {
	cmd, mod, modOff, piped := splitPipe(prefix)
	if piped {
		items, err := pipeTree.Help(mod)
		if err != nil {
			var ce *cmdtree.Error
			if errors.As(err, &ce) {
				ce.Offset += modOff
			}
			return "", err
		}
		return strings.TrimSuffix(cmdtree.FormatHelp(items), "\n"), nil
	}
	items, err := s.execTree().Help(cmd)
	if err != nil {
		return "", err
	}
	// Show commands that may end here also take output modifiers.
	if f := strings.Fields(cmd); len(f) > 1 && strings.HasPrefix("show", strings.ToLower(f[0])) && len(items) > 0 &&
		items[len(items)-1].Name == "<cr>" {
		items = append(items[:len(items)-1], cmdtree.HelpItem{Name: "|", Help: "Output modifiers"}, cmdtree.HelpItem{Name: "<cr>"})
	}
	return strings.TrimSuffix(cmdtree.FormatHelp(items), "\n"), nil
}

func (s *Session) execComplete(prefix string) (string, bool) {
	if _, mod, off, piped := splitPipe(prefix); piped {
		if nl, ok := pipeTree.Complete(mod); ok {
			return prefix[:off] + nl, true
		}
		return "", false
	}
	return s.execTree().Complete(prefix)
}

// outputFilter builds an IOS output modifier (docs/cme-cli.md §Show-and-save).
func outputFilter(kind, expr string) (func(string) string, error) {
	re, err := regexp.Compile(strings.TrimSpace(expr))
	if err != nil {
		return nil, fmt.Errorf("%% Invalid regular expression %q", expr)
	}
	match := func(l string) bool {
		// show running-config pads some headers with two spaces
		// (`ephone-dn  40`); match the single-spaced form as well so
		// `| section ephone-dn 40` finds it.
		return re.MatchString(l) || re.MatchString(strings.Join(strings.Fields(l), " "))
	}
	return func(text string) string {
		if kind == "section" {
			return sectionFilter(text, match)
		}
		var b strings.Builder
		begun := false
		for _, l := range strings.SplitAfter(text, "\n") {
			if l == "" {
				continue
			}
			m := match(strings.TrimRight(l, "\n"))
			switch {
			case kind == "include" && m, kind == "exclude" && !m:
				b.WriteString(l)
			case kind == "begin":
				begun = begun || m
				if begun {
					b.WriteString(l)
				}
			}
		}
		return b.String()
	}, nil
}

// sectionFilter is `| section`: every section (a top-level line and its
// indented children) with a matching line is printed whole.
func sectionFilter(text string, match func(string) bool) string {
	var out strings.Builder
	var cur []string
	flush := func() {
		for _, l := range cur {
			if match(l) {
				for _, l := range cur {
					out.WriteString(l + "\n")
				}
				break
			}
		}
		cur = nil
	}
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if !strings.HasPrefix(l, " ") {
			flush()
		}
		cur = append(cur, l)
	}
	flush()
	return out.String()
}

// ---- EXEC actions -------------------------------------------------------------

func cmdEnable(c *execCtx, _ *cmdtree.Match) error {
	s := c.s
	if s.priv >= PrivMax {
		return nil
	}
	secret := s.b.Running().EnableSecret
	if secret == "" {
		return errors.New("% No password set")
	}
	if s.t == nil {
		return errors.New("% Access denied")
	}
	for range 3 {
		pw, err := s.t.ReadPassword("Password: ")
		if err != nil {
			return nil
		}
		if VerifySecret(secret, pw) {
			s.priv = PrivMax
			return nil
		}
	}
	return errors.New("% Access denied")
}

func cmdWrite(c *execCtx, _ *cmdtree.Match) error {
	c.printf("Building configuration...\n")
	if err := c.s.b.SaveRunning(); err != nil {
		return fmt.Errorf("%% Error saving configuration: %v", err)
	}
	c.printf("[OK]\n")
	return nil
}

func cmdShowStartup(c *execCtx, _ *cmdtree.Match) error {
	text, err := c.s.b.StartupText()
	if err != nil {
		return fmt.Errorf("%% Error reading startup-config: %v", err)
	}
	if text == "" {
		c.printf("startup-config is not present\n")
		return nil
	}
	c.printf("Using %d out of %d bytes\n", len(text), nvramSize)
	c.out.WriteString(text)
	return nil
}

// nvramSize is what `show startup-config` reports as the NVRAM size.
const nvramSize = 1 << 20

func debugSet(c *execCtx, cat string, on bool, words string) error {
	d := c.s.b.Debug()
	if d == nil {
		return errors.New("% Debugging is not available in this daemon")
	}
	var err error
	if on {
		err = d.Enable(cat)
	} else {
		err = d.Disable(cat)
	}
	if err != nil {
		return fmt.Errorf("%% %v", err)
	}
	// CME words its ephone debugs `EPHONE BLF debugging is enabled`
	// (docs/cme-cli.md §Debugging); IOS's other debugs say on/off.
	if strings.HasPrefix(words, "ephone") {
		state := "enabled"
		if !on {
			state = "disabled"
		}
		c.printf("%s debugging is %s\n", strings.ToUpper(words), state)
		return nil
	}
	state := "on"
	if !on {
		state = "off"
	}
	c.printf("%s debugging is %s\n", strings.ToUpper(words[:1])+words[1:], state)
	return nil
}

func cmdUndebugAll(c *execCtx, _ *cmdtree.Match) error {
	if d := c.s.b.Debug(); d != nil {
		d.DisableAll()
	}
	c.printf("All possible debugging has been turned off\n")
	return nil
}

func cmdShowDebugging(c *execCtx, _ *cmdtree.Match) error {
	d := c.s.b.Debug()
	if d == nil {
		return nil
	}
	active := d.Active()
	if len(active) == 0 {
		return nil
	}
	c.printf("Debugging is on for:\n")
	for _, a := range active {
		c.printf("  %s\n", a)
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
