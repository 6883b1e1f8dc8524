package metrics_test

import (
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cmed-project/cmed/pkg/metrics"
)

func TestCountersExposition(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeCollectors: true})
	for range 3 {
		m.NotifySent("presence")
	}
	m.NotifySent("dialog")
	m.LampUpdate("sccp")
	m.LampUpdate("sccp")
	m.LampUpdate("sip")
	m.CallStarted()
	m.AuthFailure("ssh")
	m.Registered("sccp")
	m.LampLatency(300 * time.Microsecond)
	m.LampLatency(2 * time.Second)

	want := `
# HELP cmed_sip_notifies_sent_total SIP NOTIFY requests sent, by event package.
# TYPE cmed_sip_notifies_sent_total counter
cmed_sip_notifies_sent_total{package="dialog"} 1
cmed_sip_notifies_sent_total{package="presence"} 3
# HELP cmed_blf_lamp_updates_sent_total Lamp (BLF) state updates written to phones, by protocol.
# TYPE cmed_blf_lamp_updates_sent_total counter
cmed_blf_lamp_updates_sent_total{protocol="sccp"} 2
cmed_blf_lamp_updates_sent_total{protocol="sip"} 1
# HELP cmed_calls_total Calls placed (a dialled number was offered to a DN or trunk).
# TYPE cmed_calls_total counter
cmed_calls_total 1
# HELP cmed_auth_failures_total Failed authentications, by protocol (sip, ssh, telnet, http).
# TYPE cmed_auth_failures_total counter
cmed_auth_failures_total{protocol="ssh"} 1
# HELP cmed_registrations_total Device registrations accepted, by protocol.
# TYPE cmed_registrations_total counter
cmed_registrations_total{protocol="sccp"} 1
`
	names := []string{"cmed_sip_notifies_sent_total", "cmed_blf_lamp_updates_sent_total", "cmed_calls_total",
		"cmed_auth_failures_total", "cmed_registrations_total"}
	if diff := cmp.Diff(samples(want, names...), samples(scrape(t, m), names...)); diff != "" {
		t.Errorf("exposition (-want +got):\n%s", diff)
	}
	// Histogram: 300µs lands in the 0.0005 bucket; 2s only in +Inf.
	body := scrape(t, m)
	for _, line := range []string{
		`cmed_blf_lamp_latency_seconds_bucket{le="0.00025"} 0`,
		`cmed_blf_lamp_latency_seconds_bucket{le="0.0005"} 1`,
		`cmed_blf_lamp_latency_seconds_bucket{le="1"} 1`,
		`cmed_blf_lamp_latency_seconds_bucket{le="+Inf"} 2`,
		`cmed_blf_lamp_latency_seconds_count 2`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("exposition lacks %q", line)
		}
	}
}

func TestNilMetricsIsNoop(t *testing.T) {
	var m *metrics.Metrics
	m.NotifySent("presence")
	m.LampUpdate("sccp")
	m.LampLatency(time.Millisecond)
	m.CallStarted()
	m.AuthFailure("sip")
	m.Registered("sip")
	m.RegistrationRefused("sip", "not-found")
	m.SIPResponse(200)
	m.TFTPTransfer()
	m.TFTPError("timeout")
}

func TestSnapshotGauges(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeCollectors: true})
	if got := samples(scrape(t, m), "cmed_dn_states"); len(got) != 0 {
		t.Fatalf("without a SnapshotFunc: %q, want no dn_states series", got)
	}
	m.SetSnapshotFunc(func() metrics.Snapshot {
		return metrics.Snapshot{
			Devices:       []metrics.DeviceCount{{"sccp", "7965", 2}, {"sip", "CP-8845", 1}, {"sccp", "7965", 1}},
			DNs:           map[string]int{"idle": 3, "inuse": 2, "weird": 1},
			Subscriptions: map[string]int{"SCCP [BLF Speed Dial]": 4},
			Refused:       map[string]uint64{"max-subscriptions": 2},
			Deliveries:    17,
			ActiveCalls:   1,
		}
	})
	want := `
# HELP cmed_registered_devices Registered devices by protocol and model.
# TYPE cmed_registered_devices gauge
cmed_registered_devices{model="7965",protocol="sccp"} 3
cmed_registered_devices{model="CP-8845",protocol="sip"} 1
# HELP cmed_dn_states Directory numbers by lamp state.
# TYPE cmed_dn_states gauge
cmed_dn_states{state="dnd"} 0
cmed_dn_states{state="hold"} 0
cmed_dn_states{state="idle"} 3
cmed_dn_states{state="inuse"} 2
cmed_dn_states{state="ringing"} 0
cmed_dn_states{state="unknown"} 0
cmed_dn_states{state="weird"} 1
# HELP cmed_blf_subscriptions Active presence subscriptions by watcher kind.
# TYPE cmed_blf_subscriptions gauge
cmed_blf_subscriptions{kind="SCCP [BLF Speed Dial]"} 4
# HELP cmed_blf_subscriptions_refused_total Presence subscriptions refused, by reason.
# TYPE cmed_blf_subscriptions_refused_total counter
cmed_blf_subscriptions_refused_total{reason="max-subscriptions"} 2
# HELP cmed_blf_deliveries_total Lamp states handed to watchers by the presence engine.
# TYPE cmed_blf_deliveries_total counter
cmed_blf_deliveries_total 17
# HELP cmed_calls_active Calls in progress.
# TYPE cmed_calls_active gauge
cmed_calls_active 1
`
	names := []string{"cmed_registered_devices", "cmed_dn_states", "cmed_blf_subscriptions",
		"cmed_blf_subscriptions_refused_total", "cmed_blf_deliveries_total", "cmed_calls_active"}
	if diff := cmp.Diff(samples(want, names...), samples(scrape(t, m), names...)); diff != "" {
		t.Errorf("exposition (-want +got):\n%s", diff)
	}
}

func TestRuntimeCollectors(t *testing.T) {
	m := metrics.New(metrics.Options{})
	body := scrape(t, m)
	if !strings.Contains(body, "go_goroutines ") {
		t.Error("Go collector missing from exposition")
	}
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// samples returns the exposition lines (HELP, TYPE and values) of the named
// metric families, sorted (the registry orders families by name). (prometheus/testutil would pull a module that
// go.mod does not list.)
func samples(exposition string, names ...string) []string {
	var out []string
	for _, line := range strings.Split(exposition, "\n") {
		for _, n := range names {
			if strings.HasPrefix(line, n+" ") || strings.HasPrefix(line, n+"{") ||
				strings.HasPrefix(line, "# HELP "+n+" ") || strings.HasPrefix(line, "# TYPE "+n+" ") {
				out = append(out, line)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestRefusalsTFTPAndSIPClasses checks the counters added for the dashboard
// (deploy/grafana-cmed.json): each is absent or zero until its event.
func TestRefusalsTFTPAndSIPClasses(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeCollectors: true})
	names := []string{"cmed_registrations_refused_total", "cmed_sip_responses_sent_total",
		"cmed_tftp_transfers_total", "cmed_tftp_errors_total"}
	values := func() []string {
		var out []string
		for _, l := range samples(scrape(t, m), names...) {
			if !strings.HasPrefix(l, "#") {
				out = append(out, l)
			}
		}
		return out
	}
	before := []string{
		`cmed_sip_responses_sent_total{class="1xx"} 0`,
		`cmed_sip_responses_sent_total{class="2xx"} 0`,
		`cmed_sip_responses_sent_total{class="3xx"} 0`,
		`cmed_sip_responses_sent_total{class="4xx"} 0`,
		`cmed_sip_responses_sent_total{class="5xx"} 0`,
		`cmed_sip_responses_sent_total{class="6xx"} 0`,
		`cmed_tftp_transfers_total 0`,
	}
	if diff := cmp.Diff(before, values()); diff != "" {
		t.Errorf("before any event (-want +got):\n%s", diff)
	}
	m.RegistrationRefused("sccp", "unknown-device")
	m.RegistrationRefused("sccp", "unknown-device")
	m.RegistrationRefused("sip", "not-found")
	for _, code := range []int{100, 180, 200, 202, 401, 404, 486, 503, 603, 99, 700} {
		m.SIPResponse(code)
	}
	m.TFTPTransfer()
	m.TFTPError("not-found")
	m.TFTPError("timeout")
	m.TFTPError("not-found")
	want := []string{
		`cmed_registrations_refused_total{protocol="sccp",reason="unknown-device"} 2`,
		`cmed_registrations_refused_total{protocol="sip",reason="not-found"} 1`,
		`cmed_sip_responses_sent_total{class="1xx"} 2`,
		`cmed_sip_responses_sent_total{class="2xx"} 2`,
		`cmed_sip_responses_sent_total{class="3xx"} 0`,
		`cmed_sip_responses_sent_total{class="4xx"} 3`,
		`cmed_sip_responses_sent_total{class="5xx"} 1`,
		`cmed_sip_responses_sent_total{class="6xx"} 1`,
		`cmed_tftp_errors_total{reason="not-found"} 2`,
		`cmed_tftp_errors_total{reason="timeout"} 1`,
		`cmed_tftp_transfers_total 1`,
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, values()); diff != "" {
		t.Errorf("after the events (-want +got):\n%s", diff)
	}
}

func TestBuildInfo(t *testing.T) {
	for _, tc := range []struct{ version, label string }{{"1.2.3", "1.2.3"}, {"", "unknown"}} {
		m := metrics.New(metrics.Options{NoRuntimeCollectors: true, Version: tc.version})
		got := samples(scrape(t, m), "cmed_build_info")
		line := `cmed_build_info{goversion="` + runtime.Version() + `",version="` + tc.label + `"} 1`
		if !slices.Contains(got, line) {
			t.Errorf("version %q: cmed_build_info lines %q lack %q", tc.version, got, line)
		}
	}
}
