// Package deps enforces cmed's import rules (README "Design"), in the style
// of Tailscale's tstest/deptest: the rules are data, `go list` reports each
// package's full transitive dependencies, and a violation names the path.
//
//	cmd/cmed, internal/daemon   wiring: may import everything
//	adapters                    sccp, sip, cli, web, store, phonecfg: core + leaves +
//	                            their own third-party libraries, never each other
//	core                        blf -> dn -> dialplan -> config (-> cmdtree): stdlib only
//	leaves                      sccp/msg, sip/pidf, cmdtree, media/..., tftp, netx: no cmed package
package deps

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/cmed-project/cmed/"

type pkgDeps struct {
	path string
	deps map[string]bool
}

func listAll(t *testing.T) map[string]pkgDeps {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "../../...")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	all := map[string]pkgDeps{}
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		p := pkgDeps{path: f[0], deps: map[string]bool{}}
		for _, d := range f[1:] {
			p.deps[d] = true
		}
		all[f[0]] = p
	}
	return all
}

// isStd reports whether an import path is in the standard library: its
// first element has no dot (the go command's own rule).
func isStd(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

var (
	core = []string{"pkg/config", "pkg/cmdtree", "pkg/dialplan", "pkg/dn", "pkg/blf"}
	// coreMayImport is, for each core package, the cmed packages it may
	// depend on; everything else must be the standard library.
	coreMayImport = map[string][]string{
		"pkg/cmdtree":  {},
		"pkg/config":   {"pkg/cmdtree"},
		"pkg/dialplan": {"pkg/config", "pkg/cmdtree"},
		"pkg/dn":       {"pkg/dialplan", "pkg/config", "pkg/cmdtree"},
		"pkg/blf":      {"pkg/dn", "pkg/dialplan", "pkg/config", "pkg/cmdtree"},
	}
	// The core owns state, not sockets: it must not reach the network or
	// storage even through the standard library.
	coreForbiddenStd = []string{"net", "net/http", "os/exec", "database/sql"}

	leaves = []string{"pkg/sccp/msg", "pkg/sip/pidf", "pkg/cmdtree", "pkg/media", "pkg/tftp", "pkg/metrics", "pkg/netx"}
	// leafMayImport lists third-party modules a leaf may use ("*": any
	// third-party module, but still no cmed package).
	leafMayImport = map[string][]string{
		"pkg/media":   {"github.com/pion/rtp", "github.com/pion/randutil"},
		"pkg/metrics": {"*"},
	}

	adapters = []string{"pkg/sccp", "pkg/sip", "pkg/cli", "pkg/web", "pkg/store", "pkg/phonecfg"}
)

// within reports whether pkg is p or below p.
func within(pkg, p string) bool { return pkg == mod+p || strings.HasPrefix(pkg, mod+p+"/") }

func TestCoreDependsOnStdlibAndConfigOnly(t *testing.T) {
	for _, v := range coreViolations(listAll(t)) {
		t.Error(v)
	}
}

func coreViolations(all map[string]pkgDeps) (out []string) {
	for _, c := range core {
		p, ok := all[mod+c]
		if !ok {
			out = append(out, fmt.Sprintf("core package %s is missing", c))
			continue
		}
		allowed := coreMayImport[c]
		for d := range p.deps {
			if isStd(d) {
				for _, f := range coreForbiddenStd {
					if d == f {
						out = append(out, fmt.Sprintf("%s depends on %s: the core must not touch sockets or storage", c, d))
					}
				}
				continue
			}
			ok := false
			for _, a := range append([]string{c}, allowed...) {
				if within(d, a) {
					ok = true
				}
			}
			if !ok {
				out = append(out, fmt.Sprintf("%s depends on %s: the core may use only the standard library and %v", c, d, allowed))
			}
		}
	}
	return out
}

func TestLeavesImportNoCmedPackage(t *testing.T) {
	all := listAll(t)
	for path, p := range all {
		for _, leaf := range leaves {
			if !within(path, leaf) {
				continue
			}
			for d := range p.deps {
				if isStd(d) || within(d, leaf) {
					continue
				}
				ok := false
				for _, m := range leafMayImport[leaf] {
					if (m == "*" && !strings.HasPrefix(d, mod)) || d == m || strings.HasPrefix(d, m+"/") {
						ok = true
					}
				}
				if !ok {
					t.Errorf("leaf %s depends on %s", strings.TrimPrefix(path, mod), d)
				}
			}
		}
	}
}

func TestAdaptersDoNotImportEachOther(t *testing.T) {
	all := listAll(t)
	for path, p := range all {
		for _, a := range adapters {
			// pkg/sccp/msg is a leaf living under an adapter's folder.
			if !within(path, a) || isLeaf(path) {
				continue
			}
			for d := range p.deps {
				for _, other := range adapters {
					if other != a && within(d, other) && !isLeaf(d) {
						t.Errorf("adapter %s depends on adapter %s; connect them in internal/daemon instead",
							strings.TrimPrefix(path, mod), strings.TrimPrefix(d, mod))
					}
				}
			}
		}
	}
}

func isLeaf(path string) bool {
	for _, l := range leaves {
		if within(path, l) {
			return true
		}
	}
	return false
}

// TestRulesCatchAViolation proves the checker can fail: in a fake package
// set where dn reaches net, sipgo and blf, each must be reported.
func TestRulesCatchAViolation(t *testing.T) {
	all := map[string]pkgDeps{}
	for _, c := range core {
		all[mod+c] = pkgDeps{path: mod + c, deps: map[string]bool{"fmt": true}}
	}
	all[mod+"pkg/dn"] = pkgDeps{path: mod + "pkg/dn", deps: map[string]bool{
		"net": true, "github.com/emiago/sipgo": true, mod + "pkg/blf": true, mod + "pkg/config": true}}
	v := coreViolations(all)
	if len(v) != 3 {
		t.Fatalf("want 3 violations (net, sipgo, blf), got %d: %v", len(v), v)
	}
	if !isStd("net/http") || isStd("github.com/emiago/sipgo") || isStd("go.etcd.io/bbolt") {
		t.Fatal("isStd is wrong")
	}
	if !within(mod+"pkg/sccp/msg", "pkg/sccp") || within(mod+"pkg/sccpx", "pkg/sccp") {
		t.Fatal("within is wrong")
	}
	if !isLeaf(mod+"pkg/sccp/msg") || isLeaf(mod+"pkg/sccp") {
		t.Fatal("isLeaf is wrong")
	}
}
