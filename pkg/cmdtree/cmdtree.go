// Package cmdtree is a generic, pure IOS-style command tree: commands are
// declared as spec strings, typed lines are matched with IOS abbreviation
// rules, and help / completion / errors use IOS wording (docs/cme-cli.md §Parser).
//
// It knows nothing about telephony and does no I/O; the caller owns modes,
// prompts and terminals. One Tree is one mode's grammar.
//
// Spec syntax (one command per Add):
//
//	ephone-dn <1-288> [dual-line|octo-line]
//	call-forward noan WORD timeout <3-60000>
//	transfer-system {blind|full-blind|full-consult [dss]|local-consult}
//	blf-speed-dial <1-75> ! WORD label STRING [device]
//
// Tokens: a plain word is a keyword; `<lo-hi>` an integer range; any other
// upper-case name a parameter type (WORD, LINE, STRING, A.B.C.D, H.H.H, or
// one added with DefineParam). `[x]` is optional, `{a|b}` is a required
// choice, both nest. `!` marks where the `no`/`default` form of the command
// may stop (`no blf-speed-dial 3`); without it the negated form must be
// complete.
//
// Trees are immutable after building and safe for concurrent use.
package cmdtree

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Action runs a matched command.
type Action func(m *Match) error

// ParamType describes a parameter token kind.
type ParamType struct {
	Name string // as shown in help: "<1-48>", "WORD", "LINE", "H.H.H"
	Help string // default description in `?` output
	// Hint says what a valid value looks like; it is attached to
	// Invalid-input errors at this token.
	Hint string
	// Rest makes the parameter take the rest of the line (LINE).
	Rest bool
	// Check returns -1 if s is acceptable, else the byte offset in s of the
	// first offending character (len(s) when s is too short).
	Check func(s string) int
}

// Node is one token position in the tree.
type Node struct {
	Word     string     // keyword, lower case; "" for a parameter
	Param    *ParamType // nil for a keyword
	Help     string
	Children []*Node
	run      Action // the command may end here
	noRun    Action // the no/default form may end here
	negator  byte   // 'n' for the virtual `no`, 'd' for `default`
	// nameInner and nameEnd mark keywords of a command's name: the
	// keywords a spec starts with, before its first parameter, group or
	// `!` (`ip http server`: ip and http are inner, server ends it). A
	// word that fails where only more name could follow names a command
	// the tree does not have (Error.Unknown); a word that fails after a
	// complete name is a bad argument to a known command.
	nameInner bool
	nameEnd   bool
}

// Display is the node's text in help output.
func (n *Node) Display() string {
	if n.Param != nil {
		return n.Param.Name
	}
	return n.Word
}

// namePrefix reports that only keywords of longer command names may
// follow n: n is the root, or an inner name keyword that does not end a
// command name itself and takes no parameter.
func (n *Node) namePrefix(root bool) bool {
	if !root && (!n.nameInner || n.nameEnd) {
		return false
	}
	for _, c := range n.Children {
		if c.Param != nil {
			return false
		}
	}
	return true
}

// Runnable reports whether a command may end at this node (`<cr>`).
func (n *Node) Runnable(negated bool) bool {
	return n.run != nil || (negated && n.noRun != nil)
}

// Tree is the grammar of one mode.
type Tree struct {
	root   *Node
	params map[string]*ParamType
	help   map[string]string
}

// New returns an empty tree with the built-in parameter types.
func New() *Tree {
	t := &Tree{root: &Node{}, params: map[string]*ParamType{}, help: map[string]string{}}
	for _, p := range builtinParams() {
		t.params[p.Name] = p
	}
	return t
}

// DefineParam makes a parameter type usable in specs under p.Name.
func (t *Tree) DefineParam(p *ParamType) { t.params[p.Name] = p }

// Describe sets help texts for keywords: pairs of keyword, text.
func (t *Tree) Describe(pairs ...string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		t.help[strings.ToLower(pairs[i])] = pairs[i+1]
	}
}

// AllowNegation adds the `no` and `default` prefixes to the tree's root.
func (t *Tree) AllowNegation() {
	t.root.Children = append(t.root.Children,
		&Node{Word: "no", Help: "Negate a command or set its defaults", negator: 'n'},
		&Node{Word: "default", Help: "Set a command to its defaults", negator: 'd'})
}

// MustAdd is Add that panics on a malformed spec (grammar is code).
func (t *Tree) MustAdd(spec string, run Action, help ...string) {
	if err := t.Add(spec, run, help...); err != nil {
		panic(err)
	}
}

// Add declares a command. help entries are "TOKEN=description" overrides for
// this command's tokens (e.g. "<1-48>=Maximum phones to support").
func (t *Tree) Add(spec string, run Action, help ...string) error {
	if run == nil {
		return fmt.Errorf("cmdtree: %q: nil action", spec)
	}
	items, err := parseSpec(spec)
	if err != nil {
		return fmt.Errorf("cmdtree: %q: %w", spec, err)
	}
	overrides := map[string]string{}
	for _, h := range help {
		k, v, ok := strings.Cut(h, "=")
		if !ok {
			return fmt.Errorf("cmdtree: %q: help %q is not TOKEN=text", spec, h)
		}
		overrides[strings.ToLower(k)] = v
	}
	name := 0
	for _, it := range items {
		if it.tok == "" || it.tok == "!" {
			break
		}
		if p, err := t.paramFor(it.tok); err != nil || p != nil {
			break
		}
		name++
	}
	for _, seq := range expand(items) {
		if err := t.insert(seq, name, run, overrides); err != nil {
			return fmt.Errorf("cmdtree: %q: %w", spec, err)
		}
	}
	return nil
}

func (t *Tree) insert(seq []string, name int, run Action, overrides map[string]string) error {
	n := t.root
	if len(seq) == 0 || (len(seq) == 1 && seq[0] == "!") {
		return errors.New("empty command")
	}
	for i, tok := range seq {
		if tok == "!" {
			n.noRun = run
			continue
		}
		child, err := t.child(n, tok)
		if err != nil {
			return err
		}
		if h, ok := overrides[strings.ToLower(tok)]; ok {
			child.Help = h
		}
		switch {
		case i == name-1:
			child.nameEnd = true
		case i < name-1:
			child.nameInner = true
		}
		n = child
	}
	if n.run != nil {
		return fmt.Errorf("duplicate command path %q", strings.Join(seq, " "))
	}
	n.run = run
	return nil
}

// child finds or creates the child of n for spec token tok.
func (t *Tree) child(n *Node, tok string) (*Node, error) {
	p, err := t.paramFor(tok)
	if err != nil {
		return nil, err
	}
	for _, c := range n.Children {
		if c.negator != 0 {
			continue
		}
		if p == nil && c.Param == nil && c.Word == strings.ToLower(tok) {
			return c, nil
		}
		if p != nil && c.Param != nil && c.Param.Name == p.Name {
			return c, nil
		}
	}
	c := &Node{Param: p}
	if p == nil {
		c.Word = strings.ToLower(tok)
		c.Help = t.help[c.Word]
	} else {
		c.Help = p.Help
	}
	n.Children = append(n.Children, c)
	return c, nil
}

// paramFor maps a spec token to a parameter type, or nil for a keyword.
func (t *Tree) paramFor(tok string) (*ParamType, error) {
	if strings.HasPrefix(tok, "<") && strings.HasSuffix(tok, ">") {
		if p, ok := t.params[tok]; ok {
			return p, nil
		}
		lo, hi, ok := strings.Cut(tok[1:len(tok)-1], "-")
		a, err1 := strconv.ParseInt(lo, 10, 64)
		b, err2 := strconv.ParseInt(hi, 10, 64)
		if !ok || err1 != nil || err2 != nil || a > b {
			return nil, fmt.Errorf("bad range %q", tok)
		}
		p := RangeParam(a, b)
		t.params[tok] = p
		return p, nil
	}
	if p, ok := t.params[tok]; ok {
		return p, nil
	}
	if tok == strings.ToUpper(tok) && strings.ToLower(tok) != tok {
		return nil, fmt.Errorf("unknown parameter type %q", tok)
	}
	return nil, nil
}

// Root is the tree's root node (for callers that walk the grammar).
func (t *Tree) Root() *Node { return t.root }

// Token is one matched word of a command line.
type Token struct {
	Text   string // as typed (for LINE: the rest of the line)
	Value  string // keyword: its full name; STRING: unquoted; others: Text
	Offset int    // byte offset in the line
	Node   *Node
}

// IsKeyword reports whether the token matched a keyword.
func (tk Token) IsKeyword() bool { return tk.Node.Param == nil }

// Match is a parsed command line.
type Match struct {
	Line    string
	Negate  bool // `no ...`
	Default bool // `default ...`
	Tokens  []Token
	// Ctx is what the caller passed to Exec.
	Ctx any
	end *Node
}

// Negated reports `no` or `default`.
func (m *Match) Negated() bool { return m.Negate || m.Default }

// Args are the values of the parameter tokens, in order.
func (m *Match) Args() []string {
	var out []string
	for _, tk := range m.Tokens {
		if !tk.IsKeyword() {
			out = append(out, tk.Value)
		}
	}
	return out
}

// Arg is the i-th parameter value, or "".
func (m *Match) Arg(i int) string {
	a := m.Args()
	if i < 0 || i >= len(a) {
		return ""
	}
	return a[i]
}

// Int is the i-th parameter as an integer (0 when absent or not a number).
func (m *Match) Int(i int) int {
	n, _ := strconv.Atoi(m.Arg(i))
	return n
}

// Has reports whether keyword kw was matched.
func (m *Match) Has(kw string) bool {
	for _, tk := range m.Tokens {
		if tk.IsKeyword() && tk.Node.Word == kw {
			return true
		}
	}
	return false
}

// After is the value of the token right after keyword kw.
func (m *Match) After(kw string) (string, bool) {
	for i, tk := range m.Tokens {
		if tk.IsKeyword() && tk.Node.Word == kw && i+1 < len(m.Tokens) {
			return m.Tokens[i+1].Value, true
		}
	}
	return "", false
}

// Keyword is the i-th token's keyword, or "".
func (m *Match) Keyword(i int) string {
	if i < 0 || i >= len(m.Tokens) || !m.Tokens[i].IsKeyword() {
		return ""
	}
	return m.Tokens[i].Node.Word
}

// Canonical is the command with keywords spelled out and parameters as
// typed, without the no/default prefix: what show running-config prints.
func (m *Match) Canonical() string {
	parts := make([]string, len(m.Tokens))
	for i, tk := range m.Tokens {
		if tk.IsKeyword() {
			parts[i] = tk.Node.Word
		} else {
			parts[i] = tk.Text
		}
	}
	return strings.Join(parts, " ")
}

// Parse matches one line. An empty line gives (nil, nil).
func (t *Tree) Parse(line string) (*Match, error) {
	toks := tokenize(line)
	if len(toks) == 0 {
		return nil, nil
	}
	w := t.walk(line, toks)
	if w.err != nil {
		return nil, w.err
	}
	if !w.node.Runnable(w.negated()) {
		return nil, &Error{Kind: Incomplete, Line: line, Offset: len(strings.TrimRight(line, " \t")),
			Hint: expectHint(w.node, w.negated())}
	}
	m := &Match{Line: line, Negate: w.neg == 'n', Default: w.neg == 'd', Tokens: w.matched, end: w.node}
	return m, nil
}

// Exec parses line and runs its action with ctx in Match.Ctx. An empty
// line does nothing.
func (t *Tree) Exec(line string, ctx any) error {
	m, err := t.Parse(line)
	if err != nil || m == nil {
		return err
	}
	return m.Run(ctx)
}

// Run calls the matched command's action with ctx in m.Ctx.
func (m *Match) Run(ctx any) error {
	m.Ctx = ctx
	if m.end.run != nil {
		return m.end.run(m)
	}
	return m.end.noRun(m) // only reachable in the no/default form
}

type walkResult struct {
	node    *Node
	matched []Token
	neg     byte
	rest    bool // a LINE parameter took the rest of the line
	err     *Error
}

func (w *walkResult) negated() bool { return w.neg != 0 }

// walk matches toks from the root as far as they go.
func (t *Tree) walk(line string, toks []rawToken) walkResult {
	w := walkResult{node: t.root}
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		if w.rest || len(w.node.Children) == 0 {
			w.err = &Error{Kind: Invalid, Line: line, Offset: tk.off}
			return w
		}
		c, e := pick(w.node, tk.text, w.neg != 0, w.node == t.root && len(w.matched) == 0)
		if e != nil {
			if e.Kind == Invalid && e.Offset == 0 && w.node.namePrefix(w.node == t.root) {
				e.Unknown = true
			}
			e.Line, e.Offset = line, tk.off+e.Offset
			w.err = e
			return w
		}
		if c.negator != 0 {
			w.neg = c.negator
			continue
		}
		text, value := tk.text, tk.text
		if c.Param == nil {
			value = c.Word
		} else if c.Param.Rest {
			text = strings.TrimRight(line[tk.off:], " \t")
			if bad := c.Param.Check(text); bad >= 0 {
				w.err = &Error{Kind: Invalid, Line: line, Offset: tk.off + bad, Hint: c.Param.Hint}
				return w
			}
			value = text
			w.rest = true
			w.matched = append(w.matched, Token{Text: text, Value: value, Offset: tk.off, Node: c})
			w.node = c
			return w
		} else if c.Param.Name == "STRING" {
			value = unquote(text)
		}
		w.matched = append(w.matched, Token{Text: text, Value: value, Offset: tk.off, Node: c})
		w.node = c
	}
	return w
}

// pick chooses n's child for one typed word: an exact keyword wins, then a
// unique keyword prefix, then the first parameter that accepts the word
// (docs/cme-cli.md §Parser). Error offsets are relative to the word.
func pick(n *Node, word string, negated, atRoot bool) (*Node, *Error) {
	low := strings.ToLower(word)
	var prefix []*Node
	var params []*Node
	bad := -1
	var hint string
	for _, c := range n.Children {
		if c.negator != 0 && (!atRoot || negated) {
			continue
		}
		if c.Param == nil {
			if c.Word == low {
				return c, nil
			}
			if strings.HasPrefix(c.Word, low) {
				prefix = append(prefix, c)
			}
			continue
		}
		if c.Param.Rest {
			params = append(params, c) // checked against the whole rest by walk
			continue
		}
		if off := c.Param.Check(word); off < 0 {
			params = append(params, c)
		} else if bad < 0 || off > bad {
			bad, hint = off, c.Param.Hint
		}
	}
	switch {
	case len(prefix) == 1:
		return prefix[0], nil
	case len(prefix) > 1 && len(params) == 0:
		names := make([]string, len(prefix))
		for i, p := range prefix {
			names[i] = p.Word
		}
		sort.Strings(names)
		return nil, &Error{Kind: Ambiguous, Hint: fmt.Sprintf("%q could be %s", word, strings.Join(names, ", "))}
	case len(params) > 0:
		// A constrained parameter (a range, an address) beats a free-form
		// one that also accepts the word: `secret 8 $8$...` reads 8 as the
		// encryption type, as IOS does.
		for _, p := range params {
			if !p.Param.Rest && p.Param.Name != "WORD" && p.Param.Name != "STRING" {
				return p, nil
			}
		}
		return params[0], nil
	}
	if bad < 0 {
		bad = 0
		hint = expectHint(n, negated)
	}
	return nil, &Error{Kind: Invalid, Offset: bad, Hint: hint}
}

// expectHint lists what may follow n, for error hints.
func expectHint(n *Node, negated bool) string {
	var names []string
	for _, c := range n.Children {
		if c.negator == 0 {
			names = append(names, c.Display())
		}
	}
	sort.Strings(names)
	const max = 8
	if len(names) > max {
		names = append(names[:max], "...")
	}
	if len(names) == 0 {
		return "the command ends here"
	}
	s := "expected " + strings.Join(names, " | ")
	if n.Runnable(negated) {
		s += " or end of line"
	}
	return s
}

// ErrorKind classifies a parse failure.
type ErrorKind int

const (
	Invalid    ErrorKind = iota + 1 // unknown keyword or bad value
	Ambiguous                       // a prefix matches several keywords
	Incomplete                      // the command needs more words
)

// Error is a parse failure with IOS wording. Offset is the byte index of
// the first offending character in Line (where IOS puts the '^').
type Error struct {
	Kind   ErrorKind
	Line   string
	Offset int
	// Hint is a plain-language explanation for logs and config files;
	// IOS itself does not print it.
	Hint string
	// Unknown is set on an Invalid error whose word stands where only a
	// command name could continue (at the start of the line, or after
	// `ip` when the tree has `ip http server`): the line is a command the
	// tree does not know, not a known command with a bad argument. A
	// config loader may keep such lines instead of refusing them.
	Unknown bool
}

// Error is the exact IOS message line.
func (e *Error) Error() string {
	switch e.Kind {
	case Ambiguous:
		return `% Ambiguous command:  "` + strings.TrimRight(e.Line, " \t") + `"`
	case Incomplete:
		return "% Incomplete command."
	}
	return "% Invalid input detected at '^' marker."
}

// Caret is the marker line for Invalid errors: indent spaces (the prompt
// length) plus Offset spaces, then '^'.
func (e *Error) Caret(indent int) string {
	return strings.Repeat(" ", indent+e.Offset) + "^"
}

// HelpItem is one line of `?` output.
type HelpItem struct {
	Name string
	Help string
}

// FormatHelp lays items out like IOS: two leading spaces, names padded to
// a common width, two spaces, the description.
func FormatHelp(items []HelpItem) string {
	w := 0
	for _, it := range items {
		w = max(w, len(it.Name))
	}
	var b strings.Builder
	for _, it := range items {
		if it.Help == "" {
			b.WriteString("  " + it.Name + "\n")
			continue
		}
		fmt.Fprintf(&b, "  %-*s  %s\n", w, it.Name, it.Help)
	}
	return b.String()
}

// Help answers `?` typed at the end of line: after a space it lists what
// may come next (with `<cr>` when the command may end); glued to a word it
// lists the keywords that word abbreviates.
func (t *Tree) Help(line string) ([]HelpItem, error) {
	toks := tokenize(line)
	partial := ""
	if len(toks) > 0 && !endsWithSpace(line) {
		partial = toks[len(toks)-1].text
		toks = toks[:len(toks)-1]
	}
	w := t.walk(line, toks)
	if w.err != nil {
		return nil, w.err
	}
	if w.rest {
		return []HelpItem{{Name: "<cr>"}}, nil
	}
	var params, kws []HelpItem
	for _, c := range w.node.Children {
		if c.negator != 0 && (w.node != t.root || w.negated()) {
			continue
		}
		switch {
		case partial == "" && c.Param != nil:
			params = append(params, HelpItem{c.Param.Name, c.Help})
		case partial == "":
			kws = append(kws, HelpItem{c.Word, c.Help})
		case c.Param == nil && strings.HasPrefix(c.Word, strings.ToLower(partial)):
			kws = append(kws, HelpItem{Name: c.Word})
		case c.Param != nil && (c.Param.Rest || c.Param.Check(partial) < 0):
			params = append(params, HelpItem{Name: c.Param.Name})
		}
	}
	sort.Slice(kws, func(i, j int) bool { return kws[i].Name < kws[j].Name })
	items := append(params, kws...)
	if partial == "" && w.node != t.root && w.node.Runnable(w.negated()) {
		items = append(items, HelpItem{Name: "<cr>"})
	}
	if len(items) == 0 {
		off := len(line)
		if partial != "" {
			off = len(line) - len(partial)
		}
		return nil, &Error{Kind: Invalid, Line: line, Offset: off, Hint: "unrecognized command"}
	}
	return items, nil
}

// Complete answers Tab: if the last word abbreviates exactly one keyword,
// it returns the line with that word spelled out and a trailing space.
func (t *Tree) Complete(line string) (string, bool) {
	toks := tokenize(line)
	if len(toks) == 0 || endsWithSpace(line) {
		return "", false
	}
	last := toks[len(toks)-1]
	w := t.walk(line, toks[:len(toks)-1])
	if w.err != nil || w.rest {
		return "", false
	}
	low := strings.ToLower(last.text)
	var found *Node
	for _, c := range w.node.Children {
		if c.Param != nil || (c.negator != 0 && (w.node != t.root || w.negated())) {
			continue
		}
		if c.Word == low {
			found = c
			break
		}
		if strings.HasPrefix(c.Word, low) {
			if found != nil {
				return "", false
			}
			found = c
		}
	}
	if found == nil {
		return "", false
	}
	return line[:last.off] + found.Word + " ", true
}

func endsWithSpace(s string) bool {
	return s == "" || s[len(s)-1] == ' ' || s[len(s)-1] == '\t'
}
