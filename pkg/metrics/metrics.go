// Package metrics holds cmed's Prometheus metrics and its runtime debug
// categories (the IOS `debug ...` / `terminal monitor` machinery on top of
// log/slog).
//
// It imports only the stdlib and client_golang, never another cmed
// package: adapters depend on tiny consumer-defined interfaces
// (`interface{ NotifySent(pkg string) }`) that *Metrics satisfies, and the
// wiring passes in a SnapshotFunc that turns core state into the plain
// structs below (docs/architecture.md §Dependencies, §Import-rules).
//
// Counters are things adapters see happen (NOTIFYs sent, lamp updates sent,
// calls placed, authentication failures); gauges and the engine's own
// counters are computed at scrape time from a Snapshot, so they can never
// drift from the state `show` commands print.
package metrics

import (
	"net/http"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every cmed metric (CoreDNS naming:
// namespace_subsystem_name_unit).
const Namespace = "cmed"

// Metrics owns a private registry (no promauto globals: two daemons in one
// test binary must not collide) and the counters adapters increment.
// All methods are safe for concurrent use; a nil *Metrics is a no-op, so
// adapters built without metrics need no nil checks.
type Metrics struct {
	reg *prometheus.Registry

	notifies     *prometheus.CounterVec
	lampUpdates  *prometheus.CounterVec
	lampLatency  prometheus.Histogram
	calls        prometheus.Counter
	authFailures *prometheus.CounterVec
	registers    *prometheus.CounterVec
	regRefused   *prometheus.CounterVec
	sipResponses *prometheus.CounterVec
	tftpDone     prometheus.Counter
	tftpErrors   *prometheus.CounterVec

	listenerEvents *prometheus.CounterVec
	listenerUp     *prometheus.GaugeVec
	sipDropped     *prometheus.CounterVec
	authReasons    *prometheus.CounterVec

	mu       sync.Mutex // guards snapshot; a leaf: Collect calls it after unlocking
	snapshot SnapshotFunc
}

// Options tune New.
type Options struct {
	// NoRuntimeCollectors leaves out the Go and process collectors, so
	// tests can compare the whole exposition exactly.
	NoRuntimeCollectors bool
	// Version is the build's version string, exported as the version
	// label of cmed_build_info ("" exports "unknown").
	Version string
}

// LampLatencyBuckets are the lamp-latency histogram bounds in seconds: from
// a line event in the core to the lamp message written to the phone. A LAN
// round of SCCP or SIP is sub-millisecond; anything over 100 ms is a stall.
var LampLatencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}

// New builds the registry with cmed's metrics registered.
func New(opts Options) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		notifies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "sip", Name: "notifies_sent_total",
			Help: "SIP NOTIFY requests sent, by event package.",
		}, []string{"package"}),
		lampUpdates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "blf", Name: "lamp_updates_sent_total",
			Help: "Lamp (BLF) state updates written to phones, by protocol.",
		}, []string{"protocol"}),
		lampLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "blf", Name: "lamp_latency_seconds",
			Help:    "Time from a line state change to the lamp update leaving for the phone.",
			Buckets: LampLatencyBuckets,
		}),
		calls: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "calls_total",
			Help: "Calls placed (a dialled number was offered to a DN or trunk).",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "auth_failures_total",
			Help: "Failed authentications, by protocol (sip, ssh, telnet, http).",
		}, []string{"protocol"}),
		registers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "registrations_total",
			Help: "Device registrations accepted, by protocol.",
		}, []string{"protocol"}),
		regRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "registrations_refused_total",
			Help: "Device registrations refused, by protocol and reason.",
		}, []string{"protocol", "reason"}),
		sipResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "sip", Name: "responses_sent_total",
			Help: "SIP responses sent, by status class (1xx..6xx).",
		}, []string{"class"}),
		tftpDone: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "tftp", Name: "transfers_total",
			Help: "TFTP read transfers completed (every block acknowledged).",
		}),
		tftpErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "tftp", Name: "errors_total",
			Help: "TFTP requests refused or transfers abandoned, by reason.",
		}, []string{"reason"}),
		listenerEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "listener_events_total",
			Help: "Listener events (accept errors, refused and idle-closed connections, listener down), by listener and event.",
		}, []string{"listener", "event"}),
		listenerUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "listener_up",
			Help: "1 while a listener serves, 0 while it is down.",
		}, []string{"listener"}),
		sipDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "sip", Name: "messages_dropped_total",
			Help: "SIP messages received or sent that were dropped, by reason.",
		}, []string{"reason"}),
		authReasons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "auth_rejections_total",
			Help: "Authentication attempts refused, by protocol and reason (bad-password, unknown-user, replay, throttled, locked-out, ...).",
		}, []string{"protocol", "reason"}),
	}
	version := opts.Version
	if version == "" {
		version = "unknown"
	}
	// The info-metric idiom: a constant 1 whose labels carry the facts, so
	// queries can join on it (e.g. count by (version) (cmed_build_info)).
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Build facts of the running cmed: version and the Go toolchain that built it; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	// Every SIP class is exported from the start (as 0), so a dashboard's
	// rate() has a series before the first response of that class.
	for _, c := range SIPClasses {
		m.sipResponses.WithLabelValues(c)
	}
	m.reg.MustRegister(m.notifies, m.lampUpdates, m.lampLatency, m.calls, m.authFailures, m.registers,
		m.regRefused, m.sipResponses, m.tftpDone, m.tftpErrors, m.listenerEvents, m.listenerUp, m.sipDropped, m.authReasons, buildInfo, &snapshotCollector{m: m})
	if !opts.NoRuntimeCollectors {
		m.reg.MustRegister(collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Registry is the registry, for callers that add their own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format
// (mount it on /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// NotifySent counts one NOTIFY sent for event package pkg ("presence",
// "dialog", "message-summary").
func (m *Metrics) NotifySent(pkg string) {
	if m != nil {
		m.notifies.WithLabelValues(pkg).Inc()
	}
}

// LampUpdate counts one lamp update written to a phone of protocol proto
// ("sccp", "sip").
func (m *Metrics) LampUpdate(proto string) {
	if m != nil {
		m.lampUpdates.WithLabelValues(proto).Inc()
	}
}

// LampLatency records how long a lamp update took from the core's state
// change to the phone's writer.
func (m *Metrics) LampLatency(d time.Duration) {
	if m != nil {
		m.lampLatency.Observe(d.Seconds())
	}
}

// CallStarted counts a placed call.
func (m *Metrics) CallStarted() {
	if m != nil {
		m.calls.Inc()
	}
}

// AuthFailure counts a failed login or digest check for proto ("sip",
// "ssh", "telnet", "http").
func (m *Metrics) AuthFailure(proto string) {
	if m != nil {
		m.authFailures.WithLabelValues(proto).Inc()
	}
}

// AuthRejected counts a refused authentication for proto with its
// reason ("bad-password", "unknown-user", "replay", ...).
func (m *Metrics) AuthRejected(proto, reason string) {
	if m != nil {
		m.authReasons.WithLabelValues(proto, reason).Inc()
	}
}

// ListenerEvent counts an event on a listener (docs/security.md
// §Listeners).
func (m *Metrics) ListenerEvent(listener, event string) {
	if m != nil {
		m.listenerEvents.WithLabelValues(listener, event).Inc()
	}
}

// ListenerUp sets whether a listener serves.
func (m *Metrics) ListenerUp(listener string, up bool) {
	if m != nil {
		v := 0.0
		if up {
			v = 1
		}
		m.listenerUp.WithLabelValues(listener).Set(v)
	}
}

// SIPDropped counts a SIP message dropped, by reason ("unparsable",
// "too-large", ...).
func (m *Metrics) SIPDropped(reason string) {
	if m != nil {
		m.sipDropped.WithLabelValues(reason).Inc()
	}
}

// Registered counts an accepted device registration for proto.
func (m *Metrics) Registered(proto string) {
	if m != nil {
		m.registers.WithLabelValues(proto).Inc()
	}
}

// RegistrationRefused counts a registration refused for proto ("sccp",
// "sip") with a short reason ("unknown-device", "not-found", ...).
func (m *Metrics) RegistrationRefused(proto, reason string) {
	if m != nil {
		m.regRefused.WithLabelValues(proto, reason).Inc()
	}
}

// SIPClasses are the status classes of RFC 3261 §7.2 / §21, as labels.
var SIPClasses = []string{"1xx", "2xx", "3xx", "4xx", "5xx", "6xx"}

// SIPResponse counts one SIP response sent with the given status code;
// codes outside 100..699 are not SIP responses and are ignored.
func (m *Metrics) SIPResponse(status int) {
	if m != nil && status >= 100 && status <= 699 {
		m.sipResponses.WithLabelValues(SIPClasses[status/100-1]).Inc()
	}
}

// TFTPTransfer counts one completed TFTP transfer.
func (m *Metrics) TFTPTransfer() {
	if m != nil {
		m.tftpDone.Inc()
	}
}

// TFTPError counts one refused TFTP request or abandoned transfer, by
// reason ("not-found", "access", "limit", "timeout", ...).
func (m *Metrics) TFTPError(reason string) {
	if m != nil {
		m.tftpErrors.WithLabelValues(reason).Inc()
	}
}

// Snapshot is core state at scrape time, in plain types so this package
// needs no core import. The wiring (pkg/web.SnapshotFunc) fills it from
// dn.Switch and blf.Engine.
type Snapshot struct {
	// Devices counts registered devices by protocol and model.
	Devices []DeviceCount
	// DNs counts directory numbers by lamp state (idle, ringing, inuse,
	// hold, dnd, unknown).
	DNs map[string]int
	// Subscriptions counts active presence subscriptions by watcher kind.
	Subscriptions map[string]int
	// Refused is the presence engine's refused-subscription counter by
	// reason; the engine is the one place that decides refusals, so it is
	// counted there rather than in every adapter.
	Refused map[string]uint64
	// Deliveries is the presence engine's count of lamp states handed to
	// watchers since start.
	Deliveries uint64
	// ActiveCalls is the number of calls in progress.
	ActiveCalls int
}

// DeviceCount is one (protocol, model) group of registered devices.
type DeviceCount struct {
	Protocol string
	Model    string
	Count    int
}

// SnapshotFunc returns current core state. It is called once per scrape,
// on the scraping goroutine.
type SnapshotFunc func() Snapshot

// SetSnapshotFunc installs (or with nil removes) the scrape-time source of
// the gauges.
func (m *Metrics) SetSnapshotFunc(f SnapshotFunc) {
	m.mu.Lock()
	m.snapshot = f
	m.mu.Unlock()
}

var (
	descDevices = prometheus.NewDesc(Namespace+"_registered_devices",
		"Registered devices by protocol and model.", []string{"protocol", "model"}, nil)
	descDNs = prometheus.NewDesc(Namespace+"_dn_states",
		"Directory numbers by lamp state.", []string{"state"}, nil)
	descSubs = prometheus.NewDesc(Namespace+"_blf_subscriptions",
		"Active presence subscriptions by watcher kind.", []string{"kind"}, nil)
	descRefused = prometheus.NewDesc(Namespace+"_blf_subscriptions_refused_total",
		"Presence subscriptions refused, by reason.", []string{"reason"}, nil)
	descDeliveries = prometheus.NewDesc(Namespace+"_blf_deliveries_total",
		"Lamp states handed to watchers by the presence engine.", nil, nil)
	descActiveCalls = prometheus.NewDesc(Namespace+"_calls_active",
		"Calls in progress.", nil, nil)
)

// DNStates are the lamp states always exported (as 0 when absent), so a
// dashboard's series do not appear and vanish.
var DNStates = []string{"idle", "ringing", "inuse", "hold", "dnd", "unknown"}

// snapshotCollector computes gauges at scrape time (an unchecked-free,
// fully described Collector).
type snapshotCollector struct{ m *Metrics }

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDevices, descDNs, descSubs, descRefused, descDeliveries, descActiveCalls} {
		ch <- d
	}
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	f := c.m.snapshot
	c.m.mu.Unlock()
	if f == nil {
		return
	}
	s := f()
	// Merge duplicate groups: the same label pair twice would fail the
	// whole scrape.
	type group struct{ proto, model string }
	devices := map[group]int{}
	var order []group
	for _, d := range s.Devices {
		g := group{d.Protocol, d.Model}
		if _, ok := devices[g]; !ok {
			order = append(order, g)
		}
		devices[g] += d.Count
	}
	for _, g := range order {
		ch <- prometheus.MustNewConstMetric(descDevices, prometheus.GaugeValue, float64(devices[g]), g.proto, g.model)
	}
	for _, st := range DNStates {
		ch <- prometheus.MustNewConstMetric(descDNs, prometheus.GaugeValue, float64(s.DNs[st]), st)
	}
	for _, st := range sortedKeys(s.DNs) {
		if !contains(DNStates, st) {
			ch <- prometheus.MustNewConstMetric(descDNs, prometheus.GaugeValue, float64(s.DNs[st]), st)
		}
	}
	for _, k := range sortedKeys(s.Subscriptions) {
		ch <- prometheus.MustNewConstMetric(descSubs, prometheus.GaugeValue, float64(s.Subscriptions[k]), k)
	}
	for _, r := range sortedKeys(s.Refused) {
		ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(s.Refused[r]), r)
	}
	ch <- prometheus.MustNewConstMetric(descDeliveries, prometheus.CounterValue, float64(s.Deliveries))
	ch <- prometheus.MustNewConstMetric(descActiveCalls, prometheus.GaugeValue, float64(s.ActiveCalls))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
