package blf_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
)

// syncBuffer is a bytes.Buffer safe for the engine's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	s.b.Reset()
	return out
}

// mustLog checks that exactly one line of out has every part.
func mustLog(t *testing.T, out string, parts ...string) {
	t.Helper()
	n := 0
	for _, l := range strings.Split(out, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d lines with %q, want 1, in:\n%s", n, parts, out)
	}
}

// TestDebugTrace: with a Debug logger the engine traces subscribe, every
// state handed to a watcher, refusal and unsubscribe (`debug presence`,
// docs/cme-cli.md §Debugging), each record carrying the category given to SetLogger.
func TestDebugTrace(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := baseConfig()
	cfg.Presence.MaxSubscription = 1
	e := blf.New(cfg, nil)
	e.SetLogger(log.With("category", "presence"))
	e.LineChanged(line(1, "1001", true, dn.PresenceIdle))

	m := blf.NewMailbox()
	id, err := e.Subscribe(blf.SubscribeRequest{Watcher: m, WatcherName: "1002@10.0.0.1", Kind: blf.KindSCCPSpeedDial, Presentity: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.take()
	mustLog(t, out, "msg=\"presence subscribe\"", "category=presence", "subid=1", "watcher=1002@10.0.0.1", "presentity=1001", "kind=\"SCCP [BLF Speed Dial]\"")
	mustLog(t, out, "msg=\"presence notify\"", "subid=1", "state=idle")

	e.LineChanged(line(1, "1001", true, dn.PresenceInUse))
	mustLog(t, buf.take(), "msg=\"presence notify\"", "subid=1", "presentity=1001", "state=busy")
	// No change of lamp: no record.
	e.LineChanged(line(1, "1001", true, dn.PresenceInUse))
	if out := buf.take(); out != "" {
		t.Errorf("unchanged state traced:\n%s", out)
	}

	if _, err := e.Subscribe(blf.SubscribeRequest{Watcher: m, WatcherName: "1003@10.0.0.1", Kind: blf.KindSIPPhone, Presentity: "1001"}); !errors.Is(err, blf.ErrMaxSubscriptions) {
		t.Fatalf("second subscription: %v", err)
	}
	mustLog(t, buf.take(), "msg=\"presence subscription refused\"", "watcher=1003@10.0.0.1", "reason=max-subscriptions")

	if err := e.Unsubscribe(id); err != nil {
		t.Fatal(err)
	}
	mustLog(t, buf.take(), "msg=\"presence unsubscribe\"", "subid=1", "presentity=1001")

	// nil silences it; a logger above Debug too.
	for _, l := range []*slog.Logger{nil, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))} {
		e.SetLogger(l)
		id, err := e.Subscribe(blf.SubscribeRequest{Watcher: m, WatcherName: "x", Kind: blf.KindSCCPSpeedDial, Presentity: "1001"})
		if err != nil {
			t.Fatal(err)
		}
		e.LineChanged(line(1, "1001", true, dn.PresenceIdle))
		_ = e.Unsubscribe(id)
		if out := buf.take(); out != "" {
			t.Errorf("silent engine logged:\n%s", out)
		}
	}
}
