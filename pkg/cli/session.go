package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cmed-project/cmed/pkg/cmdtree"
	"github.com/cmed-project/cmed/pkg/config"
	"golang.org/x/term"
)

// Privilege levels (IOS): 1 is user EXEC (`Router>`), 15 privileged EXEC
// (`Router#`).
const (
	PrivUser = 1
	PrivMax  = 15
)

// MaxLineLength bounds one command line (x/term also caps input at 4096).
const MaxLineLength = 4096

// Session is one CLI session: a privilege level, an optional configuration
// mode, terminal settings and the I/O it runs over. A Session is used by one
// goroutine; only terminal-monitor output arrives from another, through
// x/term's locked Write.
type Session struct {
	srv  *Server
	b    Backend
	info *sessionInfo

	w     io.Writer      // output (the terminal, or the batch writer)
	t     *term.Terminal // nil in batch mode
	in    *inputFilter   // nil in batch mode
	batch bool
	// echo makes a batch session print the prompt and each command, so its
	// output reads like a console transcript (golden tests use it).
	echo bool

	priv  int
	login bool
	// changed: a configuration command succeeded since configure terminal.
	changed bool
	ed      *config.Editor // non-nil in configuration mode
	length  int            // lines per page; 0 = no --More--
	width   int
	done    bool // exit/logout

	// failed counts commands that printed an IOS error, so a batch
	// (`cmed cli -c`, `ssh router CMD`) can exit non-zero like `vtysh -c`.
	failed int

	monMu      sync.Mutex // guards monCancel; a leaf
	monCancel  func()
	monitorWG  sync.WaitGroup
	batchHist  []string
	historyMax int
}

// SessionOptions describe a new session.
type SessionOptions struct {
	User      string
	Line      string // "vty 0", "con 0"
	Location  string // peer address
	Privilege int
	Width     int
	Height    int // terminal length; 0 disables paging
	// Echo prints "PROMPT COMMAND" before each batch command's output.
	Echo bool
	// Login asks for Username/Password on the terminal first (telnet; SSH
	// authenticates in the protocol).
	Login bool
}

func (srv *Server) newSession(w io.Writer, o SessionOptions) *Session {
	s := &Session{srv: srv, b: srv.b, w: w, priv: max(o.Privilege, PrivUser), width: o.Width, length: o.Height,
		echo: o.Echo, historyMax: 20, login: o.Login}
	if s.priv > PrivMax {
		s.priv = PrivMax
	}
	s.info = srv.register(o)
	return s
}

func (s *Session) close() {
	s.stopMonitor()
	s.monitorWG.Wait()
	s.srv.unregister(s.info)
}

// RunBatch runs commands in order without a terminal: no paging, no
// prompts (unless Echo), `configure terminal` enters configuration mode for
// the following lines.
//
// It returns a *BatchError when any command printed an error, so callers
// can report failure the way `vtysh -c` does with its exit status.
func (s *Session) RunBatch(ctx context.Context, commands []string) error {
	s.batch = true
	defer s.close()
	ran := 0
	for _, c := range commands {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.Line(c)
		ran++
		if s.done {
			break
		}
	}
	if s.failed > 0 {
		return &BatchError{Failed: s.failed, Total: ran}
	}
	return nil
}

// BatchError says how many commands of a batch printed an error. The output
// (with the IOS error text) has already gone to the session's writer.
type BatchError struct {
	Failed, Total int
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("%d of %d commands failed", e.Failed, e.Total)
}

// FailedCommands lets transports (the control socket) read the count
// without importing this package.
func (e *BatchError) FailedCommands() int { return e.Failed }

// RunTerminal runs an interactive session over rw until the peer leaves,
// `exit`, or ctx ends. resize delivers window changes (may be nil).
func (s *Session) RunTerminal(ctx context.Context, rw io.ReadWriter, resize <-chan [2]int) error {
	defer s.close()
	s.in = &inputFilter{r: rw, configMode: func() bool { return s.ed != nil }}
	s.t = term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{s.in, rw}, "")
	s.w = s.t
	if s.width > 0 && s.length > 0 {
		s.t.SetSize(s.width, s.length)
	}
	if resize != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case sz, ok := <-resize:
					if !ok {
						return
					}
					s.t.SetSize(sz[0], sz[1])
				case <-stop:
					return
				}
			}
		}()
	}
	if s.login && !s.authenticate() {
		return nil
	}
	s.t.AutoCompleteCallback = s.keyCallback
	for !s.done {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.t.SetPrompt(s.Prompt())
		line, err := s.t.ReadLine()
		if err != nil {
			if errors.Is(err, term.ErrPasteIndicator) {
				err = nil // a pasted line runs like a typed one
			} else {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
		s.info.touch()
		s.Line(line)
	}
	return nil
}

// authenticate is IOS's `login local` dialogue: three tries.
func (s *Session) authenticate() bool {
	s.write("\nUser Access Verification\n\n")
	for range 3 {
		s.t.SetPrompt("Username: ")
		user, err := s.t.ReadLine()
		if err != nil {
			return false
		}
		pw, err := s.t.ReadPassword("Password: ")
		if err != nil {
			return false
		}
		user = strings.TrimSpace(user)
		if priv, ok := Authenticate(s.b.Running(), user, pw); ok {
			s.priv = min(max(priv, PrivUser), PrivMax)
			s.info.setUser(user)
			s.write("\n")
			return true
		}
		s.write("% Login invalid\n\n")
	}
	return false
}

// Prompt is the IOS prompt for the current mode (docs/cme-cli.md §Modes).
func (s *Session) Prompt() string {
	host := s.b.Running().HostnameOrDefault()
	switch {
	case s.ed != nil:
		return host + "(" + s.ed.Mode().Prompt() + ")#"
	case s.priv >= PrivMax:
		return host + "#"
	}
	return host + ">"
}

// Line runs one typed line in the current mode. A trailing `?` (batch
// mode; interactive sessions get `?` as a key) prints help instead.
func (s *Session) Line(line string) {
	if len(line) > MaxLineLength {
		line = line[:MaxLineLength]
	}
	line = strings.Map(func(r rune) rune {
		if r < ' ' && r != '\t' {
			return -1
		}
		return r
	}, line)
	prompt := s.Prompt()
	if s.batch && s.echo {
		s.write(prompt + line + "\n")
	}
	if s.batch {
		s.addHistory(line)
		if strings.HasSuffix(line, "?") && !inQuotes(line[:len(line)-1]) {
			s.write(s.helpText(prompt, line[:len(line)-1]))
			return
		}
	}
	indent := len(prompt)
	if s.batch && !s.echo {
		indent = -1 // errors print the line themselves
	}
	trimmed := strings.TrimSpace(line)
	if trimmed == "" || (s.ed != nil && strings.HasPrefix(trimmed, "!")) {
		return
	}
	if s.ed != nil {
		s.configLine(line, indent)
		return
	}
	s.execLine(line, line, 0, indent)
}

// printError writes a parse or command error the IOS way. line is the whole
// typed line, off the position of the part that was parsed in it, indent
// the prompt length (-1: the line was not echoed, print it first).
func (s *Session) printError(err error, line string, off, indent int) {
	s.failed++
	var ce *cmdtree.Error
	if errors.As(err, &ce) {
		switch ce.Kind {
		case cmdtree.Ambiguous:
			s.write(fmt.Sprintf("%% Ambiguous command:  %q\n", strings.TrimRight(line, " \t")))
		case cmdtree.Incomplete:
			s.write("% Incomplete command.\n\n")
		default:
			if indent < 0 {
				s.write(line + "\n")
				indent = 0
			}
			s.write(strings.Repeat(" ", indent+off+ce.Offset) + "^\n% Invalid input detected at '^' marker.\n\n")
		}
		return
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "%") {
		msg = "% " + msg
	}
	s.write(msg + "\n")
}

// write sends text to the session, turning \n into \r\n on a terminal
// (x/term's Write does it).
func (s *Session) write(text string) {
	if text == "" {
		return
	}
	io.WriteString(s.w, text)
}

// emit writes command output, paged with --More-- on a terminal when
// `terminal length` is not 0.
func (s *Session) emit(text string) {
	if s.t == nil || s.length <= 1 {
		s.write(text)
		return
	}
	lines := strings.SplitAfter(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	page := s.length - 1
	shown := 0
	for i := 0; i < len(lines); {
		n := min(page-shown, len(lines)-i)
		s.write(strings.Join(lines[i:i+n], ""))
		i += n
		shown += n
		if i >= len(lines) {
			return
		}
		if shown < page {
			continue
		}
		s.write(" --More-- ")
		key, err := s.in.readKey()
		s.write("\r          \r")
		switch {
		case err != nil:
			return
		case key == ' ':
			shown = 0
		case key == '\r' || key == '\n':
			shown = page - 1
		default:
			return
		}
	}
}

// ---- configuration mode ----------------------------------------------------

func (s *Session) enterConfig() {
	if s.ed == nil {
		s.ed = config.NewEditor(s.b.Running())
	}
	s.ed.Reset()
}

// configLine applies one configuration line to the running config (through
// Backend.Configure, so concurrent sessions never lose each other's
// changes) and keeps the session's mode.
func (s *Session) configLine(line string, indent int) {
	if rest, off, ok := cutDo(line); ok {
		s.execLine(line, rest, off, indent)
		return
	}
	if isExitAtGlobal(s.ed, line) {
		s.leaveConfig()
		return
	}
	var actions []config.DeviceAction
	var ed *config.Editor
	var changed bool
	err := s.b.Configure(func(running *config.Config) (*config.Config, error) {
		ed = s.ed.Fork(running)
		if err := ed.Exec(line); err != nil {
			return nil, err
		}
		actions = ed.TakeActions()
		next := ed.Config()
		if err := newProblem(running, next); err != nil {
			return nil, err
		}
		// Entering a sub-mode (`dial-peer voice 10 voip` on an existing
		// peer) is accepted but changes nothing: it must not move the
		// `! Last configuration change` stamp.
		changed = config.Render(running) != config.Render(next)
		return next, nil
	})
	if err != nil {
		// The editor (and so the session's mode) moves on only with a
		// change that is now running: a line the core refused leaves
		// the session where it was.
		s.printError(err, line, 0, indent)
		return
	}
	s.ed = ed
	s.changed = true
	if changed {
		s.srv.noteChange(s.info.user())
	}
	if s.ed.Done() {
		s.leaveConfig()
	}
	for _, a := range actions {
		if err := s.b.Reset(a); err != nil {
			s.printError(err, line, 0, indent)
		}
	}
}

// leaveConfig returns to EXEC mode and, like IOS's %SYS-5-CONFIG_I, logs
// who changed the configuration (never the commands: they may hold
// secrets).
func (s *Session) leaveConfig() {
	s.ed = nil
	if s.changed {
		s.srv.syslog("%SYS-5-CONFIG_I: Configured from console by "+cmp.Or(s.info.user(), "console")+" on "+s.info.Line,
			"user", s.info.user(), "line", s.info.Line)
		s.changed = false
	}
}

// newProblem refuses a change that makes the config invalid in a way it
// was not before (a duplicate number, a button naming a missing DN), so
// that `write memory` can never save a config the next boot rejects.
func newProblem(before, after *config.Config) error {
	errAfter := after.Validate()
	if errAfter == nil {
		return nil
	}
	old := map[string]bool{}
	var lb config.ErrorList
	if errors.As(before.Validate(), &lb) {
		for _, e := range lb {
			old[e.Msg] = true
		}
	}
	var la config.ErrorList
	if !errors.As(errAfter, &la) {
		return &config.CommandError{Msg: errAfter.Error()}
	}
	for _, e := range la {
		if !old[e.Msg] {
			return &config.CommandError{Msg: e.Msg}
		}
	}
	return nil
}

// cutDo splits `do COMMAND` typed in configuration mode.
func cutDo(line string) (rest string, off int, ok bool) {
	t := strings.TrimLeft(line, " \t")
	lead := len(line) - len(t)
	if len(t) < 2 || !strings.EqualFold(t[:2], "do") {
		return "", 0, false
	}
	if len(t) > 2 && t[2] != ' ' && t[2] != '\t' {
		return "", 0, false
	}
	return line[lead+2:], lead + 2, true
}

// isExitAtGlobal: `exit` in global configuration mode returns to EXEC
// (the config grammar has no exit at the top).
func isExitAtGlobal(ed *config.Editor, line string) bool {
	if ed.Mode() != config.ModeGlobal {
		return false
	}
	f := strings.Fields(line)
	return len(f) == 1 && len(f[0]) >= 2 && strings.HasPrefix("exit", strings.ToLower(f[0]))
}

// ---- help and completion ------------------------------------------------------

// keyCallback is x/term's per-key hook: `?` prints help and redraws the
// line (the `?` is not inserted), Tab completes a unique keyword prefix.
func (s *Session) keyCallback(line string, pos int, key rune) (string, int, bool) {
	switch key {
	case '?':
		prefix := line[:pos]
		if inQuotes(prefix) {
			return "", 0, false
		}
		prompt := s.Prompt()
		s.t.Write([]byte(prompt + prefix + "?\n" + s.helpText(prompt, prefix)))
		return line, pos, true
	case '\t':
		if nl, ok := s.complete(line[:pos]); ok {
			return nl + line[pos:], len(nl), true
		}
		return line, pos, true
	}
	return "", 0, false
}

func inQuotes(s string) bool { return strings.Count(s, `"`)%2 == 1 }

// helpText is the `?` answer for prefix typed after prompt.
func (s *Session) helpText(prompt, prefix string) string {
	var text string
	var err error
	off := 0
	line := prefix
	if s.ed != nil {
		if rest, o, ok := cutDo(prefix); ok && (strings.TrimSpace(rest) != "" || strings.HasSuffix(prefix, " ")) {
			line, off = rest, o
			text, err = s.execHelp(line)
		} else {
			text, err = s.ed.Help(prefix)
		}
	} else {
		text, err = s.execHelp(prefix)
	}
	if err == nil {
		return strings.TrimRight(text, "\n") + "\n"
	}
	var ce *cmdtree.Error
	if errors.As(err, &ce) {
		switch ce.Kind {
		case cmdtree.Ambiguous:
			return fmt.Sprintf("%% Ambiguous command:  %q\n", strings.TrimRight(prefix, " \t"))
		case cmdtree.Invalid:
			if ce.Hint == "unrecognized command" && !strings.HasSuffix(line, " ") && !strings.ContainsAny(strings.TrimSpace(line), " \t") {
				return "% Unrecognized command\n"
			}
			return strings.Repeat(" ", len(prompt)+off+ce.Offset) + "^\n% Invalid input detected at '^' marker.\n\n"
		}
	}
	return err.Error() + "\n"
}

func (s *Session) complete(prefix string) (string, bool) {
	if s.ed != nil {
		if rest, off, ok := cutDo(prefix); ok && strings.TrimSpace(rest) != "" {
			if nl, ok := s.execComplete(rest); ok {
				return prefix[:off] + nl, true
			}
			return "", false
		}
		return s.ed.Complete(prefix)
	}
	return s.execComplete(prefix)
}

// ---- terminal monitor -------------------------------------------------------

func (s *Session) startMonitor() error {
	d := s.b.Debug()
	if d == nil {
		return errors.New("% Debugging is not available in this daemon")
	}
	if s.t == nil {
		return nil // batch sessions have nowhere to stream to
	}
	s.monMu.Lock()
	defer s.monMu.Unlock()
	if s.monCancel != nil {
		return nil
	}
	lines, cancel := d.Subscribe()
	stop := make(chan struct{})
	s.monCancel = func() { cancel(); close(stop) }
	s.monitorWG.Add(1)
	go func() {
		defer s.monitorWG.Done()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return
				}
				s.t.Write([]byte(strings.TrimRight(l, "\n") + "\n"))
			case <-stop:
				return
			}
		}
	}()
	return nil
}

func (s *Session) stopMonitor() {
	s.monMu.Lock()
	defer s.monMu.Unlock()
	if s.monCancel != nil {
		s.monCancel()
		s.monCancel = nil
	}
}

// ---- history -------------------------------------------------------------

func (s *Session) addHistory(line string) {
	if strings.TrimSpace(line) == "" {
		return
	}
	s.batchHist = append(s.batchHist, line)
	if len(s.batchHist) > s.historyMax {
		s.batchHist = s.batchHist[len(s.batchHist)-s.historyMax:]
	}
}

// history is the command history, oldest first.
func (s *Session) history() []string {
	if s.t == nil {
		return s.batchHist
	}
	h := s.t.History
	n := min(h.Len(), s.historyMax)
	out := make([]string, 0, n)
	for i := n - 1; i >= 0; i-- {
		out = append(out, h.At(i))
	}
	return out
}

// ---- input filter -----------------------------------------------------------

// inputFilter sits between the transport and x/term: x/term ends ReadLine
// on Ctrl-C and ignores Ctrl-Z, while IOS uses both to leave configuration
// mode (Ctrl-C abandons the line in EXEC mode). It also drops the NUL some
// clients send after CR.
type inputFilter struct {
	r          io.Reader
	configMode func() bool
	pending    []byte
	buf        [512]byte
	err        error
}

func (f *inputFilter) fill() error {
	for len(f.pending) == 0 {
		if f.err != nil {
			return f.err
		}
		n, err := f.r.Read(f.buf[:])
		f.err = err
		for _, c := range f.buf[:n] {
			switch c {
			case 0x03: // Ctrl-C
				if f.configMode() {
					f.pending = append(f.pending, "\x15end\r"...)
				} else {
					f.pending = append(f.pending, "\x15\r"...)
				}
			case 0x1a: // Ctrl-Z
				if f.configMode() {
					f.pending = append(f.pending, "\x15end\r"...)
				}
			case 0:
			default:
				f.pending = append(f.pending, c)
			}
		}
	}
	return nil
}

func (f *inputFilter) Read(p []byte) (int, error) {
	if err := f.fill(); err != nil {
		return 0, err
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	return n, nil
}

// readKey reads one byte for the pager.
func (f *inputFilter) readKey() (byte, error) {
	if err := f.fill(); err != nil {
		return 0, err
	}
	c := f.pending[0]
	f.pending = f.pending[1:]
	return c, nil
}

// idle is how long since the session's last command (show users).
func (i *sessionInfo) idle(now time.Time) time.Duration {
	i.mu.Lock()
	defer i.mu.Unlock()
	return now.Sub(i.last)
}

// ask prints an IOS question and returns the answer. In batch mode
// (`cmed cli -c`, `ssh router CMD`, scripts) nobody can answer, so the
// question is printed on its own line and the default ("") is taken, as
// the brief for `copy running-config startup-config` asks
// (docs/cme-cli.md §Archive-and-reload). ok is false when the terminal
// went away.
func (s *Session) ask(question string) (answer string, ok bool) {
	if s.t == nil {
		s.write(question + "\n")
		return "", true
	}
	cb := s.t.AutoCompleteCallback
	s.t.AutoCompleteCallback = nil // `?` and Tab are plain input here
	defer func() { s.t.AutoCompleteCallback = cb }()
	s.t.SetPrompt(question)
	line, err := s.t.ReadLine()
	if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
		return "", false
	}
	return strings.TrimSpace(line), true
}
