package daemon

import (
	"fmt"
	"os"
	"path/filepath"
)

// StateDir is where cmed keeps its database and control socket when no
// flag says otherwise: $XDG_STATE_HOME/cmed, else ~/.local/state/cmed (the
// XDG Base Directory default for state).
func StateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "cmed"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a state directory: set XDG_STATE_HOME or HOME, or pass --state-dir (%w)", err)
	}
	return filepath.Join(home, ".local", "state", "cmed"), nil
}

// DBPath is the default database file inside a state directory.
func DBPath(stateDir string) string { return filepath.Join(stateDir, "cmed.db") }

// SocketPath is the control socket inside a state directory.
func SocketPath(stateDir string) string { return filepath.Join(stateDir, "cli.sock") }
