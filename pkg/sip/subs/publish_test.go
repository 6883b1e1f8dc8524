package subs

import (
	"bytes"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/sip/pidf"
)

func pub(dn string, r pidf.Rich) PublishInfo {
	return PublishInfo{Presentity: dn, Event: "presence", Expires: 3600, HasExpires: true, HasBody: true, Rich: r}
}

// answerOK acknowledges the NOTIFYs so the next change goes out at once.
func answerOK(tb *Table, ns []Notify, now time.Time) {
	for _, n := range ns {
		for next := tb.OnNotifyResponse(n.Sub, n.CSeq, 200, now); next != nil; {
			next = tb.OnNotifyResponse(next.Sub, next.CSeq, 200, now)
		}
	}
}

// TestPublishRules: RFC 3903 §6 answers of the compositor.
func TestPublishRules(t *testing.T) {
	tb := NewTable(testConfig())
	away := pidf.Rich{Reach: pidf.ReachAway}
	cases := []struct {
		name   string
		req    PublishInfo
		status int
	}{
		{"dialog package", func() PublishInfo { p := pub("2001", away); p.Event = "dialog"; return p }(), 489},
		{"no event", func() PublishInfo { p := pub("2001", away); p.Event = ""; return p }(), 489},
		{"unknown etag", func() PublishInfo { p := pub("2001", away); p.IfMatch = "nope"; return p }(), 412},
		{"initial without body", func() PublishInfo { p := pub("2001", away); p.HasBody = false; return p }(), 400},
		{"too brief", func() PublishInfo { p := pub("2001", away); p.Expires = 10; return p }(), 423},
	}
	for _, c := range cases {
		d := tb.OnPublish(c.req, t0)
		if d.Status != c.status {
			t.Errorf("%s: %d, want %d", c.name, d.Status, c.status)
		}
		if d.Status == 423 && d.MinExpires != 60 {
			t.Errorf("423 without Min-Expires 60: %+v", d)
		}
		if d.Status == 489 && d.AllowEvents != "presence" {
			t.Errorf("489 Allow-Events %q", d.AllowEvents)
		}
	}
	if tb.Publications() != 0 {
		t.Fatalf("refused PUBLISHes left %d publications", tb.Publications())
	}

	p := pub("2001", away)
	p.Expires = 7200
	d := tb.OnPublish(p, t0)
	if d.Status != 200 || d.ETag == "" || d.Expires != 3600 {
		t.Fatalf("initial: %+v", d)
	}
	// Refresh: no body, same content, a new tag; the old tag is dead.
	d2 := tb.OnPublish(PublishInfo{Presentity: "2001", Event: "presence", IfMatch: d.ETag, Expires: 600, HasExpires: true}, t0)
	if d2.Status != 200 || d2.ETag == "" || d2.ETag == d.ETag || d2.Expires != 600 {
		t.Fatalf("refresh: %+v", d2)
	}
	if r := tb.Rich("2001"); r.Reach != pidf.ReachAway {
		t.Errorf("refresh lost the content: %+v", r)
	}
	if d := tb.OnPublish(PublishInfo{Presentity: "2001", Event: "presence", IfMatch: d.ETag, Expires: 600, HasExpires: true}, t0); d.Status != 412 {
		t.Errorf("stale tag: %d, want 412", d.Status)
	}
	// Expiry: a refresh after the publication's end is 412, and the
	// status is gone.
	tb.Tick(t0.Add(601 * time.Second))
	if r := tb.Rich("2001"); !r.Zero() || tb.Publications() != 0 {
		t.Errorf("expired publication still composes: %+v (%d)", r, tb.Publications())
	}
	if d := tb.OnPublish(PublishInfo{Presentity: "2001", Event: "presence", IfMatch: d2.ETag, Expires: 600, HasExpires: true}, t0.Add(602*time.Second)); d.Status != 412 {
		t.Errorf("refresh of an expired publication: %d, want 412", d.Status)
	}
	// Removal with Expires 0.
	d = tb.OnPublish(pub("2001", away), t0)
	if d := tb.OnPublish(PublishInfo{Presentity: "2001", Event: "presence", IfMatch: d.ETag, Expires: 0, HasExpires: true}, t0); d.Status != 200 || d.ETag != "" {
		t.Errorf("removal: %+v", d)
	}
	if tb.Publications() != 0 || !tb.Rich("2001").Zero() {
		t.Errorf("removed publication kept")
	}
	// The per-presentity cap.
	for i := range MaxPublications {
		if d := tb.OnPublish(pub("2002", away), t0); d.Status != 200 {
			t.Fatalf("publication %d: %d", i, d.Status)
		}
	}
	if d := tb.OnPublish(pub("2002", away), t0); d.Status != 503 || d.RetryAfter == 0 {
		t.Errorf("over the cap: %+v", d)
	}
}

// TestPublishComposition walks docs/sip-presence.md §Rich-presence: away
// and a meeting published while the line is busy; a watcher sees on the
// phone, then in a meeting when the line clears, then away when the
// meeting ends (its until passes), then available when away is removed.
func TestPublishComposition(t *testing.T) {
	tb := NewTable(testConfig())
	busy := idleState("2001")
	busy.Status = pidf.StatusInUse
	d := tb.OnSubscribe(presenceSub("c1", "2001"), t0)
	answerOK(tb, []Notify{*mustNotify(t, d.Notify)}, t0)
	tb.Record("2001", busy, t0)
	ns := tb.Flush(nil, t0)
	if len(ns) != 1 || !bytes.Contains(ns[0].Body, []byte("<note>On the phone</note>")) {
		t.Fatalf("busy line: %d NOTIFYs %q", len(ns), bodies(ns))
	}
	answerOK(tb, ns, t0)

	reach := tb.OnPublish(pub("2001", pidf.Rich{Reach: pidf.ReachAway}), t0)
	end := t0.Add(30 * time.Minute)
	cal := tb.OnPublish(pub("2001", pidf.Rich{Meeting: true, MeetingUntil: end}), t0)
	if reach.Status != 200 || cal.Status != 200 {
		t.Fatalf("publish: %d %d", reach.Status, cal.Status)
	}
	// The phone wins: the composed body does not change, nothing is sent.
	if len(reach.Notify)+len(cal.Notify) != 0 {
		t.Errorf("NOTIFYs while the phone wins: %d %d", len(reach.Notify), len(cal.Notify))
	}
	steps := []struct {
		what string
		at   time.Time
		do   func(now time.Time) []Notify
		want string
	}{
		{"on-hook", t0.Add(time.Minute), func(now time.Time) []Notify { tb.Record("2001", idleState("2001"), now); return tb.Flush(nil, now) }, "<note>In a meeting</note>"},
		{"meeting over", end, func(now time.Time) []Notify { return tb.Tick(now) }, "<note>Away</note>"},
		{"away removed", end.Add(time.Minute), func(now time.Time) []Notify {
			return tb.OnPublish(PublishInfo{Presentity: "2001", Event: "presence", IfMatch: reach.ETag, HasExpires: true}, now).Notify
		}, "<note>Available</note>"},
	}
	for _, s := range steps {
		ns := s.do(s.at)
		if len(ns) != 1 || !bytes.Contains(ns[0].Body, []byte(s.want)) {
			t.Fatalf("%s: %d NOTIFYs, want one with %q: %q", s.what, len(ns), s.want, bodies(ns))
		}
		answerOK(tb, ns, s.at)
	}
	if in, _ := tb.Get(d.Sub); in.Shown != pidf.SourcePhone || in.Summary != "Available" {
		t.Errorf("show: %v %q", in.Shown, in.Summary)
	}
}

// TestWireAndRelease: the wiring's data rides on every NOTIFY, and the
// engine handle comes back exactly once when the subscription ends.
func TestWireAndRelease(t *testing.T) {
	tb := NewTable(testConfig())
	type wire struct{ to string }
	req := presenceSub("c1", "2001")
	req.EngineID, req.Wire = 42, &wire{"sip:w@h"}
	d := tb.OnSubscribe(req, t0)
	if w, ok := mustNotify(t, d.Notify).Wire.(*wire); !ok || w.to != "sip:w@h" {
		t.Fatalf("first NOTIFY wire %v", d.Notify.Wire)
	}
	if got := tb.TakeReleased(nil); len(got) != 0 {
		t.Fatalf("released while active: %v", got)
	}
	ns := tb.Terminate("2001", ReasonNoResource, t0)
	// The first NOTIFY is still in flight: the final one follows its answer.
	next := tb.OnNotifyResponse(d.Sub, d.Notify.CSeq, 200, t0)
	if len(ns) != 0 || next == nil || !next.Terminated || next.Wire == nil {
		t.Fatalf("terminated NOTIFY: %v %+v", ns, next)
	}
	if got := tb.TakeReleased(nil); len(got) != 1 || got[0] != 42 {
		t.Fatalf("released %v, want [42]", got)
	}
	tb.OnNotifyResponse(d.Sub, next.CSeq, 200, t0)
	if got := tb.TakeReleased(nil); len(got) != 0 {
		t.Fatalf("released twice: %v", got)
	}
}

func bodies(ns []Notify) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = string(n.Body)
	}
	return out
}

// TestRecordBeforeSubscribe: the engine records the lamp while the
// SUBSCRIBE is being authorised; the first NOTIFY carries it and Flush
// then sends no duplicate. A later change goes out once.
func TestRecordBeforeSubscribe(t *testing.T) {
	tb := NewTable(testConfig())
	busy := idleState("2001")
	busy.Status = pidf.StatusInUse
	tb.Record("2001", busy, t0)
	req := presenceSub("c1", "2001")
	req.State = pidf.LineState{Number: "2001"} // what the wiring knows: nothing
	d := tb.OnSubscribe(req, t0)
	if n := mustNotify(t, d.Notify); !bytes.Contains(n.Body, []byte("on-the-phone")) {
		t.Fatalf("first NOTIFY lacks the recorded state:\n%s", n.Body)
	}
	answerOK(tb, []Notify{*d.Notify}, t0)
	if ns := tb.Flush(nil, t0); len(ns) != 0 {
		t.Fatalf("Flush repeated the first NOTIFY: %q", bodies(ns))
	}
	tb.Record("2001", idleState("2001"), t0)
	tb.Record("2001", idleState("2001"), t0)
	if ns := tb.Flush(nil, t0); len(ns) != 1 {
		t.Fatalf("idle: %d NOTIFYs, want 1", len(ns))
	}
	if ns := tb.Flush(nil, t0); len(ns) != 0 {
		t.Fatalf("second Flush: %d NOTIFYs", len(ns))
	}
}
