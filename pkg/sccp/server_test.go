package sccp_test

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/sccp"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if v := os.Getenv(benchChildEnv); v != "" {
		n, _ := strconv.Atoi(v)
		runBenchChild(n)
	}
	goleak.VerifyTestMain(m)
}

// officeConfig: five phones, one per model/version of the acceptance test.
// ephone 1 (7960 v5) and ephone 3 (7961) watch B = 1002 (ephone 2, a 7960 at
// v11 sending header version 0); 1006 has no `allow watch`.
const officeConfig = `hostname cmedtest
telephony-service
 max-ephones 10
 max-dn 20
 ip source-address 127.0.0.1 port 2000
presence
ephone-dn 1
 number 1001
 name Alice
 allow watch
ephone-dn 2
 number 1002
 name Bob
 allow watch
ephone-dn 3
 number 1003
 allow watch
ephone-dn 4
 number 1004
 allow watch
ephone-dn 5
 number 1005
 allow watch
ephone-dn 6
 number 1006
ephone 1
 mac-address 0000.0000.0001
 type 7960
 button 1:1
 speed-dial 1 1003 label "Carol"
 blf-speed-dial 1 1002 label "Bob"
ephone 2
 mac-address 0000.0000.0002
 type 7960
 button 1:2
ephone 3
 mac-address 0000.0000.0003
 type 7961
 button 1:3
 blf-speed-dial 1 1002 label "Bob"
 blf-speed-dial 2 1006 label "NoWatch"
ephone 4
 mac-address 0000.0000.0004
 type 7965
 button 1:4
ephone 5
 mac-address 0000.0000.0005
 type 7970
 button 1:5 2:6
`

type phoneSpec struct {
	mac     string
	model   string
	version uint32
}

// The 7960 with a BLF speed dial is at v11 (SCCP 8.x), where it gets native
// BLF; a v5 7960 gets the fallback (TestBLFFallbackBelowV11).
var officePhones = []phoneSpec{
	{"000000000001", "7960", 11},
	{"000000000002", "7960", 11},
	{"000000000003", "7961", 17},
	{"000000000004", "7965", 22},
	{"000000000005", "7970", 11},
}

func TestRegisterModelsAndBLF(t *testing.T) {
	e := start(t, officeConfig, nil, sccp.Limits{})
	var phones []*sccptest.Phone
	for _, ps := range officePhones {
		phones = append(phones, e.phone(sccptest.Config{Model: ps.model, MAC: ps.mac, Version: ps.version}, true))
	}
	a60, b, a61, caller, p70 := phones[0], phones[1], phones[2], phones[3], phones[4]

	// Registration: negotiated version = min(phone, 11) (msg package doc),
	// every request answered (Connect waited for each answer).
	for i, p := range phones {
		s := p.State()
		want := min(officePhones[i].version, 11)
		if !s.Registered || s.Version != want {
			t.Errorf("%s: registered %v version %d, want %d", p.DeviceName(), s.Registered, s.Version, want)
		}
		if s.TimeDate == nil {
			t.Errorf("%s: no DefineTimeDate", p.DeviceName())
		}
		if len(s.SoftKeys) == 0 || len(s.SoftKeySets) != 12 {
			t.Errorf("%s: softkeys %d sets %d", p.DeviceName(), len(s.SoftKeys), len(s.SoftKeySets))
		}
		if s.Lines[1].DirNumber == "" {
			t.Errorf("%s: line 1 has no number: %+v", p.DeviceName(), s.Lines)
		}
	}
	// Button templates: lines, then speed dials, then BLF (0x15) in the speed-dial series.
	wantButtons := []msg.Button{{Instance: 1, Type: msg.ButtonLine}, {Instance: 1, Type: msg.ButtonSpeedDial},
		{Instance: 2, Type: msg.ButtonBLFSpeedDial}}
	if got := a60.State().Buttons; !slices.Equal(got, wantButtons) {
		t.Errorf("7960 template %v, want %v", got, wantButtons)
	}
	if sd := a60.State().SpeedDials[1]; sd.DirNumber != "1003" || sd.Name != "Carol" {
		t.Errorf("speed dial 1 = %+v", sd)
	}
	if got := len(p70.State().Lines); got != 2 {
		t.Errorf("7970 has %d lines, want 2", got)
	}
	if hv := b.Messages()[0].Header.Version; hv != 0 {
		t.Errorf("header version to a v11 phone's RegisterAck = %d, want 0", hv)
	}
	if name := a61.Messages(); len(name) == 0 {
		t.Fatal("no messages")
	}

	// BLF: A's lamp for B follows B. Index 2 on the 7960 (after one speed dial), 1 on the 7961.
	lamp := func(p *sccptest.Phone, idx uint32, want msg.BLFStatus, what string) {
		t.Helper()
		waitState(t, p, what, func(s sccptest.State) bool { return s.BLF[idx] == want })
	}
	lamp(a60, 2, msg.BLFIdle, "idle")
	lamp(a61, 1, msg.BLFIdle, "idle")
	lamp(a61, 2, msg.BLFUnknown, "unknown (no allow watch)")
	if got := a61.State().BLFLabel[1]; got != "Bob" {
		t.Errorf("BLF label %q", got)
	}

	if err := b.OffHook(); err != nil {
		t.Fatal(err)
	}
	lamp(a60, 2, msg.BLFInUse, "in use (off-hook)")
	lamp(a61, 1, msg.BLFInUse, "in use (off-hook)")
	waitState(t, b, "dial tone", func(s sccptest.State) bool { return s.Tone == msg.ToneInsideDial })
	if err := b.OnHook(); err != nil {
		t.Fatal(err)
	}
	lamp(a60, 2, msg.BLFIdle, "idle after on-hook")
	lamp(a61, 1, msg.BLFIdle, "idle after on-hook")

	// 1004 calls B: B rings; the 7961 shows alerting, the 7960 in use.
	if err := caller.OffHook(); err != nil {
		t.Fatal(err)
	}
	waitState(t, caller, "off-hook", func(s sccptest.State) bool { return s.ActiveCall != 0 })
	if err := caller.Dial("1002"); err != nil {
		t.Fatal(err)
	}
	waitState(t, b, "ringing", func(s sccptest.State) bool { return s.Ringer == msg.RingInside })
	lamp(a61, 1, msg.BLFAlerting, "alerting")
	lamp(a60, 2, msg.BLFInUse, "in use (ringing on a 7960)")
	waitState(t, caller, "DialedNumber and ring-back", func(s sccptest.State) bool {
		return s.DialedNumber == "1002" && s.Tone == msg.ToneAlerting
	})
	if err := caller.OnHook(); err != nil {
		t.Fatal(err)
	}
	lamp(a61, 1, msg.BLFIdle, "idle after cancel")
	lamp(a60, 2, msg.BLFIdle, "idle after cancel")
	waitState(t, b, "ringer off", func(s sccptest.State) bool { return s.Ringer == msg.RingOff })

	// Dropping B's TCP connection turns the lamps unknown at once.
	b.Close()
	lamp(a61, 1, msg.BLFUnknown, "unknown after disconnect")
	lamp(a60, 2, msg.BLFUnknown, "unknown after disconnect")

	// show data. The session leaves the table just after the core has
	// unregistered it (which is what turned the lamps unknown), so wait.
	infos := e.srv.Sessions()
	for deadline := time.Now().Add(5 * time.Second); len(infos) != 4 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		infos = e.srv.Sessions()
	}
	if len(infos) != 4 {
		t.Fatalf("%d sessions, want 4", len(infos))
	}
	si, ok := e.srv.Session("SEP000000000003")
	if !ok || si.Model != "7961" || si.PhoneVersion != 17 || si.Version != 11 || si.EphoneTag != 3 || si.MaxLines != 1 {
		t.Errorf("session info %+v", si)
	}
	if h := sccp.ShowEphoneHeader(si, "0000.0000.0003"); !strings.Contains(h, "REGISTERED in SCCP ver 17/11") {
		t.Errorf("show header %q", h)
	}
	devs, err := e.sw.Devices()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range devs {
		if d.Name == "SEP000000000004" {
			found = true
		}
	}
	if !found {
		t.Errorf("core registry lacks SEP000000000004: %+v", devs)
	}
}

func TestUnknownDeviceRejected(t *testing.T) {
	e := start(t, officeConfig, nil, sccp.Limits{})
	ctx := e.ctxT(5 * time.Second)
	p, err := sccptest.Dial(ctx, e.addr, sccptest.Config{Model: "7961", MAC: "00AABBCCDDEE"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	err = p.Register(ctx)
	if !errors.Is(err, sccptest.ErrRejected) {
		t.Fatalf("Register = %v, want rejection", err)
	}
	if txt := p.State().Rejected; !strings.Contains(txt, "00AA.BBCC.DDEE") {
		t.Errorf("reject text %q does not name the MAC", txt)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.logs.String(), "mac=00AA.BBCC.DDEE") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line naming the MAC:\n%s", e.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReconnectReplacesSession(t *testing.T) {
	e := start(t, officeConfig, nil, sccp.Limits{})
	watcher := e.phone(sccptest.Config{Model: "7961", MAC: "000000000003"}, true)
	old := e.phone(sccptest.Config{Model: "7960", MAC: "000000000002"}, true)
	waitState(t, watcher, "idle", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFIdle })
	// Same device on a new connection, without closing the old one.
	fresh := e.phone(sccptest.Config{Model: "7960", MAC: "000000000002"}, true)
	ctx := e.ctxT(5 * time.Second)
	if _, err := old.WaitState(ctx, func(sccptest.State) bool { return old.Err() != nil }); err == nil && old.Err() == nil {
		t.Fatal("old connection still open")
	}
	if err := fresh.KeepAlive(ctx); err != nil {
		t.Fatalf("new session: %v", err)
	}
	if n := len(e.srv.Sessions()); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
	// The lamp is idle again through the new session, not unknown.
	waitState(t, watcher, "idle via new session", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFIdle })
	if err := fresh.OffHook(); err != nil {
		t.Fatal(err)
	}
	waitState(t, watcher, "in use via new session", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFInUse })

	// Unregister is acknowledged and the phone leaves.
	ack, err := watcher.Unregister(ctx)
	if err != nil || ack.Status != msg.UnregisterOK {
		t.Fatalf("Unregister: %+v, %v", ack, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.srv.Sessions()) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("sessions after Unregister: %+v", e.srv.Sessions())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKeepaliveTimeout(t *testing.T) {
	e := start(t, officeConfig, func(c *config.Config) {
		c.Telephony.Keepalive = 1 // the CLI floor is 10 s; keep the test short
	}, sccp.Limits{KeepaliveGrace: 200 * time.Millisecond})
	watcher := e.phone(sccptest.Config{Model: "7961", MAC: "000000000003"}, true)
	silent := e.phone(sccptest.Config{Model: "7960", MAC: "000000000002"}, true)
	if s := silent.State(); s.KeepAlive != 1 {
		t.Fatalf("RegisterAck keepalive %d, want 1", s.KeepAlive)
	}
	waitState(t, watcher, "idle", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFIdle })
	// The watcher keeps sending keepalives; the silent phone sends none.
	start := time.Now()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(300 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				watcher.KeepAlive(e.ctxT(time.Second))
			}
		}
	}()
	waitState(t, watcher, "unknown after silence", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFUnknown })
	close(stop)
	<-done
	// Bound: 2 intervals + grace, plus scheduling slack.
	if el := time.Since(start); el > 2*time.Second+200*time.Millisecond+2*time.Second {
		t.Errorf("unknown after %v", el)
	}
	if el := time.Since(start); el < 2*time.Second {
		t.Errorf("silent phone dropped after %v, before 2 keepalive intervals", el)
	}
	if si, ok := e.srv.Session("SEP000000000003"); !ok || si.KeepAlives == 0 {
		t.Errorf("watcher session %+v", si)
	}
}

func TestMaxSubscriptionAndCallList(t *testing.T) {
	text := officeConfig + "ephone 6\n mac-address 0000.0000.0006\n type 7965\n button 1:6\n presence call-list\n" +
		" blf-speed-dial 1 1003 label C\n blf-speed-dial 2 1004 label D\n blf-speed-dial 3 1002 label B\n"
	e := start(t, text, func(c *config.Config) {
		c.Presence.MaxSubscription = 4 // the CLI floor is 100
	}, sccp.Limits{})
	e.phone(sccptest.Config{Model: "7961", MAC: "000000000003"}, true) // 2 subscriptions
	p := e.phone(sccptest.Config{Model: "7965", MAC: "000000000006"}, true)
	e.phone(sccptest.Config{Model: "7965", MAC: "000000000004"}, true)
	e.phone(sccptest.Config{Model: "7960", MAC: "000000000002"}, true)
	s := waitState(t, p, "two lamps", func(s sccptest.State) bool {
		return s.BLF[1] == msg.BLFIdle && s.BLF[2] == msg.BLFIdle
	})
	if s.BLF[3] != msg.BLFUnknown {
		t.Errorf("third BLF over max-subscription = %v, want unknown", s.BLF[3])
	}
	if !strings.Contains(e.logs.String(), "number=1002 err=\"blf: subscription refused: max-subscriptions\"") {
		t.Errorf("no refusal logged for the third BLF")
	}
	// Call-list BLF (ephone 6 has `presence call-list`) with the limit reached.
	if err := p.SubscribeCallListBLF(0x10, "1001"); err != nil {
		t.Fatal(err)
	}
	ctx := e.ctxT(5 * time.Second)
	res, err := sccptest.Expect[*msg.SubscriptionStatRes](ctx, p)
	if err != nil || res.TransactionID != 0x10 || res.Cause != 0 {
		t.Fatalf("SubscriptionStatRes %+v, %v", res, err)
	}
	// Over max-subscription the entry is unknown.
	waitState(t, p, "call-list unknown", func(s sccptest.State) bool {
		st, ok := s.CallListBLF[0x10]
		return ok && st == msg.BLFUnknown
	})
}

func TestCallListBLF(t *testing.T) {
	text := strings.Replace(officeConfig, "presence\n", "presence\n presence call-list\n", 1)
	e := start(t, text, nil, sccp.Limits{})
	w := e.phone(sccptest.Config{Model: "7965", MAC: "000000000004"}, true)
	old := e.phone(sccptest.Config{Model: "7960", MAC: "000000000001"}, true)
	target := e.phone(sccptest.Config{Model: "7970", MAC: "000000000005"}, true)
	ctx := e.ctxT(5 * time.Second)
	if err := w.SubscribeCallListBLF(0x20, "1005"); err != nil {
		t.Fatal(err)
	}
	if res, err := sccptest.Expect[*msg.SubscriptionStatRes](ctx, w); err != nil || res.Cause != 0 {
		t.Fatalf("SubscriptionStatRes %+v, %v", res, err)
	}
	waitState(t, w, "idle", func(s sccptest.State) bool { return s.CallListBLF[0x20] == msg.BLFIdle })
	if err := target.OffHook(); err != nil {
		t.Fatal(err)
	}
	waitState(t, w, "in use", func(s sccptest.State) bool { return s.CallListBLF[0x20] == msg.BLFInUse })
	// A 7960 cannot show call-list BLF (docs/sccp.md §Call-list-BLF): refused, no Notification.
	if err := old.SubscribeCallListBLF(0x30, "1005"); err != nil {
		t.Fatal(err)
	}
	if res, err := sccptest.Expect[*msg.SubscriptionStatRes](ctx, old); err != nil || res.Cause == 0 {
		t.Fatalf("7960 SubscriptionStatRes %+v, %v", res, err)
	}
}

func TestApplyRestartsChangedPhones(t *testing.T) {
	e := start(t, officeConfig, nil, sccp.Limits{})
	changed := e.phone(sccptest.Config{Model: "7961", MAC: "000000000003"}, true)
	same := e.phone(sccptest.Config{Model: "7965", MAC: "000000000004"}, true)
	cfg, err := config.Parse("new.cfg", []byte(strings.Replace(officeConfig,
		" blf-speed-dial 2 1006 label \"NoWatch\"\n", " blf-speed-dial 2 1005 label \"Eve\"\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.Store(cfg)
	e.srv.Apply(cfg)
	waitState(t, changed, "Reset restart", func(s sccptest.State) bool { return s.ResetType == msg.ResetRestart })
	ctx := e.ctxT(5 * time.Second)
	if err := same.KeepAlive(ctx); err != nil {
		t.Fatal(err)
	}
	if s := same.State(); s.ResetType != 0 {
		t.Errorf("unchanged phone got Reset %d", s.ResetType)
	}
}
