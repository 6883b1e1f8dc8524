// Package repotest locates this repository's own files for tests, so that
// no test depends on anything outside the checkout: the repository root
// (the directory whose go.mod declares this module) and the third-party
// test peers kept under test/peers (sipp scenarios, the Kamailio presence
// server; see test/peers/README.md).
package repotest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Module is the module path declared by the repository's go.mod.
const Module = "github.com/cmed-project/cmed"

// maxDepth bounds the walk up from a starting directory.
const maxDepth = 64

// Root returns the absolute path of the repository root. It walks up from
// the working directory (go test runs a package's tests in its source
// directory) and, failing that, from this source file, to the first
// directory holding a go.mod for Module. It fails tb when there is none.
func Root(tb testing.TB) string {
	tb.Helper()
	if wd, err := os.Getwd(); err == nil {
		if r, ok := findRoot(wd); ok {
			return r
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		if r, ok := findRoot(filepath.Dir(file)); ok {
			return r
		}
	}
	tb.Fatalf("repository root (go.mod of %s) not found above the working directory", Module)
	return ""
}

// Peers returns the path of test/peers joined with elem, and fails tb when
// that file or directory does not exist.
func Peers(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Root(tb), "test", "peers"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("test peer file missing: %v", err)
	}
	return p
}

// findRoot walks up from dir to the directory whose go.mod declares Module.
func findRoot(dir string) (string, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for range maxDepth {
		if declaresModule(filepath.Join(dir, "go.mod")) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", false
}

// declaresModule reports whether the go.mod at path has "module Module".
func declaresModule(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == Module
		}
	}
	return false
}

// Interop reports whether missing third-party peers must fail the test
// instead of skipping it: CMED_INTEROP=1, as CI (.ci/run) sets after
// installing them.
func Interop() bool { return os.Getenv("CMED_INTEROP") == "1" }

// Tool returns the path of an external program a test drives (sipp,
// tshark, curl, kamailio, ...). When it is not installed the test is
// skipped, or fails under Interop, naming the tool so the missing install
// step is obvious. Every interop test finds its tools through here.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if Interop() {
			tb.Fatalf("%s is required with CMED_INTEROP=1 (README \"Requirements\"): %v", name, err)
		}
		tb.Skipf("%s not installed (set CMED_INTEROP=1 to make this a failure)", name)
	}
	return p
}
