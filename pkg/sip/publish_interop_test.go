package sip

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/emiago/sipgo/sip"
)

// richConfig: the SCCP phone of DN 2001 whose user logs in to a presence
// client with the ephone's username and password (the DN's owner,
// publish.go), watched over a trunk.
const richConfig = `
ephone-dn 1
 number 2001
 allow watch
ephone 1
 mac-address 0011.2233.4401
 type 7960
 username alice password secret
 button 1:1
presence
 watcher all
sip-ua
 presence enable
`

var etagLog = regexp.MustCompile(`etag=(\S+) expires=(\d+)`)

// sippPublish runs one sipp publisher scenario from testdata/sipp as the
// DN's owner and returns its log.
func sippPublish(t *testing.T, r *rig, scenario string, keys ...string) string {
	t.Helper()
	sf, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{r.addr(), "-sf", sf, "-s", "2001", "-au", "alice", "-ap", "secret",
		"-m", "1", "-timeout", "15s", "-timeout_error", "-trace_logs"}
	for i := 0; i+1 < len(keys); i += 2 {
		args = append(args, "-key", keys[i], keys[i+1])
	}
	return wantSippOK(t, startSipp(t, t.TempDir(), 30*time.Second, args...))
}

// schemaCheck validates a NOTIFY body against the PIDF schemas kept with
// pkg/sip/pidf (RFC 3863, 4479, 4480).
func schemaCheck(t *testing.T, body []byte) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "notify.xml")
	if err := os.WriteFile(f, body, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmllint", "--noout", "--nonet", "--schema",
		filepath.Join("pidf", "testdata", "xsd", "presence.xsd"), f).CombinedOutput()
	if err != nil {
		t.Errorf("NOTIFY body fails the PIDF schemas: %v\n%s\n%s", err, out, body)
	}
}

// TestInteropPresenceBeyondThePhone is the walk-through of
// docs/sip-presence.md §Rich-presence, end to end: a SIP watcher of DN
// 2001 sees "On the phone" while the SCCP phone is off-hook, although
// the user's clients (sipp, authenticated as the DN's owner) have
// published "away" and a meeting meanwhile; "In a meeting" once the phone
// is on-hook; "Away" once the meeting's publication is removed. The SCCP
// lamp (blf engine) shows the line only throughout.
func TestInteropPresenceBeyondThePhone(t *testing.T) {
	needTool(t, "sipp", "xmllint")
	r := newRig(t, richConfig, nil)
	id, _ := registerEphone(t, r, "0011.2233.4401")

	w := newRawUA(t, r.addr())
	w.send("SUBSCRIBE", "sip:2001@127.0.0.1:"+r.port(), "<sip:watcher@127.0.0.1>;tag=rw1", "<sip:2001@127.0.0.1>", "rich-1", 1,
		"Contact: <sip:watcher@"+w.addr()+">", "Event: presence", "Accept: application/pidf+xml", "Expires: 600")
	if res := w.response("SUBSCRIBE", 1); res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", res.StatusCode)
	}
	seen := 0
	// next waits for the next NOTIFY, checks its note and activities and
	// validates its body; it fails on any NOTIFY in between.
	next := func(step, note string, want, lacks []string) {
		t.Helper()
		ns := w.waitNotify(seen + 1)
		if len(ns) != seen+1 {
			for _, n := range ns[seen:] {
				t.Logf("NOTIFY:\n%s", n.Body())
			}
			t.Fatalf("%s: %d NOTIFYs, want exactly one more", step, len(ns)-seen)
		}
		n := ns[seen]
		seen++
		body := string(n.Body())
		if !strings.Contains(body, "<note>"+note+"</note>") {
			t.Fatalf("%s: NOTIFY note is not %q:\n%s", step, note, body)
		}
		for _, s := range want {
			if !strings.Contains(body, s) {
				t.Errorf("%s: NOTIFY lacks %q:\n%s", step, s, body)
			}
		}
		for _, s := range lacks {
			if strings.Contains(body, s) {
				t.Errorf("%s: NOTIFY has %q:\n%s", step, s, body)
			}
		}
		if ss := hdr(n, "Subscription-State"); !strings.HasPrefix(ss, "active") {
			t.Errorf("%s: Subscription-State %q", step, ss)
		}
		schemaCheck(t, n.Body())
	}
	next("subscribed", "Available", []string{"<basic>open</basic>", "<ce:available/>"}, []string{"away", "meeting"})

	if _, err := r.sw.OffHook(id, 1); err != nil {
		t.Fatal(err)
	}
	next("off-hook", "On the phone", []string{"<rpid:on-the-phone/>"}, nil)

	// The user's presence client sets "away", the calendar a meeting until
	// an hour from now; the phone wins, so the watcher is told nothing.
	out := sippPublish(t, r, "publish_presence.xml", "acts", "<rpid:away/>", "until", " ", "pexp", "600")
	if m := etagLog.FindStringSubmatch(out); m == nil || m[2] != "600" {
		t.Fatalf("away publication: no etag/expires in the sipp log:\n%s", out)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	out = sippPublish(t, r, "publish_presence.xml", "acts", "<rpid:meeting/>",
		"until", `until="`+until.Format(time.RFC3339)+`"`, "pexp", "3600")
	m := etagLog.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("meeting publication: no etag in the sipp log:\n%s", out)
	}
	meetingTag := m[1]
	if rich := r.srv.pres.table.Rich("2001"); !rich.Meeting || rich.Reach.String() != "away" || !rich.MeetingUntil.Equal(until) {
		t.Fatalf("composed rich presence %+v", rich)
	}

	if _, err := r.sw.OnHook(id, 1); err != nil {
		t.Fatal(err)
	}
	next("on-hook", "In a meeting", []string{`until="` + until.Format(time.RFC3339) + `"`, "<rpid:meeting/>"},
		[]string{"on-the-phone", "<rpid:away/>"})
	if st := r.eng.State("2001"); st != blf.StateIdle {
		t.Errorf("SCCP lamp state %v during the meeting, want idle (line state only)", st)
	}

	sippPublish(t, r, "publish_remove.xml", "etag", meetingTag)
	next("meeting over", "Away", []string{"<rpid:away/>"}, []string{"meeting", "on-the-phone"})

	subs := r.srv.Subscriptions()
	if len(subs) != 1 || subs[0].Summary != "Away" || subs[0].Shown.String() != "reachability" {
		t.Errorf("show data: %+v", subs)
	}
	if got := r.srv.PresenceStatus("2001"); got != "Away (reachability)" {
		t.Errorf("PresenceStatus %q, want Away (reachability)", got)
	}
	// A stale entity-tag is refused with 412 (RFC 3903 §6 step 4); sipp
	// expects 200, so it fails.
	sf, _ := filepath.Abs(filepath.Join("testdata", "sipp", "publish_remove.xml"))
	code, out := startSipp(t, t.TempDir(), 30*time.Second, r.addr(), "-sf", sf, "-s", "2001", "-au", "alice", "-ap", "secret",
		"-key", "etag", meetingTag, "-m", "1", "-timeout", "10s", "-timeout_error", "-trace_msg").wait(t)
	if code == 0 || !strings.Contains(out, "412") {
		t.Errorf("removal with a stale etag: exit %d, want a 412:\n%s", code, out)
	}
	if got := w.waitNotify(seen); len(got) != seen {
		t.Errorf("%d NOTIFYs after the refused PUBLISH", len(got)-seen)
	}
}

// TestPublishAuthorisation: only the DN's owner may publish: a stranger
// is challenged and, with wrong credentials, never accepted; a DN that is
// not local is 404; a package other than presence 489.
func TestPublishAuthorisation(t *testing.T) {
	r := newRig(t, richConfig+"ephone-dn 2\n number 2002\n", nil)
	u := newRawUA(t, r.addr())
	body := `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:2001@h"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`
	pub := func(cseq int, dn, event string, extra ...string) *sip.Response {
		t.Helper()
		var b strings.Builder
		fmt.Fprintf(&b, "PUBLISH sip:%s@127.0.0.1:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-pub%d;rport\r\n", dn, r.port(), u.addr(), cseq)
		fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:x@127.0.0.1>;tag=p\r\nTo: <sip:%s@127.0.0.1>\r\nCall-ID: pub-auth\r\nCSeq: %d PUBLISH\r\n", dn, cseq)
		fmt.Fprintf(&b, "Event: %s\r\nExpires: 600\r\nContent-Type: application/pidf+xml\r\n", event)
		for _, h := range extra {
			b.WriteString(h + "\r\n")
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		if _, err := u.conn.WriteTo([]byte(b.String()), u.to); err != nil {
			t.Fatal(err)
		}
		return u.response("PUBLISH", cseq)
	}
	if res := pub(1, "9999", "presence"); res.StatusCode != 404 {
		t.Errorf("unknown DN: %d, want 404", res.StatusCode)
	}
	if res := pub(2, "2001", "dialog"); res.StatusCode != 489 || hdr(res, "Allow-Events") != "presence" {
		t.Errorf("dialog package: %d %q, want 489 presence", res.StatusCode, hdr(res, "Allow-Events"))
	}
	res := pub(3, "2001", "presence")
	if res.StatusCode != 401 {
		t.Fatalf("unauthenticated: %d, want 401", res.StatusCode)
	}
	if res := pub(4, "2001", "presence", authorize(t, res, "PUBLISH", "sip:2001@127.0.0.1", "alice", "wrong")); res.StatusCode != 401 {
		t.Errorf("wrong password: %d, want 401", res.StatusCode)
	}
	// 2002 has no owner with credentials: nobody may publish for it.
	if res := pub(5, "2002", "presence"); res.StatusCode != 403 {
		t.Errorf("DN without an owner: %d, want 403", res.StatusCode)
	}
	if n := r.srv.pres.table.Publications(); n != 0 {
		t.Errorf("%d publications after refused PUBLISHes", n)
	}
	res = pub(6, "2001", "presence")
	if res := pub(7, "2001", "presence", authorize(t, res, "PUBLISH", "sip:2001@127.0.0.1", "alice", "secret")); res.StatusCode != 200 || hdr(res, "SIP-ETag") == "" {
		t.Errorf("owner: %d etag %q, want 200 with SIP-ETag", res.StatusCode, hdr(res, "SIP-ETag"))
	}
}
