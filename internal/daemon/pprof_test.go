package daemon_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/internal/repotest"
)

// TestPprofOnTheHTTPListener: `ip http pprof` (a cmed extension,
// docs/architecture.md §Profiling) puts Go's profiler on the `ip http` listener; without it
// /debug/pprof/ is not there. Driven with curl, as an operator would.
func TestPprofOnTheHTTPListener(t *testing.T) {
	curl := repotest.Tool(t, "curl")
	withPprof := bytes.Replace(configs.Default, []byte("\nend"), []byte("\nip http pprof\nend"), 1)
	if bytes.Equal(withPprof, configs.Default) {
		t.Fatal("default config has no final end line to insert before")
	}
	for _, c := range []struct {
		name     string
		cfg      []byte
		wantCode string
	}{{"enabled", withPprof, "200"}, {"not configured", configs.Default, "404"}} {
		t.Run(c.name, func(t *testing.T) {
			inst := cmedtest.StartIn(t, t.TempDir(), c.cfg)
			url := "http://" + inst.Addr("http").String() + "/debug/pprof/"
			out, err := exec.Command(curl, "-sS", "-m", "10", "-o", "-", "-w", "\n%{http_code}", url).Output()
			if err != nil {
				t.Fatalf("curl %s: %v", url, err)
			}
			i := strings.LastIndexByte(string(out), '\n')
			body, code := string(out[:max(i, 0)]), strings.TrimSpace(string(out[i+1:]))
			if code != c.wantCode {
				t.Fatalf("GET %s: %s, want %s\n%.300s", url, code, c.wantCode, body)
			}
			if c.wantCode == "200" {
				for _, want := range []string{"goroutine", "heap", "profile"} {
					if !strings.Contains(body, want) {
						t.Errorf("pprof index lacks %q:\n%.500s", want, body)
					}
				}
				// A CPU profile can be taken the way docs/architecture.md §Profiling says.
				prof, err := exec.Command(curl, "-sS", "-m", "10", "-o", "-", "-w", "%{http_code}",
					url+"profile?seconds=1").Output()
				if err != nil || !strings.HasSuffix(string(prof), "200") || len(prof) < 20 {
					t.Errorf("CPU profile: %v, %d bytes, tail %q", err, len(prof), prof[max(0, len(prof)-3):])
				}
			}
			if sc := inst.CLI(t, "show running-config"); strings.Contains(sc, "ip http pprof") != (c.wantCode == "200") {
				t.Errorf("running-config and pprof disagree:\n%s", sc)
			}
		})
	}
}
