package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
)

// SaveRunning renders the running config and saves it as the new
// startup-config (`write memory`). It returns an error the CLI prints when
// the disk refuses; the running config stays in memory either way.
func (d *Daemon) SaveRunning() error {
	return d.store.SaveStartupConfig(config.Render(d.Running()), time.Now())
}

// StartupText is the saved startup-config text, or "" when none was saved.
func (d *Daemon) StartupText() (string, error) {
	v, ok, err := d.store.StartupConfig()
	if err != nil || !ok {
		return "", err
	}
	return v.Text, nil
}

// basicExec is the control socket's command set until the full IOS CLI
// (pkg/cli) is wired in: the save and show commands `cmed cli -c` needs.
type basicExec struct{ d *Daemon }

func (d *Daemon) cliHandler() basicExec { return basicExec{d} }

func (e basicExec) Batch(ctx context.Context, w io.Writer, commands []string) error {
	for _, c := range commands {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.run(w, c)
	}
	return nil
}

func (e basicExec) Interactive(ctx context.Context, rw io.ReadWriter, _, _ int) error {
	sc := bufio.NewScanner(rw)
	prompt := func() { fmt.Fprintf(rw, "%s#", e.d.Running().HostnameOrDefault()) }
	prompt()
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "exit" || line == "quit" || line == "logout" {
			return nil
		}
		if line != "" {
			e.run(rw, line)
		}
		prompt()
	}
	return sc.Err()
}

func (e basicExec) run(w io.Writer, line string) {
	f := strings.Fields(line)
	is := func(i int, word string, min int) bool {
		return i < len(f) && len(f[i]) >= min && strings.HasPrefix(word, f[i])
	}
	switch {
	case len(f) == 2 && is(0, "show", 2) && is(1, "running-config", 3):
		io.WriteString(w, config.RenderRunning(e.d.Running()))
	case len(f) == 2 && is(0, "show", 2) && is(1, "startup-config", 3):
		text, err := e.d.StartupText()
		if err != nil {
			fmt.Fprintf(w, "%% %v\n", err)
			return
		}
		if text == "" {
			io.WriteString(w, "startup-config is not present\n")
			return
		}
		fmt.Fprintf(w, "Using %d out of %d bytes\n%s", len(text), 1<<20, text)
	case (len(f) == 1 && is(0, "write", 2)) || (len(f) == 2 && is(0, "write", 2) && is(1, "memory", 1)) ||
		(len(f) == 3 && is(0, "copy", 2) && is(1, "running-config", 3) && is(2, "startup-config", 3)):
		io.WriteString(w, "Building configuration...\n")
		if err := e.d.SaveRunning(); err != nil {
			fmt.Fprintf(w, "%% Error saving configuration: %v\n", err)
			return
		}
		io.WriteString(w, "[OK]\n")
	case len(f) == 2 && is(0, "show", 2) && is(1, "version", 1):
		fmt.Fprintf(w, "cmed version %s\n%s uptime is %s\n", e.d.opts.Version, e.d.Running().HostnameOrDefault(), time.Since(e.d.started).Truncate(time.Second))
	default:
		fmt.Fprintf(w, "%s\n^\n%% Invalid input detected at '^' marker.\n\n", line)
	}
}
