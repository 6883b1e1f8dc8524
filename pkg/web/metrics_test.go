package web_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/metrics"
	"github.com/cmed-project/cmed/pkg/web"
)

// sccpLamps stands in for the SCCP adapter's lamp writer: every update the
// engine delivers becomes one lamp message, counted as the adapter does.
type sccpLamps struct{ m *metrics.Metrics }

func (w sccpLamps) Deliver(blf.Update) { w.m.LampUpdate("sccp") }

// TestMetricsScenario drives a scripted scenario through a real dn.Switch
// and blf.Engine and checks the scraped values against what happened.
func TestMetricsScenario(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeCollectors: true})
	e := newEnv(t, web.Options{Metrics: m.Handler(), OnAuthFailure: func(string, string, string) { m.AuthFailure("http") }})
	m.SetSnapshotFunc(web.SnapshotFunc(e.sw, e.engine))
	srv := serve(t, e.web)

	e.register(1, 2)
	// Ephone 1 watches 1002 on a speed dial; a trunk's SUBSCRIBE is refused
	// (no `watcher all`); a remote browser gets the password wrong.
	if _, err := e.engine.Subscribe(blf.SubscribeRequest{Watcher: sccpLamps{m}, WatcherName: "SEP000000000001",
		Kind: blf.KindSCCPSpeedDial, Presentity: "1002"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.Subscribe(blf.SubscribeRequest{Watcher: sccpLamps{m}, WatcherName: "10.9.9.9",
		Kind: blf.KindSIPTrunk, Presentity: "1001"}); !errors.Is(err, blf.ErrExternalNotAllowed) {
		t.Fatalf("trunk subscribe: %v, want refused", err)
	}
	bad := httptest.NewRequest("GET", "/", nil)
	bad.RemoteAddr = "192.0.2.1:1"
	bad.SetBasicAuth("admin", "wrong")
	rec := httptest.NewRecorder()
	e.web.Handler().ServeHTTP(rec, bad)
	if rec.Code != 401 {
		t.Fatalf("remote with a bad password: %d", rec.Code)
	}

	// 1001 calls 1002: off-hook, digits, answer. (1003 is idle on
	// ephone 2's second button; 1004 is on no phone: unknown.)
	e.call(1, 2, "1002")
	mid := samples(t, srv.URL, "cmed_calls_active", "cmed_dn_states", "cmed_registered_devices")
	wantMid := []string{
		`cmed_calls_active 1`,
		`cmed_dn_states{state="dnd"} 0`,
		`cmed_dn_states{state="hold"} 0`,
		`cmed_dn_states{state="idle"} 1`,
		`cmed_dn_states{state="inuse"} 2`,
		`cmed_dn_states{state="ringing"} 0`,
		`cmed_dn_states{state="unknown"} 1`,
		`cmed_registered_devices{model="7965",protocol="sccp"} 2`,
	}
	if diff := cmp.Diff(wantMid, mid); diff != "" {
		t.Errorf("during the call (-want +got):\n%s", diff)
	}

	// Hang up.
	e.mustRef(e.sw.OnHook(e.id[1], 0))
	got := samples(t, srv.URL, "cmed_calls_active", "cmed_dn_states", "cmed_blf_subscriptions",
		"cmed_blf_subscriptions_refused_total", "cmed_blf_deliveries_total", "cmed_blf_lamp_updates_sent_total",
		"cmed_auth_failures_total")
	// Lamp updates to the speed dial: idle at subscribe, busy when 1002
	// rang (a 7965 speed dial without alerting shows ringing as busy; the
	// answer keeps it busy), idle after hang-up: three.
	want := []string{
		`cmed_auth_failures_total{protocol="http"} 1`,
		`cmed_blf_deliveries_total 3`,
		`cmed_blf_lamp_updates_sent_total{protocol="sccp"} 3`,
		`cmed_blf_subscriptions_refused_total{reason="external-not-allowed"} 1`,
		`cmed_blf_subscriptions{kind="sccp-call-list"} 0`,
		`cmed_blf_subscriptions{kind="sccp-speed-dial"} 1`,
		`cmed_blf_subscriptions{kind="sip-phone"} 0`,
		`cmed_blf_subscriptions{kind="sip-trunk"} 0`,
		`cmed_blf_subscriptions{kind="web"} 0`,
		`cmed_calls_active 0`,
		`cmed_dn_states{state="dnd"} 0`,
		`cmed_dn_states{state="hold"} 0`,
		`cmed_dn_states{state="idle"} 3`,
		`cmed_dn_states{state="inuse"} 0`,
		`cmed_dn_states{state="ringing"} 0`,
		`cmed_dn_states{state="unknown"} 1`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after hang-up (-want +got):\n%s", diff)
	}
}

// samples scrapes /metrics from a loopback client and returns the value
// lines of the named families, sorted.
func samples(t *testing.T, url string, names ...string) []string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		for _, n := range names {
			if strings.HasPrefix(line, n+" ") || strings.HasPrefix(line, n+"{") {
				out = append(out, line)
			}
		}
	}
	slices.Sort(out)
	return out
}
