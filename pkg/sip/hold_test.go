package sip

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/internal/repotest"
	"github.com/cmed-project/cmed/pkg/blf"
)

// lastNotifyOn returns the newest NOTIFY of subscription dialog callID
// once ok accepts its body, waiting up to 5 s.
func (u *rawUA) lastNotifyOn(callID, what string, ok func(body string) bool) *sip.Request {
	u.t.Helper()
	var got *sip.Request
	eventually(u.t, 5*time.Second, what, func() bool {
		u.mu.Lock()
		defer u.mu.Unlock()
		got = nil
		for _, n := range u.notifies {
			if n.CallID().Value() == callID {
				got = n
			}
		}
		return got != nil && ok(string(got.Body()))
	})
	return got
}

// heldDialog: the body marks the dialog held the RFC 4235 §4.1.6.2 way:
// confirmed, local target with the feature tag +sip.rendering="no".
func heldDialog(b string) bool {
	return strings.Contains(b, "<state>confirmed</state>") &&
		strings.Contains(b, `<param pname="+sip.rendering" pval="no"/>`)
}

func talkingDialog(b string) bool {
	return strings.Contains(b, "<state>confirmed</state>") && !strings.Contains(b, "+sip.rendering")
}

// validateDialogInfo checks a NOTIFY body against the RFC 4235 schema
// kept with the body encoder (pkg/sip/pidf/testdata/xsd).
func validateDialogInfo(t *testing.T, body []byte) {
	t.Helper()
	repotest.Tool(t, "xmllint")
	f := filepath.Join(t.TempDir(), "notify.xml")
	if err := os.WriteFile(f, body, 0o600); err != nil {
		t.Fatal(err)
	}
	schema := filepath.Join("pidf", "testdata", "xsd", "dialog-info.xsd")
	if out, err := exec.Command("xmllint", "--noout", "--nonet", "--schema", schema, f).CombinedOutput(); err != nil {
		t.Errorf("dialog-info NOTIFY body fails RFC 4235 schema: %v\n%s\n%s", err, out, body)
	}
}

// TestHoldShownToWatchers: SIP phone 2101 talks to SCCP phone 2001 and
// holds by re-INVITE (docs/cme-behaviour.md §Hold); a SIP phone watching
// 2101 with the dialog package is told the dialog is held (confirmed,
// +sip.rendering="no" on the local target, RFC 4235 §4.1.6.2), and with the presence package gets on-the-phone with the note "On
// hold" (docs/sip-presence.md §State-mapping); the BLF lamp stays in use
// (docs/cme-behaviour.md §Presentity-state). Resume turns both back to a
// plain call.
func TestHoldShownToWatchers(t *testing.T) {
	r := newRig(t, withEphone, nil)
	a, w := newRawUA(t, r.addr()), newRawUA(t, r.addr())
	register(t, r, a, "2101", 600, 1, "")
	register(t, r, w, "2102", 600, 1, "")
	sccp, dev := registerEphone(t, r, "0011.2233.4401")
	dev.AutoMedia(r.sw, sccp, netip.MustParseAddr("127.0.0.5"))

	ruri := "sip:2101@127.0.0.1:" + r.port()
	w.send("SUBSCRIBE", ruri, "<sip:2102@127.0.0.1>;tag=wd", "<sip:2101@127.0.0.1>", "watch-dialog", 1,
		"Contact: <sip:2102@"+w.addr()+">", "Event: dialog", "Accept: application/dialog-info+xml", "Expires: 600")
	if res := w.response("SUBSCRIBE", 1); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE dialog: %d", res.StatusCode)
	}
	w.send("SUBSCRIBE", ruri, "<sip:2102@127.0.0.1>;tag=wp", "<sip:2101@127.0.0.1>", "watch-presence", 2,
		"Contact: <sip:2102@"+w.addr()+">", "Event: presence", "Accept: application/pidf+xml", "Expires: 600")
	if res := w.response("SUBSCRIBE", 2); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE presence: %d", res.StatusCode)
	}
	w.lastNotifyOn("watch-dialog", "idle dialog-info", func(b string) bool { return strings.Contains(b, "<state>terminated</state>") })

	d, _ := callSCCP(t, r, a, "2101", "hold-w", 41000, sccp, dev)
	w.lastNotifyOn("watch-dialog", "confirmed dialog", talkingDialog)
	w.lastNotifyOn("watch-presence", "on the phone", func(b string) bool {
		return strings.Contains(b, "<rpid:on-the-phone/>") && strings.Contains(b, "<note>On the phone</note>")
	})

	d.reinvite(t, strings.Replace(sdpAt(41000), "a=sendrecv", "a=sendonly", 1))
	n := w.lastNotifyOn("watch-dialog", "held dialog", heldDialog)
	if ct := hdr(n, "Content-Type"); ct != "application/dialog-info+xml" {
		t.Errorf("Content-Type %q", ct)
	}
	validateDialogInfo(t, n.Body())
	w.lastNotifyOn("watch-presence", "on hold", func(b string) bool {
		return strings.Contains(b, "<rpid:on-the-phone/>") && strings.Contains(b, "<note>On hold</note>")
	})
	if st := r.eng.State("2101"); st != blf.StateInUse {
		t.Errorf("lamp of the held line %v, want busy", st)
	}
	// The held party's line is not on hold: 2001 is still plain in use.
	if st := r.eng.State("2001"); st != blf.StateInUse {
		t.Errorf("lamp of the held party %v, want busy", st)
	}

	d.reinvite(t, sdpAt(41000))
	w.lastNotifyOn("watch-dialog", "resumed dialog", talkingDialog)
	w.lastNotifyOn("watch-presence", "back on the phone", func(b string) bool { return strings.Contains(b, "<note>On the phone</note>") })

	if _, err := r.sw.OnHook(sccp, 1); err != nil {
		t.Fatal(err)
	}
	a.reply(a.waitRequest("BYE"), 200, "", "")
	w.lastNotifyOn("watch-dialog", "idle again", func(b string) bool { return strings.Contains(b, "<state>terminated</state>") })
	noCallsLeft(t, r, dev, "2101", "2001")
}
