package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var cmedBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cmed-bin")
	if err != nil {
		panic(err)
	}
	cmedBin = filepath.Join(dir, "cmed")
	out, err := exec.Command("go", "build", "-race", "-o", cmedBin, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(cmedBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

func TestVersion(t *testing.T) {
	out, _, code := run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "cmed ") {
		t.Fatalf("version: %q exit %d", out, code)
	}
}

func TestConfigCheckAcceptsEveryExample(t *testing.T) {
	files, _ := filepath.Glob("../../config/examples/*.cfg")
	files = append(files, "../../config/default.cfg")
	if len(files) < 2 {
		t.Fatalf("no example configs found")
	}
	for _, f := range files {
		out, errOut, code := run(t, nil, "config", "check", f)
		if code != 0 || !strings.Contains(out, ": OK: ") {
			t.Errorf("%s: exit %d\n%s%s", f, code, out, errOut)
		}
	}
}

// TestConfigCheckAcceptsRealRunningConfigs: whole show running-config
// files (config/examples/real) load, and the summary counts the lines kept
// without being modelled; `config unmodelled` lists them.
func TestConfigCheckAcceptsRealRunningConfigs(t *testing.T) {
	files, _ := filepath.Glob("../../config/examples/real/*.cfg")
	if len(files) < 5 {
		t.Fatalf("want at least 5 real running-configs, found %d", len(files))
	}
	kept := regexp.MustCompile(`; (\d+) lines kept unmodelled\n$`)
	for _, f := range files {
		out, errOut, code := run(t, nil, "config", "check", f)
		m := kept.FindStringSubmatch(out)
		if code != 0 || !strings.Contains(out, ": OK: ") || m == nil || m[1] == "0" || errOut != "" {
			t.Errorf("%s: exit %d\n%s%s", f, code, out, errOut)
			continue
		}
		list, errOut, code := run(t, nil, "config", "unmodelled", f)
		if code != 0 || !strings.HasPrefix(list, m[1]+" lines kept unmodelled") || !strings.Contains(list, "\nline vty 0 4\n") {
			t.Errorf("%s: config unmodelled: exit %d\n%s%s", f, code, list, errOut)
		}
	}
}

var fileLine = regexp.MustCompile(`^[^:\s]+\.cfg:\d+: `)

func TestConfigCheckRejectsEveryInvalidExample(t *testing.T) {
	files, _ := filepath.Glob("../../config/examples/invalid/*.cfg")
	if len(files) < 8 {
		t.Fatalf("want at least 8 invalid examples, found %d", len(files))
	}
	for _, f := range files {
		out, errOut, code := run(t, nil, "config", "check", f)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s", f, code, out)
		}
		first := strings.SplitN(errOut, "\n", 2)[0]
		if !fileLine.MatchString(first) || !strings.HasPrefix(first, f+":") {
			t.Errorf("%s: error does not read FILE:LINE: message: %q", f, first)
		}
	}
}

func TestConfigShowNormalises(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "in.cfg")
	os.WriteFile(f, []byte("hostname r1\nephone-dn 1\nnumber 1001\n"), 0o600)
	out, errOut, code := run(t, nil, "config", "show", f)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "ephone-dn  1\n number 1001\n") || !strings.Contains(out, "hostname r1") {
		t.Fatalf("not normalised:\n%s", out)
	}
}

// TestServeWithNoFlagsStopsCleanlyAndRestarts boots the embedded default
// (listeners moved to loopback), talks to it with `cmed cli -c`, stops it
// with SIGTERM (exit 0), and checks a restart comes back with the config.
func TestServeWithNoFlagsStopsCleanlyAndRestarts(t *testing.T) {
	state := t.TempDir()
	env := []string{"XDG_STATE_HOME=" + state}
	var runs []string
	for i := range 2 {
		cmd := exec.Command(cmedBin, "serve", "--loopback-listeners")
		cmd.Env = append(os.Environ(), env...)
		d := startServe(t, cmd)
		if !strings.Contains(strings.Join(d.seen, "\n"), "msg=listening service=cli") {
			t.Errorf("listeners not logged:\n%s", strings.Join(d.seen, "\n"))
		}
		out, errOut, code := run(t, env, "cli", "-c", "show running-config")
		if code != 0 || !strings.Contains(out, "telephony-service") {
			t.Fatalf("cli: exit %d %s %s", code, out, errOut)
		}
		runs = append(runs, out)
		if err := d.stop(); err != nil {
			t.Fatalf("cmed exited with %v after SIGTERM:\n%s", err, strings.Join(d.seen, "\n"))
		}
		if !strings.Contains(strings.Join(d.seen, "\n"), "database closed") {
			t.Errorf("database close not logged")
		}
		if _, err := os.Stat(filepath.Join(state, "cmed", "cmed.db")); err != nil {
			t.Errorf("database not in the XDG state dir: %v", err)
		}
		_ = i
	}
	if runs[0] != runs[1] {
		t.Errorf("config differs after restart")
	}
}

func TestServeRefusesABadConfigFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "bad.cfg")
	os.WriteFile(f, []byte("hostname ok\nephone 1\n mac-address 12345\n"), 0o600)
	_, errOut, code := run(t, []string{"XDG_STATE_HOME=" + dir}, "serve", "--config", f, "--loopback-listeners")
	if code == 0 || !strings.Contains(errOut, f+":3:") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "cmed", "cmed.db")); err == nil {
		t.Error("a refused config still created the database")
	}
}

// TestServeWithoutPrivilegeFallsBackForTFTP runs `cmed serve` as an
// unprivileged user (nobody, when the test runs as root) with TFTP on port
// 69: the daemon must keep serving SCCP, SIP and the CLI, log one warning
// with the fixes, and serve TFTP on the fallback port (README "Listeners").
func TestServeWithoutPrivilegeFallsBackForTFTP(t *testing.T) {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v <= 69 {
			t.Skipf("net.ipv4.ip_unprivileged_port_start=%d: port 69 is not privileged here", v)
		}
	}
	dir, err := os.MkdirTemp("", "cmed-nonroot")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Getuid() == 0 {
		// Root binds 69 anyway: drop to nobody for the daemon and the CLI.
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		for _, p := range []string{dir, filepath.Dir(cmedBin)} {
			if err := os.Chmod(p, 0o777); err != nil {
				t.Fatal(err)
			}
		}
	}
	def, err := os.ReadFile("../../config/default.cfg")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer(
		"ip http address 127.0.0.1 port 8080", "ip http address 127.0.0.1 port 0",
		"ip ssh address 127.0.0.1 port 2222", "ip ssh address 127.0.0.1 port 0",
		"tftp-server address 0.0.0.0 port 69", "tftp-server address 127.0.0.1 port 69",
		"source-address 0.0.0.0 port 5060", "source-address 127.0.0.1 port 0",
		"ip source-address 0.0.0.0 port 2000", "ip source-address 127.0.0.1 port 0",
	).Replace(string(def))
	if !strings.Contains(cfg, "tftp-server address 127.0.0.1 port 69") {
		t.Fatal("default.cfg no longer has the TFTP line this test rewrites")
	}
	cfgFile := filepath.Join(dir, "office.cfg")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "state"), "HOME="+dir)
	cmd := exec.Command(cmedBin, "serve", "--config", cfgFile)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	d := startServe(t, cmd)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			d.stop()
		}
	}
	t.Cleanup(stop)
	all := strings.Join(d.seen, "\n")
	addr := func(service string) string {
		m := regexp.MustCompile(`msg=listening service=` + service + ` network=\S+ addr=(\S+)`).FindStringSubmatch(all)
		if m == nil {
			t.Fatalf("no %s listener logged:\n%s", service, all)
		}
		return m[1]
	}
	if n := strings.Count(all, "no permission to bind 127.0.0.1:69"); n != 1 ||
		!strings.Contains(all, "serving TFTP on 127.0.0.1:6969") || !strings.Contains(all, "setcap") {
		t.Errorf("want one TFTP warning naming the fallback and the fixes, got %d:\n%s", n, all)
	}
	if got := addr("tftp"); got != "127.0.0.1:6969" {
		t.Errorf("tftp listens on %s, want the fallback 127.0.0.1:6969", got)
	}

	// SCCP accepts a phone connection.
	c, err := net.DialTimeout("tcp", addr("sccp"), 5*time.Second)
	if err != nil {
		t.Errorf("sccp: %v", err)
	} else {
		c.Close()
	}
	// SIP answers OPTIONS over UDP.
	sipAddr := addr("sip-udp")
	if u, err := net.Dial("udp", sipAddr); err != nil {
		t.Errorf("sip: %v", err)
	} else {
		local := u.LocalAddr().String()
		fmt.Fprintf(u, "OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-nonroot1\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: nonroot-1\r\n"+
			"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", sipAddr, local, sipAddr)
		u.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		n, err := u.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 ") {
			t.Errorf("sip OPTIONS: %v %q", err, buf[:n])
		}
		u.Close()
	}
	// TFTP serves the generated phone file on the fallback port.
	// The server answers from a new port (its transfer ID, RFC 1350 §4).
	if u, err := net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
		t.Errorf("tftp: %v", err)
	} else {
		u.WriteTo(append([]byte{0, 1}, "SEP001122334401.cnf.xml\x00octet\x00"...), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6969})
		u.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 600)
		n, _, err := u.ReadFrom(buf)
		if err != nil || n < 4 || buf[1] != 3 || !bytes.Contains(buf[:n], []byte("<device")) {
			t.Errorf("tftp RRQ: %v %q", err, buf[:n])
		}
		u.Close()
	}
	// The CLI answers, as the same user.
	cli := exec.Command(cmedBin, "cli", "-c", "show ephone summary")
	cli.Env = env
	cli.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cli.CombinedOutput(); err != nil {
		t.Errorf("cmed cli: %v\n%s", err, out)
	}
	stop()
	if cmd.ProcessState == nil || !cmd.ProcessState.Success() {
		t.Errorf("cmed did not exit cleanly: %v\n%s", cmd.ProcessState, strings.Join(d.seen, "\n"))
	}
}

// TestCLIExitStatus: `cmed cli -c` exits 1 when a command fails, as
// `vtysh -c` does, and 0 when every command succeeded.
func TestCLIExitStatus(t *testing.T) {
	state := t.TempDir()
	env := []string{"XDG_STATE_HOME=" + state}
	cmd := exec.Command(cmedBin, "serve", "--loopback-listeners")
	cmd.Env = append(os.Environ(), env...)
	d := startServe(t, cmd)
	t.Cleanup(func() { d.stop() })
	for _, tc := range []struct {
		cmds []string
		code int
		want string
	}{
		{[]string{"show version"}, 0, "cmed"},
		{[]string{"shwo run"}, 1, "% Invalid input"},
		{[]string{"show ephone summary", "show"}, 1, "% "},
		{[]string{"show clock", "show bogus-thing"}, 1, "% Invalid input"},
	} {
		args := []string{"cli"}
		for _, c := range tc.cmds {
			args = append(args, "-c", c)
		}
		out, errOut, code := run(t, env, args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("cmed cli %q: exit %d (want %d), stdout %q stderr %q", tc.cmds, code, tc.code, out, errOut)
		}
	}
	// No daemon behind the socket: exit 1 with a reason.
	_, errOut, code := run(t, nil, "cli", "--socket", filepath.Join(t.TempDir(), "none.sock"), "-c", "show version")
	if code != 1 || !strings.Contains(errOut, "no cmed is running") {
		t.Errorf("no daemon: exit %d, stderr %q", code, errOut)
	}
}

func TestVersionFlag(t *testing.T) {
	out, _, code := run(t, nil, "--version")
	want, _, _ := run(t, nil, "version")
	if code != 0 || out != want || !strings.HasPrefix(out, "cmed ") {
		t.Fatalf("--version: %q exit %d, version says %q", out, code, want)
	}
}

// started is a `cmed serve` child process that logged "cmed running".
type started struct {
	cmd  *exec.Cmd
	logs chan string // the rest of its stderr, closed at exit
	seen []string    // stderr lines read so far
}

// startServe runs cmd and waits (bounded) until the daemon says it runs.
func startServe(t *testing.T, cmd *exec.Cmd) *started {
	t.Helper()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &started{cmd: cmd, logs: make(chan string, 200)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.logs <- sc.Text()
		}
		close(s.logs)
	}()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-s.logs:
			if !ok {
				t.Fatalf("cmed exited early:\n%s", strings.Join(s.seen, "\n"))
			}
			s.seen = append(s.seen, l)
			if strings.Contains(l, "cmed running") {
				return s
			}
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("cmed did not start:\n%s", strings.Join(s.seen, "\n"))
		}
	}
}

// stop sends SIGTERM, reads the rest of the log and reaps the process.
func (s *started) stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	for l := range s.logs {
		s.seen = append(s.seen, l)
	}
	return s.cmd.Wait()
}
