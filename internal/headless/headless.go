// Package headless drives a stock headless browser from Go tests, with no
// Node.js and no patched browser build: Chromium through the Chrome
// DevTools Protocol and Firefox ESR through WebDriver BiDi, both JSON
// messages over a WebSocket the browser opens on loopback when started with
// --remote-debugging-port. Only what the lamp-board test needs is here:
// navigate, evaluate a script, set the viewport, take a screenshot.
//
// Calls are synchronous: one command is written and messages are read until
// its answer arrives; event messages in between are discarded. A Browser is
// not safe for concurrent use.
package headless

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Kind names a browser family.
type Kind string

// Supported browsers.
const (
	Chromium Kind = "chromium" // CDP
	Firefox  Kind = "firefox"  // WebDriver BiDi
)

// Browser is one running browser with one page.
type Browser struct {
	kind    Kind
	cmd     *exec.Cmd
	conn    net.Conn
	rw      io.ReadWriter
	nextID  int
	context string // BiDi browsing context id
	stderr  *tail
	waited  chan struct{}
}

// startupTimeout bounds how long the browser may take to open its
// debugging socket.
const startupTimeout = 30 * time.Second

// Launch starts exe (a chromium or firefox-esr binary) headless with a
// fresh profile under profileDir and connects to it.
func Launch(ctx context.Context, kind Kind, exe, profileDir string) (*Browser, error) {
	var args []string
	switch kind {
	case Chromium:
		// Flags keep Chromium quiet on a closed network.
		args = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--user-data-dir=" + profileDir,
			"about:blank"}
	case Firefox:
		args = []string{"--headless", "--no-remote", "--profile", profileDir, "--remote-debugging-port=0", "about:blank"}
	default:
		return nil, fmt.Errorf("headless: unknown browser kind %q", kind)
	}
	b := &Browser{kind: kind, stderr: &tail{}, waited: make(chan struct{})}
	b.cmd = exec.Command(exe, args...)
	b.cmd.Stdout = io.Discard
	b.cmd.Stderr = b.stderr
	// Own process group, so Close can end the browser's helper processes
	// (renderers, content processes) together with it.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = b.cmd.Wait(); close(b.waited) }()
	sctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	var err error
	switch kind {
	case Chromium:
		err = b.connectCDP(sctx, profileDir)
	case Firefox:
		err = b.connectBiDi(sctx)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("headless: %s: %w (stderr: %s)", kind, err, b.stderr.String())
	}
	return b, nil
}

// poll calls f every 50 ms until it reports done, ctx ends or the browser
// exits.
func (b *Browser) poll(ctx context.Context, f func() (bool, error)) error {
	for {
		done, err := f()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.waited:
			return errors.New("browser exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// connectCDP reads the port Chromium chose from DevToolsActivePort in the
// profile and attaches to the page target.
func (b *Browser) connectCDP(ctx context.Context, profileDir string) error {
	var port string
	err := b.poll(ctx, func() (bool, error) {
		data, err := os.ReadFile(filepath.Join(profileDir, "DevToolsActivePort"))
		if err != nil || !bytes.Contains(data, []byte("\n")) {
			return false, nil
		}
		port = strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0])
		return true, nil
	})
	if err != nil {
		return err
	}
	var wsURL string
	err = b.poll(ctx, func() (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:"+port+"/json/list", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		var targets []struct{ Type, WebSocketDebuggerURL string }
		if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
			return false, nil
		}
		for _, t := range targets {
			if t.Type == "page" && t.WebSocketDebuggerURL != "" {
				wsURL = t.WebSocketDebuggerURL
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	if err := b.dial(ctx, wsURL); err != nil {
		return err
	}
	_, err = b.call(ctx, "Page.enable", nil)
	return err
}

var bidiListening = regexp.MustCompile(`WebDriver BiDi listening on (ws://[0-9.:\[\]]+)`)

// connectBiDi reads the WebSocket address Firefox prints on stderr, opens a
// session and finds the top-level browsing context.
func (b *Browser) connectBiDi(ctx context.Context) error {
	var base string
	err := b.poll(ctx, func() (bool, error) {
		if m := bidiListening.FindStringSubmatch(b.stderr.String()); m != nil {
			base = m[1]
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	if err := b.dial(ctx, base+"/session"); err != nil {
		return err
	}
	if _, err := b.call(ctx, "session.new", map[string]any{"capabilities": map[string]any{}}); err != nil {
		return err
	}
	res, err := b.call(ctx, "browsingContext.getTree", map[string]any{"maxDepth": 0})
	if err != nil {
		return err
	}
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := json.Unmarshal(res, &tree); err != nil || len(tree.Contexts) == 0 {
		return fmt.Errorf("no browsing context in %s", res)
	}
	b.context = tree.Contexts[0].Context
	return nil
}

func (b *Browser) dial(ctx context.Context, url string) error {
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		return err
	}
	b.conn = conn
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn) // bytes the handshake read ahead
	}
	b.rw = struct {
		io.Reader
		io.Writer
	}{r, conn}
	return nil
}

// call sends one command and returns its result.
func (b *Browser) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	if params == nil {
		params = map[string]any{}
	}
	b.nextID++
	id := b.nextID
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	_ = b.conn.SetDeadline(deadline)
	if err := wsutil.WriteClientText(b.rw, msg); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	for range 100000 { // events between command and answer are bounded in practice; this bounds the loop
		data, _, err := wsutil.ReadServerData(b.rw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		var reply struct {
			ID     *int            `json:"id"`
			Result json.RawMessage `json:"result"`
			// CDP errors are objects, BiDi errors strings with a message.
			Error   json.RawMessage `json:"error"`
			Message string          `json:"message"`
		}
		if err := json.Unmarshal(data, &reply); err != nil {
			return nil, fmt.Errorf("%s: bad message: %w", method, err)
		}
		if reply.ID == nil || *reply.ID != id {
			continue // an event
		}
		if len(reply.Error) > 0 && string(reply.Error) != "null" {
			return nil, fmt.Errorf("%s: %s %s", method, reply.Error, reply.Message)
		}
		return reply.Result, nil
	}
	return nil, fmt.Errorf("%s: no answer", method)
}

// Navigate loads url and waits for its load event.
func (b *Browser) Navigate(ctx context.Context, url string) error {
	if b.kind == Firefox {
		_, err := b.call(ctx, "browsingContext.navigate", map[string]any{"context": b.context, "url": url, "wait": "complete"})
		return err
	}
	if _, err := b.call(ctx, "Page.navigate", map[string]any{"url": url}); err != nil {
		return err
	}
	// Page.navigate answers before the load; wait for the document.
	return b.poll(ctx, func() (bool, error) {
		s, err := b.Eval(ctx, `document.readyState`)
		return s == "complete", err
	})
}

// Eval evaluates a JavaScript expression in the page and returns its value,
// which must be a string (wrap others in JSON.stringify). A thrown
// exception is an error.
func (b *Browser) Eval(ctx context.Context, expr string) (string, error) {
	var (
		res json.RawMessage
		err error
	)
	if b.kind == Firefox {
		res, err = b.call(ctx, "script.evaluate", map[string]any{"expression": expr,
			"target": map[string]any{"context": b.context}, "awaitPromise": true})
		if err != nil {
			return "", err
		}
		var r struct {
			Type             string          `json:"type"`
			Result           json.RawMessage `json:"result"`
			ExceptionDetails json.RawMessage `json:"exceptionDetails"`
		}
		if err := json.Unmarshal(res, &r); err != nil {
			return "", err
		}
		if r.Type != "success" {
			return "", fmt.Errorf("script threw: %s", r.ExceptionDetails)
		}
		res = r.Result
	} else {
		res, err = b.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true,
			"awaitPromise": true})
		if err != nil {
			return "", err
		}
		var r struct {
			Result           json.RawMessage `json:"result"`
			ExceptionDetails json.RawMessage `json:"exceptionDetails"`
		}
		if err := json.Unmarshal(res, &r); err != nil {
			return "", err
		}
		if len(r.ExceptionDetails) > 0 {
			return "", fmt.Errorf("script threw: %s", r.ExceptionDetails)
		}
		res = r.Result
	}
	// Both protocols describe a string result as {"type":"string","value":...}.
	var v struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(res, &v); err != nil {
		return "", err
	}
	if v.Type != "string" {
		return "", fmt.Errorf("script returned a %s, not a string: %s", v.Type, res)
	}
	return v.Value, nil
}

// SetViewport resizes the page's viewport in CSS pixels.
func (b *Browser) SetViewport(ctx context.Context, width, height int) error {
	if b.kind == Firefox {
		_, err := b.call(ctx, "browsingContext.setViewport", map[string]any{"context": b.context,
			"viewport": map[string]any{"width": width, "height": height}})
		return err
	}
	_, err := b.call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height,
		"deviceScaleFactor": 1, "mobile": false})
	return err
}

// Screenshot returns a PNG of the viewport.
func (b *Browser) Screenshot(ctx context.Context) ([]byte, error) {
	var (
		res json.RawMessage
		err error
	)
	if b.kind == Firefox {
		res, err = b.call(ctx, "browsingContext.captureScreenshot", map[string]any{"context": b.context})
	} else {
		res, err = b.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"})
	}
	if err != nil {
		return nil, err
	}
	var r struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(r.Data)
}

// Close asks the browser to quit, then ends its process group if it has
// not exited within 5 s, and waits for it.
func (b *Browser) Close() {
	if b.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		method := "Browser.close"
		if b.kind == Firefox {
			method = "browser.close"
		}
		_, _ = b.call(ctx, method, nil)
		cancel()
		b.conn.Close()
	}
	select {
	case <-b.waited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.waited
	}
	// Helpers left in the group (a content process that outlived the
	// parent) go too; the group is ours alone.
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
}

// Stderr is the last part of the browser's stderr, for test logs.
func (b *Browser) Stderr() string { return b.stderr.String() }

// tail keeps the last 64 KiB written to it.
type tail struct {
	mu  sync.Mutex // guards buf
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - 64<<10; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
