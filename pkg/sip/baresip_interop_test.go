package sip

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/repotest"
)

// baresip drives the baresip softphone (its presence module) against cmed:
// baresip registers as a SIP phone of a voice register pool, with digest,
// subscribes (RFC 3856) to a cmed DN from its address book
// (`;presence=p2p`) and shows the contact as Online, Busy or Offline. Its
// presence subscriber reads the first <basic> of the PIDF (open: Online)
// and then looks for the literal elements <rpid:away/> (Offline),
// <rpid:busy/> or <rpid:on-the-phone/> (Busy); cmed's PIDF writes the RFC
// 4480 activities with the rpid prefix (docs/sip-presence.md
// §State-mapping), so a busy line is Busy there.
//
// baresip runs headless: no console module, stdin at /dev/null, its log
// on stdout, and its ctrl_tcp module (netstring-framed JSON commands on a
// loopback port) answers the `contacts` command, whose listing shows each
// contact's presence.

const baresipConfig = `
voice register global
 mode cme
 source-address 127.0.0.1 port 5060
 authenticate register
voice register dn 1
 number 2101
 allow watch
voice register pool 1
 id mac 0015.6247.EF90
 type 7971
 number 1 dn 1
 username bsip password b4res1p
ephone-dn 1
 number 2001
 allow watch
ephone 1
 mac-address 0011.2233.4401
 type 7960
 button 1:1
presence
sip-ua
 presence enable
`

// baresipModules finds baresip's module directory: $BARESIP_MODULES, or
// where distributions install it.
func baresipModules(t *testing.T) string {
	t.Helper()
	dirs := []string{os.Getenv("BARESIP_MODULES"), "/usr/lib/baresip/modules", "/usr/local/lib/baresip/modules",
		"/usr/lib/x86_64-linux-gnu/baresip/modules", "/usr/lib/aarch64-linux-gnu/baresip/modules"}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "presence.so")); err == nil {
			return d
		}
	}
	t.Fatalf("baresip is installed but its presence.so is in none of %q (set BARESIP_MODULES)", dirs)
	return ""
}

// baresipSIPPort finds a port baresip can take whole: it binds UDP and TCP
// on it and TLS on the next one (a CI run lost the race for TCP alone).
func baresipSIPPort(t testing.TB) int {
	t.Helper()
	for range 50 {
		p := freeUDPPort(t)
		var held []io.Closer
		ok := true
		if c, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			held = append(held, c)
		} else {
			ok = false
		}
		if c, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1)); err == nil {
			held = append(held, c)
		} else {
			ok = false
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no port with UDP, TCP and TCP+1 free")
	return 0
}

func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ansi matches the colour escapes baresip puts around presence words.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

type baresipRun struct {
	out  *lockedBuffer
	ctrl int // ctrl_tcp port
}

// startBaresip runs baresip with a config directory in t.TempDir(): one
// account (number, digest user and password) registered with cmed at
// cmedAddr, one address-book contact watched by presence. It is killed by
// PID at cleanup and bounded by an outer deadline.
func startBaresip(t *testing.T, cmedAddr, number, user, pass, watched string) *baresipRun {
	t.Helper()
	exe := needBaresip(t)
	dir := t.TempDir()
	sipPort, ctrlPort := baresipSIPPort(t), freeTCPPort(t)
	writeFile(t, filepath.Join(dir, "config"), fmt.Sprintf(`poll_method		epoll
sip_listen		127.0.0.1:%d
module_path		%s
module_app		account.so
module_app		contact.so
module_app		presence.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:%d
`, sipPort, baresipModules(t), ctrlPort))
	// regint: re-REGISTER interval; the account's digest credentials.
	writeFile(t, filepath.Join(dir, "accounts"), fmt.Sprintf("<sip:%s@%s;transport=udp>;auth_user=%s;auth_pass=%s;regint=600\n",
		number, cmedAddr, user, pass))
	writeFile(t, filepath.Join(dir, "contacts"), fmt.Sprintf("\"Desk %s\" <sip:%s@%s>;presence=p2p\n", watched, watched, cmedAddr))

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	r := &baresipRun{out: &lockedBuffer{}, ctrl: ctrlPort}
	cmd := exec.CommandContext(ctx, exe, "-f", dir)
	cmd.Dir = dir
	cmd.Stdin = nil // /dev/null: no console
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// Ask it to quit (it unsubscribes and unregisters), then kill by PID.
		_, _ = r.command("quit")
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		cancel()
		if t.Failed() {
			t.Logf("baresip output:\n%s", ansi.ReplaceAllString(r.out.String(), ""))
		}
	})
	return r
}

func needBaresip(t *testing.T) string {
	t.Helper()
	return repotest.Tool(t, "baresip")
}

// command sends one ctrl_tcp command (a JSON object in a netstring) and
// returns the data of its response, skipping the events the module also
// sends on the connection.
func (r *baresipRun) command(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.ctrl), 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	msg, _ := json.Marshal(map[string]string{"command": cmd, "token": "cmed"})
	if _, err := fmt.Fprintf(c, "%d:%s,", len(msg), msg); err != nil {
		return "", err
	}
	br := bufio.NewReader(c)
	for range 20 {
		lenText, err := br.ReadString(':')
		if err != nil {
			return "", err
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenText, ":"))
		if err != nil || n < 0 || n > 1<<20 {
			return "", fmt.Errorf("ctrl_tcp: bad netstring length %q", lenText)
		}
		body := make([]byte, n+1) // payload and the trailing comma
		if _, err := io.ReadFull(br, body); err != nil {
			return "", err
		}
		var res struct {
			Response bool   `json:"response"`
			OK       bool   `json:"ok"`
			Data     string `json:"data"`
			Token    string `json:"token"`
		}
		if err := json.Unmarshal(body[:n], &res); err != nil {
			return "", fmt.Errorf("ctrl_tcp: %v in %q", err, body[:n])
		}
		if res.Response {
			if !res.OK {
				return res.Data, fmt.Errorf("ctrl_tcp: %s failed: %s", cmd, res.Data)
			}
			return ansi.ReplaceAllString(res.Data, ""), nil
		}
	}
	return "", fmt.Errorf("ctrl_tcp: no response to %s", cmd)
}

// contactStatus is the presence word baresip's `contacts` listing shows
// for the contact with number, or "" when it lists none.
func (r *baresipRun) contactStatus(number string) string {
	out, err := r.command("contacts")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "sip:"+number+"@") {
			// "> Online Desk 2001 <sip:…>": '>' marks the selected contact.
			if f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), ">")); len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}

// TestInteropBaresipShowsBusy: baresip registers with digest as the
// pool's phone, subscribes to SCCP DN 2001 and shows it Online; the SCCP
// phone goes off-hook and baresip shows 2001 Busy (its presence module
// reads rpid:on-the-phone); on-hook turns it back to Online.
func TestInteropBaresipShowsBusy(t *testing.T) {
	needBaresip(t)
	r := newRig(t, baresipConfig, nil)
	sccp, _ := registerEphone(t, r, "0011.2233.4401")
	b := startBaresip(t, r.addr(), "2101", "bsip", "b4res1p", "2001")

	eventually(t, 15*time.Second, "baresip registered (digest) and subscribed to 2001", func() bool {
		for _, s := range r.srv.Subscriptions() {
			if s.Presentity == "2001" && !s.Terminated {
				return true
			}
		}
		return false
	})
	for _, s := range r.eng.Subscriptions() {
		if s.Presentity == "2001" && s.Watcher != "2101@127.0.0.1" {
			t.Errorf("baresip's subscription is watched as %q (kind %v), want the registered phone 2101@127.0.0.1", s.Watcher, s.Kind)
		}
	}
	var st string
	t.Cleanup(func() {
		if t.Failed() {
			out, err := b.command("contacts")
			t.Logf("last status %q; contacts command: %v\n%s", st, err, out)
		}
	})
	eventually(t, 15*time.Second, "baresip shows 2001 Online", func() bool {
		st = b.contactStatus("2001")
		return st == "Online"
	})

	if _, err := r.sw.OffHook(sccp, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "baresip shows 2001 Busy", func() bool {
		st = b.contactStatus("2001")
		return st == "Busy"
	})
	// Its log says so too; stdout may lag the ctrl_tcp answer.
	eventually(t, 5*time.Second, "baresip's log to show the change to Busy", func() bool {
		return strings.Contains(ansi.ReplaceAllString(b.out.String(), ""), "changed status from Online to Busy")
	})

	if _, err := r.sw.OnHook(sccp, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "baresip shows 2001 Online again", func() bool {
		st = b.contactStatus("2001")
		return st == "Online"
	})
}
