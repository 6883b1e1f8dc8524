package web_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/web"
)

// TestBoardShowsComposedPresence: the composed SIP presence of a DN
// (Options.PresenceStatus, docs/sip-presence.md §Rich-presence) is in
// /api/state and under the DN on the page, escaped; a DN without one has
// neither; a change reaches an open event stream as a dn event at the
// next poll.
func TestBoardShowsComposedPresence(t *testing.T) {
	status := &statusSource{m: map[string]string{"1001": "Away (reachability)", "1003": `Out <b>&</b> back (reachability)`}}
	e := newEnv(t, web.Options{PresenceStatus: status.get, Heartbeat: time.Hour, Poll: 50 * time.Millisecond})
	e.register(1, 2)
	h := e.web.Handler()

	got := map[string]string{}
	for _, d := range apiState(t, h).DNs {
		got[d.Number] = d.Status
	}
	if got["1001"] != "Away (reachability)" || got["1002"] != "" || got["1003"] != `Out <b>&</b> back (reachability)` {
		t.Errorf("api/state statuses %q", got)
	}
	body := get(h, "127.0.0.1:1", "/").Body.String()
	card := func(n string) string {
		i := strings.Index(body, `id="card-dn-`+n+`"`)
		if i < 0 {
			t.Fatalf("no card for %s", n)
		}
		j := strings.Index(body[i:], "</li>")
		return body[i : i+j]
	}
	if c := card("1001"); !strings.Contains(c, `<small class="presence" title="presence SIP watchers see">Away (reachability)</small>`) {
		t.Errorf("1001 card lacks its presence:\n%s", c)
	}
	if c := card("1002"); strings.Contains(c, `class="presence"`) {
		t.Errorf("1002 card shows a presence it has not:\n%s", c)
	}
	if c := card("1003"); strings.Contains(c, "<b>") || !strings.Contains(c, "Out &lt;b&gt;&amp;&lt;/b&gt; back") {
		t.Errorf("1003 presence not escaped:\n%s", c)
	}

	srv := serve(t, e.web)
	ch := openEvents(t, srv.URL)
	next(t, ch, web.EventSnapshot)
	status.set("1002", "In a meeting (calendar)")
	for range 10 {
		ev := next(t, ch, web.EventDN)
		var d web.DNView
		if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
			t.Fatal(err)
		}
		if d.Number == "1002" {
			if d.Status != "In a meeting (calendar)" {
				t.Errorf("dn event for 1002 has status %q", d.Status)
			}
			return
		}
	}
	t.Error("no dn event for 1002's new presence")
}
