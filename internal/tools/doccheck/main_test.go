package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repo writes files (path -> content) under a temporary repository root.
func repo(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, body := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const doc = "# Title\n\n## Framing\n\nSee §Versions.\n\n## Versions\n\n### Version-cap\n\nText docs/other.md\n§Alpha.\n"

func TestGoodReferencesPass(t *testing.T) {
	root := repo(t, map[string]string{
		"docs/sccp.md":  doc,
		"docs/other.md": "## Alpha\n",
		"README.md":     "x\n",
		"p/a.go": `package p

// Framing follows docs/sccp.md §Framing, §Version-cap and RFC 6665
// §4.2.1, §4.2.2; the README.md says so too. A citation may break: docs/sccp.md
// §Versions.
func F() {} // docs/other.md §Alpha

/* docs/sccp.md §Framing */
var seed = 1 // a random seed, not a seed document
`,
		"p/testdata/x.go": "// sccp.md §1 is ignored in testdata\npackage x\n",
	})
	var out strings.Builder
	if code := run(root, &out); code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out.String())
	}
}

func TestBadReferencesFail(t *testing.T) {
	cases := map[string]string{
		"missing heading":         "// see docs/sccp.md §Nope\n",
		"missing file":            "// see docs/gone.md §Framing\n",
		"heading of another file": "// docs/other.md §Framing\n",
		"old sheet":               "// see sccp.md §1.1\n",
		"old cli sheet":           "// layouts of cme-cli.md §1.4\n",
		"sheet shorthand":         "// Cisco namespaces (sheet §1.3)\n",
		"outside issue":           "// a 7960 stalls otherwise (ISS-564)\n",
		"outside seed":            "// the DND table of seed 002\n",
		"outside path":            "// peers live in .." + "/shared/peers\n",
		"absolute path":           "// /" + "work/shared/reference/sip-presence.md\n",
		"section without file":    "// as described in §Framing\n",
		"number without RFC":      "// see §4.2\n",
		"nested docs path":        "// x/docs/sccp.md §Framing\n",
	}
	for name, comment := range cases {
		t.Run(name, func(t *testing.T) {
			root := repo(t, map[string]string{
				"docs/sccp.md":  doc,
				"docs/other.md": "## Alpha\n",
				"p/a.go":        "package p\n\n" + comment + "func F() {}\n",
			})
			var out strings.Builder
			if code := run(root, &out); code != 1 {
				t.Fatalf("exit %d, want 1; output:\n%s", code, out.String())
			}
			if !strings.Contains(out.String(), "p/a.go:3:") {
				t.Errorf("problem not reported at p/a.go:3:\n%s", out.String())
			}
		})
	}
}

func TestBrokenDocsReferenceFails(t *testing.T) {
	root := repo(t, map[string]string{
		"docs/sccp.md": "## Framing\n\nSee §Missing and docs/cli.md §X.\n",
	})
	var out strings.Builder
	if code := run(root, &out); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out.String())
	}
	for _, want := range []string{`docs/sccp.md has no heading "Missing"`, "docs/cli.md does not exist"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}

// TestRepository runs the check over this repository itself.
func TestRepository(t *testing.T) {
	var out strings.Builder
	if code := run(filepath.Join("..", "..", ".."), &out); code != 0 {
		t.Fatalf("doccheck on the repository: exit %d\n%s", code, out.String())
	}
}
