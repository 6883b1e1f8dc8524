package daemon_test

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/internal/ctlsock"
	"github.com/cmed-project/cmed/internal/daemon"
	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// startAtInfo boots the embedded default config like cmedtest.StartIn,
// but with the log at Info, as `cmed serve` runs: cmedtest logs at Debug,
// and a Debug base level lets every debug record through whatever
// `debug`/`undebug` say, so it cannot show that `undebug all` works.
func startAtInfo(t *testing.T) *cmedtest.Instance {
	t.Helper()
	dir := t.TempDir()
	logs := &cmedtest.LogBuffer{}
	d, err := daemon.Start(context.Background(), daemon.Options{
		StateDir:          dir,
		ConfigText:        configs.Default,
		Logger:            slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Version:           "test",
		LoopbackListeners: true,
	})
	if err != nil {
		t.Fatalf("daemon did not start: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("daemon stopped with error: %v", err)
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	return &cmedtest.Instance{Daemon: d, StateDir: dir, Socket: daemon.SocketPath(dir), Logs: logs}
}

// termShell is an interactive `cmed cli` session over the control socket,
// driven like a person at a terminal.
type termShell struct {
	t    *testing.T
	name string
	conn net.Conn
	mu   sync.Mutex
	out  bytes.Buffer // unread output, \r\n turned into \n
	all  bytes.Buffer // everything, for the final checks
}

func openTerm(t *testing.T, inst *cmedtest.Instance, name string) *termShell {
	t.Helper()
	c, err := ctlsock.DialInteractive(inst.Socket, 200, 0)
	if err != nil {
		t.Fatal(err)
	}
	sh := &termShell{t: t, name: name, conn: c}
	go func() {
		var b [4096]byte
		for {
			n, err := c.Read(b[:])
			sh.mu.Lock()
			sh.out.Write(b[:n])
			sh.all.Write(b[:n])
			sh.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return sh
}

// poll calls done with the unread output until it says so, for at most
// ten seconds; done returns how much of the output it consumed.
func (sh *termShell) poll(what string, done func(s string) (int, bool)) string {
	sh.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		sh.mu.Lock()
		s := strings.ReplaceAll(sh.out.String(), "\r\n", "\n")
		if n, ok := done(s); ok {
			sh.out.Reset()
			sh.out.WriteString(s[n:])
			sh.mu.Unlock()
			return s[:n]
		}
		sh.mu.Unlock()
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.t.Fatalf("%s: timed out waiting for %s; got:\n%s", sh.name, what, sh.out.String())
	return ""
}

// run types a line and returns the output up to the prompt that follows.
func (sh *termShell) run(line, prompt string) string {
	sh.t.Helper()
	if _, err := sh.conn.Write([]byte(line + "\r")); err != nil {
		sh.t.Fatal(err)
	}
	return sh.expectPrompt(prompt)
}

func (sh *termShell) expectPrompt(prompt string) string {
	sh.t.Helper()
	return sh.poll("prompt "+prompt, func(s string) (int, bool) {
		return len(s), strings.HasSuffix(strings.TrimRight(s, " "), prompt)
	})
}

// waitLine waits for an output line holding every part and consumes the
// output up to the end of that line.
func (sh *termShell) waitLine(parts ...string) string {
	sh.t.Helper()
	return sh.poll(strconv.Quote(strings.Join(parts, " … ")), func(s string) (int, bool) {
		off := 0
		for _, l := range strings.SplitAfter(s, "\n") {
			off += len(l)
			if strings.HasSuffix(l, "\n") && containsAll(l, parts...) {
				return off, true
			}
		}
		return 0, false
	})
}

func (sh *termShell) everything() string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return strings.ReplaceAll(sh.all.String(), "\r\n", "\n")
}

func lastLine(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestDebugPresenceLiveInAMonitorSession is issue 10's acceptance: `debug
// presence` in one CLI session shows the subscription events of a scenario
// live (docs/cme-cli.md §Debugging), another session without `terminal monitor` sees
// none of them, and `undebug all` stops them.
func TestDebugPresenceLiveInAMonitorSession(t *testing.T) {
	inst := startAtInfo(t)

	mon := openTerm(t, inst, "session 1")
	mon.expectPrompt("cmed#")
	mon.run("terminal monitor", "cmed#")
	if out := mon.run("debug presence all", "cmed#"); !strings.Contains(out, "Presence all debugging is on") {
		t.Fatalf("debug presence all: %q", out)
	}
	other := openTerm(t, inst, "session 2")
	other.expectPrompt("cmed#")

	// ephone 2 (line 1002) registers first, then ephone 1, whose
	// blf-speed-dial 1 watches 1002 (config/default.cfg).
	alice := fakePhone(t, inst, "7961", "001122334402", netip.AddrPort{})
	reception := fakePhone(t, inst, "7960", "001122334401", netip.AddrPort{})
	wait(t, reception, "1002 idle", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFIdle })

	sub := lastLine(mon.waitLine("presence subscribe", "category=presence", "presentity=1002", `kind="SCCP [BLF Speed Dial]"`))
	m := regexp.MustCompile(`subid=(\d+)`).FindStringSubmatch(sub)
	if m == nil {
		t.Fatalf("no subid in %q", sub)
	}
	subid := "subid=" + m[1]
	mon.waitLine("presence notify", subid, "presentity=1002", "state=idle")
	// ephone 1's device-based speed dial on 1003 is traced as such.
	mon.waitLine("presence subscribe", "presentity=device:1003")

	if err := alice.OffHook(); err != nil {
		t.Fatal(err)
	}
	wait(t, reception, "1002 in use", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFInUse })
	mon.waitLine("presence notify", subid, "presentity=1002", "state=busy")

	// The switchboard is the daemon's: session 2 turns debugging off.
	if out := other.run("undebug all", "cmed#"); !strings.Contains(out, "All possible debugging has been turned off") {
		t.Fatalf("undebug all: %q", out)
	}
	if err := alice.OnHook(); err != nil {
		t.Fatal(err)
	}
	wait(t, reception, "1002 idle again", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFIdle })
	// The engine logs before it delivers the lamp, so a trace of the idle
	// state, had there been one, is in the monitor now. A config change
	// logs %SYS-5-CONFIG_I at Info, which every monitor shows: once it
	// arrives, everything logged before it has arrived too.
	other.run("configure terminal", "cmed(config)#")
	other.run("hostname cmed", "cmed(config)#")
	other.run("end", "cmed#")
	after := mon.waitLine("%SYS-5-CONFIG_I")
	if strings.Contains(after, "presence") {
		t.Errorf("presence debugging went on after undebug all:\n%s", after)
	}
	if strings.Contains(other.everything(), "presence notify") {
		t.Errorf("a session without terminal monitor got debug output:\n%s", other.everything())
	}
}

// TestShowCommandsWithRegisteredPhones is issue 7's acceptance for the
// show commands: the default office's four SCCP phones register with
// cmed, and `cmed cli -c` shows their MACs, DNs, states and subscriptions
// in the layouts of docs/cme-cli.md §Show-presence-global, §Show-presence-subscription and §Phone-show-commands.
func TestShowCommandsWithRegisteredPhones(t *testing.T) {
	inst := cmedtest.StartIn(t, t.TempDir(), configs.Default)
	phones := []struct{ model, mac string }{
		{"7960", "001122334401"}, {"7961", "001122334402"}, {"7965", "001122334403"}, {"7970", "001122334404"},
	}
	var ph []*sccptest.Phone
	for _, p := range phones[:3] {
		ph = append(ph, fakePhone(t, inst, p.model, p.mac, netip.AddrPort{}))
	}

	check := func(cmd string, want ...string) string {
		t.Helper()
		out := inst.CLI(t, cmd)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q:\n%s", cmd, w, out)
			}
		}
		if strings.Contains(out, "% ") {
			t.Errorf("%s failed:\n%s", cmd, out)
		}
		return out
	}
	lacks := func(cmd, out string, unwanted ...string) {
		t.Helper()
		for _, u := range unwanted {
			if strings.Contains(out, u) {
				t.Errorf("%s has %q:\n%s", cmd, u, out)
			}
		}
	}

	// Three of four registered.
	out := check("show ephone unregistered",
		"ephone-4[3] Mac:0011.2233.4404 TCP socket:[-1] activeLine:0 whisperLine:0 UNREGISTERED",
		"IP:0.0.0.0 0 Unknown 0  keepalive 0 max_line 0", "  dn 4  number 1004 CH1   DOWN")
	lacks("show ephone unregistered", out, "ephone-1[", "ephone-2[", "ephone-3[")
	check("show ephone summary", "Max 48, Registered 3, Unregistered 1, Deceased 0, Sockets 3")

	ph = append(ph, fakePhone(t, inst, phones[3].model, phones[3].mac, netip.AddrPort{}))
	// Each phone's first blf-speed-dial watches a registered line; its
	// SCCP instance follows the plain speed dials (ephone 4 has one).
	for i, p := range ph {
		inst := uint32(1 + i/3)
		wait(t, p, "first lamp idle", func(s sccptest.State) bool { return s.BLF[inst] == msg.BLFIdle })
	}

	out = check("show ephone",
		"ephone-1[0] Mac:0011.2233.4401 TCP socket:[1] activeLine:0 whisperLine:0 REGISTERED in SCCP ver ",
		"ephone-2[1] Mac:0011.2233.4402 ", "ephone-3[2] Mac:0011.2233.4403 ", "ephone-4[3] Mac:0011.2233.4404 ",
		"IP:127.0.0.1 * ", "  dn 1  number 1001 CH1   IDLE         CH2   IDLE", "  dn 6  number 1006 CH1   IDLE",
		"  dn 2  number 1002 CH1   IDLE", "  dn 3  number 1003 CH1   IDLE", "  dn 4  number 1004 CH1   IDLE",
		"  dn 5  number 1005 CH1   IDLE", "button 2: cw:1 ccw:(0 0)", "Preferred Codec: g711ulaw")
	lacks("show ephone", out, "UNREGISTERED")
	if n := strings.Count(out, " REGISTERED in SCCP ver "); n != 4 {
		t.Errorf("show ephone: %d registered blocks, want 4", n)
	}
	for _, model := range []string{"7960", "7961", "7965", "7970"} {
		if !regexp.MustCompile(`IP:127\.0\.0\.1 \* \d+ (Telecaster )?` + model + `  keepalive`).MatchString(out) {
			t.Errorf("show ephone: no IP line for a %s:\n%s", model, out)
		}
	}
	check("show ephone summary", "Max 48, Registered 4, Unregistered 0, Deceased 0, Sockets 4")
	if out := check("show ephone registered", "ephone-4[3] Mac:0011.2233.4404"); strings.Count(out, "REGISTERED in") != 4 {
		t.Errorf("show ephone registered:\n%s", out)
	}
	if out := inst.CLI(t, "show ephone unregistered"); strings.TrimSpace(out) != "" {
		t.Errorf("show ephone unregistered with all registered:\n%s", out)
	}
	out = check("show ephone 4", "ephone-4[3] Mac:0011.2233.4404", "  dn 4  number 1004", "  dn 5  number 1005")
	lacks("show ephone 4", out, "ephone-1[", "ephone-3[")
	out = check("show ephone mac-address 0011.2233.4403", "ephone-3[2] Mac:0011.2233.4403", "  dn 3  number 1003")
	lacks("show ephone mac-address", out, "ephone-4[", "ephone-1[")

	// A call: ephone 1 dials 1002; ephone 2 rings.
	if err := ph[0].OffHook(); err != nil {
		t.Fatal(err)
	}
	if err := ph[0].Dial("1002"); err != nil {
		t.Fatal(err)
	}
	wait(t, ph[2], "1002 ringing", func(s sccptest.State) bool { return s.BLF[2] == msg.BLFAlerting })
	check("show ephone 1", "offhook:1", "  dn 1  number 1001 CH1   ALERTING")
	check("show ephone 2", "ringing:1", "  dn 2  number 1002 CH1   RINGING")
	check("show ephone-dn summary",
		"PORT     DN STATE    CODEC    VAD VTSP STATE            VPM STATE",
		"50/0/1   ALERTING    -         -  -                     EFXS_OFFHOOK",
		"50/0/2   RINGING     -         -  -                     EFXS_OFFHOOK",
		"50/0/3   IDLE        -         -  -                     EFXS_ONHOOK")
	// CME's voice-port dump carries the DN's number and name in the
	// Station line (docs/cme-cli.md §Show-layouts-sources).
	check("show ephone-dn 2", "50/0/2 CH1 RINGING", "EFXS 50/0/2 Slot is 50, Sub-unit is 0, Port is 2",
		" Operation State is UP", " Station name Alice Example, Station number 1002")
	check("show ephone registered summary", "Total ephones registered   : 4")
	check("show dial-peer voice summary", "20001  pots  up   up             1001")

	// Presence: 3+2+2+3 speed-dial subscriptions (docs/cme-cli.md §Show-presence-subscription).
	var subs []blf.SubscriptionInfo
	for _, si := range inst.Presence().Subscriptions() {
		if si.Type == "Incoming Indication" {
			subs = append(subs, si)
		}
	}
	if len(subs) != 10 {
		t.Fatalf("%d subscriptions, want 10: %+v", len(subs), subs)
	}
	check("show presence global", "Presence feature enable            : TRUE",
		"Presence allow external watchers   : TRUE", "Presence max subscription allowed  : 128",
		"Presence number of subscriptions   : 10", "Presence allow external subscribe  : TRUE",
		"Presence call list enable          : TRUE", "Presence router mode               : CME mode")
	out = check("show presence subscription summary", "Presence Active Subscription Records Summary: 10 subscription",
		"Watcher                    Presentity               SubID  Expires SibID  Status",
		"D 1001@127.0.0.1  ")
	// ephone 1's device-based speed dial on 1003 (ephone 3, idle).
	if !regexp.MustCompile(`(?m)^D 1001@127\.0\.0\.1 +1003@\S+ +\d+ +3600 +0 +idle$`).MatchString(out) {
		t.Errorf("show presence subscription summary: no device row for 1003:\n%s", out)
	}
	// 1002 rings: the 7960 cannot show ringing, so its lamp is busy; the
	// 7965 and 7970 show it (docs/sccp.md §BLF-status).
	status := map[string]string{} // watcher number -> status of its row for 1002
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(strings.TrimPrefix(l, "D "))
		if len(f) == 6 && strings.HasPrefix(f[1], "1002@") {
			status[strings.Split(f[0], "@")[0]] = f[5]
		}
	}
	if want := map[string]string{"1001": "busy", "1003": "alerting", "1004": "alerting"}; !maps.Equal(status, want) {
		t.Errorf("show presence subscription summary: rows for ringing 1002 are %v, want %v:\n%s", status, want, out)
	}
	out = check("show presence subscription presentity 1002", "Presence Active Subscription Records Details:",
		"  Presentity            : 1002@", "  Watcher phone type    : SCCP [BLF Speed Dial]")
	if n := strings.Count(out, "Subscription ID"); n != 3 {
		t.Errorf("show presence subscription presentity 1002: %d records, want 3:\n%s", n, out)
	}
	id := strconv.Itoa(int(subs[0].ID))
	check("show presence subscription subid "+id, "Presence Active Subscription Records:\n",
		"Subscription ID         : "+id+"\n", "  Presentity            : "+subs[0].Presentity+"@")
	if n := strings.Count(check("show presence subscription details"), "Subscription ID"); n != 10 {
		t.Errorf("show presence subscription details: %d records, want 10", n)
	}

	if err := ph[0].OnHook(); err != nil {
		t.Fatal(err)
	}
	wait(t, ph[2], "1002 idle", func(s sccptest.State) bool { return s.BLF[2] == msg.BLFIdle })
	check("show ephone-dn summary", "50/0/1   IDLE        -", "50/0/2   IDLE        -")

	// SIP side: configured, nothing registered.
	check("show voice register all", "VOICE REGISTER GLOBAL\n=====================", "  Mode is cme",
		"  Max-pool is 10", "  Max-dn is 10", "VOICE REGISTER DN\n=================", "Dn Tag 1\nConfig:\n  Number is 2001",
		"  Pool 1    has this DN configured for line 1", "VOICE REGISTER POOL\n===================",
		"Pool Tag 2\nConfig:\n  Mac address is 0011.2233.4412", "  Active registrations  : 0")
	check("show voice register global", "CONFIG [Version=8.1]", "  Source-address is 0.0.0.0 port 5060",
		"  Authenticate register is enabled")
	out = check("show voice register pool 1", "Pool Tag 1", "  Mac address is 0011.2233.4411", "  Type is 7961",
		"  Number list 1 : DN 1", "  DTMF Relay is enabled, rtp-nte")
	lacks("show voice register pool 1", out, "Pool Tag 2", "VOICE REGISTER DN")
	out = check("show voice register dn 2", "Dn Tag 2", "  Number is 2002", "  Name is Support SIP",
		"  Pool 2    has this DN configured for line 1")
	lacks("show voice register dn 2", out, "Dn Tag 1")

	check("show dial-peer voice summary", "TAG    TYPE  MIN  OPER PREFIX    DEST-PATTERN",
		"100    voip  up   up             3...              0   syst ipv4:127.0.0.1:5070")
	check("show users", "    Line       User       Host(s)              Idle       Location", "con 0", "local")
	out = check("show clock")
	if !regexp.MustCompile(`^\*?\d\d:\d\d:\d\d\.\d{3} \S+ (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d{1,2} \d{4}\n$`).MatchString(out) {
		t.Errorf("show clock: %q", out)
	}
	check("show version", "Cisco IOS Software, cmed Cisco Unified CME emulator, Version test", "cmed uptime is ",
		"4 ephones, 2 voice register pools, 6 ephone-dns, 2 voice register dns configured")
}
