package sip

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/dn"
)

// sippPhone runs scenario as SIP phone 2101 dialling service; keys are
// extra -key NAME VALUE pairs.
func sippPhone(t *testing.T, r *rig, scenario, service string, keys ...string) *sippRun {
	t.Helper()
	needTool(t, "sipp")
	sf, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-sf", sf, "-key", "caller", "2101", "-s", service}
	for i := 0; i+1 < len(keys); i += 2 {
		args = append(args, "-key", keys[i], keys[i+1])
	}
	args = append(args, "-m", "1", "-timeout", "30s", "-timeout_error", "-trace_msg", "-trace_logs")
	return startSipp(t, t.TempDir(), 60*time.Second, append([]string{r.addr()}, args...)...)
}

// TestInteropHoldThenReferToSCCP: sipp as SIP phone 2101 calls SIP phone
// 2102, holds it by re-INVITE (cmed answers recvonly; the core holds the
// line, and 2102 is re-INVITEd sendonly for music on hold), then REFERs it
// to SCCP phone 2001 and hangs up after the NOTIFYs. 2102 ends up talking
// to 2001 and nothing is left after both hang up.
func TestInteropHoldThenReferToSCCP(t *testing.T) {
	r := newRig(t, withEphone, nil)
	b := newRawUA(t, r.addr())
	register(t, r, b, "2102", 600, 1, "")
	sccp, dev := registerEphone(t, r, "0011.2233.4401")
	dev.AutoMedia(r.sw, sccp, netip.MustParseAddr("127.0.0.5"))
	run := sippPhone(t, r, "uac_hold_refer.xml", "2102", "target", "2001")

	answerCall(t, b, "2102", "ib", 47002)
	if m := answerReinvite(t, b, 47002, "recvonly"); m.Direction != "sendonly" {
		t.Errorf("held 2102 offered %s, want sendonly", m.Direction)
	}
	if st := lineState(r, "2101"); st != dn.LineHold {
		t.Errorf("2101 %v while holding", st)
	}
	eventually(t, 2*time.Second, "music on hold to 2102", func() bool {
		moh := r.media.Active("MOH")
		return len(moh) == 1 && moh[0].Dest == netip.MustParseAddrPort("127.0.0.1:47002")
	})
	var id dn.CallID
	eventually(t, 5*time.Second, "2001 to ring", func() bool {
		e, ok := dev.Last("Ring")
		id = e.Info.ID
		return ok
	})
	if _, err := r.sw.Answer(sccp, 1, id); err != nil {
		t.Fatal(err)
	}
	m := answerReinvite(t, b, 47002, "sendrecv")
	if m.Direction != "sendrecv" || m.Addr.Addr() != netip.MustParseAddr("127.0.0.5") {
		t.Errorf("2102 re-INVITEd %s to %v, want sendrecv to 2001", m.Direction, m.Addr)
	}
	out := wantSippOK(t, run)
	for _, want := range []string{"hold answered a=recvonly", "NOTIFY sipfrag SIP/2.0 100 Trying", "NOTIFY sipfrag SIP/2.0 200 OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("sipp log lacks %q:\n%s", want, out)
		}
	}
	if _, err := r.sw.OnHook(sccp, 1); err != nil {
		t.Fatal(err)
	}
	b.reply(b.waitRequest("BYE"), 200, "", "")
	noCallsLeft(t, r, dev, "2101", "2102", "2001")
}

// TestInteropFACDND: sipp as SIP phone 2101 dials the DND code; cmed
// answers and hangs up, and the pool is in DND.
func TestInteropFACDND(t *testing.T) {
	r := newRig(t, withFAC, nil)
	run := sippPhone(t, r, "uac_fac.xml", "*#9")
	wantSippOK(t, run)
	if !pool1(t, r).DND {
		t.Errorf("pool 1 not in DND after *#9")
	}
}
