package pidf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

const testEntity = "sip:2001@10.0.0.1"

// goldenCases is every BLF state the encoders must handle (idle,
// ringing, in use, hold, DND, unknown, plus busy and call details).
var goldenCases = []struct {
	name  string
	state LineState
	opt   Options
	// decoded statuses expected back from each body type (lossy mappings
	// are deliberate and documented on the encoders).
	wantPIDF, wantDialog Status
	wantDND              bool // PIDF only: dialog-info cannot carry DND
}{
	{"unknown", LineState{Entity: testEntity, Number: "2001"}, Options{}, StatusUnknown, StatusIdle, false},
	{"idle", LineState{Entity: testEntity, Number: "2001", Status: StatusIdle}, Options{}, StatusIdle, StatusIdle, false},
	{"idle-dnd", LineState{Entity: testEntity, Number: "2001", Status: StatusIdle, DND: true}, Options{}, StatusIdle, StatusIdle, true},
	{"ringing", LineState{Entity: testEntity, Number: "2001", Status: StatusRinging}, Options{}, StatusRinging, StatusRinging, false},
	{"ringing-cme", LineState{Entity: testEntity, Number: "2001", Status: StatusRinging}, Options{FoldRinging: true}, StatusRinging, StatusRinging, false},
	{"ringing-call", LineState{Entity: testEntity, Number: "2001", Status: StatusRinging, Calls: []Call{{
		CallID: "abc@10.0.0.9", LocalTag: "lt1", RemoteTag: "rt1", Direction: DirectionRecipient,
		State: DialogEarly, RemoteIdentity: "sip:1001@10.0.0.1", RemoteDisplay: `Alice "A" & <Co>`,
	}}}, Options{}, StatusRinging, StatusRinging, false},
	{"in-use", LineState{Entity: testEntity, Number: "2001", Status: StatusInUse}, Options{}, StatusInUse, StatusInUse, false},
	{"in-use-dnd", LineState{Entity: testEntity, Number: "2001", Status: StatusInUse, DND: true}, Options{}, StatusInUse, StatusInUse, true},
	{"in-use-outbound", LineState{Entity: testEntity, Number: "2001", Status: StatusInUse, Calls: []Call{{
		CallID: "out1", LocalTag: "a", Direction: DirectionInitiator, State: DialogEarly, RemoteIdentity: "sip:3001@10.0.0.1",
	}}}, Options{}, StatusInUse, StatusInUse, false},
	{"hold", LineState{Entity: testEntity, Number: "2001", Status: StatusHold}, Options{}, StatusHold, StatusHold, false},
	{"busy", LineState{Entity: testEntity, Number: "2001", Status: StatusBusy, Calls: []Call{
		{CallID: "c1", State: DialogConfirmed, Direction: DirectionRecipient, RemoteIdentity: "sip:1001@10.0.0.1"},
		{CallID: "c2", State: DialogConfirmed, Held: true, Direction: DirectionInitiator, RemoteIdentity: "sip:1002@10.0.0.1"},
	}}, Options{}, StatusBusy, StatusInUse, false},
	{"timestamp", LineState{Entity: testEntity, Number: "2001", Status: StatusIdle},
		Options{Timestamp: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}, StatusIdle, StatusIdle, false},
}

var bodyKinds = []struct{ ext, ct string }{
	{"pidf", ContentTypePIDF},
	{"cpim-pidf", ContentTypeCPIMPIDF},
	{"dialog-info", ContentTypeDialogInfo},
}

// The checks the sipp watcher scenarios apply (peers/sipp/subscribe_*.xml).
var (
	sippBasic      = regexp.MustCompile(`<basic>(open|closed)</basic>`)
	sippEntity     = regexp.MustCompile(`entity=.(sips?:[a-zA-Z0-9@.:_+-]+)`)
	sippDIVersion  = regexp.MustCompile(`<dialog-info[^>]* version=.([0-9]+).`)
	sippDIState    = regexp.MustCompile(`<dialog-info[^>]* state=.(full|partial).`)
	sippLineState  = regexp.MustCompile(`<state[^>]*>([a-z]+)</state>`)
	sippActivities = regexp.MustCompile(`(on-the-phone|busy|alerting|dnd|available)`)
)

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		for _, k := range bodyKinds {
			t.Run(tc.name+"/"+k.ext, func(t *testing.T) {
				st := tc.state
				body, err := st.AppendBody(nil, k.ct, 7, tc.opt)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", "golden", tc.name+"."+k.ext+".xml")
				if *update {
					if err := os.WriteFile(path, body, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if !bytes.Equal(body, want) {
					t.Errorf("body differs from %s:\n got: %s\nwant: %s", path, body, want)
				}
				checkWellFormed(t, body)
				if !sippEntity.Match(body) {
					t.Errorf("sipp entity regexp does not match")
				}

				got, err := ParseBody(k.ct, body)
				if err != nil {
					t.Fatalf("ParseBody: %v", err)
				}
				if got.Entity != testEntity || got.Number != "2001" {
					t.Errorf("decoded entity %q number %q", got.Entity, got.Number)
				}
				if k.ct == ContentTypeDialogInfo {
					if !sippDIVersion.Match(body) || !sippDIState.Match(body) {
						t.Errorf("sipp dialog-info regexps do not match")
					}
					if m := sippDIVersion.FindSubmatch(body); m != nil && string(m[1]) != "7" {
						t.Errorf("version %s, want 7", m[1])
					}
					if tc.state.Status != StatusUnknown && !sippLineState.Match(body) {
						t.Errorf("no <state> for a known DN")
					}
					if got.Status != tc.wantDialog {
						t.Errorf("decoded status %v, want %v", got.Status, tc.wantDialog)
					}
					return
				}
				m := sippBasic.FindSubmatch(body)
				if m == nil {
					t.Fatalf("sipp <basic> regexp does not match")
				}
				if wantOpen := tc.state.Status != StatusUnknown; (string(m[1]) == "open") != wantOpen {
					t.Errorf("basic %s for %v", m[1], tc.state.Status)
				}
				if (tc.state.Status != StatusUnknown) != sippActivities.Match(body) {
					t.Errorf("activity presence wrong for %v", tc.state.Status)
				}
				if got.Status != tc.wantPIDF || got.DND != tc.wantDND {
					t.Errorf("decoded %v dnd=%v, want %v dnd=%v", got.Status, got.DND, tc.wantPIDF, tc.wantDND)
				}
			})
		}
	}
}

func checkWellFormed(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("not well-formed: %v\n%s", err, b)
		}
	}
}

func TestPIDFActivitiesPerState(t *testing.T) {
	tests := []struct {
		state LineState
		opt   Options
		want  []string
		not   []string
	}{
		{LineState{Status: StatusIdle}, Options{}, []string{"<ce:available/>"}, []string{"on-the-phone", "dnd"}},
		{LineState{Status: StatusRinging}, Options{}, []string{"<ce:alerting/><rpid:on-the-phone/>"}, []string{"busy/"}},
		{LineState{Status: StatusRinging}, Options{FoldRinging: true}, []string{"<rpid:on-the-phone/>"}, []string{"alerting"}},
		{LineState{Status: StatusInUse}, Options{}, []string{"<rpid:on-the-phone/>"}, []string{"busy/"}},
		{LineState{Status: StatusBusy}, Options{}, []string{"<rpid:on-the-phone/><rpid:busy/>"}, nil},
		{LineState{Status: StatusIdle, DND: true}, Options{}, []string{"<ce:dnd/>"}, []string{"available"}},
		{LineState{Status: StatusUnknown, DND: true}, Options{}, []string{"<basic>closed</basic>"}, []string{"activities", "dnd/"}},
	}
	for _, tt := range tests {
		body := string(tt.state.AppendPIDF(nil, tt.opt))
		for _, w := range tt.want {
			if strings.Count(body, w) != 2 { // person and tuple
				t.Errorf("%v: %q appears %d times, want 2:\n%s", tt.state.Status, w, strings.Count(body, w), body)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(body, n) {
				t.Errorf("%v: unexpected %q", tt.state.Status, n)
			}
		}
	}
}

func TestEscaping(t *testing.T) {
	s := LineState{Entity: `sip:"x"<&>@h`, Number: "+49 30/1", Status: StatusIdle, Note: "a\x00b\xffc"}
	body := s.AppendPIDF(nil, Options{})
	checkWellFormed(t, body)
	if !bytes.Contains(body, []byte(`id="p-_49_30_1"`)) {
		t.Errorf("id not sanitised: %s", body)
	}
	got, err := ParsePIDF(body)
	if err != nil {
		t.Fatal(err)
	}
	if got.Entity != s.Entity {
		t.Errorf("entity %q, want %q", got.Entity, s.Entity)
	}
	di := s.AppendDialogInfo(nil, 0)
	checkWellFormed(t, di)
}

func TestAppendBodyUnknownType(t *testing.T) {
	s := LineState{Status: StatusIdle}
	if _, err := s.AppendBody(nil, "text/plain", 0, Options{}); !errors.Is(err, ErrContentType) {
		t.Fatalf("err = %v", err)
	}
	b, err := s.AppendBody(nil, "Application/PIDF+XML; charset=utf-8", 0, Options{})
	if err != nil || !bytes.Contains(b, []byte("<presence")) {
		t.Fatalf("content type with params not accepted: %v", err)
	}
}

func TestEntityFallback(t *testing.T) {
	s := LineState{Number: "2001", Status: StatusIdle}
	if b := s.AppendPIDF(nil, Options{}); !bytes.Contains(b, []byte(`entity="sip:2001"`)) {
		t.Errorf("no fallback entity: %s", b)
	}
}

func TestEnumsRoundTrip(t *testing.T) {
	for s := StatusUnknown; s <= StatusBusy; s++ {
		if got, ok := ParseStatus(s.String()); !ok || got != s {
			t.Errorf("ParseStatus(%q) = %v %v", s.String(), got, ok)
		}
	}
	for s := DialogTerminated; s <= DialogConfirmed; s++ {
		if got, ok := ParseDialogState(s.String()); !ok || got != s {
			t.Errorf("ParseDialogState(%q) = %v %v", s.String(), got, ok)
		}
	}
	if _, ok := ParseStatus("nope"); ok {
		t.Error("ParseStatus accepted garbage")
	}
	if Status(99).String() != "unknown" || DialogState(-1).String() != "terminated" {
		t.Error("out-of-range String")
	}
}

func TestEqual(t *testing.T) {
	a := LineState{Entity: "e", Status: StatusInUse, Calls: []Call{{CallID: "x"}}}
	b := a
	b.Calls = []Call{{CallID: "x"}}
	if !a.Equal(b) {
		t.Error("equal states differ")
	}
	b.Calls[0].Held = true
	if a.Equal(b) {
		t.Error("different calls compare equal")
	}
}

func BenchmarkAppendPIDF(b *testing.B) {
	s := LineState{Entity: testEntity, Number: "2001", Status: StatusInUse}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = s.AppendPIDF(buf[:0], Options{})
	}
}

func BenchmarkAppendDialogInfo(b *testing.B) {
	s := goldenCases[5].state
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	var v uint32
	for b.Loop() {
		v++
		buf = s.AppendDialogInfo(buf[:0], v)
	}
}
