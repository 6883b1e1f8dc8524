package config

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	configs "github.com/cmed-project/cmed/config"
)

// realFiles are config/examples/real/*.cfg: whole running-configs written
// from Cisco's documented CME syntax, with everything a router has around
// CME (interfaces, DHCP option 150, voice-ports, lines, banners).
func realFiles(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ents, err := fs.ReadDir(configs.Examples, "examples/real")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".cfg") {
			continue
		}
		b, err := fs.ReadFile(configs.Examples, path.Join("examples/real", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(e.Name(), ".cfg")] = b
	}
	return out
}

// TestRealRunningConfigs: each real config loads with no error, keeps the
// expected number of unmodelled lines, renders like its golden file, and
// round-trips (Parse(Render(c)) == c, and Render is stable).
func TestRealRunningConfigs(t *testing.T) {
	kept := map[string]int{ // pinned so that a grammar change that starts swallowing or refusing lines shows
		"office-3825": 104, "small-2801": 67, "lab-3725": 75, "hunt-groups": 50, "sip-phones": 59,
	}
	files := realFiles(t)
	if len(files) < 5 {
		t.Fatalf("%d real configs, want at least 5", len(files))
	}
	for name, text := range files {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(name+".cfg", text)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if w := c.Warnings(); len(w) > 0 {
				t.Errorf("warnings: %v", w)
			}
			want, ok := kept[name]
			if !ok {
				t.Fatalf("no pinned kept-line count for %s", name)
			}
			if got := len(c.UnmodelledLines()); got != want {
				t.Errorf("%d lines kept unmodelled, want %d:\n%s", got, want, RenderUnmodelled(c))
			}
			out := Render(c)
			golden := filepath.Join("testdata", "golden", "real", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			g, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(g), out); diff != "" {
				t.Errorf("Render differs from %s (-want +got):\n%s", golden, diff)
			}
			again, err := Parse("rendered.cfg", []byte(out))
			if err != nil {
				t.Fatalf("re-Parse of Render: %v", err)
			}
			if diff := cmp.Diff(c, again, cfgOpts); diff != "" {
				t.Errorf("Parse(Render(c)) != c (-want +got):\n%s", diff)
			}
			if Render(again) != out {
				t.Error("Render(Parse(Render(c))) != Render(c)")
			}
			// Every non-comment line of the file is either modelled or
			// kept: no line is lost. Check the kept ones appear verbatim.
			for _, l := range c.UnmodelledLines() {
				if l.Section == "" && !strings.Contains(string(text), l.Text) {
					t.Errorf("kept line %q is not in the file", l.Text)
				}
			}
		})
	}
}
