package pidf

import (
	"strings"
	"testing"
	"time"
)

// TestShownPriority: phone over calendar over reachability, each source
// taking over as the one above it clears (docs/sip-presence.md
// §Rich-presence), and what each body then says.
func TestShownPriority(t *testing.T) {
	until := time.Date(2030, 5, 6, 15, 0, 0, 0, time.UTC)
	rich := Rich{Meeting: true, MeetingUntil: until, Reach: ReachAway}
	steps := []struct {
		name     string
		st       LineState
		src      Source
		note     string
		contains []string
		lacks    []string
	}{
		{"on the phone", LineState{Number: "2001", Status: StatusInUse, Rich: rich}, SourcePhone, "On the phone",
			[]string{"<rpid:on-the-phone/>"}, []string{"meeting", "away", "until="}},
		{"ringing", LineState{Number: "2001", Status: StatusRinging, Rich: rich}, SourcePhone, "Ringing",
			[]string{"<rpid:on-the-phone/>"}, []string{"meeting"}},
		{"dnd", LineState{Number: "2001", Status: StatusIdle, DND: true, Rich: rich}, SourcePhone, "Do not disturb",
			[]string{"<ce:dnd/>"}, []string{"meeting"}},
		{"in a meeting", LineState{Number: "2001", Status: StatusIdle, Rich: rich}, SourceCalendar, "In a meeting",
			[]string{`<rpid:activities until="2030-05-06T15:00:00Z"><ce:available/><rpid:meeting/></rpid:activities>`}, []string{"on-the-phone", "away"}},
		{"away", LineState{Number: "2001", Status: StatusIdle, Rich: Rich{Reach: ReachAway}}, SourceReachability, "Away",
			[]string{"<rpid:away/>"}, []string{"meeting", "on-the-phone"}},
		{"idle", LineState{Number: "2001", Status: StatusIdle, Rich: Rich{Reach: ReachIdle}}, SourceReachability, "Idle",
			[]string{"<rpid:user-input>idle</rpid:user-input>"}, []string{"<rpid:away/>"}},
		{"note", LineState{Number: "2001", Status: StatusIdle, Rich: Rich{Reach: ReachAvailable, Note: "Out for lunch"}}, SourceReachability, "Out for lunch",
			[]string{"<dm:note>Out for lunch</dm:note>", "<note>Out for lunch</note>"}, []string{"<rpid:away/>"}},
		{"nothing published", LineState{Number: "2001", Status: StatusIdle}, SourcePhone, "Available",
			[]string{"<ce:available/>"}, []string{"meeting", "away"}},
		{"unknown line", LineState{Number: "2001", Status: StatusUnknown, Rich: rich}, SourceNone, "Offline",
			[]string{"<basic>closed</basic>"}, []string{"meeting", "away", "activities"}},
	}
	for _, s := range steps {
		if got := s.st.Shown(); got != s.src {
			t.Errorf("%s: shown %v, want %v", s.name, got, s.src)
		}
		if got := s.st.Summary(); got != s.note {
			t.Errorf("%s: summary %q, want %q", s.name, got, s.note)
		}
		body := string(s.st.AppendPIDF(nil, Options{}))
		for _, w := range s.contains {
			if !strings.Contains(body, w) {
				t.Errorf("%s: body lacks %q:\n%s", s.name, w, body)
			}
		}
		for _, w := range s.lacks {
			if strings.Contains(body, w) {
				t.Errorf("%s: body has %q:\n%s", s.name, w, body)
			}
		}
	}
}

// TestParsePublication: what clients publish maps back to the rich
// status, including cmed's own bodies (round trip) and bodies in the
// older RPID namespace with the note inside activities.
func TestParsePublication(t *testing.T) {
	until := time.Date(2030, 5, 6, 15, 0, 0, 0, time.UTC)
	for _, r := range []Rich{
		{Meeting: true, MeetingUntil: until},
		{Meeting: true},
		{Reach: ReachAway},
		{Reach: ReachIdle},
		{Reach: ReachAvailable, Note: "Out for lunch"},
		{Reach: ReachAway, Note: "Out of office"},
	} {
		st := LineState{Entity: "sip:2001@h", Number: "2001", Status: StatusIdle, Rich: r}
		got, err := ParsePublication(st.AppendPIDF(nil, Options{}))
		if err != nil || !got.Equal(r) {
			t.Errorf("round trip of %+v: %+v, %v", r, got, err)
		}
	}
	other := `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:r="urn:ietf:params:xml:ns:pidf:status:rpid" entity="pres:2001@h">
<tuple id="t"><status><basic>open</basic></status></tuple>
<r:person><r:activities until="2030-05-06T15:00:00+02:00"><r:note>Weekly</r:note><r:appointment/></r:activities></r:person></presence>`
	got, err := ParsePublication([]byte(other))
	if err != nil || !got.Meeting || !got.MeetingUntil.Equal(until.Add(-2*time.Hour)) || got.Reach != ReachNone || got.Note != "" {
		t.Errorf("appointment publication: %+v, %v", got, err)
	}
	closed := `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:2001@h"><tuple id="t"><status><basic>closed</basic></status><note>Gone fishing</note></tuple></presence>`
	if got, err := ParsePublication([]byte(closed)); err != nil || got.Reach != ReachAway || got.Note != "Gone fishing" {
		t.Errorf("closed publication: %+v, %v", got, err)
	}
	if _, err := ParsePublication([]byte(`<dialog-info/>`)); err == nil {
		t.Error("a dialog-info body parsed as a publication")
	}
}
