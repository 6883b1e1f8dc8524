package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/netx/throttle"
	"github.com/cmed-project/cmed/pkg/web"
)

var lampRE = regexp.MustCompile(`<span class="lamp" id="((?:dn|btn|sd)-[^"]+)" data-state="([a-z]+)"`)

// get serves one request from remote (host:port) and returns the recorder.
func get(h http.Handler, remote, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func lamps(t *testing.T, h http.Handler) map[string]string {
	t.Helper()
	rec := get(h, "127.0.0.1:40000", "/")
	if rec.Code != 200 {
		t.Fatalf("GET /: %d %s", rec.Code, rec.Body)
	}
	out := map[string]string{}
	for _, m := range lampRE.FindAllStringSubmatch(rec.Body.String(), -1) {
		out[m[1]] = m[2]
	}
	return out
}

func TestBoardRendersEveryDN(t *testing.T) {
	e := newEnv(t, web.Options{})
	e.register(1, 2)
	h := e.web.Handler()

	want := map[string]string{
		"dn-1001": "idle", "dn-1002": "idle", "dn-1003": "idle", "dn-1004": "unknown",
		"btn-SEP000000000001-1": "idle",
		"btn-SEP000000000002-1": "idle", "btn-SEP000000000002-2": "idle",
		"btn-SEP000000000003-1": "unknown",
		// Speed dials: nothing subscribed for ephone 2, ephone 3 is down.
		"sd-SEP000000000002-1": "unknown", "sd-SEP000000000003-1": "unknown",
	}
	if diff := cmp.Diff(want, lamps(t, h)); diff != "" {
		t.Errorf("lamps before the call (-want +got):\n%s", diff)
	}
	body := get(h, "127.0.0.1:40000", "/").Body.String()
	for _, s := range []string{"CME-LAB", "Reception", "Sales", "SEP000000000002<small>/2</small>", `href="/static/board.css"`} {
		if !strings.Contains(body, s) {
			t.Errorf("board lacks %q", s)
		}
	}

	e.call(1, 2, "1002")
	want["dn-1001"], want["dn-1002"] = "inuse", "inuse"
	want["btn-SEP000000000001-1"], want["btn-SEP000000000002-1"] = "inuse", "inuse"
	if diff := cmp.Diff(want, lamps(t, h)); diff != "" {
		t.Errorf("lamps in the call (-want +got):\n%s", diff)
	}

	// The board tells hold from in use although presence does not.
	e.mustRef(e.sw.Hold(e.id[1], 0, 0))
	want["dn-1001"], want["btn-SEP000000000001-1"] = "hold", "hold"
	if diff := cmp.Diff(want, lamps(t, h)); diff != "" {
		t.Errorf("lamps with 1001 holding (-want +got):\n%s", diff)
	}

	e.mustRef(e.sw.Resume(e.id[1], 0, 0))
	e.mustRef(e.sw.OnHook(e.id[1], 0))
	e.must(e.sw.SetDND(e.id[2], true))
	st := apiState(t, h)
	got := map[string]string{}
	for _, d := range st.DNs {
		got[d.ID] = d.State
	}
	if diff := cmp.Diff(map[string]string{"dn-1001": "idle", "dn-1002": "dnd", "dn-1003": "dnd", "dn-1004": "unknown"}, got); diff != "" {
		t.Errorf("api/state after hang-up with ephone 2 in DND (-want +got):\n%s", diff)
	}
}

// TestSpeedDialLamps: each phone card shows its blf-speed-dial keys, full
// label and number, with the lamp its presence subscription carries.
func TestSpeedDialLamps(t *testing.T) {
	e := newEnv(t, web.Options{})
	e.register(1, 2, 3)
	h := e.web.Handler()
	// Ephone 2 subscribes as the SCCP adapter names it (primary line @
	// IP); ephone 3 has no subscription (as when it is refused), so its
	// lamp stays unknown.
	if _, err := e.engine.Subscribe(blf.SubscribeRequest{Watcher: e.web, WatcherName: "1002@127.0.0.1",
		Kind: blf.KindSCCPSpeedDial, Presentity: "1001", CanShowAlerting: true}); err != nil {
		t.Fatal(err)
	}
	sd := func() map[string]string {
		out := map[string]string{}
		for id, st := range lamps(t, h) {
			if strings.HasPrefix(id, "sd-") {
				out[id] = st
			}
		}
		return out
	}
	want := map[string]string{"sd-SEP000000000002-1": "idle", "sd-SEP000000000003-1": "unknown"}
	if diff := cmp.Diff(want, sd()); diff != "" {
		t.Errorf("speed-dial lamps at rest (-want +got):\n%s", diff)
	}
	body := get(h, "127.0.0.1:40000", "/").Body.String()
	for _, s := range []string{`<span class="sdlabel">Front Desk Supervisor</span> <span class="sdnum">1001</span>`,
		`<span class="label">Reception and Front Desk</span>`, `<span class="blabel">Reception and Front Desk</span>`} {
		if !strings.Contains(body, s) {
			t.Errorf("board lacks %s", s)
		}
	}
	e.mustRef(e.sw.OffHook(e.id[1], 0))
	want["sd-SEP000000000002-1"] = "inuse"
	if diff := cmp.Diff(want, sd()); diff != "" {
		t.Errorf("speed-dial lamps with 1001 off-hook (-want +got):\n%s", diff)
	}
	var dials []web.SpeedDialView
	for _, d := range apiState(t, h).Devices {
		if d.Name == "SEP000000000002" {
			dials = d.SpeedDials
		}
	}
	if diff := cmp.Diff([]web.SpeedDialView{{ID: "sd-SEP000000000002-1", Tag: 1, Number: "1001",
		Label: "Front Desk Supervisor", State: "inuse"}}, dials); diff != "" {
		t.Errorf("api/state speed dials of ephone 2 (-want +got):\n%s", diff)
	}
}

func apiState(t *testing.T, h http.Handler) web.State {
	t.Helper()
	rec := get(h, "[::1]:40000", "/api/state")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/state: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var st web.State
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestBoardEscapesConfigText(t *testing.T) {
	e := newEnv(t, web.Options{Hostname: func() string { return `<script>alert(1)</script>` }})
	body := get(e.web.Handler(), "127.0.0.1:1", "/").Body.String()
	if strings.Contains(body, "<script>alert") {
		t.Error("hostname rendered unescaped")
	}
}

func TestStaticAssetsEmbedded(t *testing.T) {
	e := newEnv(t, web.Options{})
	for path, ctype := range map[string]string{"/static/board.css": "text/css", "/static/board.js": "text/javascript"} {
		rec := get(e.web.Handler(), "127.0.0.1:1", path)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), ctype) || rec.Body.Len() < 500 {
			t.Errorf("%s: %d %q %d bytes", path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
		}
		if strings.Contains(rec.Body.String(), "http://") || strings.Contains(rec.Body.String(), "https://") {
			t.Errorf("%s references an external URL", path)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
}

// serve runs the board on 127.0.0.1:0 until the test ends; Close first,
// since an open event stream would hold httptest.Server.Close.
func serve(t testing.TB, w *web.Server) *httptest.Server {
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(func() { w.Close(); srv.Close() })
	return srv
}

// sseEvent is one parsed server-sent event.
type sseEvent struct{ name, data string }

// readEvents parses an SSE stream into ch until it ends.
func readEvents(r io.Reader, ch chan<- sseEvent) {
	defer close(ch)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.name != "" || ev.data != "" {
				ch <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data += strings.TrimPrefix(line, "data: ")
		}
	}
}

func openEvents(t *testing.T, url string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("GET /events: %d %q", resp.StatusCode, ct)
	}
	ch := make(chan sseEvent, 64)
	go readEvents(resp.Body, ch)
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return ch
}

// next returns the next event named one of names, skipping others; at
// most 50 events and 10 s.
func next(t *testing.T, ch <-chan sseEvent, names ...string) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for range 50 {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("event stream ended")
			}
			for _, n := range names {
				if ev.name == n {
					return ev
				}
			}
		case <-timeout:
			t.Fatalf("no %v event within 10s", names)
		}
	}
	t.Fatalf("no %v event in 50 events", names)
	return sseEvent{}
}

func TestEventsSnapshotThenUpdates(t *testing.T) {
	e := newEnv(t, web.Options{Heartbeat: time.Hour, Poll: time.Hour})
	e.register(1, 2)
	srv := serve(t, e.web)
	ch := openEvents(t, srv.URL)

	ev := next(t, ch, web.EventSnapshot, web.EventDN, web.EventDevice)
	if ev.name != web.EventSnapshot {
		t.Fatalf("first event %q, want snapshot", ev.name)
	}
	var st web.State
	if err := json.Unmarshal([]byte(ev.data), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.DNs) != 4 || st.DNs[0].ID != "dn-1001" || st.DNs[0].State != web.LampIdle {
		t.Fatalf("snapshot DNs = %+v", st.DNs)
	}

	e.mustRef(e.sw.OffHook(e.id[1], 0))
	var d web.DNView
	if err := json.Unmarshal([]byte(next(t, ch, web.EventDN).data), &d); err != nil {
		t.Fatal(err)
	}
	if d.ID != "dn-1001" || d.State != web.LampInUse {
		t.Errorf("dn event = %+v, want dn-1001 inuse", d)
	}
	var dev web.DeviceView
	if err := json.Unmarshal([]byte(next(t, ch, web.EventDevice).data), &dev); err != nil {
		t.Fatal(err)
	}
	if dev.Name != "SEP000000000001" || dev.Buttons[0].State != web.LampInUse || dev.Buttons[0].Detail != "dialing" {
		t.Errorf("device event = %+v", dev)
	}

	// A presence subscription shows up in the subscriptions table.
	if _, err := e.engine.Subscribe(blf.SubscribeRequest{Watcher: e.web, WatcherName: "SEP000000000002",
		Kind: blf.KindSCCPSpeedDial, Presentity: "1001"}); err != nil {
		t.Fatal(err)
	}
	var subs struct{ Subscriptions []web.SubView }
	if err := json.Unmarshal([]byte(next(t, ch, web.EventSubs).data), &subs); err != nil {
		t.Fatal(err)
	}
	want := []web.SubView{{ID: 1, Watcher: "SEP000000000002", Presentity: "1001", Kind: "SCCP [BLF Speed Dial]", State: web.LampInUse}}
	if diff := cmp.Diff(want, subs.Subscriptions); diff != "" {
		t.Errorf("subs event (-want +got):\n%s", diff)
	}
}

func TestEventsHeartbeat(t *testing.T) {
	e := newEnv(t, web.Options{Heartbeat: 10 * time.Millisecond})
	srv := serve(t, e.web)
	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for range 1000 { // bounded: snapshot lines come first, then pings
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == ": ping\n" {
			return
		}
	}
	t.Fatal("no heartbeat comment")
}

// stuckSource blocks every read after the first until released: an SSE
// handler that reads it is stuck, like one writing to a browser that
// stopped reading.
type stuckSource struct {
	web.Source
	calls   atomic.Int32
	release chan struct{}
}

func (s *stuckSource) Lines() ([]dn.LineStatus, error) {
	if s.calls.Add(1) > 1 {
		<-s.release
	}
	return s.Source.Lines()
}

func TestLineChangedDoesNotBlockOnStuckClient(t *testing.T) {
	e := newEnv(t, web.Options{})
	src := &stuckSource{Source: e.sw, release: make(chan struct{})}
	w := web.New(web.Options{Source: src, Heartbeat: time.Hour, Poll: time.Hour})
	srv := serve(t, w)
	ch := openEvents(t, srv.URL)
	next(t, ch, web.EventSnapshot)
	if w.Clients() != 1 {
		t.Fatalf("Clients = %d, want 1", w.Clients())
	}
	// The first LineChanged wakes the client, which then blocks in Lines.
	// The rest must still return at once; a blocking implementation would
	// hang here until the test binary times out.
	ev := dn.LineEvent{Key: dn.DNKey{Kind: dn.EphoneDN, Tag: 1}, Number: "1001", Presence: dn.PresenceInUse}
	for range 100_000 {
		w.LineChanged(ev)
		w.DeviceChanged(dn.DeviceEvent{Name: "SEP000000000001"})
	}
	close(src.release)
}

func BenchmarkLineChangedStuckClient(b *testing.B) {
	e := newEnv(b, web.Options{})
	src := &stuckSource{Source: e.sw, release: make(chan struct{})}
	w := web.New(web.Options{Source: src, Heartbeat: time.Hour, Poll: time.Hour})
	srv := serve(b, w)
	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	ev := dn.LineEvent{Key: dn.DNKey{Kind: dn.EphoneDN, Tag: 1}, Number: "1001"}
	for b.Loop() {
		w.LineChanged(ev)
	}
	close(src.release)
}

func TestAuth(t *testing.T) {
	var failures []string
	var mu sync.Mutex
	// No delays: the throttle has its own test (TestLoginThrottled).
	e := newEnv(t, web.Options{Throttle: throttle.New(throttle.Policy{}), OnAuthFailure: func(user, remote, reason string) {
		mu.Lock()
		failures = append(failures, user+"@"+remote+" "+reason)
		mu.Unlock()
	}})
	h := e.web.Handler()
	tests := []struct {
		name, remote, user, pass string
		basic                    bool
		want                     int
	}{
		{"loopback v4", "127.0.0.1:5000", "", "", false, 200},
		{"loopback v6", "[::1]:5000", "", "", false, 200},
		{"loopback v4-mapped", "[::ffff:127.0.0.1]:5000", "", "", false, 200},
		{"remote no creds", "192.0.2.7:5000", "", "", false, 401},
		{"remote bad password", "192.0.2.7:5000", "admin", "wrong", true, 401},
		{"remote unknown user", "192.0.2.7:5000", "root", "s3cret", true, 401},
		{"remote good", "192.0.2.7:5000", "admin", "s3cret", true, 200},
		{"garbage remote addr", "not-an-addr", "", "", false, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/api/state", nil)
			req.RemoteAddr = tt.remote
			if tt.basic {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a Basic challenge: %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
	mu.Lock()
	if diff := cmp.Diff([]string{"admin@192.0.2.7:5000 bad-password", "root@192.0.2.7:5000 bad-password"}, failures); diff != "" {
		t.Errorf("auth failures reported (-want +got):\n%s", diff)
	}
	mu.Unlock()

	req := httptest.NewRequest("POST", "/api/state", nil)
	req.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", rec.Code)
	}
}

func TestAuthVerifyOverride(t *testing.T) {
	e := newEnv(t, web.Options{Verify: func(u, p string) bool { return u == "ops" && p == "hashed-ok" }})
	for _, c := range []struct {
		user, pass string
		want       int
	}{{"ops", "hashed-ok", 200}, {"admin", "s3cret", 401}} {
		req := httptest.NewRequest("GET", "/", nil)
		req.SetBasicAuth(c.user, c.pass)
		rec := httptest.NewRecorder()
		e.web.Handler().ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s: %d, want %d", c.user, rec.Code, c.want)
		}
	}
}

func TestPprofAndMetricsRoutes(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "cmed_up 1\n") })
	off := newEnv(t, web.Options{})
	on := newEnv(t, web.Options{EnablePprof: true, Metrics: metrics,
		Verify: func(u, p string) bool { return u == "ops" && p == "ok" }})
	for _, c := range []struct {
		h    http.Handler
		path string
		want int
	}{
		{off.web.Handler(), "/debug/pprof/", 404},
		{off.web.Handler(), "/debug/pprof/goroutine", 404},
		{off.web.Handler(), "/metrics", 404},
		{on.web.Handler(), "/debug/pprof/", 200},
		{on.web.Handler(), "/debug/pprof/goroutine?debug=1", 200},
		{on.web.Handler(), "/metrics", 200},
		{on.web.Handler(), "/nope", 404},
	} {
		if rec := get(c.h, "127.0.0.1:1", c.path); rec.Code != c.want {
			t.Errorf("%s: %d, want %d", c.path, rec.Code, c.want)
		}
	}
	// Behind the same login as the board.
	if rec := get(on.web.Handler(), "198.51.100.1:1", "/debug/pprof/"); rec.Code != 401 {
		t.Errorf("remote pprof without login: %d", rec.Code)
	}
	// A login opens the board from afar, never the profiler.
	for path, want := range map[string]int{"/": 200, "/debug/pprof/": 403, "/debug/pprof/cmdline": 403} {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = "198.51.100.1:1"
		req.SetBasicAuth("ops", "ok")
		rec := httptest.NewRecorder()
		on.web.Handler().ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("remote %s with login: %d, want %d", path, rec.Code, want)
		}
	}
}

func TestHealthzReportsEachListener(t *testing.T) {
	var mu sync.Mutex
	checks := []web.HealthCheck{{Name: "sip-udp", OK: true}, {Name: "sip-tcp", OK: true}}
	e := newEnv(t, web.Options{Health: func() []web.HealthCheck {
		mu.Lock()
		defer mu.Unlock()
		return append([]web.HealthCheck(nil), checks...)
	}})
	rec := get(e.web.Handler(), "127.0.0.1:1", "/healthz")
	if rec.Code != 200 || rec.Body.String() != "sip-tcp up\nsip-udp up\n" {
		t.Fatalf("all up: %d %q", rec.Code, rec.Body.String())
	}
	mu.Lock()
	checks[1] = web.HealthCheck{Name: "sip-tcp", Detail: "accept: too many open files"}
	mu.Unlock()
	rec = get(e.web.Handler(), "127.0.0.1:1", "/healthz")
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "sip-tcp down: accept: too many open files") {
		t.Fatalf("one down: %d %q", rec.Code, rec.Body.String())
	}
	if rec := get(e.web.Handler(), "198.51.100.1:1", "/healthz"); rec.Code != 401 {
		t.Errorf("remote /healthz without login: %d, want 401 (same rule as the board)", rec.Code)
	}
	if rec := get(newEnv(t, web.Options{}).web.Handler(), "127.0.0.1:1", "/healthz"); rec.Code != 404 {
		t.Errorf("no Health: %d, want 404", rec.Code)
	}
}
