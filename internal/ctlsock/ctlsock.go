// Package ctlsock is the local control socket behind `cmed cli`: a unix
// socket in the state directory, readable by its owner only, that carries
// either a batch of EXEC commands (`cmed cli -c ...`, like `vtysh -c`) or an
// interactive terminal session.
//
// The protocol is one header line from the client, then raw bytes:
//
//	CMED-CLI/1 batch\n            then one command per line, then EOF;
//	                              the server writes the output and closes.
//	CMED-CLI/1 batch-status\n     as batch, but the output ends with a
//	                              trailer: a NUL byte, then "status N\n"
//	                              where N is the number of commands that
//	                              failed. CLI output is text and never holds
//	                              NUL, so the trailer cannot be confused with
//	                              it; a missing trailer means the daemon
//	                              went away mid-batch.
//	CMED-CLI/1 interactive W H\n  then terminal bytes both ways.
//
// A line protocol keeps `socat` and `nc -U` usable for debugging.
package ctlsock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cmed-project/cmed/pkg/netx"
)

const magic = "CMED-CLI/1"

// MaxBatchCommands bounds one batch so a runaway client cannot pin the daemon.
const MaxBatchCommands = 1000

// Handler runs what arrives on the socket.
type Handler interface {
	// Batch runs EXEC commands in order, writing their output to w.
	Batch(ctx context.Context, w io.Writer, commands []string) error
	// Interactive runs a terminal session until the client leaves.
	Interactive(ctx context.Context, rw io.ReadWriter, width, height int) error
}

// Listen creates the socket at path with mode 0600. A stale socket left by
// a crashed daemon is removed; a live one means another daemon owns it.
func Listen(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s is in use by a running cmed; stop it first", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cannot remove stale control socket %s: %w", path, err)
	}
	// Create it unreadable by others from the start: umask is process-wide,
	// so chmod right after bind instead, before anyone can be accepted.
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("cannot open control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("cannot restrict control socket %s: %w", path, err)
	}
	return l, nil
}

// Server accepts control connections.
type Server struct {
	Handler Handler
	Logger  *slog.Logger
	// UID, if set, is the one user (besides root) allowed to connect;
	// default: the daemon's own effective uid.
	UID *int
}

func (s *Server) allowedUID() int {
	if s.UID != nil {
		return *s.UID
	}
	return os.Geteuid()
}

// Serve accepts on l until ctx is done, then closes l and waits for sessions.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &netx.Server{Name: "cli", Logger: s.Logger}
	return srv.Serve(ctx, l, func(ctx context.Context, c net.Conn) {
		// The socket file is 0600, but a directory with loose permissions
		// or a socket passed on would still let another user in: the
		// kernel's word on who connected is the check that holds.
		if err := checkPeer(c, s.allowedUID()); err != nil {
			// Read the client's header first, so the refusal is there
			// for it to read rather than lost to a broken pipe.
			c.SetReadDeadline(time.Now().Add(time.Second))
			bufio.NewReader(c).ReadString('\n')
			fmt.Fprintf(c, "%% cmed control socket: %v\n", err)
			if s.Logger != nil {
				s.Logger.Warn("control socket: connection refused", "err", err)
			}
			return
		}
		if err := s.serveConn(ctx, c); err != nil && s.Logger != nil {
			s.Logger.Warn("control session ended with an error", "err", err)
		}
	})
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) error {
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	header, err := br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading header: %w", err)
	}
	c.SetReadDeadline(time.Time{})
	f := strings.Fields(header)
	if len(f) < 2 || f[0] != magic {
		fmt.Fprintf(c, "%% cmed control socket: expected %q header\n", magic)
		return fmt.Errorf("bad header %q", strings.TrimSpace(header))
	}
	switch f[1] {
	case "batch", "batch-status":
		var cmds []string
		for len(cmds) < MaxBatchCommands {
			line, err := br.ReadString('\n')
			if line = strings.TrimRight(line, "\r\n"); line != "" {
				cmds = append(cmds, line)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		err := s.Handler.Batch(ctx, c, cmds)
		if f[1] == "batch" {
			if failedCommands(err) >= 0 {
				return nil
			}
			return err
		}
		n := failedCommands(err)
		if n < 0 {
			// The batch itself broke (daemon stopping): no trailer, so the
			// client reports a lost connection.
			return err
		}
		_, werr := fmt.Fprintf(c, "\x00status %d\n", n)
		return werr
	case "interactive":
		w, h := 80, 24
		if len(f) >= 4 {
			if v, err := strconv.Atoi(f[2]); err == nil && v > 0 {
				w = v
			}
			if v, err := strconv.Atoi(f[3]); err == nil && v > 0 {
				h = v
			}
		}
		return s.Handler.Interactive(ctx, struct {
			io.Reader
			io.Writer
		}{br, c}, w, h)
	}
	fmt.Fprintf(c, "%% cmed control socket: unknown session kind %q\n", f[1])
	return fmt.Errorf("unknown session kind %q", f[1])
}

// failedCommands reads a Handler.Batch result: the number of commands that
// printed an error (0 for nil), or -1 when err is not a per-command failure.
func failedCommands(err error) int {
	if err == nil {
		return 0
	}
	var fc interface{ FailedCommands() int }
	if errors.As(err, &fc) {
		return fc.FailedCommands()
	}
	return -1
}

// FailedError is returned by RunBatch when the daemon ran every command and
// some printed an error (their text is in the output already).
type FailedError struct{ Failed int }

func (e *FailedError) Error() string {
	if e.Failed == 1 {
		return "1 command failed"
	}
	return fmt.Sprintf("%d commands failed", e.Failed)
}

// RunBatch is the client side of `cmed cli -c`: it sends commands and copies
// the output to w. It returns a *FailedError when any command failed and
// another error when the daemon could not be reached or went away before
// the batch finished, so `cmed cli -c` can exit non-zero like `vtysh -c`.
func RunBatch(path string, commands []string, w io.Writer) error {
	c, err := dial(path)
	if err != nil {
		return err
	}
	defer c.Close()
	var b strings.Builder
	b.WriteString(magic + " batch-status\n")
	for _, cmd := range commands {
		b.WriteString(strings.ReplaceAll(cmd, "\n", " "))
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		// The daemon may have refused us and closed: show its reason.
		c.SetReadDeadline(time.Now().Add(time.Second))
		if why, _ := io.ReadAll(io.LimitReader(c, 512)); len(why) > 0 {
			return fmt.Errorf("%s", strings.TrimSpace(string(why)))
		}
		return err
	}
	c.(*net.UnixConn).CloseWrite()
	return copyUntilTrailer(w, c)
}

// copyUntilTrailer copies the batch output to w as it arrives and parses
// the status trailer that ends it.
func copyUntilTrailer(w io.Writer, r io.Reader) error {
	br := bufio.NewReader(r)
	for {
		chunk, err := br.ReadSlice(0)
		if len(chunk) > 0 && chunk[len(chunk)-1] == 0 {
			if _, werr := w.Write(chunk[:len(chunk)-1]); werr != nil {
				return werr
			}
			rest, _ := io.ReadAll(io.LimitReader(br, 64))
			var n int
			if _, serr := fmt.Sscanf(string(rest), "status %d\n", &n); serr != nil {
				return fmt.Errorf("bad status trailer %q from cmed", rest)
			}
			if n > 0 {
				return &FailedError{Failed: n}
			}
			return nil
		}
		if _, werr := w.Write(chunk); werr != nil {
			return werr
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			return errors.New("connection to cmed closed before the commands finished")
		case err != nil:
			return fmt.Errorf("connection to cmed lost: %w", err)
		}
	}
}

// DialInteractive opens an interactive session; the caller pipes the
// terminal through the returned connection.
func DialInteractive(path string, width, height int) (net.Conn, error) {
	c, err := dial(path)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(c, "%s interactive %d %d\n", magic, width, height); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func dial(path string) (net.Conn, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no cmed is running with control socket %s (start one with `cmed serve`, or pass --state-dir)", path)
		}
		return nil, fmt.Errorf("cannot reach cmed at %s: %w", path, err)
	}
	return c, nil
}
