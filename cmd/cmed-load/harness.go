package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // -pprof: heap, goroutine and CPU profiles of the harness
	"os"
	"runtime/debug"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/sccp"
)

// runHarness serves the generated office with the same pieces the daemon
// wires (dn.Switch, blf.Engine, sccp.Server) in this process, without
// config validation, so offices beyond CME's limits (20,000 ephones,
// 200,000 BLF subscriptions) can be measured. Its PID is what -pid wants.
func runHarness(ctx context.Context, o options) error {
	if os.Getenv("GOGC") == "" && o.gogc > 0 {
		// The daemon's GC target (cmd/cmed serve), so the harness's RSS is
		// what the daemon would pay.
		debug.SetGCPercent(o.gogc)
	}
	if o.pprofAddr != "" {
		pl, err := net.Listen("tcp", o.pprofAddr)
		if err != nil {
			return err
		}
		defer pl.Close()
		// pprof's handlers are on http.DefaultServeMux (net/http/pprof).
		go http.Serve(pl, nil)
		fmt.Fprintf(o.stderr, "cmed-load harness: pprof on http://%s/debug/pprof/\n", pl.Addr())
	}
	of := o.generated()
	cfg := of.Config()
	engine := blf.New(cfg, nil)
	sw := dn.NewWithOptions(cfg, dn.Options{Observer: engine})
	go sw.Run(ctx)
	// As the daemon's SCCP listener (internal/daemon/sccp.go): SCCP
	// KeepAlive, no TCP keepalive.
	lc := net.ListenConfig{KeepAlive: -1}
	l, err := lc.Listen(context.Background(), "tcp", o.listen)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(o.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := &sccp.Server{Switch: sw, Presence: engine, Config: cfg, Logger: log,
		Limits: sccp.Limits{MaxConnsPerIP: 64}}
	fmt.Fprintf(o.stderr, "cmed-load harness: pid %d, %d phones x %d BLF, SCCP on %s\n", os.Getpid(), of.N, of.M, l.Addr())
	err = srv.Serve(ctx, l)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
