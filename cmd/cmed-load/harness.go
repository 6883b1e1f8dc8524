package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync/atomic"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/sccp"
)

// runHarness serves the generated office with the same pieces the daemon
// wires (dn.Switch, blf.Engine, sccp.Server) in this process, without
// config validation, so offices beyond CME's limits (20,000 ephones,
// 200,000 BLF subscriptions) can be measured. Its PID is what -pid wants.
func runHarness(ctx context.Context, o options) error {
	of := o.office()
	cfg := of.Config()
	var cur atomic.Pointer[config.Config]
	cur.Store(cfg)
	engine := blf.New(cfg, nil)
	sw := dn.NewWithOptions(cfg, dn.Options{Observer: engine})
	go sw.Run(ctx)
	l, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := &sccp.Server{Switch: sw, Presence: engine, Config: cur.Load, Logger: log,
		Limits: sccp.Limits{MaxConnsPerIP: 64}}
	fmt.Fprintf(os.Stderr, "cmed-load harness: pid %d, %d phones x %d BLF, SCCP on %s\n", os.Getpid(), of.N, of.M, l.Addr())
	err = srv.Serve(ctx, l)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
