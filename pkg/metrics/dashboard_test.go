package metrics_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/metrics"
)

// dashboardFile is the Grafana dashboard shipped for operators.
var dashboardFile = filepath.Join("..", "..", "deploy", "grafana-cmed.json")

// selector matches a metric name written as a PromQL vector selector
// (`name{...}`); every query in the dashboard selects by instance, so every
// metric it reads appears in this form.
var selector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{`)

// labelValues matches the variable query label_values(metric, label).
var labelValues = regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,`)

// exportedNames is every series name a full registry exports: each counter
// method is called once and the snapshot has one entry of each kind, so
// label-vector families have a child and appear in Gather. Histograms
// contribute their _bucket, _sum and _count series.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New(metrics.Options{Version: "test"})
	m.NotifySent("presence")
	m.LampUpdate("sccp")
	m.LampLatency(time.Millisecond)
	m.CallStarted()
	m.AuthFailure("sip")
	m.Registered("sccp")
	m.RegistrationRefused("sccp", "unknown-device")
	m.SIPResponse(200)
	m.TFTPTransfer()
	m.TFTPError("not-found")
	m.SetSnapshotFunc(func() metrics.Snapshot {
		return metrics.Snapshot{
			Devices:       []metrics.DeviceCount{{Protocol: "sccp", Model: "7965", Count: 1}},
			DNs:           map[string]int{"idle": 1},
			Subscriptions: map[string]int{"sccp-speed-dial": 1},
			Refused:       map[string]uint64{"max-subscriptions": 1},
		}
	})
	// Names come from the exposition's TYPE lines, as a scraper sees them.
	names := map[string]bool{}
	for _, line := range strings.Split(scrape(t, m), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		names[f[2]] = true
		if f[3] == "histogram" {
			names[f[2]+"_bucket"], names[f[2]+"_sum"], names[f[2]+"_count"] = true, true, true
		}
	}
	return names
}

// TestDashboardQueriesUseExportedMetrics parses deploy/grafana-cmed.json
// and fails if a query reads a metric the registry does not export (a
// renamed or dropped metric), or if a panel has no query at all.
func TestDashboardQueriesUseExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Errorf("dashboard needs a title and a uid (got %q, %q)", dash.Title, dash.UID)
	}
	exported := exportedNames(t)
	used := map[string]bool{}
	check := func(where, expr string, names []string) {
		if len(names) == 0 {
			t.Errorf("%s: query %q reads no metric", where, expr)
		}
		for _, n := range names {
			used[n] = true
			if !exported[n] {
				t.Errorf("%s: query %q reads %s, which the registry does not export", where, expr, n)
			}
		}
	}
	queries := 0
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		for _, tg := range p.Targets {
			queries++
			var names []string
			for _, m := range selector.FindAllStringSubmatch(tg.Expr, -1) {
				names = append(names, m[1])
			}
			check("panel "+strings.TrimSpace(p.Title), tg.Expr, names)
		}
	}
	for _, v := range dash.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			check("variable "+v.Name, v.Definition, []string{m[1]})
		}
	}
	if queries < 10 {
		t.Errorf("only %d queries parsed; the dashboard or its parsing broke", queries)
	}
	// The metrics this issue added must be on the dashboard.
	for _, n := range []string{"cmed_build_info", "cmed_blf_subscriptions", "cmed_blf_subscriptions_refused_total",
		"cmed_registrations_refused_total", "cmed_sip_responses_sent_total", "cmed_tftp_transfers_total",
		"cmed_tftp_errors_total"} {
		if !used[n] {
			t.Errorf("dashboard does not plot %s", n)
		}
	}
	if t.Failed() {
		keys := make([]string, 0, len(exported))
		for k := range exported {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.Logf("exported: %s", strings.Join(keys, " "))
	}
}
