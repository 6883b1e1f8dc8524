package pidf

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/repotest"
)

// Schema validation of every body the encoders produce with xmllint
// against the RFC schemas in testdata/xsd (RFC 3863 PIDF with RFC 4479 and
// RFC 4480 loaded through presence.xsd; RFC 4235 dialog-info). xmllint
// missing skips, or fails under CMED_INTEROP=1.

func needXmllint(t *testing.T) {
	t.Helper()
	repotest.Tool(t, "xmllint")
}

// validate runs xmllint --noout --schema on body; it returns xmllint's
// output and whether the document is valid.
func validate(t *testing.T, schema string, body []byte) (string, bool) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "body.xml")
	if err := os.WriteFile(f, body, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmllint", "--noout", "--nonet", "--schema", filepath.Join("testdata", "xsd", schema), f).CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("xmllint: %v", err)
		}
	}
	return string(out), err == nil
}

func schemaFor(ct string) string {
	if ct == ContentTypeDialogInfo {
		return "dialog-info.xsd"
	}
	return "presence.xsd"
}

// TestSchemaValid: every lamp state (goldenCases: idle, ringing with and
// without FoldRinging, in use, hold, busy, DND, unknown, call details,
// timestamp) in every body type validates, plus an escaped entity and a
// supplied note.
func TestSchemaValid(t *testing.T) {
	needXmllint(t)
	type schemaCase struct {
		name  string
		state LineState
		opt   Options
	}
	states := make([]schemaCase, 0, len(goldenCases)+2)
	for _, tc := range goldenCases {
		states = append(states, schemaCase{tc.name, tc.state, tc.opt})
	}
	states = append(states,
		schemaCase{"escaped", LineState{Entity: `sip:"x"<&>@h`, Number: "+49 30/1", Status: StatusBusy, DND: true, Note: "a\x00b\xffc"}, Options{}},
		schemaCase{"ringing-dnd-cme", LineState{Number: "7", Status: StatusRinging, DND: true}, Options{FoldRinging: true}})
	// Rich presence (docs/sip-presence.md §Rich-presence): each source
	// shown, with and without the line winning over it.
	until := time.Date(2030, 5, 6, 15, 0, 0, 0, time.UTC)
	for _, rc := range []struct {
		name string
		st   LineState
	}{
		{"meeting", LineState{Number: "2001", Status: StatusIdle, Rich: Rich{Meeting: true, MeetingUntil: until, Reach: ReachAway}}},
		{"meeting-no-end", LineState{Number: "2001", Status: StatusIdle, Rich: Rich{Meeting: true}}},
		{"meeting-on-phone", LineState{Number: "2001", Status: StatusInUse, Rich: Rich{Meeting: true, MeetingUntil: until}}},
		{"away", LineState{Number: "2001", Status: StatusIdle, Rich: Rich{Reach: ReachAway}}},
		{"idle-user", LineState{Number: "2001", Status: StatusIdle, Rich: Rich{Reach: ReachIdle}}},
		{"custom-note", LineState{Number: "2001", Status: StatusIdle, Rich: Rich{Reach: ReachAvailable, Note: "Out for <lunch> & back"}}},
		{"away-note-dnd", LineState{Number: "2001", Status: StatusIdle, DND: true, Rich: Rich{Reach: ReachAway, Note: "Out of office"}}},
		{"rich-unknown-line", LineState{Number: "2001", Status: StatusUnknown, Rich: Rich{Meeting: true, Reach: ReachAway, Note: "x"}}},
	} {
		states = append(states, schemaCase{rc.name, rc.st, Options{Timestamp: until}})
	}
	for _, tc := range states {
		for _, k := range bodyKinds {
			t.Run(tc.name+"/"+k.ext, func(t *testing.T) {
				st := tc.state
				body, err := st.AppendBody(nil, k.ct, 3, tc.opt)
				if err != nil {
					t.Fatal(err)
				}
				if out, ok := validate(t, schemaFor(k.ct), body); !ok {
					t.Errorf("%s body fails its schema:\n%s\n%s", k.ext, out, body)
				}
			})
		}
	}
}

// TestSchemaRejects: the schemas catch what this test is for (the check
// can fail): person before tuple (the old encoder order), an activity RFC
// 4480 does not define, a person without id, a dialog without state.
func TestSchemaRejects(t *testing.T) {
	needXmllint(t)
	good := (&LineState{Entity: "sip:2001@h", Number: "2001", Status: StatusBusy}).AppendPIDF(nil, Options{})
	s := string(good)
	person := s[strings.Index(s, "<dm:person"):strings.Index(s, "</presence>")]
	personFirst := strings.Replace(strings.Replace(s, person, "", 1), "<tuple", person+"<tuple", 1)
	bad := map[string]string{
		"person before tuple": personFirst,
		"unknown activity":    strings.ReplaceAll(s, "<rpid:busy/>", "<rpid:ringing/>"),
		"person without id":   strings.Replace(s, `<dm:person id="p-2001">`, "<dm:person>", 1),
	}
	away := string((&LineState{Entity: "sip:2001@h", Number: "2001", Status: StatusIdle,
		Rich: Rich{Meeting: true, MeetingUntil: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Reach: ReachIdle}}).AppendPIDF(nil, Options{}))
	idle := string((&LineState{Entity: "sip:2001@h", Number: "2001", Status: StatusIdle, Rich: Rich{Reach: ReachIdle}}).AppendPIDF(nil, Options{}))
	bad["until not a dateTime"] = strings.Replace(away, `until="2030-01-02T03:04:05Z"`, `until="at three"`, 1)
	noted := string((&LineState{Entity: "sip:2001@h", Number: "2001", Status: StatusIdle, Rich: Rich{Reach: ReachAway, Note: "Lunch"}}).AppendPIDF(nil, Options{}))
	personActs := noted[strings.LastIndex(noted, "<rpid:activities>"):strings.Index(noted, "<dm:note>")]
	bad["person note before activities"] = strings.Replace(noted, personActs+"<dm:note>Lunch</dm:note>\n", "<dm:note>Lunch</dm:note>\n"+personActs, 1)
	bad["user-input neither active nor idle"] = strings.Replace(idle, ">idle</rpid:user-input>", ">asleep</rpid:user-input>", 1)
	for name, body := range bad {
		if body == s {
			t.Fatalf("%s: the mutation did not apply", name)
		}
		if out, ok := validate(t, "presence.xsd", []byte(body)); ok {
			t.Errorf("%s: validates, want an error:\n%s", name, out)
		}
	}
	di := string((&LineState{Entity: "sip:2001@h", Status: StatusInUse}).AppendDialogInfo(nil, 0))
	noState := strings.Replace(di, "<state>confirmed</state>", "", 1)
	if noState == di {
		t.Fatal("dialog mutation did not apply")
	}
	if out, ok := validate(t, "dialog-info.xsd", []byte(noState)); ok {
		t.Errorf("dialog without state validates:\n%s", out)
	}
	// RFC 4235's schema names the target parameter value "pval"; the
	// "pvalue" spelling some PBXs send is not valid.
	held := string((&LineState{Entity: "sip:2001@h", Status: StatusHold}).AppendDialogInfo(nil, 0))
	pvalue := strings.Replace(held, `pval="no"`, `pvalue="no"`, 1)
	if pvalue == held {
		t.Fatal("param mutation did not apply")
	}
	if out, ok := validate(t, "dialog-info.xsd", []byte(pvalue)); ok {
		t.Errorf("param with pvalue validates:\n%s", out)
	}
}
