package daemon_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/repotest"
)

// TestInteropOpenSSH logs in with OpenSSH's own client (Debian package
// openssh-client), configures a DN and saves, as an operator would. The
// password comes from SSH_ASKPASS (OpenSSH 8.4+: SSH_ASKPASS_REQUIRE=force),
// and -tt gives the session a pty although stdin is a pipe.
func TestInteropOpenSSH(t *testing.T) {
	sshBin := repotest.Tool(t, "ssh")
	inst := startSSH(t, t.TempDir(), []byte(sshConfig))
	_, port, err := net.SplitHostPort(inst.Addr("ssh").String())
	if err != nil {
		t.Fatal(err)
	}

	run := func(password, input string) (string, error) {
		dir := t.TempDir()
		askpass := filepath.Join(dir, "askpass")
		if err := os.WriteFile(askpass, []byte("#!/bin/sh\necho '"+password+"'\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, sshBin, "-tt", "-p", port,
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
			"-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no",
			"-o", "NumberOfPasswordPrompts=1", "-F", "/dev/null", "admin@127.0.0.1")
		cmd.Env = append(os.Environ(), "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0")
		cmd.Stdin = strings.NewReader(input)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return strings.ReplaceAll(out.String(), "\r\n", "\n"), err
	}

	out, err := run("s3cret", "conf t\rephone-dn 40\rnumber 1040\rallow watch\rend\rwr\rsh run | sec ephone-dn 40\rexit\r")
	if err != nil {
		t.Fatalf("ssh: %v\n%s", err, out)
	}
	for _, want := range []string{"lab(config-ephone-dn)#", "[OK]", "ephone-dn  40\n number 1040\n allow watch\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("OpenSSH session lacks %q:\n%s", want, out)
		}
	}
	if text, _ := inst.StartupText(); !strings.Contains(text, "number 1040") {
		t.Errorf("wr over OpenSSH did not save:\n%s", text)
	}
	out, err = run("wrong", "show version\rexit\r")
	if err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("wrong password: err=%v\n%s", err, out)
	}
}
