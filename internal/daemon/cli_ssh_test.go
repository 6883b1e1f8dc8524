package daemon_test

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/cmedtest"
	"golang.org/x/crypto/ssh"
)

const sshConfig = `hostname lab
enable secret cisco
username admin privilege 15 secret 0 s3cret
username guest privilege 1 secret guestpw
ip ssh server
ip ssh address 127.0.0.1 port 0
telephony-service
 max-dn 100
 ip source-address 127.0.0.1 port 0
ephone-dn 1
 number 1001
`

// startSSH boots a daemon in dir and makes sure its SSH listener is up.
func startSSH(t *testing.T, dir string, cfg []byte) *cmedtest.Instance {
	t.Helper()
	inst := cmedtest.StartIn(t, dir, cfg)
	if err := inst.StartSSHForTest(); err != nil {
		t.Fatal(err)
	}
	if inst.Addr("ssh") == nil {
		t.Fatal("no ssh listener")
	}
	return inst
}

// sshShell is an interactive SSH session driven like a person would.
type sshShell struct {
	t      *testing.T
	client *ssh.Client
	sess   *ssh.Session
	in     io.WriteCloser
	mu     sync.Mutex
	out    bytes.Buffer
}

func dialSSH(t *testing.T, inst *cmedtest.Instance, user, password string) (*ssh.Client, error) {
	return ssh.Dial("tcp", inst.Addr("ssh").String(), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         5 * time.Second,
	})
}

func openShell(t *testing.T, inst *cmedtest.Instance, user, password string) *sshShell {
	t.Helper()
	c, err := dialSSH(t, inst, user, password)
	if err != nil {
		t.Fatalf("ssh login as %s: %v", user, err)
	}
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	sh := &sshShell{t: t, client: c, sess: sess}
	if err := sess.RequestPty("xterm", 0, 200, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	sh.in, _ = sess.StdinPipe()
	outPipe, _ := sess.StdoutPipe()
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	go func() {
		var b [4096]byte
		for {
			n, err := outPipe.Read(b[:])
			sh.mu.Lock()
			sh.out.Write(b[:n])
			sh.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { sess.Close(); c.Close() })
	return sh
}

// run types a line and returns the output up to the next prompt ending in
// one of "#" or ">" after a newline.
func (sh *sshShell) run(line, prompt string) string {
	sh.t.Helper()
	sh.in.Write([]byte(line + "\r"))
	return sh.expect(prompt)
}

func (sh *sshShell) expect(want string) string {
	sh.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sh.mu.Lock()
		s := sh.out.String()
		if i := strings.LastIndex(s, want); i >= 0 && strings.HasSuffix(strings.TrimRight(s, " "), strings.TrimRight(want, " ")) {
			sh.out.Reset()
			sh.mu.Unlock()
			return strings.ReplaceAll(s, "\r\n", "\n")
		}
		sh.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.t.Fatalf("timed out waiting for %q; got:\n%q", want, sh.out.String())
	return ""
}

func TestSSHConfigureWriteRestart(t *testing.T) {
	dir := t.TempDir()
	inst := startSSH(t, dir, []byte(sshConfig))
	sh := openShell(t, inst, "admin", "s3cret")
	sh.expect("lab#")
	for _, l := range []struct{ cmd, prompt string }{
		{"conf t", "lab(config)#"}, {"ephone-dn 40", "lab(config-ephone-dn)#"}, {"number 1040", "lab(config-ephone-dn)#"},
		{"allow watch", "lab(config-ephone-dn)#"}, {"end", "lab#"},
	} {
		if out := sh.run(l.cmd, l.prompt); strings.Contains(out, "%") {
			t.Fatalf("%s: %s", l.cmd, out)
		}
	}
	if out := sh.run("wr", "lab#"); !strings.Contains(out, "[OK]") {
		t.Fatalf("wr: %q", out)
	}
	out := sh.run("sh run | sec ephone-dn 40", "lab#")
	if !strings.Contains(out, "ephone-dn  40\n number 1040\n allow watch\n") {
		t.Fatalf("sh run | sec ephone-dn 40:\n%s", out)
	}
	// The change is live: the core knows the DN now.
	lines, err := inst.Switch().Lines()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range lines {
		if l.Number == "1040" && l.AllowWatch {
			found = true
		}
	}
	if !found {
		t.Errorf("the switch does not have DN 1040 with allow watch: %+v", lines)
	}
	sh.sess.Close()
	sh.client.Close()
	if err := inst.Stop(); err != nil {
		t.Fatal(err)
	}

	again := startSSH(t, dir, nil)
	sh = openShell(t, again, "admin", "s3cret")
	sh.expect("lab#")
	out = sh.run("sh run | sec ephone-dn 40", "lab#")
	if !strings.Contains(out, "ephone-dn  40\n number 1040\n allow watch\n") {
		t.Fatalf("after restart, sh run | sec ephone-dn 40:\n%s", out)
	}
	if strings.Contains(sh.run("show running-config | include secret", "lab#"), "s3cret") {
		t.Error("a secret is shown in clear")
	}
}

func TestSSHWrongPasswordRefused(t *testing.T) {
	inst := startSSH(t, t.TempDir(), []byte(sshConfig))
	for _, c := range []struct{ user, pw string }{{"admin", "wrong"}, {"nobody", "s3cret"}, {"admin", ""}} {
		if cl, err := dialSSH(t, inst, c.user, c.pw); err == nil {
			cl.Close()
			t.Errorf("login %s/%q accepted", c.user, c.pw)
		}
	}
	if !inst.Logs.Contains("ssh login refused", "user=admin") {
		t.Error("refused login not logged")
	}
}

func TestSSHUserPrivilegeAndEnable(t *testing.T) {
	inst := startSSH(t, t.TempDir(), []byte(sshConfig))
	sh := openShell(t, inst, "guest", "guestpw")
	sh.expect("lab>")
	sh.in.Write([]byte("enable\r"))
	sh.expect("Password: ")
	if out := sh.run("cisco", "lab#"); strings.Contains(out, "cisco") {
		t.Errorf("enable password echoed: %q", out)
	}
	out := sh.run("show users", "lab#")
	if !strings.Contains(out, "guest") {
		t.Errorf("show users lacks the session:\n%s", out)
	}
}

func TestSSHHostKeyKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	var keys []string
	for range 2 {
		inst := startSSH(t, dir, []byte(sshConfig))
		var got ssh.PublicKey
		c, err := ssh.Dial("tcp", inst.Addr("ssh").String(), &ssh.ClientConfig{
			User: "admin", Auth: []ssh.AuthMethod{ssh.Password("s3cret")}, Timeout: 5 * time.Second,
			HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error { got = k; return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		keys = append(keys, string(got.Marshal()))
		if err := inst.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	if keys[0] != keys[1] {
		t.Error("the host key changed across a restart")
	}
}

func TestTwoSessionsConfigureConcurrently(t *testing.T) {
	dir := t.TempDir()
	inst := startSSH(t, dir, []byte(sshConfig))
	a := openShell(t, inst, "admin", "s3cret")
	b := openShell(t, inst, "admin", "s3cret")
	a.expect("lab#")
	b.expect("lab#")
	a.run("conf t", "lab(config)#")
	b.run("conf t", "lab(config)#")
	a.run("ephone-dn 50", "lab(config-ephone-dn)#")
	b.run("ephone-dn 51", "lab(config-ephone-dn)#")
	var wg sync.WaitGroup
	for i, sh := range []*sshShell{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 10 {
				sh.in.Write([]byte("number " + strings.Repeat("", 0) + string(rune('5')) + string(rune('0'+i)) + string(rune('0'+n)) + "\r"))
			}
		}()
	}
	wg.Wait()
	a.run("end", "lab#")
	b.run("end", "lab#")
	// Each sees the other's change.
	if out := a.run("show running-config | section ephone-dn 51", "lab#"); !strings.Contains(out, "number 519") {
		t.Errorf("session a does not see b's DN:\n%s", out)
	}
	if out := b.run("write memory", "lab#"); !strings.Contains(out, "[OK]") {
		t.Fatalf("write memory: %s", out)
	}
	a.sess.Close()
	b.sess.Close()
	if err := inst.Stop(); err != nil {
		t.Fatal(err)
	}
	again := cmedtest.StartIn(t, dir, nil)
	out := again.CLI(t, "show running-config")
	for _, want := range []string{"ephone-dn  50\n number 509\n", "ephone-dn  51\n number 519\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("after restart, running-config lacks %q:\n%s", want, out)
		}
	}
}
