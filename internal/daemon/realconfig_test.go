package daemon_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/internal/repotest"
	"github.com/cmed-project/cmed/pkg/config"
)

// TestRealRunningConfigsBoot: each complete router running-config in
// config/examples/real boots a whole daemon (listeners moved to loopback),
// the load log counts the kept lines, `show cmed unmodelled` lists them and
// `show running-config` prints every one of them back.
func TestRealRunningConfigsBoot(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repotest.Root(t), "config", "examples", "real", "*.cfg"))
	if len(files) < 5 {
		t.Fatalf("want at least five real running-configs, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			text, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c, err := config.Parse(filepath.Base(f), text)
			if err != nil {
				t.Fatal(err)
			}
			kept := c.UnmodelledLines()
			if len(kept) == 0 {
				t.Fatal("a real running-config with nothing kept: the example lost its router lines")
			}
			inst := cmedtest.StartIn(t, t.TempDir(), text)
			logs := inst.Logs.String()
			if !strings.Contains(logs, "lines kept unmodelled") || !strings.Contains(logs, "lines="+strconv.Itoa(len(kept))) {
				t.Errorf("load did not log %d kept lines:\n%s", len(kept), logs)
			}
			list := inst.CLI(t, "show cmed unmodelled")
			if !strings.HasPrefix(list, strconv.Itoa(len(kept))+" lines kept unmodelled") {
				t.Errorf("show cmed unmodelled: %q", firstLine(list))
			}
			run := inst.CLI(t, "show running-config")
			for _, l := range kept {
				if !strings.Contains(run, l.Text) || !strings.Contains(list, strings.TrimSpace(l.Text)) {
					t.Errorf("kept line %q missing from show running-config or show cmed unmodelled", l.Text)
				}
			}
		})
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
