// Command doccheck keeps the documents that code comments cite inside this
// repository. It is run by `make lint` as `go run ./internal/tools/doccheck`.
//
// A comment cites a document as `docs/<file>.md §<Heading>`, where Heading is
// the text of a `##`…`######` heading of that file, written as one word with
// hyphens (e.g. `docs/sccp.md §Registration-sequence`); several headings may
// follow one file (`docs/sccp.md §Framing, §Versions`). RFC sections are cited
// as `RFC 6665 §4.2.1`. doccheck reports, with file and line:
//
//   - a cited docs/ file that does not exist, or a heading it does not have;
//   - a `§Heading` with no docs/ file before it in the same comment;
//   - a `§<number>` with no RFC named before it in the same comment;
//   - a `.md` file named in a comment that is not in the repository (the
//     outside fact sheets `sccp.md`, `cme-cli.md`, … are caught this way);
//   - the other old ways of pointing outside: "sheet §", `ISS-<n>` issue
//     numbers, "seed <nnn>", and paths into the sibling shared folder or
//     the machine's work directory.
//
// The same `docs/…` and `§Heading` checks run over docs/*.md, where a bare
// `§Heading` refers to the page itself. It exits 1 when anything is found.
package main

import (
	"fmt"
	"go/scanner"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	os.Exit(run(root, os.Stdout))
}

// run checks the repository at root, prints one line per problem to w and
// returns the exit code.
func run(root string, w io.Writer) int {
	c := &checker{root: root, headings: map[string]map[string]bool{}}
	if err := c.walk(); err != nil {
		fmt.Fprintf(w, "doccheck: %v\n", err)
		return 2
	}
	sort.Strings(c.problems)
	for _, p := range c.problems {
		fmt.Fprintln(w, p)
	}
	if len(c.problems) > 0 {
		fmt.Fprintf(w, "doccheck: %d problem(s); cite docs/<file>.md §<Heading> or an RFC section\n", len(c.problems))
		return 1
	}
	return 0
}

// selfDir is this tool's directory, relative to the repository root.
const selfDir = "internal/tools/doccheck"

type checker struct {
	root     string
	headings map[string]map[string]bool // docs file name -> headings; nil map = file missing
	problems []string
}

func (c *checker) report(path string, line int, format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf("%s:%d: %s", filepath.ToSlash(path), line, fmt.Sprintf(format, args...)))
}

func (c *checker) walk() error {
	return filepath.WalkDir(c.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != c.root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(c.root, path)
		if strings.HasPrefix(filepath.ToSlash(rel), selfDir+"/") {
			return nil // this tool's own sources spell out the patterns it rejects
		}
		switch {
		case strings.HasSuffix(name, ".go"):
			return c.goFile(path, rel)
		case strings.HasSuffix(name, ".md") && filepath.ToSlash(filepath.Dir(rel)) == "docs":
			return c.mdFile(path, rel)
		}
		return nil
	})
}

// segment is one source line of a comment group, placed in the group's
// joined text at off.
type segment struct {
	off, line int
}

// group is consecutive comment lines joined with spaces, so a citation
// broken over two lines is still one match.
type group struct {
	text strings.Builder
	segs []segment
}

func (g *group) add(line int, s string) {
	if g.text.Len() > 0 {
		g.text.WriteByte(' ')
	}
	g.segs = append(g.segs, segment{off: g.text.Len(), line: line})
	g.text.WriteString(s)
}

func (g *group) lineAt(off int) int {
	i := sort.Search(len(g.segs), func(i int) bool { return g.segs[i].off > off }) - 1
	if i < 0 {
		i = 0
	}
	return g.segs[i].line
}

func (c *checker) goFile(path, rel string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	file := fset.AddFile(path, -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, func(token.Position, string) {}, scanner.ScanComments)
	var g *group
	lastLine := -2
	flush := func() {
		if g != nil {
			c.checkText(rel, g, "", true)
		}
		g = nil
	}
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok != token.COMMENT {
			continue
		}
		p := fset.Position(pos)
		if g == nil || p.Line != lastLine+1 {
			flush()
			g = &group{}
		}
		if strings.HasPrefix(lit, "//") {
			g.add(p.Line, strings.TrimPrefix(lit, "//"))
			lastLine = p.Line
			continue
		}
		// A /* */ comment: one segment per line.
		body := strings.TrimSuffix(strings.TrimPrefix(lit, "/*"), "*/")
		for i, l := range strings.Split(body, "\n") {
			g.add(p.Line+i, l)
		}
		lastLine = p.Line + strings.Count(lit, "\n")
	}
	flush()
	return nil
}

var fence = regexp.MustCompile("^\\s*(```|~~~)")

func (c *checker) mdFile(path, rel string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	self := filepath.Base(path)
	// One group per paragraph, so a reference broken over lines still
	// matches; fenced code is not prose and is skipped.
	g, inFence := &group{}, false
	flush := func() {
		if len(g.segs) > 0 {
			c.checkText(rel, g, self, false)
		}
		g = &group{}
	}
	for i, l := range strings.Split(string(data), "\n") {
		switch {
		case fence.MatchString(l):
			flush()
			inFence = !inFence
		case inFence:
		case strings.TrimSpace(l) == "" || heading.MatchString(l):
			flush()
		default:
			g.add(i+1, l)
		}
	}
	flush()
	return nil
}

var (
	// docRef is a repository document: docs/<file>.md, optionally preceded
	// by a path that must then also be the repository's docs directory.
	docRef = regexp.MustCompile(`(?:^|[^\w./-])((?:[\w.-]+/)*docs/([\w-]+\.md))`)
	// section is §Heading (a name) or §4.2.1 (a number, RFC only).
	section = regexp.MustCompile(`§\s?([A-Za-z][\w-]*[\w]|[A-Za-z]|\d[\d.]*)`)
	// mdName is any *.md file named in a comment.
	mdName = regexp.MustCompile(`(?:^|[^\w./-])((?:\.\.?/|/)?(?:[\w.-]+/)*[\w-]+\.md)\b`)
	rfc    = regexp.MustCompile(`\b(?:RFC\s*\d+|ITU-T|[GEX]\.\d+|HTML|ISO|IEEE)`)
	// outside are the old ways of pointing at material outside the repository.
	outside = []struct {
		re   *regexp.Regexp
		what string
	}{
		{regexp.MustCompile(`(?i)\b(?:fact\s+)?sheet\s*(?:§|=|\()`), `the outside "sheet"`},
		{regexp.MustCompile(`\bISS-\d+`), "an outside issue number (ISS-n); cite the docs/ section that lists it"},
		{regexp.MustCompile(`(?i)\bseeds?\s+\d{3}\b`), "an outside seed document"},
		{regexp.MustCompile(`(?:\.\./)+` + "shared" + `\b|/` + "work" + `/|\bshared/(?:reference|seeds|peers|captures)\b`), "a path outside the repository"},
	}
)

// checkText checks one comment group (or one markdown line). self is the
// docs file a bare §Heading refers to ("" in Go code, where it is an error).
func (c *checker) checkText(rel string, g *group, self string, strict bool) {
	text := g.text.String()
	// Documents named, by offset, to attribute each § to the last one.
	type mention struct {
		off  int
		file string // docs file name, "" for an RFC
	}
	var ms []mention
	for _, m := range docRef.FindAllStringSubmatchIndex(text, -1) {
		full, file := text[m[2]:m[3]], text[m[4]:m[5]]
		if full != "docs/"+file {
			c.report(rel, g.lineAt(m[2]), "%s: cite documents as docs/%s", full, file)
		}
		if c.heads(file) == nil {
			c.report(rel, g.lineAt(m[2]), "docs/%s does not exist", file)
		}
		ms = append(ms, mention{m[2], file})
	}
	for _, m := range rfc.FindAllStringIndex(text, -1) {
		ms = append(ms, mention{m[0], ""})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].off < ms[j].off })
	for _, m := range section.FindAllStringSubmatchIndex(text, -1) {
		name := text[m[2]:m[3]]
		line := g.lineAt(m[0])
		var cur *mention
		for i := range ms {
			if ms[i].off < m[0] {
				cur = &ms[i]
			}
		}
		if name[0] >= '0' && name[0] <= '9' {
			if strict && (cur == nil || cur.file != "") {
				c.report(rel, line, "§%s: a numbered section needs an RFC before it (sections of docs/ files are names)", name)
			}
			continue
		}
		file := self
		if cur != nil {
			file = cur.file
		}
		if file == "" {
			c.report(rel, line, "§%s: no docs/<file>.md before it", name)
			continue
		}
		h := c.heads(file)
		if h != nil && !h[name] {
			c.report(rel, line, "docs/%s has no heading %q", file, name)
		}
	}
	if !strict {
		return
	}
	for _, m := range mdName.FindAllStringSubmatchIndex(text, -1) {
		name := text[m[2]:m[3]]
		if strings.HasPrefix(name, "docs/") {
			continue // checked above
		}
		if name[0] == '/' || strings.HasPrefix(name, "..") || !c.exists(name) {
			c.report(rel, g.lineAt(m[2]), "%s is not a document of this repository; cite docs/<file>.md §<Heading>", name)
		}
	}
	for _, o := range outside {
		for _, m := range o.re.FindAllStringIndex(text, -1) {
			c.report(rel, g.lineAt(m[0]), "%q cites %s", strings.TrimSpace(text[m[0]:m[1]]), o.what)
		}
	}
}

func (c *checker) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(rel)))
	return err == nil
}

var heading = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*\s*$`)

// heads returns the headings of docs/file, nil when the file is missing.
func (c *checker) heads(file string) map[string]bool {
	if h, ok := c.headings[file]; ok {
		return h
	}
	var h map[string]bool
	if data, err := os.ReadFile(filepath.Join(c.root, "docs", file)); err == nil {
		h = map[string]bool{}
		inFence := false
		for _, l := range strings.Split(string(data), "\n") {
			if fence.MatchString(l) {
				inFence = !inFence
				continue
			}
			if m := heading.FindStringSubmatch(l); m != nil && !inFence {
				h[m[1]] = true
			}
		}
	}
	c.headings[file] = h
	return h
}
