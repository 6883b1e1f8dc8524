package daemon_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	return string(b)
}

// TestLampBoardAndMetricsOnTheHTTPListener boots the default office and
// checks the board, its JSON state and /metrics follow a phone going
// off-hook through the core.
func TestLampBoardAndMetricsOnTheHTTPListener(t *testing.T) {
	inst := cmedtest.StartIn(t, t.TempDir(), configs.Default)
	base := "http://" + inst.Addr("http").String()
	if page := get(t, base+"/"); !strings.Contains(page, `id="dn-1001"`) {
		t.Fatalf("board lacks DN 1001:\n%.500s", page)
	}
	sw := inst.Switch()
	id, err := sw.RegisterDevice(dn.DeviceInfo{Name: "SEP001122334402", Protocol: dn.SCCP, Model: "7961"}, &dntest.Device{})
	if err != nil {
		t.Fatal(err)
	}
	must(t, errOf(sw.OffHook(id, 0)))
	waitFor(t, func() bool { return strings.Contains(get(t, base+"/api/state"), `"inuse"`) })
	m := get(t, base+"/metrics")
	for _, want := range []string{`cmed_registered_devices{model="7961",protocol="sccp"} 1`, "cmed_dn_states"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
