package sip

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
)

// Calls with sipp as the caller phone, scenarios in testdata/sipp (written
// for cmed); the callee phone is a rawUA so the test decides its answers.

// sippCaller starts sipp registered as 2101 calling 2102 with scenario.
func sippCaller(t *testing.T, r *rig, scenario string) *sippRun {
	t.Helper()
	needTool(t, "sipp")
	sf, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	return startSipp(t, t.TempDir(), 60*time.Second, r.addr(), "-sf", sf, "-key", "caller", "2101", "-s", "2102",
		"-m", "1", "-timeout", "30s", "-timeout_error", "-trace_msg", "-trace_logs")
}

func wantSippOK(t *testing.T, run *sippRun) string {
	t.Helper()
	code, out := run.wait(t)
	if code != 0 {
		t.Fatalf("sipp exit %d:\n%s", code, out)
	}
	return out
}

// TestInteropCallRefused: the callee phone's 486 or 603 reaches the sipp
// caller as the same code (not ringback until the ring timeout, then
// 480), and both lines are idle afterwards.
func TestInteropCallRefused(t *testing.T) {
	for _, code := range []int{486, 603} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			r := newRig(t, twoPhones, nil)
			b := newRawUA(t, r.addr())
			register(t, r, b, "2102", 600, 1, "")
			run := sippCaller(t, r, "uac_call_"+strconv.Itoa(code)+".xml")
			inv := b.waitRequest("INVITE")
			b.reply(inv, 180, "ib", "")
			b.reply(inv, code, "ib", "")
			b.waitRequest("ACK")
			wantSippOK(t, run)
			eventually(t, 2*time.Second, "both idle", func() bool {
				return r.eng.State("2101") == blf.StateIdle && r.eng.State("2102") == blf.StateIdle
			})
		})
	}
}

// TestInteropCallCancel: the sipp caller CANCELs while the callee rings:
// it gets 200 + 487, and the callee gets a CANCEL.
func TestInteropCallCancel(t *testing.T) {
	r := newRig(t, twoPhones, nil)
	b := newRawUA(t, r.addr())
	register(t, r, b, "2102", 600, 1, "")
	run := sippCaller(t, r, "uac_call_cancel.xml")
	inv := b.waitRequest("INVITE")
	b.reply(inv, 180, "cb", "")
	c := b.waitRequest("CANCEL")
	b.reply(c, 200, "", "")
	b.reply(inv, 487, "cb", "")
	b.waitRequest("ACK")
	wantSippOK(t, run)
	eventually(t, 2*time.Second, "2102 idle", func() bool { return r.eng.State("2102") == blf.StateIdle })
}

// TestInteropCallNoStrayBye: the sipp caller hangs up an answered call;
// the scenario fails on any BYE from cmed afterwards, and the callee
// gets cmed's BYE.
func TestInteropCallNoStrayBye(t *testing.T) {
	r := newRig(t, twoPhones, nil)
	b := newRawUA(t, r.addr())
	register(t, r, b, "2102", 600, 1, "")
	run := sippCaller(t, r, "uac_call_bye.xml")
	inv := b.waitRequest("INVITE")
	b.reply(inv, 200, "nb", sdpAt(40040), "Contact: <sip:2102@"+b.addr()+">")
	b.waitRequest("ACK")
	bye := b.waitRequest("BYE")
	b.reply(bye, 200, "", "")
	out := wantSippOK(t, run)
	if strings.Contains(out, "STRAY BYE") {
		t.Errorf("cmed sent a BYE after the phone's BYE:\n%s", out)
	}
}
