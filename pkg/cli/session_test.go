package cli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
)

// termClient drives an interactive session over net.Pipe.
type termClient struct {
	t    *testing.T
	conn net.Conn
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{} // closed when the session has ended
}

func startTerm(t *testing.T, b Backend, height int, interactive func(srv *Server, ctx context.Context, c net.Conn) error) *termClient {
	t.Helper()
	client, server := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	tc := &termClient{t: t, conn: client, done: make(chan struct{})}
	srv := NewServer(b, nil)
	go func() {
		defer close(tc.done)
		var err error
		if interactive == nil {
			err = srv.Interactive(ctx, server, 80, height)
		} else {
			err = interactive(srv, ctx, server)
		}
		if err != nil && ctx.Err() == nil {
			t.Errorf("session: %v", err)
		}
		server.Close()
	}()
	go func() {
		var b [1024]byte
		for {
			n, err := client.Read(b[:])
			tc.mu.Lock()
			tc.buf.Write(b[:n])
			tc.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		client.Close()
		select {
		case <-tc.done:
		case <-time.After(5 * time.Second):
			t.Error("session did not end")
		}
	})
	return tc
}

func (tc *termClient) send(s string) {
	tc.t.Helper()
	if _, err := tc.conn.Write([]byte(s)); err != nil {
		tc.t.Fatalf("write %q: %v", s, err)
	}
}

// expect waits until the output contains want and returns everything read
// so far, clearing it.
func (tc *termClient) expect(want string) string {
	tc.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		tc.mu.Lock()
		s := tc.buf.String()
		if i := strings.Index(s, want); i >= 0 {
			tc.buf.Reset()
			tc.buf.WriteString(s[i+len(want):])
			tc.mu.Unlock()
			return s[:i+len(want)]
		}
		tc.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.t.Fatalf("timed out waiting for %q; output so far:\n%q", want, tc.buf.String())
	return ""
}

func TestInteractiveHelpKeyAndTab(t *testing.T) {
	tc := startTerm(t, labBackend(t), 0, nil)
	tc.expect("lab#")
	tc.send("show pre?")
	tc.expect("lab#show pre?\r\n  presence\r\nlab#show pre")
	tc.send("\t")
	tc.expect("presence ")
	tc.send("gl\t")
	tc.expect("global ")
	tc.send("\r")
	out := tc.expect("lab#")
	if !strings.Contains(out, "Presence max subscription allowed  : 128") {
		t.Errorf("show presence global after completion: %q", out)
	}
}

func TestInteractiveCtrlZAndCtrlC(t *testing.T) {
	f := labBackend(t)
	tc := startTerm(t, f, 0, nil)
	tc.expect("lab#")
	tc.send("conf t\r")
	tc.expect("lab(config)#")
	tc.send("ephone-dn 40\r")
	tc.expect("lab(config-ephone-dn)#")
	tc.send("\x1a")
	tc.expect("lab#")
	tc.send("conf t\r")
	tc.expect("lab(config)#")
	tc.send("\x03")
	tc.expect("lab#")
	tc.send("show halfway\x03")
	tc.expect("lab#")
	tc.send("show ephone-dn 40\r")
	out := tc.expect("lab#")
	if !strings.Contains(out, "50/0/40") && !strings.Contains(out, "% ephone-dn 40 is not configured") {
		t.Errorf("session unusable after Ctrl-C: %q", out)
	}
	if f.Running().EphoneDNs[len(f.Running().EphoneDNs)-1].Tag != 40 {
		t.Error("ephone-dn 40 typed before Ctrl-Z was not applied")
	}
}

func TestInteractivePaging(t *testing.T) {
	tc := startTerm(t, labBackend(t), 5, nil)
	tc.expect("lab#")
	tc.send("show running-config\r")
	out := tc.expect(" --More-- ")
	if n := strings.Count(out, "\r\n"); n != 5 { // echoed command + 4 lines
		t.Errorf("first page has %d lines, want 4 plus the command:\n%q", n-1, out)
	}
	tc.send("\r") // one more line
	out = tc.expect(" --More-- ")
	if n := strings.Count(out, "\r\n"); n != 1 {
		t.Errorf("Enter showed %d lines, want 1: %q", n, out)
	}
	tc.send(" ") // next page
	tc.expect(" --More-- ")
	tc.send("q")
	tc.expect("lab#")
	tc.send("terminal length 0\r")
	tc.expect("lab#")
	tc.send("show running-config\r")
	out = tc.expect("\r\nend\r\n")
	if strings.Contains(out, "--More--") {
		t.Errorf("terminal length 0 still pages")
	}
}

func TestInteractiveEnableSecret(t *testing.T) {
	f := newFake(t, "hostname r1\nenable secret s3cret\nusername op privilege 1 secret pw\n")
	tc := startTerm(t, f, 0, func(srv *Server, ctx context.Context, c net.Conn) error {
		s := srv.newSession(c, SessionOptions{User: "op", Privilege: PrivUser})
		return s.RunTerminal(ctx, c, nil)
	})
	tc.expect("r1>")
	tc.send("show running-config\r")
	tc.expect("% Invalid input detected at '^' marker.")
	tc.send("enable\r")
	tc.expect("Password: ")
	tc.send("wrong\r")
	tc.expect("Password: ")
	tc.send("s3cret\r")
	out := tc.expect("r1#")
	if strings.Contains(out, "s3cret") {
		t.Error("the enable password was echoed")
	}
	tc.send("disable\r")
	tc.expect("r1>")
	tc.send("enable\r")
	for range 3 {
		tc.expect("Password: ")
		tc.send("no\r")
	}
	tc.expect("% Access denied")
	tc.expect("r1>")
	tc.send("exit\r")
	select {
	case <-tc.done:
	case <-time.After(5 * time.Second):
		t.Fatal("exit did not end the session")
	}
}

func TestTerminalMonitorStreamsDebug(t *testing.T) {
	f := labBackend(t)
	tc := startTerm(t, f, 0, nil)
	tc.expect("lab#")
	tc.send("terminal monitor\r")
	tc.expect("lab#")
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.debug.mu.Lock()
		n := len(f.debug.subs)
		f.debug.mu.Unlock()
		if n == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.debug.publish("*Nov 23 11:00:00.000: ephone-1[0]:line status 6, subID [16]")
	tc.expect("ephone-1[0]:line status 6, subID [16]")
	tc.send("terminal no monitor\r")
	tc.expect("terminal no monitor\r\nlab#")
	f.debug.mu.Lock()
	n := len(f.debug.subs)
	f.debug.mu.Unlock()
	if n != 0 {
		t.Errorf("terminal no monitor left %d subscriptions", n)
	}
}

func TestConfigAppliesToCurrentRunningConfig(t *testing.T) {
	// Two sessions edit different DNs at the same time; neither loses the
	// other's change.
	f := labBackend(t)
	srv := NewServer(f, nil)
	var wg sync.WaitGroup
	for i, tag := range []int{40, 41} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out strings.Builder
			cmds := []string{"conf t"}
			for n := range 20 {
				cmds = append(cmds, "ephone-dn "+itoa(tag), "number 1"+itoa(tag*100+n+i))
			}
			cmds = append(cmds, "end")
			srv.Batch(context.Background(), &out, cmds)
			if strings.Contains(out.String(), "%") {
				t.Errorf("session %d: %s", i, out.String())
			}
		}()
	}
	wg.Wait()
	got := map[int]string{}
	for _, d := range f.Running().EphoneDNs {
		got[d.Tag] = d.Number
	}
	if got[40] != "14019" || got[41] != "14120" {
		t.Errorf("concurrent sessions lost changes: 40=%q 41=%q", got[40], got[41])
	}
	if got[1] != "1001" {
		t.Errorf("existing DN lost: %q", got[1])
	}
}

func TestConfigRefusesInvalidChange(t *testing.T) {
	f := labBackend(t)
	out := transcript(t, f, PrivMax, "conf t", "ephone-dn 45", "number 1001", "ephone 1", "button 1:77", "end")
	for _, want := range []string{
		"% number 1001 of ephone-dn 45 is already used by ephone-dn 1",
		"% ephone 1 button 1 names ephone-dn 77, which does not exist",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	for _, d := range f.Running().EphoneDNs {
		if d.Tag == 45 && d.Number != "" {
			t.Errorf("duplicate number applied: %+v", d)
		}
	}
}

func TestResetRestartInConfigMode(t *testing.T) {
	f := labBackend(t)
	transcript(t, f, PrivMax, "conf t", "ephone 2", "reset", "restart", "no reset", "telephony-service", "reset all",
		"voice register pool 1", "restart", "end")
	want := []config.DeviceAction{{Kind: "ephone", Tag: 2}, {Kind: "ephone", Tag: 2, Restart: true},
		{Kind: "ephone", Tag: 0}, {Kind: "pool", Tag: 1, Restart: true}}
	if len(f.resets) != len(want) {
		t.Fatalf("resets %+v, want %+v", f.resets, want)
	}
	for i := range want {
		if f.resets[i] != want[i] {
			t.Errorf("reset %d = %+v, want %+v", i, f.resets[i], want[i])
		}
	}
}

func TestSecretsNeverPrintedInClear(t *testing.T) {
	f := labBackend(t)
	out := transcript(t, f, PrivMax, "conf t", "username bob privilege 15 secret hunter2", "enable secret 0 topsecret", "end",
		"show running-config | include secret")
	_, shown, _ := strings.Cut(out, "| include secret\n")
	if strings.Contains(shown, "hunter2") || strings.Contains(shown, "topsecret") {
		t.Errorf("clear secret printed:\n%s", out)
	}
	if !strings.Contains(out, "username bob privilege 15 secret 8 $8$") || !strings.Contains(out, "enable secret 8 $8$") {
		t.Errorf("hashed secrets missing:\n%s", out)
	}
	if p, ok := Authenticate(f.Running(), "bob", "hunter2"); !ok || p != 15 {
		t.Errorf("bob cannot log in with the typed secret: %d %v", p, ok)
	}
	if _, ok := Authenticate(f.Running(), "bob", "hunter3"); ok {
		t.Error("wrong password accepted")
	}
	if _, ok := Authenticate(f.Running(), "nobody", "hunter2"); ok {
		t.Error("unknown user accepted")
	}
}

func TestType9Secret(t *testing.T) {
	h := HashType9("cisco", "abcdefghijklmn")
	if !VerifySecret(h, "cisco") || VerifySecret(h, "Cisco") {
		t.Fatalf("type 9 verification broken for %s", h)
	}
	f := newFake(t, "username a privilege 15 secret 9 "+h+"\n")
	if _, ok := Authenticate(f.Running(), "a", "cisco"); !ok {
		t.Error("type 9 secret from the config refused")
	}
}

func TestShowVersionUsersHistory(t *testing.T) {
	out := transcript(t, labBackend(t), PrivMax, "show version", "show users", "show clock", "show history")
	for _, want := range []string{"Version 1.2.3", "lab uptime is 1 day, 2 hours, 3 minutes", "*  con 0      local",
		"  show version\n  show users\n  show clock\n  show history\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if !strings.Contains(out, time.Now().Format(" Mon Jan 2 2006")) {
		t.Errorf("show clock lacks today's date:\n%s", out)
	}
}

func TestBatchErrorsShowTheLine(t *testing.T) {
	var out strings.Builder
	NewServer(labBackend(t), nil).Batch(context.Background(), &out, []string{"show bogus"})
	want := "show bogus\n     ^\n% Invalid input detected at '^' marker.\n\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestBatchCountsFailedCommands: a batch reports how many commands printed
// an IOS error, so `cmed cli -c` and `ssh router CMD` can exit non-zero.
func TestBatchCountsFailedCommands(t *testing.T) {
	srv := NewServer(labBackend(t), nil)
	for _, tc := range []struct {
		cmds   []string
		failed int
	}{
		{[]string{"show clock"}, 0},
		{[]string{"shwo run"}, 1},
		{[]string{"show"}, 1},
		{[]string{"conf t", "ephone-dn 45", "number 1001", "end", "show bogus"}, 2},
	} {
		var out strings.Builder
		err := srv.Batch(context.Background(), &out, tc.cmds)
		var be *BatchError
		switch {
		case tc.failed == 0 && err != nil:
			t.Errorf("%q: unexpected error %v\n%s", tc.cmds, err, out.String())
		case tc.failed > 0 && (!errors.As(err, &be) || be.Failed != tc.failed):
			t.Errorf("%q: got %v, want %d failed\n%s", tc.cmds, err, tc.failed, out.String())
		}
	}
}
