package daemon_test

import (
	"context"
	"io"
	"log/slog"

	"github.com/cmed-project/cmed/internal/daemon"
)

func startErr(dir, cfg string) (*daemon.Daemon, error) {
	d, err := daemon.Start(context.Background(), daemon.Options{
		StateDir:   dir,
		ConfigText: []byte(cfg),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err == nil {
		d.Stop()
	}
	return d, err
}
