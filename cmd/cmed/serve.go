package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/cmed-project/cmed/internal/daemon"
	"github.com/spf13/cobra"
)

func newServeCmd(g *globalFlags) *cobra.Command {
	var configFile, dbPath, logLevel string
	var loopback bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon",
		Long: "Run the daemon. With no flags, state lives in the per-user state directory and\n" +
			"the first boot uses the embedded default config (a small demo office).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return &exitError{2, fmt.Errorf("--log-level: %v (use debug, info, warn or error)", err)}
			}
			if os.Getenv("GOGC") == "" {
				// Signalling servers allocate many short-lived objects per
				// message; a larger GC target trades some memory for ~10-15 %
				// less CPU under SIP load (measured in BENCHMARKS.md). An
				// explicit GOGC wins.
				debug.SetGCPercent(200)
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			d, err := daemon.Start(ctx, daemon.Options{
				StateDir:   g.stateDir,
				DBPath:     dbPath,
				ConfigFile: configFile,
				Logger:     log,
				Version:    versionString(),

				LoopbackListeners: loopback,
			})
			if err != nil {
				return &exitError{1, fmt.Errorf("cmed: %s", strings.TrimSpace(err.Error()))}
			}
			log.Info("cmed running", "version", versionString())
			err = d.Wait()
			if err != nil {
				return &exitError{1, fmt.Errorf("cmed: %v", err)}
			}
			log.Info("cmed stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "startup-config FILE for this run (validated first)")
	cmd.Flags().StringVar(&dbPath, "db", "", "database FILE (default STATE_DIR/cmed.db)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	// For tests: bind every listener on 127.0.0.1:0 so the embedded
	// default config can be booted without real ports.
	cmd.Flags().BoolVar(&loopback, "loopback-listeners", false, "bind every listener on 127.0.0.1 port 0 (testing)")
	cmd.Flags().MarkHidden("loopback-listeners")
	return cmd
}
