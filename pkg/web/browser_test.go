package web_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/web"
)

// TestInteropBrowserBoard opens the board in real headless Chromium
// (test/browser/board.spec.mjs, playwright-core), takes a fake phone
// off-hook and has the browser assert that the DN's lamp turns in use
// within 5 s. Screenshots land in $CMED_ARTIFACTS or test/browser/artifacts.
// Skipped without chromium or node unless CMED_INTEROP=1.
func TestInteropBrowserBoard(t *testing.T) {
	need := func(what string, err error) {
		t.Helper()
		if err == nil {
			return
		}
		if os.Getenv("CMED_INTEROP") == "1" {
			t.Fatalf("%s: %v", what, err)
		}
		t.Skipf("%s: %v (set CMED_INTEROP=1 to fail instead)", what, err)
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	_, err := os.Stat(chromium)
	need("chromium", err)
	node, err := exec.LookPath("node")
	need("node", err)

	dir, err := filepath.Abs(filepath.Join("..", "..", "test", "browser"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		npm, err := exec.LookPath("npm")
		need("npm", err)
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		need("npm ci in test/browser", err)
		t.Logf("npm ci: %s", out)
	}

	e := newEnv(t, web.Options{})
	e.register(1, 2, 3)
	// Some lamps besides the one under test, for the screenshot: ephone 3
	// in DND, ephone 2 watching 1001.
	e.must(e.sw.SetDND(e.id[3], true))
	if _, err := e.engine.Subscribe(blf.SubscribeRequest{Watcher: e.web, WatcherName: "SEP000000000002",
		Kind: blf.KindSCCPSpeedDial, Presentity: "1001", CanShowAlerting: true}); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, e.web)

	cmd := exec.CommandContext(ctx, node, "board.spec.mjs", srv.URL)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	cmd.Stderr = &testLog{t: t, prefix: "node stderr: "}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ready, passed bool
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		t.Logf("node: %s", line)
		switch {
		case line == "READY" && !ready:
			ready = true
			e.must(e.sw.OffHook(e.id[1], 0))
			e.must(e.sw.Digits(e.id[1], 0, "1002"))
		case strings.HasPrefix(line, "PASS inuse "):
			passed = true
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("board.spec.mjs: %v (ready=%v passed=%v)", err, ready, passed)
	}
	if !ready || !passed {
		t.Fatalf("board.spec.mjs exited 0 without READY/PASS (ready=%v passed=%v)", ready, passed)
	}
}

// testLog forwards a child's stderr to the test log.
type testLog struct {
	t      *testing.T
	prefix string
}

func (l *testLog) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.t.Log(l.prefix + line)
	}
	return len(p), nil
}
