package sip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/repotest"
	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// Interop tests run real third-party peers (sipp, Kamailio) against cmed on
// loopback. They skip when the tools are missing unless CMED_INTEROP=1.

func needTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		repotest.Tool(t, n)
	}
}

// peer returns the path of a file under test/peers (the sipp scenarios and
// the Kamailio presence server kept with the repository, see
// test/peers/README.md).
func peer(t *testing.T, elem ...string) string {
	t.Helper()
	return repotest.Peers(t, elem...)
}

func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

type sippRun struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	dir  string
	done chan error
}

// startSipp starts sipp bounded by -timeout and an outer context timeout;
// it is killed by PID at cleanup.
func startSipp(t *testing.T, dir string, outer time.Duration, args ...string) *sippRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), outer)
	r := &sippRun{dir: dir, done: make(chan error, 1)}
	args = append([]string{"-i", "127.0.0.1", "-p", fmt.Sprint(freeUDPPort(t)), "-nostdin", "-trace_err",
		"-error_file", filepath.Join(dir, "err.log"), "-log_file", filepath.Join(dir, "log.log")}, args...)
	r.cmd = exec.CommandContext(ctx, "sipp", args...)
	r.cmd.Dir = dir
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait(); cancel() }()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
		}
		cancel()
	})
	return r
}

func (r *sippRun) wait(t *testing.T) (int, string) {
	t.Helper()
	err := <-r.done
	logs := r.out.String()
	for _, f := range []string{"err.log", "log.log"} {
		if b, e := os.ReadFile(filepath.Join(r.dir, f)); e == nil {
			logs += "\n--- " + f + "\n" + string(b)
		}
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), logs
		}
		return -1, logs
	}
	return 0, logs
}

func runSipp(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	return startSipp(t, dir, 60*time.Second, args...).wait(t)
}

func writeFile(t testing.TB, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const usersCSV = "SEQUENTIAL\nw1001;2001\nw1002;2002\nw1003;2003\n"

// notifierConfig: three SCCP DNs with allow watch (2003 without), watched
// by trunk peers.
func notifierConfig(extra string) string {
	return `
voice register global
 mode cme
 source-address 127.0.0.1 port 5060
` + extra + `
ephone-dn 1
 number 2001
 allow watch
ephone-dn 2
 number 2002
 allow watch
ephone-dn 3
 number 2003
ephone 1
 mac-address 0011.2233.4401
 type 7960
 button 1:1
ephone 2
 mac-address 0011.2233.4402
 type 7960
 button 1:2
presence
 watcher all
sip-ua
 presence enable
`
}

func registerEphone(t testing.TB, r *rig, mac string) (dn.DeviceID, *dntest.Device) {
	t.Helper()
	dev := &dntest.Device{}
	id, err := r.sw.RegisterDevice(dn.DeviceInfo{Name: dn.DeviceName(mac), Protocol: dn.SCCP, Model: "7960"}, dev)
	if err != nil {
		t.Fatal(err)
	}
	return id, dev
}

func TestInteropSubscribeDialog(t *testing.T) {
	needTool(t, "sipp")
	r := newRig(t, notifierConfig(""), trustLoopback)
	registerEphone(t, r, "0011.2233.4401")
	dir := t.TempDir()
	users := writeFile(t, filepath.Join(dir, "users.csv"), usersCSV)
	code, out := runSipp(t, dir, r.addr(), "-sf", peer(t, "sipp", "subscribe_dialog.xml"), "-inf", users,
		"-key", "sexp", "600", "-d", "50", "-m", "3", "-r", "5", "-timeout", "20s", "-trace_logs")
	if code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	// 2001 is registered and idle, 2002 unregistered (no dialog), 2003
	// lacks allow watch (unknown: no dialog either).
	if !strings.Contains(out, "dialog w1001->2001 expires=600 first-notify") || !strings.Contains(out, "line=terminated") {
		t.Errorf("sipp log lacks the idle state of 2001:\n%s", out)
	}
	eventually(t, 3*time.Second, "subscriptions to end", func() bool { return len(r.srv.Subscriptions()) == 0 })
	if g := r.eng.Global(); g.Subscriptions != 0 {
		t.Errorf("engine still counts %d subscriptions", g.Subscriptions)
	}
}

func TestInteropSubscribePresence(t *testing.T) {
	needTool(t, "sipp")
	r := newRig(t, notifierConfig(""), trustLoopback)
	registerEphone(t, r, "0011.2233.4401")
	dir := t.TempDir()
	users := writeFile(t, filepath.Join(dir, "users.csv"), usersCSV)
	code, out := runSipp(t, dir, r.addr(), "-sf", peer(t, "sipp", "subscribe_presence.xml"), "-inf", users,
		"-key", "sexp", "600", "-d", "50", "-m", "3", "-r", "5", "-timeout", "20s", "-trace_logs")
	if code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	for _, want := range []string{"presence w1001->2001 expires=600 first-notify entity=sip:2001@127.0.0.1 basic=open",
		"presence w1003->2003 expires=600 first-notify entity=sip:2003@127.0.0.1 basic=closed"} {
		if !strings.Contains(out, want) {
			t.Errorf("sipp log lacks %q:\n%s", want, out)
		}
	}
}

func TestInteropSubscribePresenceDigest(t *testing.T) {
	needTool(t, "sipp")
	dir := t.TempDir()
	cred := writeFile(t, filepath.Join(dir, "cred.csv"), "other,x\ntrunk,trunkpass\n")
	r := newRig(t, notifierConfig(" authenticate presence\n authenticate realm blf.test\n authenticate credential 1 flash:"+cred), nil)
	users := writeFile(t, filepath.Join(dir, "users.csv"), usersCSV)
	code, out := runSipp(t, dir, r.addr(), "-sf", peer(t, "sipp", "subscribe_presence.xml"), "-inf", users,
		"-key", "sexp", "600", "-au", "trunk", "-ap", "trunkpass", "-d", "50", "-m", "3", "-r", "5", "-timeout", "20s", "-trace_logs")
	if code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	// A wrong password never gets a subscription: every try is challenged
	// again, the scenario fails.
	code, out = runSipp(t, t.TempDir(), r.addr(), "-sf", peer(t, "sipp", "subscribe_presence.xml"), "-inf", users,
		"-key", "sexp", "600", "-au", "trunk", "-ap", "wrong", "-d", "50", "-m", "1", "-timeout", "5s")
	if code == 0 {
		t.Fatalf("sipp with a wrong password passed:\n%s", out)
	}
	if n := len(r.srv.Subscriptions()); n != 0 {
		t.Errorf("%d subscriptions after a failed digest", n)
	}
}

func TestInteropProbes(t *testing.T) {
	needTool(t, "sipp")
	r := newRig(t, notifierConfig(""), trustLoopback)
	dir := t.TempDir()
	users := writeFile(t, filepath.Join(dir, "users.csv"), usersCSV)
	code, out := runSipp(t, dir, r.addr(), "-sf", peer(t, "sipp", "subscribe_bad_event.xml"), "-inf", users,
		"-key", "evt", "x-unknown", "-m", "1", "-timeout", "10s", "-trace_logs")
	if code != 0 || !strings.Contains(strings.ReplaceAll(out, " ", ""), "bad-event489allow-events=presence,dialog") {
		t.Errorf("489 probe: exit %d\n%s", code, out)
	}
	code, out = runSipp(t, t.TempDir(), r.addr(), "-sf", peer(t, "sipp", "subscribe_too_brief.xml"), "-inf", users,
		"-key", "sexp", "10", "-m", "1", "-timeout", "10s", "-trace_logs")
	if code != 0 || !strings.Contains(out, "too-brief 423 min-expires=60") {
		t.Errorf("423 probe: exit %d\n%s", code, out)
	}
}

// TestInteropOffHookNotify: a sipp watcher holds a dialog subscription to
// 2001 while the (fake) phone on 2001 goes off-hook: the NOTIFY it receives
// carries the confirmed state.
func TestInteropOffHookNotify(t *testing.T) {
	needTool(t, "sipp")
	r := newRig(t, notifierConfig(""), trustLoopback)
	id, _ := registerEphone(t, r, "0011.2233.4401")
	dir := t.TempDir()
	users := writeFile(t, filepath.Join(dir, "users.csv"), "SEQUENTIAL\nw1001;2001\n")
	msgs := filepath.Join(dir, "msgs.log")
	run := startSipp(t, dir, 60*time.Second, r.addr(), "-sf", peer(t, "sipp", "subscribe_dialog.xml"), "-inf", users,
		"-key", "sexp", "600", "-d", "3000", "-aa", "-m", "1", "-timeout", "20s", "-trace_msg", "-message_file", msgs)
	eventually(t, 10*time.Second, "the sipp subscription", func() bool {
		for _, s := range r.srv.Subscriptions() {
			if s.Presentity == "2001" && !s.InFlight && s.CSeq >= 1 {
				return true
			}
		}
		return false
	})
	if _, err := r.sw.OffHook(id, 1); err != nil {
		t.Fatal(err)
	}
	code, out := run.wait(t)
	if code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	b, err := os.ReadFile(msgs)
	if err != nil {
		t.Fatal(err)
	}
	notifies := strings.Split(string(b), "NOTIFY sip:")
	var states []string
	for _, n := range notifies[1:] {
		if i := strings.Index(n, "<state>"); i >= 0 {
			j := strings.Index(n[i:], "</state>")
			states = append(states, n[i+7:i+j])
		}
	}
	if len(states) < 2 || states[0] != "terminated" || states[1] != "confirmed" {
		t.Fatalf("NOTIFY line states = %q, want idle (terminated) then confirmed", states)
	}
	if st := r.eng.State("2001"); st != blf.StateInUse {
		t.Errorf("engine state %v", st)
	}
}

// startKamailio runs the test presence server (test/peers/kamailio, through
// its run.sh) on free loopback ports with its db_text copy in a temp dir,
// and returns its open (unauthenticated) UDP port.
func startKamailio(t *testing.T) int {
	t.Helper()
	dir := t.TempDir()
	open, auth := freeUDPPort(t), freeUDPPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	var log bytes.Buffer
	// run.sh execs kamailio, so cmd's PID is kamailio's main process.
	cmd := exec.CommandContext(ctx, "sh", peer(t, "kamailio", "run.sh"), "-A", "QUIET")
	cmd.Env = append(os.Environ(), "KAM_DIR="+dir,
		fmt.Sprintf("KAM_OPEN_PORT=%d", open), fmt.Sprintf("KAM_AUTH_PORT=%d", auth))
	cmd.Stdout, cmd.Stderr = &log, &log
	// Kamailio forks workers: give it its own process group so that the
	// whole group started here can be stopped by the leader's PID.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-exited
		}
		cancel()
		if t.Failed() {
			t.Logf("kamailio log:\n%s", log.String())
		}
	})
	// Ready when it answers OPTIONS.
	u := newRawUA(t, fmt.Sprintf("127.0.0.1:%d", open))
	for i := 1; ; i++ {
		u.send("OPTIONS", fmt.Sprintf("sip:127.0.0.1:%d", open), "<sip:probe@127.0.0.1>;tag=p", "<sip:127.0.0.1>", "probe", i)
		ok := false
		deadline := time.Now().Add(200 * time.Millisecond)
		for time.Now().Before(deadline) && !ok {
			u.mu.Lock()
			ok = len(u.inbox) > 0
			u.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
		if ok {
			return open
		}
		select {
		case <-exited:
			t.Fatalf("kamailio exited:\n%s", log.String())
		default:
		}
		if i > 50 {
			t.Fatalf("kamailio not answering:\n%s", log.String())
		}
	}
}

// lampWatcher records the lamp states a local (SCCP-style) watcher sees.
type lampWatcher struct {
	mu     sync.Mutex
	states []blf.State
}

func (w *lampWatcher) Deliver(u blf.Update) {
	w.mu.Lock()
	w.states = append(w.states, u.State)
	w.mu.Unlock()
}

func (w *lampWatcher) last() blf.State {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.states) == 0 {
		return blf.StateUnknown
	}
	return w.states[len(w.states)-1]
}

// TestInteropKamailioUpstream: a local BLF watcher on a number that is not
// local makes cmed SUBSCRIBE to the presence server (Kamailio); state
// PUBLISHed there by sipp lights the local lamp.
func TestInteropKamailioUpstream(t *testing.T) {
	needTool(t, "sipp", "kamailio")
	kport := startKamailio(t)
	r := newRig(t, notifierConfig(fmt.Sprintf(`
presence
 allow subscribe
 server 127.0.0.1
dial-peer voice 10 voip
 destination-pattern 3...
 session protocol sipv2
 session target ipv4:127.0.0.1:%d
`, kport)), func(o *Options) { o.UpstreamEvent = "dialog"; o.RetryInterval = 200 * time.Millisecond })

	w := &lampWatcher{}
	if _, err := r.eng.Subscribe(blf.SubscribeRequest{Watcher: w, WatcherName: "ephone-1", Kind: blf.KindSCCPSpeedDial,
		Presentity: "3001"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the upstream subscription", func() bool {
		up := r.srv.Upstreams()
		return len(up) == 1 && up[0].State == "active"
	})
	eventually(t, 5*time.Second, "an idle lamp from Kamailio's first NOTIFY", func() bool { return w.last() == blf.StateIdle })

	dir := t.TempDir()
	pres := writeFile(t, filepath.Join(dir, "pres.csv"), "SEQUENTIAL\n3001\n")
	code, out := runSipp(t, dir, fmt.Sprintf("127.0.0.1:%d", kport), "-sf", peer(t, "sipp", "publish_dialog.xml"),
		"-inf", pres, "-key", "dstate", "confirmed", "-key", "pexp", "3600", "-m", "1", "-timeout", "10s")
	if code != 0 {
		t.Fatalf("PUBLISH: sipp exit %d\n%s", code, out)
	}
	eventually(t, 5*time.Second, "the lamp to turn in-use", func() bool { return w.last() == blf.StateInUse })

	code, out = runSipp(t, t.TempDir(), fmt.Sprintf("127.0.0.1:%d", kport), "-sf", peer(t, "sipp", "publish_dialog.xml"),
		"-inf", pres, "-key", "dstate", "terminated", "-key", "pexp", "3600", "-m", "1", "-timeout", "10s")
	if code != 0 {
		t.Fatalf("PUBLISH: sipp exit %d\n%s", code, out)
	}
	eventually(t, 5*time.Second, "the lamp back to idle", func() bool { return w.last() == blf.StateIdle })
}

// TestInteropRetransmittedSubscribe: sipp sends its first SUBSCRIBE again,
// same branch and CSeq, after the 200 (as for a lost answer, RFC 3261
// §17.1.2.2). cmed answers it from the finished transaction it keeps
// (txcache.go, keptstore.go; RFC 3261 §17.2.2): the same To-tag, and no
// second subscription left behind once sipp has unsubscribed.
func TestInteropRetransmittedSubscribe(t *testing.T) {
	needTool(t, "sipp")
	r := newRig(t, notifierConfig(""), trustLoopback)
	registerEphone(t, r, "0011.2233.4401")
	dir := t.TempDir()
	users := writeFile(t, filepath.Join(dir, "users.csv"), "SEQUENTIAL\nw1001;2001\n")
	code, out := runSipp(t, dir, r.addr(), "-sf", peer(t, "sipp", "subscribe_retransmitted.xml"), "-inf", users,
		"-d", "500", "-m", "1", "-aa", "-timeout", "20s", "-trace_logs")
	if code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	m := regexp.MustCompile(`first-tag=(\S+) again-tag=(\S+) again-branch-same`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("sipp log lacks the two answers with one branch:\n%s", out)
	}
	if m[1] == "" || m[1] != m[2] {
		t.Errorf("the retransmission got To-tag %q, the first SUBSCRIBE %q", m[2], m[1])
	}
	eventually(t, 3*time.Second, "subscriptions to end", func() bool { return len(r.srv.Subscriptions()) == 0 })
	if g := r.eng.Global(); g.Subscriptions != 0 {
		t.Errorf("engine still counts %d subscriptions: the retransmission made a second one", g.Subscriptions)
	}
}
