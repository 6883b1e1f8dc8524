package subs

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/sip/pidf"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func testConfig() Config {
	n := 0
	return Config{NewTag: func() string { n++; return "tag" + strconv.Itoa(n) }}
}

func idleState(dn string) pidf.LineState {
	return pidf.LineState{Entity: "sip:" + dn + "@10.0.0.1", Number: dn, Status: pidf.StatusIdle}
}

func presenceSub(callID, dn string) SubscribeInfo {
	return SubscribeInfo{
		CallID: callID, FromTag: "ft-" + callID, Event: "presence",
		Accept: []string{pidf.ContentTypePIDF}, Expires: 3600, HasExpires: true,
		Watcher: "sip:1001@10.0.0.2", Presentity: dn, Contact: "sip:1001@10.0.0.2:5060",
		State: idleState(dn),
	}
}

func mustNotify(t *testing.T, n *Notify) *Notify {
	t.Helper()
	if n == nil {
		t.Fatal("expected a NOTIFY, got none")
	}
	return n
}

func TestSubscribeResponses(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*SubscribeInfo)
		cfg    func(*Config)
		status int
		check  func(t *testing.T, d Decision)
	}{
		{"accepted", nil, nil, 200, func(t *testing.T, d Decision) {
			if d.Expires != 3600 || d.LocalTag != "tag1" || d.Sub != 1 {
				t.Errorf("expires %d tag %q sub %d", d.Expires, d.LocalTag, d.Sub)
			}
			n := mustNotify(t, d.Notify)
			if n.SubscriptionState != "active;expires=3600" || n.CSeq != 1 || n.Version != 0 ||
				n.Event != "presence" || n.ContentType != pidf.ContentTypePIDF || n.Terminated {
				t.Errorf("notify %+v", n)
			}
			if n.Dialog != (DialogID{CallID: "c1", LocalTag: "tag1", RemoteTag: "ft-c1"}) {
				t.Errorf("dialog %+v", n.Dialog)
			}
			if !bytes.Contains(n.Body, []byte("<basic>open</basic>")) || n.Contact != "sip:1001@10.0.0.2:5060" {
				t.Errorf("body/contact %s %s", n.Body, n.Contact)
			}
		}},
		{"clamped-to-max", func(s *SubscribeInfo) { s.Expires = 7200 }, nil, 200, func(t *testing.T, d Decision) {
			if d.Expires != 3600 || d.Notify.SubscriptionState != "active;expires=3600" {
				t.Errorf("expires %d %s", d.Expires, d.Notify.SubscriptionState)
			}
		}},
		{"shorter-kept", func(s *SubscribeInfo) { s.Expires = 600 }, nil, 200, func(t *testing.T, d Decision) {
			if d.Expires != 600 || d.Notify.SubscriptionState != "active;expires=600" {
				t.Errorf("expires %d %s", d.Expires, d.Notify.SubscriptionState)
			}
		}},
		{"no-expires-default", func(s *SubscribeInfo) { s.HasExpires = false }, func(c *Config) { c.DefaultExpires = 1800 }, 200,
			func(t *testing.T, d Decision) {
				if d.Expires != 1800 {
					t.Errorf("expires %d", d.Expires)
				}
			}},
		{"too-brief", func(s *SubscribeInfo) { s.Expires = 30 }, nil, 423, func(t *testing.T, d Decision) {
			if d.MinExpires != 60 || d.Notify != nil {
				t.Errorf("min-expires %d notify %v", d.MinExpires, d.Notify)
			}
		}},
		{"too-brief-custom-min", func(s *SubscribeInfo) { s.Expires = 100 }, func(c *Config) { c.MinExpires = 120 }, 423,
			func(t *testing.T, d Decision) {
				if d.MinExpires != 120 {
					t.Errorf("min-expires %d", d.MinExpires)
				}
			}},
		{"unknown-event", func(s *SubscribeInfo) { s.Event = "presence.winfo" }, nil, 489, func(t *testing.T, d Decision) {
			if d.AllowEvents != "presence, dialog" {
				t.Errorf("allow-events %q", d.AllowEvents)
			}
		}},
		{"missing-event", func(s *SubscribeInfo) { s.Event = "" }, nil, 489, nil},
		{"event-id-echoed", func(s *SubscribeInfo) { s.Event = "Presence ; id=42" }, nil, 200, func(t *testing.T, d Decision) {
			if d.Notify.Event != "presence;id=42" {
				t.Errorf("event %q", d.Notify.Event)
			}
		}},
		{"accept-cpim-only", func(s *SubscribeInfo) { s.Accept = []string{"application/cpim-pidf+xml"} }, nil, 200,
			func(t *testing.T, d Decision) {
				if d.Notify.ContentType != pidf.ContentTypeCPIMPIDF || !bytes.Contains(d.Notify.Body, []byte("<presence")) {
					t.Errorf("ct %q", d.Notify.ContentType)
				}
			}},
		{"accept-q-prefers-cpim", func(s *SubscribeInfo) {
			s.Accept = []string{"application/pidf+xml;q=0.5, application/cpim-pidf+xml"}
		}, nil, 200, func(t *testing.T, d Decision) {
			if d.Notify.ContentType != pidf.ContentTypeCPIMPIDF {
				t.Errorf("ct %q", d.Notify.ContentType)
			}
		}},
		{"accept-tie-prefers-pidf", func(s *SubscribeInfo) {
			s.Accept = []string{"application/cpim-pidf+xml", "application/pidf+xml"}
		}, nil, 200, func(t *testing.T, d Decision) {
			if d.Notify.ContentType != pidf.ContentTypePIDF {
				t.Errorf("ct %q", d.Notify.ContentType)
			}
		}},
		{"accept-wildcard", func(s *SubscribeInfo) { s.Accept = []string{"application/*"} }, nil, 200, func(t *testing.T, d Decision) {
			if d.Notify.ContentType != pidf.ContentTypePIDF {
				t.Errorf("ct %q", d.Notify.ContentType)
			}
		}},
		{"accept-none", func(s *SubscribeInfo) { s.Accept = []string{"text/plain, application/pidf+xml;q=0"} }, nil, 406,
			func(t *testing.T, d Decision) {
				if d.Accept != "application/pidf+xml, application/cpim-pidf+xml" {
					t.Errorf("accept %q", d.Accept)
				}
			}},
		{"dialog-rejects-pidf", func(s *SubscribeInfo) { s.Event = "dialog" }, nil, 406, func(t *testing.T, d Decision) {
			if d.Accept != pidf.ContentTypeDialogInfo {
				t.Errorf("accept %q", d.Accept)
			}
		}},
		{"dialog-default", func(s *SubscribeInfo) { s.Event = "dialog"; s.Accept = nil }, nil, 200, func(t *testing.T, d Decision) {
			n := d.Notify
			if n.ContentType != pidf.ContentTypeDialogInfo || !bytes.Contains(n.Body, []byte(`version="0" state="full"`)) {
				t.Errorf("ct %q body %s", n.ContentType, n.Body)
			}
		}},
		{"entity-override", func(s *SubscribeInfo) { s.Entity = "sip:2001@127.0.0.1" }, nil, 200, func(t *testing.T, d Decision) {
			if !bytes.Contains(d.Notify.Body, []byte(`entity="sip:2001@127.0.0.1"`)) || d.Notify.Entity != "sip:2001@127.0.0.1" {
				t.Errorf("body %s", d.Notify.Body)
			}
		}},
		{"service-disabled", func(s *SubscribeInfo) { s.Verdict = RefuseServiceDisabled }, nil, 403, nil},
		{"watcher-not-allowed", func(s *SubscribeInfo) { s.Verdict = RefuseWatcherNotAllowed }, nil, 403, nil},
		{"not-watchable", func(s *SubscribeInfo) { s.Verdict = RefuseNotWatchable }, nil, 403, nil},
		{"no-such-presentity", func(s *SubscribeInfo) { s.Verdict = RefuseNoSuchPresentity }, nil, 404, nil},
		{"bogus-verdict-fails-closed", func(s *SubscribeInfo) { s.Verdict = Verdict(77) }, nil, 403, nil},
		{"limit", func(s *SubscribeInfo) { s.Verdict = RefuseLimit }, func(c *Config) { c.RetryAfter = 90 }, 503,
			func(t *testing.T, d Decision) {
				if d.RetryAfter != 90 {
					t.Errorf("retry-after %d", d.RetryAfter)
				}
			}},
		{"refresh-unknown-dialog", func(s *SubscribeInfo) { s.ToTag = "nope" }, nil, 481, nil},
		{"fetch", func(s *SubscribeInfo) { s.Expires = 0 }, nil, 200, func(t *testing.T, d Decision) {
			n := mustNotify(t, d.Notify)
			if d.Expires != 0 || !n.Terminated || n.SubscriptionState != "terminated;reason=timeout" ||
				!bytes.Contains(n.Body, []byte("<basic>open</basic>")) {
				t.Errorf("fetch %d %+v", d.Expires, n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			tab := NewTable(cfg)
			req := presenceSub("c1", "2001")
			if tt.mod != nil {
				tt.mod(&req)
			}
			d := tab.OnSubscribe(req, t0)
			if d.Status != tt.status {
				t.Fatalf("status %d %s, want %d", d.Status, d.Reason, tt.status)
			}
			if d.Status != 200 && (d.Notify != nil || tab.Len() != 0) {
				t.Errorf("refusal created state: notify %v len %d", d.Notify, tab.Len())
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

func TestRefreshAndUnsubscribe(t *testing.T) {
	tab := NewTable(testConfig())
	d := tab.OnSubscribe(presenceSub("c1", "2001"), t0)
	n1 := mustNotify(t, d.Notify)

	// Refresh while the first NOTIFY is in flight: 200, NOTIFY deferred.
	ref := presenceSub("c1", "2001")
	ref.ToTag, ref.Expires = d.LocalTag, 1200
	r := tab.OnSubscribe(ref, t0.Add(10*time.Second))
	if r.Status != 200 || r.Expires != 1200 || r.Notify != nil || r.Sub != d.Sub || r.LocalTag != d.LocalTag {
		t.Fatalf("refresh in flight: %+v", r)
	}
	n2 := mustNotify(t, tab.OnNotifyResponse(d.Sub, n1.CSeq, 200, t0.Add(11*time.Second)))
	if n2.CSeq != 2 || n2.Version != 1 || n2.SubscriptionState != "active;expires=1199" {
		t.Errorf("deferred refresh notify %+v", n2)
	}
	if tab.OnNotifyResponse(d.Sub, n2.CSeq, 200, t0.Add(11*time.Second)) != nil {
		t.Error("NOTIFY without a pending change")
	}
	// Duplicate / stale responses are ignored.
	if tab.OnNotifyResponse(d.Sub, n1.CSeq, 481, t0.Add(12*time.Second)) != nil || tab.Len() != 1 {
		t.Error("stale 481 acted upon")
	}

	// Refresh while idle: immediate NOTIFY; too-brief refresh: 423.
	ref.Expires = 10
	if r := tab.OnSubscribe(ref, t0.Add(20*time.Second)); r.Status != 423 {
		t.Errorf("brief refresh %d", r.Status)
	}
	ref.Expires = 3600
	r = tab.OnSubscribe(ref, t0.Add(20*time.Second))
	n3 := mustNotify(t, r.Notify)
	if n3.CSeq != 3 || n3.SubscriptionState != "active;expires=3600" {
		t.Errorf("refresh notify %+v", n3)
	}
	tab.OnNotifyResponse(d.Sub, n3.CSeq, 200, t0.Add(21*time.Second))

	// Unsubscribe: 200 Expires 0, terminated NOTIFY, then gone.
	ref.Expires = 0
	u := tab.OnSubscribe(ref, t0.Add(30*time.Second))
	n4 := mustNotify(t, u.Notify)
	if u.Status != 200 || u.Expires != 0 || !n4.Terminated || n4.SubscriptionState != "terminated;reason=timeout" || n4.CSeq != 4 {
		t.Fatalf("unsubscribe %+v %+v", u, n4)
	}
	if tab.Len() != 0 {
		t.Error("terminated subscription still counted")
	}
	if info, ok := tab.Get(d.Sub); !ok || !info.Terminated || !info.InFlight {
		t.Errorf("terminating subscription not visible: %+v %v", info, ok)
	}
	if r := tab.OnSubscribe(ref, t0.Add(31*time.Second)); r.Status != 481 {
		t.Errorf("refresh after unsubscribe: %d", r.Status)
	}
	if ns := tab.OnStateChange("2001", pidf.LineState{Status: pidf.StatusInUse}, t0.Add(31*time.Second)); len(ns) != 0 {
		t.Errorf("NOTIFY after terminated: %+v", ns)
	}
	if tab.OnNotifyResponse(d.Sub, n4.CSeq, 200, t0.Add(32*time.Second)) != nil {
		t.Error("NOTIFY after the final one")
	}
	if _, ok := tab.Get(d.Sub); ok || len(tab.List()) != 0 {
		t.Error("subscription not removed after final NOTIFY response")
	}
}

func TestUnsubscribeWhileInFlight(t *testing.T) {
	tab := NewTable(testConfig())
	d := tab.OnSubscribe(presenceSub("c1", "2001"), t0)
	ref := presenceSub("c1", "2001")
	ref.ToTag, ref.Expires = d.LocalTag, 0
	u := tab.OnSubscribe(ref, t0)
	if u.Status != 200 || u.Notify != nil {
		t.Fatalf("second NOTIFY while one in flight: %+v", u)
	}
	n := mustNotify(t, tab.OnNotifyResponse(d.Sub, 1, 200, t0))
	if !n.Terminated || n.CSeq != 2 {
		t.Errorf("final %+v", n)
	}
}

func TestCoalescing(t *testing.T) {
	tab := NewTable(testConfig())
	d := tab.OnSubscribe(presenceSub("c1", "2001"), t0)
	st := idleState("2001")
	for _, s := range []pidf.Status{pidf.StatusRinging, pidf.StatusInUse, pidf.StatusHold} {
		st.Status = s
		if ns := tab.OnStateChange("2001", st, t0); len(ns) != 0 {
			t.Fatalf("NOTIFY while one in flight: %+v", ns)
		}
	}
	n := mustNotify(t, tab.OnNotifyResponse(d.Sub, 1, 200, t0))
	got, err := pidf.ParsePIDF(n.Body)
	if err != nil || got.Status != pidf.StatusHold {
		t.Fatalf("coalesced NOTIFY carries %v (%v), want hold", got.Status, err)
	}
	if tab.OnNotifyResponse(d.Sub, n.CSeq, 200, t0) != nil {
		t.Error("extra NOTIFY")
	}
	// Identical state: nothing to send.
	if ns := tab.OnStateChange("2001", st, t0); len(ns) != 0 {
		t.Errorf("NOTIFY for unchanged state")
	}
	st.Status = pidf.StatusIdle
	ns := tab.OnStateChange("2001", st, t0)
	if len(ns) != 1 || ns[0].CSeq != 3 || ns[0].Version != 2 {
		t.Fatalf("state change NOTIFY %+v", ns)
	}
	// Unknown presentities are ignored.
	if ns := tab.OnStateChange("9999", st, t0); ns != nil {
		t.Errorf("NOTIFY for unwatched presentity")
	}
}

func TestNotifyFailures(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		strikes int
		removed bool
	}{
		{"481", 481, 0, true},
		{"500", 500, 0, true},
		{"408", 408, 0, true},
		{"timeout", StatusTimeout, 0, true},
		{"408-tolerated", 408, 1, false},
		{"481-not-tolerated", 481, 3, true},
		{"202-is-ok", 202, 0, false},
		{"provisional-ignored", 180, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.TimeoutStrikes = tt.strikes
			tab := NewTable(cfg)
			d := tab.OnSubscribe(presenceSub("c1", "2001"), t0)
			next := tab.OnNotifyResponse(d.Sub, 1, tt.status, t0)
			_, present := tab.Get(d.Sub)
			if present == tt.removed {
				t.Fatalf("present=%v, want removed=%v", present, tt.removed)
			}
			if tt.removed {
				if next != nil || tab.Len() != 0 {
					t.Error("NOTIFY or count after removal")
				}
				if ns := tab.OnStateChange("2001", pidf.LineState{Status: pidf.StatusBusy}, t0); len(ns) != 0 {
					t.Error("NOTIFY to removed subscription")
				}
				return
			}
			if tt.strikes > 0 {
				// Tolerated timeout resends the latest state at once.
				n := mustNotify(t, next)
				if n.CSeq != 2 {
					t.Errorf("resend cseq %d", n.CSeq)
				}
				if tab.OnNotifyResponse(d.Sub, 2, 408, t0) != nil {
					t.Error("second strike should remove")
				}
				if _, ok := tab.Get(d.Sub); ok {
					t.Error("not removed after strikes exhausted")
				}
			}
		})
	}
}

func TestTickExpiry(t *testing.T) {
	cfg := testConfig()
	cfg.ExpiryGrace = 5 * time.Second
	tab := NewTable(cfg)
	req := presenceSub("c1", "2001")
	req.Expires = 120
	d := tab.OnSubscribe(req, t0)
	tab.OnNotifyResponse(d.Sub, 1, 200, t0)
	if ns := tab.Tick(t0.Add(124 * time.Second)); len(ns) != 0 {
		t.Fatalf("expired inside grace: %+v", ns)
	}
	ns := tab.Tick(t0.Add(125 * time.Second))
	if len(ns) != 1 || ns[0].SubscriptionState != "terminated;reason=timeout" || !ns[0].Terminated {
		t.Fatalf("expiry NOTIFY %+v", ns)
	}
	if tab.Len() != 0 {
		t.Error("expired subscription still active")
	}
	// The final NOTIFY is never answered: NotifyTimeout reaps it.
	if ns := tab.Tick(t0.Add(125*time.Second + 31*time.Second)); len(ns) != 0 {
		t.Fatal("unexpected NOTIFY")
	}
	if _, ok := tab.Get(d.Sub); !ok {
		t.Fatal("reaped before NotifyTimeout")
	}
	tab.Tick(t0.Add(125*time.Second + 32*time.Second))
	if _, ok := tab.Get(d.Sub); ok {
		t.Error("unanswered final NOTIFY not reaped")
	}
}

func TestTickNotifyTimeout(t *testing.T) {
	tab := NewTable(testConfig())
	d := tab.OnSubscribe(presenceSub("c1", "2001"), t0)
	tab.Tick(t0.Add(31 * time.Second))
	if _, ok := tab.Get(d.Sub); !ok {
		t.Fatal("removed too early")
	}
	tab.Tick(t0.Add(32 * time.Second))
	if _, ok := tab.Get(d.Sub); ok {
		t.Error("NOTIFY never answered but subscription kept")
	}
}

func TestRemainingExpiresTracksClock(t *testing.T) {
	tab := NewTable(testConfig())
	d := tab.OnSubscribe(presenceSub("c1", "2001"), t0)
	tab.OnNotifyResponse(d.Sub, 1, 200, t0)
	st := idleState("2001")
	st.Status = pidf.StatusInUse
	ns := tab.OnStateChange("2001", st, t0.Add(1000*time.Second+500*time.Millisecond))
	if len(ns) != 1 || ns[0].SubscriptionState != "active;expires=2600" {
		t.Fatalf("%+v", ns)
	}
}

func TestShutdownAndTerminate(t *testing.T) {
	for _, retry := range []int{0, 30} {
		cfg := testConfig()
		cfg.ShutdownRetryAfter = retry
		tab := NewTable(cfg)
		a := tab.OnSubscribe(presenceSub("a", "2001"), t0)
		b := tab.OnSubscribe(presenceSub("b", "2002"), t0)
		tab.OnNotifyResponse(a.Sub, 1, 200, t0) // b keeps its NOTIFY in flight
		ns := tab.Shutdown(t0)
		want := "terminated;reason=deactivated"
		if retry > 0 {
			want = "terminated;reason=probation;retry-after=30"
		}
		if len(ns) != 1 || ns[0].Sub != a.Sub || ns[0].SubscriptionState != want {
			t.Fatalf("shutdown NOTIFYs %+v", ns)
		}
		n := mustNotify(t, tab.OnNotifyResponse(b.Sub, 1, 200, t0))
		if n.SubscriptionState != want {
			t.Errorf("deferred shutdown NOTIFY %q", n.SubscriptionState)
		}
		if d := tab.OnSubscribe(presenceSub("c", "2001"), t0); d.Status != 503 || d.RetryAfter == 0 {
			t.Errorf("subscribe after shutdown: %+v", d)
		}
	}

	tab := NewTable(testConfig())
	a := tab.OnSubscribe(presenceSub("a", "2001"), t0)
	tab.OnSubscribe(presenceSub("b", "2002"), t0)
	tab.OnNotifyResponse(a.Sub, 1, 200, t0)
	ns := tab.Terminate("2001", ReasonNoResource, t0)
	if len(ns) != 1 || ns[0].SubscriptionState != "terminated;reason=noresource" || tab.Len() != 1 {
		t.Fatalf("terminate %+v len %d", ns, tab.Len())
	}
	if tab.Terminate("nobody", ReasonNoResource, t0) != nil {
		t.Error("terminate of unknown presentity")
	}
}

func TestRefreshRefused(t *testing.T) {
	tab := NewTable(testConfig())
	d := tab.OnSubscribe(presenceSub("c1", "2001"), t0)
	tab.OnNotifyResponse(d.Sub, 1, 200, t0)
	ref := presenceSub("c1", "2001")
	ref.ToTag, ref.Verdict = d.LocalTag, RefuseWatcherNotAllowed
	r := tab.OnSubscribe(ref, t0)
	if r.Status != 403 || r.Notify == nil || r.Notify.SubscriptionState != "terminated;reason=rejected" {
		t.Fatalf("%+v", r)
	}
}

func TestMaxSubscriptions(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSubscriptions = 2
	tab := NewTable(cfg)
	for i, want := range []int{200, 200, 503} {
		d := tab.OnSubscribe(presenceSub("c"+strconv.Itoa(i), "2001"), t0)
		if d.Status != want {
			t.Fatalf("sub %d: %d, want %d", i, d.Status, want)
		}
	}
	fetch := presenceSub("f", "2001")
	fetch.Expires = 0
	if d := tab.OnSubscribe(fetch, t0); d.Status != 200 {
		t.Errorf("fetch at the cap: %d", d.Status)
	}
}

func TestListAndInfo(t *testing.T) {
	tab := NewTable(testConfig())
	for i := range 3 {
		req := presenceSub("c"+strconv.Itoa(i), "200"+strconv.Itoa(i))
		req.Remote = i == 1
		tab.OnSubscribe(req, t0)
	}
	l := tab.List()
	if len(l) != 3 || l[0].ID != 1 || l[2].ID != 3 || !l[1].Remote || l[2].Presentity != "2002" ||
		l[0].LineStatus != pidf.StatusIdle || l[0].Granted != 3600 || !l[0].InFlight || l[0].Package != PackagePresence {
		t.Fatalf("%+v", l)
	}
}

func TestNegotiateAndEvent(t *testing.T) {
	if p, id := parseEvent("dialog;foo=1;id=\"x\""); p != PackageDialog || id != "x" {
		t.Errorf("parseEvent = %v %q", p, id)
	}
	if ct, ok := negotiate(PackagePresence, []string{" ", ""}); !ok || ct != pidf.ContentTypePIDF {
		t.Errorf("blank Accept: %q %v", ct, ok)
	}
	if _, ok := negotiate(PackageNone, nil); ok {
		t.Error("negotiated for no package")
	}
	if Verdict(99).String() != "unknown" || RefuseLimit.String() != "limit" {
		t.Error("verdict names")
	}
	if PackageDialog.String() != "dialog" || PackageNone.String() != "" {
		t.Error("package names")
	}
}

func TestDefaultTagsUnique(t *testing.T) {
	tab := NewTable(Config{})
	a := tab.OnSubscribe(presenceSub("a", "1"), t0)
	b := tab.OnSubscribe(presenceSub("b", "1"), t0)
	if a.LocalTag == b.LocalTag || len(a.LocalTag) != 16 || strings.ContainsAny(a.LocalTag, " ;,") {
		t.Errorf("tags %q %q", a.LocalTag, b.LocalTag)
	}
}

// TestConcurrentUse exercises the mutex under -race: the sipgo handlers and
// the blf event loop call the Table from different goroutines.
func TestConcurrentUse(t *testing.T) {
	tab := NewTable(testConfig())
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				now := t0.Add(time.Duration(i) * time.Second)
				switch g {
				case 0:
					d := tab.OnSubscribe(presenceSub("g"+strconv.Itoa(i), "2001"), now)
					if d.Notify != nil {
						tab.OnNotifyResponse(d.Sub, d.Notify.CSeq, 200, now)
					}
				case 1:
					st := idleState("2001")
					st.Status = pidf.Status(i % 6)
					for _, n := range tab.OnStateChange("2001", st, now) {
						tab.OnNotifyResponse(n.Sub, n.CSeq, 200, now)
					}
				case 2:
					tab.Tick(now)
				default:
					_ = tab.List()
					_ = tab.Len()
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	if tab.Len() > 200 {
		t.Fatalf("Len %d", tab.Len())
	}
}

// TestRecordSaysWhenThereIsSomethingToFlush: Record reports true only
// when it leaves Flush a change that was not already waiting, so the SIP
// notifier wakes its drain loop only then (pkg/sip/notifier.go Deliver).
func TestRecordSaysWhenThereIsSomethingToFlush(t *testing.T) {
	tab := NewTable(testConfig())
	idle, busy := idleState("2001"), idleState("2001")
	busy.Status = pidf.StatusInUse
	steps := []struct {
		what string
		do   func() bool
		want bool
	}{
		{"first state", func() bool { return tab.Record("2001", idle, t0) }, true},
		{"same state again, not flushed", func() bool { return tab.Record("2001", idle, t0) }, false},
		{"a change while one waits", func() bool { return tab.Record("2001", busy, t0) }, false},
		{"flushed, then the same state", func() bool { tab.Flush(nil, t0); return tab.Record("2001", busy, t0) }, false},
		{"flushed, then a change", func() bool { return tab.Record("2001", idle, t0) }, true},
		{"another line", func() bool { return tab.Record("2002", idleState("2002"), t0) }, true},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want {
			t.Errorf("%s: Record = %v, want %v", s.what, got, s.want)
		}
	}
}
