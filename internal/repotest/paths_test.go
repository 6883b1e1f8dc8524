package repotest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The repository must stand on its own: no tracked file may name a
// directory next to the checkout (a relative path climbing to a sibling
// "shared" directory) or a path that only exists on one machine (home and
// workspace directories). Tests find their inputs with Root / Peers and
// write to t.TempDir().
//
// Rules, applied to tracked text files with git grep:
//
//   - everywhere: a relative path climbing out to a sibling "shared"
//     directory, and any absolute path under the machine-specific roots in
//     machineRoots;
//   - in code and test peers (codeGlobs): also absolute paths under the
//     temporary directory, which code must get from os.TempDir or
//     t.TempDir. Markdown may still show it in example shell sessions,
//     where the reader picks the directory.
//
// System paths stay allowed because they name the platform, not a machine:
// the roots usr, etc, dev, proc, sys, var, bin, sbin, lib and run are not
// in machineRoots (Kamailio's schema under usr/share, the proc filesystem,
// /dev/null, /bin/sh). Other absolute-looking strings, such as HTTP routes,
// are not file paths and are not looked at.
//
// allowed lists exceptions as "path:regexp on the line"; it is empty and
// should stay so.

// machineRoots are top-level directories that only exist on a particular
// machine or user account.
var machineRoots = []string{"work", "root", "home", "Users", "mnt", "media", "scratch"}

// codeGlobs are the files in which the temporary directory is also banned.
var codeGlobs = []string{"*.go", "*.sh", "*.cfg", "*.xml", "*.yml", "*.yaml", "Makefile", "*.mk", "*.service"}

var allowed = []string{}

// pathRule is one banned pattern: an extended regular expression for git
// grep and the files it applies to.
type pathRule struct {
	name  string
	ere   string
	globs []string
}

func pathRules() []pathRule {
	// Written without the literal text they look for, so this file does
	// not match itself.
	notPathChar := `(^|[^A-Za-z0-9_.~-])`
	return []pathRule{
		{"sibling shared directory", `(\.\.[/\\])+shared([/\\"'` + "`" + `[:space:]]|$)`, nil},
		{"machine-specific absolute path", notPathChar + `/(` + strings.Join(machineRoots, "|") + `)/`, nil},
		{"temporary directory in code", notPathChar + `/tmp(/|["'` + "`" + `[:space:]]|$)`, codeGlobs},
	}
}

// inGitCheckout reports whether root is inside a git work tree with git
// available.
func inGitCheckout(root string) bool {
	if _, err := exec.LookPath("git"); err != nil {
		return false
	}
	cmd := exec.Command("git", "rev-parse", "--is-inside-work-tree")
	cmd.Dir = root
	out, err := cmd.Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// gitGrep returns "path:line:text" hits of rule over tracked files under
// root.
func gitGrep(t *testing.T, root string, rule pathRule) []string {
	t.Helper()
	args := []string{"grep", "-n", "-I", "-E", "-e", rule.ere, "--"}
	args = append(args, rule.globs...)
	cmd := exec.Command("git", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() == 1: // no match
		return nil
	default:
		t.Fatalf("git %s: %v %s", strings.Join(args, " "), err, out)
	}
	return strings.Split(strings.TrimRight(string(out), "\n"), "\n")
}

// isAllowed reports whether a git grep hit matches an entry of allow.
func isAllowed(hit string, allow []string) bool {
	path, rest, _ := strings.Cut(hit, ":")
	_, text, _ := strings.Cut(rest, ":")
	for _, a := range allow {
		p, re, ok := strings.Cut(a, ":")
		if ok && p == path && regexp.MustCompile(re).MatchString(text) {
			return true
		}
	}
	return false
}

func mustCheckout(t *testing.T, root string) {
	t.Helper()
	if inGitCheckout(root) {
		return
	}
	if os.Getenv("CMED_INTEROP") == "1" || os.Getenv("CI") == "true" {
		t.Fatal("not a git checkout (or git missing): the tracked-file path check cannot run under CMED_INTEROP=1 / CI=true")
	}
	t.Skip("not a git checkout (or git missing)")
}

func TestNoPathsOutsideTheRepository(t *testing.T) {
	root := Root(t)
	mustCheckout(t, root)
	for _, rule := range pathRules() {
		for _, hit := range gitGrep(t, root, rule) {
			if !isAllowed(hit, allowed) {
				t.Errorf("%s: %s", rule.name, hit)
			}
		}
	}
}

// TestPathRulesCatchSamples runs the rules with git grep on a throw-away
// repository holding known good and bad lines, so that the check above is
// known to be able to fail.
func TestPathRulesCatchSamples(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CMED_INTEROP") == "1" || os.Getenv("CI") == "true" {
			t.Fatal("git not installed")
		}
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	git("init", "-q")
	dotdot, slash := "..", "/"
	bad := map[string]string{ // file -> a line every rule set must flag
		"a.go":      `var d = "` + dotdot + slash + "shared" + slash + `peers"`,
		"b.go":      `const x = "` + slash + "work" + slash + `shared/peers/x.xml"`,
		"c.md":      "see " + slash + "home" + slash + "someone/notes",
		"d.sh":      "cp x " + slash + "tmp" + slash + "y",
		"e.cfg":     `modparam("x", "db_url", "text://` + slash + "tmp" + slash + `db")`,
		"f.go":      `// run from ` + dotdot + slash + dotdot + slash + dotdot + slash + "shared",
		"g.txt":     slash + "root" + slash + ".config",
		"h.xml":     `<a href="` + slash + "Users" + slash + `me"/>`,
		"i/j.yml":   "dir: " + slash + "tmp",
		"k.go":      "\t" + `exec.Command("ls", "` + slash + "tmp" + `")`,
		"l/m.cfg":   "path=" + slash + "mnt" + slash + "disk",
		"n.md":      "WORK=" + slash + "work" + slash + "x sh run.sh",
		"o/p.go":    `s := "` + dotdot + `\` + "shared" + `\peers"`,
		"q.sh":      "cat " + dotdot + slash + "shared",
		"r.go":      "x := `" + slash + "home" + slash + "u`",
		"s.service": "ExecStart=" + slash + "tmp" + slash + "cmed",
	}
	good := map[string]string{ // lines no rule may flag
		"ok1.go":  `exec.Command("cp", "-r", "` + slash + `usr/share/kamailio/dbtext/kamailio", dst)`,
		"ok2.go":  `os.ReadFile("` + slash + `proc/self/stat")`,
		"ok3.sh":  "#!" + slash + "bin/sh\nexec 2>" + slash + "dev/null",
		"ok4.md":  "go build -o " + slash + "tmp" + slash + "cmed ./cmd/cmed",
		"ok5.go":  `mux.Handle("` + slash + `api/lines", h) // https://example.com/home/x`,
		"ok6.md":  "see test/peers/sipp and " + dotdot + slash + "sipp/users.csv",
		"ok7.go":  `filepath.Join(root, "test", "peers") // github.com/x/home/y`,
		"ok8.cfg": "listen=udp:127.0.0.1:5070",
		"ok9.txt": "shared " + dotdot + slash + "sharedlib is a different name",
	}
	for f, text := range mergeMaps(bad, good) {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	git("add", ".")
	git("commit", "-q", "-m", "samples")

	flagged := map[string]bool{}
	for _, rule := range pathRules() {
		for _, hit := range gitGrep(t, dir, rule) {
			path, _, _ := strings.Cut(hit, ":")
			flagged[path] = true
		}
	}
	for f := range bad {
		if !flagged[f] {
			t.Errorf("%s not flagged: %q", f, bad[f])
		}
	}
	for f := range good {
		if flagged[f] {
			t.Errorf("%s flagged but legitimate: %q", f, good[f])
		}
	}
	// An allow-list entry silences exactly its line.
	hit := "b.go:1:" + bad["b.go"]
	if !isAllowed(hit, []string{`b.go:shared/peers`}) || isAllowed(hit, []string{`a.go:shared`}) {
		t.Error("allow-list matching is wrong")
	}
}

func mergeMaps(a, b map[string]string) map[string]string {
	m := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}
