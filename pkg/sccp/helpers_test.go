package sccp_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/sccp"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a whole SCCP system started from config text: the line-state
// core, the presence engine and the server on a loopback listener.
type env struct {
	t    testing.TB
	cfg  atomic.Pointer[config.Config]
	sw   *dn.Switch
	eng  *blf.Engine
	srv  *sccp.Server
	addr string
	logs *syncBuffer
	ctx  context.Context
}

// start parses text, lets mutate adjust what the CLI cannot express in a
// test's time scale (keepalive below 10 s, max-subscription below 100),
// and starts everything. Cleanup stops it and waits for every goroutine.
func start(t testing.TB, text string, mutate func(*config.Config), lim sccp.Limits) *env {
	t.Helper()
	cfg, err := config.Parse("test.cfg", []byte(text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if mutate != nil {
		mutate(cfg)
	}
	e := &env{t: t, logs: &syncBuffer{}}
	e.cfg.Store(cfg)
	e.eng = blf.New(cfg, nil)
	e.sw = dn.New(cfg, e.eng)
	ctx, cancel := context.WithCancel(context.Background())
	e.ctx = ctx
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); e.sw.Run(ctx) }()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	e.srv = &sccp.Server{Switch: e.sw, Presence: e.eng, Config: e.cfg.Load(),
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Limits: lim}
	go func() { defer wg.Done(); e.srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *env) ctxT(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(e.ctx, d)
	e.t.Cleanup(cancel)
	return ctx
}

// phone dials the server and registers; provision also runs the requests.
func (e *env) phone(cfg sccptest.Config, provision bool) *sccptest.Phone {
	e.t.Helper()
	ctx := e.ctxT(10 * time.Second)
	p, err := sccptest.Dial(ctx, e.addr, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { p.Close() })
	if provision {
		err = p.Connect(ctx)
	} else {
		err = p.Register(ctx)
	}
	if err != nil {
		e.t.Fatalf("%s (%s v%d): %v", p.DeviceName(), cfg.Model, cfg.Version, err)
	}
	return p
}

// waitState waits for cond on p's state.
func waitState(t *testing.T, p *sccptest.Phone, what string, cond func(sccptest.State) bool) sccptest.State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := p.WaitState(ctx, cond)
	if err != nil {
		t.Fatalf("%s: waiting for %s: %v (BLF %v, calls %d)", p.DeviceName(), what, err, s.BLF, len(s.Calls))
	}
	return s
}

func sccpLimits() sccp.Limits { return sccp.Limits{} }
