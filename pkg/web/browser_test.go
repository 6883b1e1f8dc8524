package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/headless"
	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/web"
)

// boardProbe is evaluated in the page; it reports what the assertions
// need as JSON, read from the live DOM (so from what board.js built out of
// the SSE events, not from the server's HTML).
const boardProbe = `(() => {
  const q = (s) => document.querySelector(s);
  const st = (s) => { const e = q(s); return e ? e.dataset.state : ""; };
  const label = q("#card-dn-1001 .label");
  const ps = (n) => { const e = q("#card-dn-" + n + " .presence"); return e ? e.textContent : ""; };
  const card = q("#dev-SEP000000000002");
  const sd = card && card.querySelector("#sd-SEP000000000002-1");
  const sdText = sd ? sd.parentElement.querySelector(".sdlabel").textContent : "";
  // A name is cut when its text runs past its card (an ellipsis or
  // overflow:hidden leaves the text's own box wider than the box shown).
  const clipped = [...document.querySelectorAll(".label, .presence, .pname, .sdlabel, .blabel")].filter((e) => {
    if (!e.textContent) return false;
    const box = e.closest("li.dn, li.phone").getBoundingClientRect();
    const r = document.createRange();
    r.selectNodeContents(e);
    const text = r.getBoundingClientRect();
    const own = e.getBoundingClientRect();
    return text.right > Math.min(box.right, own.right) + 0.5 || text.left < box.left - 0.5;
  }).map((e) => e.textContent);
  const external = performance.getEntriesByType("resource").map((r) => r.name)
    .filter((u) => !u.startsWith(location.origin));
  return JSON.stringify({
    conn: (q("#conn") || {}).dataset ? q("#conn").dataset.conn : "",
    dn1001: st("#dn-1001"),
    dn1002: st("#dn-1002"),
    sd: sd ? sd.dataset.state : "",
    sdText: sdText,
    label: label ? label.textContent : "",
    ps1001: ps("1001"),
    ps1002: ps("1002"),
    clipped: clipped,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    external: external,
  });
})()`

type probe struct {
	Conn     string   `json:"conn"`
	DN1001   string   `json:"dn1001"`
	DN1002   string   `json:"dn1002"`
	SD       string   `json:"sd"`
	SDText   string   `json:"sdText"`
	Label    string   `json:"label"`
	PS1001   string   `json:"ps1001"`
	PS1002   string   `json:"ps1002"`
	Clipped  []string `json:"clipped"`
	Overflow int      `json:"overflow"`
	External []string `json:"external"`
}

// TestInteropBrowserBoard opens the board in real headless Chromium (over
// the DevTools Protocol) and Firefox ESR (over WebDriver BiDi), both driven
// from Go by internal/headless. Each browser must show the live board,
// with the composed SIP presence under a DN, and show a presence change
// within 5 s; then ephone 1 goes off-hook and the browser must turn DN 1001's lamp and
// ephone 2's BLF speed-dial lamp on 1001 in use within 5 s, show full names
// (nothing clipped) at desktop and 375 px widths, and fetch nothing from
// elsewhere. Screenshots land in $CMED_ARTIFACTS when it is set.
// Browsers missing are skipped unless CMED_INTEROP=1.
func TestInteropBrowserBoard(t *testing.T) {
	for _, b := range []struct {
		kind      headless.Kind
		env, path string
	}{
		{headless.Chromium, "CHROMIUM", "/usr/bin/chromium"},
		{headless.Firefox, "FIREFOX", "/usr/bin/firefox-esr"},
	} {
		t.Run(string(b.kind), func(t *testing.T) {
			exe := os.Getenv(b.env)
			if exe == "" {
				exe = b.path
			}
			if _, err := os.Stat(exe); err != nil {
				if os.Getenv("CMED_INTEROP") == "1" {
					t.Fatalf("%s: %v", b.kind, err)
				}
				t.Skipf("%s: %v (set CMED_INTEROP=1 to fail instead)", b.kind, err)
			}
			browserBoard(t, b.kind, exe)
		})
	}
}

func browserBoard(t *testing.T, kind headless.Kind, exe string) {
	status := &statusSource{m: map[string]string{"1001": "Away (reachability)"}}
	e := newEnv(t, web.Options{PresenceStatus: status.get})
	e.register(1, 2, 3)
	// Other lamps for the screenshot: ephone 3 in DND. Ephone 2 watches
	// 1001 on its speed dial (config: blf-speed-dial 1 1001).
	e.must(e.sw.SetDND(e.id[3], true))
	if _, err := e.engine.Subscribe(blf.SubscribeRequest{Watcher: e.web, WatcherName: "SEP000000000002",
		Kind: blf.KindSCCPSpeedDial, Presentity: "1001", CanShowAlerting: true}); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, e.web)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	br, err := headless.Launch(ctx, kind, exe, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	if err := br.SetViewport(ctx, 1280, 900); err != nil {
		t.Fatal(err)
	}
	if err := br.Navigate(ctx, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	read := func() probe {
		t.Helper()
		s, err := br.Eval(ctx, boardProbe)
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		var p probe
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			t.Fatalf("probe %q: %v", s, err)
		}
		return p
	}
	// waitFor polls the DOM for up to bound (100 ms apart).
	waitFor := func(what string, bound time.Duration, ok func(probe) bool) probe {
		t.Helper()
		var p probe
		for end := time.Now().Add(bound); ; {
			if p = read(); ok(p) {
				return p
			}
			if time.Now().After(end) {
				t.Fatalf("%s: not within %v; DOM: %+v\nbrowser stderr: %s", what, bound, p, br.Stderr())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	p := waitFor("board live with 1001 idle", 10*time.Second, func(p probe) bool {
		return p.Conn == "live" && p.DN1001 == "idle" && p.SD == "idle"
	})
	if p.Label != "Reception and Front Desk" || p.SDText != "Front Desk Supervisor" {
		t.Errorf("names: DN label %q, speed-dial label %q; want the full configured text", p.Label, p.SDText)
	}
	// The composed SIP presence (docs/sip-presence.md §Rich-presence)
	// under each DN: present at load, then changes the board polls for
	// (Options.Poll, 2 s by default; nothing pokes the board on a PUBLISH).
	if p.PS1001 != "Away (reachability)" || p.PS1002 != "" {
		t.Errorf("presence at load: 1001 %q, 1002 %q; want Away (reachability) and none", p.PS1001, p.PS1002)
	}
	status.set("1002", "In a meeting (calendar)")
	status.set("1001", "")
	waitFor("composed presence of 1002 shown, 1001's gone", 5*time.Second, func(p probe) bool {
		return p.PS1002 == "In a meeting (calendar)" && p.PS1001 == ""
	})

	e.mustRef(e.sw.OffHook(e.id[1], 0))
	e.mustRef(e.sw.Digits(e.id[1], 0, "1002"))
	waitFor("1001 and its speed-dial lamp in use", 5*time.Second, func(p probe) bool {
		return p.DN1001 == "inuse" && p.SD == "inuse" && p.DN1002 == "ringing"
	})
	shot(t, ctx, br, kind, "board")

	for _, width := range []int{1280, 375} {
		if err := br.SetViewport(ctx, width, 812); err != nil {
			t.Fatal(err)
		}
		// Layout settles on the next frame.
		if _, err := br.Eval(ctx, `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r("ok"))))`); err != nil {
			t.Fatal(err)
		}
		p := read()
		if len(p.Clipped) > 0 {
			t.Errorf("%d px: names cut off: %q", width, p.Clipped)
		}
		if p.Overflow > 0 {
			t.Errorf("%d px: page is %d px wider than the screen", width, p.Overflow)
		}
		if len(p.External) > 0 {
			t.Errorf("external requests: %q", p.External)
		}
		shot(t, ctx, br, kind, fmt.Sprintf("board-%d", width))
	}
}

// statusSource stands in for (*sip.Server).PresenceStatus: the test sets
// a DN's composed status directly.
type statusSource struct {
	mu sync.Mutex // guards m
	m  map[string]string
}

func (s *statusSource) get(number string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[number]
}

func (s *statusSource) set(number, status string) {
	s.mu.Lock()
	s.m[number] = status
	s.mu.Unlock()
}

// shot saves a screenshot to $CMED_ARTIFACTS, if set.
func shot(t *testing.T, ctx context.Context, br *headless.Browser, kind headless.Kind, name string) {
	dir := os.Getenv("CMED_ARTIFACTS")
	if dir == "" {
		return
	}
	png, err := br.Screenshot(ctx)
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, string(kind)+"-"+name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}
