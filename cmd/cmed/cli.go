package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/cmed-project/cmed/internal/ctlsock"
	"github.com/cmed-project/cmed/internal/daemon"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newCLICmd(g *globalFlags) *cobra.Command {
	var commands []string
	var socket string
	cmd := &cobra.Command{
		Use:   "cli",
		Short: "Attach to the running daemon's CLI (like vtysh)",
		Long: "Attach to the running daemon over its control socket. With -c, run EXEC\n" +
			"commands in order and exit; without, open an interactive session.\n" +
			"With -c the exit status is 0 when every command succeeded and 1 when any\n" +
			"printed an error (% Invalid input, % Incomplete command, ...) or the\n" +
			"daemon could not be reached, as with vtysh -c.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if socket == "" {
				dir := g.stateDir
				if dir == "" {
					var err error
					if dir, err = daemon.StateDir(); err != nil {
						return &exitError{1, err}
					}
				}
				socket = daemon.SocketPath(dir)
			}
			if len(commands) > 0 {
				err := ctlsock.RunBatch(socket, commands, cmd.OutOrStdout())
				var failed *ctlsock.FailedError
				if errors.As(err, &failed) {
					// The IOS error is in the output already; like
					// `vtysh -c`, only the exit status says more.
					return &exitError{1, errors.New("")}
				}
				if err != nil {
					return &exitError{1, fmt.Errorf("cmed cli: %v", err)}
				}
				return nil
			}
			return interactive(socket)
		},
	}
	cmd.Flags().StringArrayVarP(&commands, "command", "c", nil, "EXEC command to run (repeatable, run in order)")
	cmd.Flags().StringVar(&socket, "socket", "", "control socket path (default STATE_DIR/cli.sock)")
	return cmd
}

// interactive puts the local terminal in raw mode and pipes it to the
// daemon, which runs the line editor, so local and SSH sessions behave
// identically.
func interactive(socket string) error {
	fd := int(os.Stdin.Fd())
	w, h := 80, 24
	if term.IsTerminal(fd) {
		if tw, th, err := term.GetSize(fd); err == nil {
			w, h = tw, th
		}
	}
	c, err := ctlsock.DialInteractive(socket, w, h)
	if err != nil {
		return &exitError{1, fmt.Errorf("cmed cli: %v", err)}
	}
	defer c.Close()
	if term.IsTerminal(fd) {
		old, err := term.MakeRaw(fd)
		if err == nil {
			defer term.Restore(fd, old)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(os.Stdout, c)
	}()
	go func() {
		io.Copy(c, os.Stdin)
		if uc, ok := c.(interface{ CloseWrite() error }); ok {
			uc.CloseWrite()
		}
	}()
	wg.Wait()
	return nil
}
