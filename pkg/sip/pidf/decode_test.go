package pidf

import (
	"errors"
	"strings"
	"testing"
)

// Bodies in the shapes other notifiers send (docs/sip-presence.md §Wire-format, §Wire-format, §Peer-behaviour, §Test-rig).
const (
	kamailioDummyPIDF = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="2001">
  <tuple id="0x7f3a9c"><status><basic>open</basic></status></tuple>
  <dm:person id="pdi2001"><rpid:activities/><dm:note>Available</dm:note></dm:person>
</presence>`
	asteriskInUsePIDF = `<?xml version="1.0" encoding="UTF-8"?>
<presence entity="sip:1000@example.com" xmlns="urn:ietf:params:xml:ns:pidf" xmlns:pp="urn:ietf:params:xml:ns:pidf:person" xmlns:es="urn:ietf:params:xml:ns:pidf:rpid:status:rpid-status" xmlns:ep="urn:ietf:params:xml:ns:pidf:rpid:rpid-person">
 <note>On the phone</note>
 <tuple id="1000"><status><basic>open</basic></status><contact priority="1">sip:1000@example.com</contact></tuple>
 <pp:person><status><ep:activities><ep:busy/></ep:activities></status></pp:person>
</presence>`
	asteriskRingingPIDF = `<presence entity="sip:1000@example.com" xmlns="urn:ietf:params:xml:ns:pidf" xmlns:ep="x"><note>Ringing</note><tuple id="1000"><status><basic>open</basic></status></tuple><person><status><ep:activities><ep:busy/></ep:activities></status></person></presence>`
	asteriskHoldPIDF    = `<presence entity="sip:1000@example.com" xmlns="urn:ietf:params:xml:ns:pidf" xmlns:ep="x"><note>On hold</note><tuple id="1000"><status><basic>closed</basic></status></tuple><person><status><ep:activities><ep:busy/></ep:activities></status></person></presence>`
	asteriskAwayPIDF    = `<presence entity="sip:1000@example.com" xmlns="urn:ietf:params:xml:ns:pidf" xmlns:ep="x"><note>Unavailable</note><tuple id="1000"><status><basic>closed</basic></status></tuple><person><status><ep:activities><ep:away/></ep:activities></status></person></presence>`
	cucmInUsePIDF       = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:e="urn:ietf:params:xml:ns:pidf:status:rpid" xmlns:ce="urn:cisco:params:xml:ns:pidf:rpid" xmlns:sc="urn:ietf:params:xml:ns:pidf:servcaps" entity="sip:1002@10.1.1.1">
<dm:person><status><basic>open</basic></status><e:activities><e:on-the-phone/></e:activities></dm:person>
<tuple id="cmp-1002-1"><status><basic>open</basic><e:activities><e:on-the-phone/></e:activities></status><sc:servcaps><sc:audio>true</sc:audio></sc:servcaps><contact priority="0.8">sip:1002@10.1.1.1</contact><timestamp>2008-11-05T17:54:06Z</timestamp></tuple>
</presence>`
	cpimNamespacePIDF     = `<?xml version="1.0" encoding="ISO-8859-1"?><impp:presence xmlns:impp="urn:ietf:params:xml:ns:cpim-pidf" entity="pres:2002@h"><impp:tuple id="t"><impp:status><impp:basic>OPEN</impp:basic></impp:status></impp:tuple></impp:presence>`
	personClosedTupleOpen = `<presence entity="sip:1@h" xmlns="urn:ietf:params:xml:ns:pidf"><tuple id="a"><status><basic>open</basic></status></tuple><person xmlns="urn:ietf:params:xml:ns:pidf:data-model"><status xmlns="urn:ietf:params:xml:ns:pidf"><basic>closed</basic></status></person></presence>`

	kamailioDialogConfirmed = `<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:2001@127.0.0.1">
  <dialog id="pub2001" call-id="c1" local-tag="l" remote-tag="r" direction="initiator">
    <state>confirmed</state>
    <remote><identity display="Bob">sip:3000@127.0.0.1</identity><target uri="sip:3000@127.0.0.1:5060"/></remote>
  </dialog>
</dialog-info>`
	asteriskDialogRinging = `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:1000@example.com"><dialog id="1000"><state>early</state></dialog></dialog-info>`
	prefixedDialogHold    = `<di:dialog-info xmlns:di="urn:ietf:params:xml:ns:dialog-info" version="12" state="partial" entity="sip:7@h"><di:dialog id="x" direction="recipient"><di:state event="x">confirmed</di:state><di:local><di:target uri="sip:7@h"><di:param pname="+sip.rendering" pvalue="no"/></di:target></di:local></di:dialog><di:dialog id="y"><di:state>terminated</di:state></di:dialog></di:dialog-info>`
	// rfcDialogHold writes the value as "pval", the RFC 4235 schema's name.
	rfcDialogHold   = `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="4" state="full" entity="sip:7@h"><dialog id="x"><state>confirmed</state><local><target uri="sip:7@h"><param pname="+sip.rendering" pval="no"/></target></local></dialog></dialog-info>`
	emptyDialogInfo = `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:5@h"/>`
)

func TestParsePIDFForeign(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status Status
		dnd    bool
		entity string
		number string
	}{
		{"kamailio-dummy", kamailioDummyPIDF, StatusIdle, false, "2001", "2001"},
		{"asterisk-inuse", asteriskInUsePIDF, StatusInUse, false, "sip:1000@example.com", "1000"},
		{"asterisk-ringing", asteriskRingingPIDF, StatusRinging, false, "sip:1000@example.com", "1000"},
		{"asterisk-hold", asteriskHoldPIDF, StatusHold, false, "sip:1000@example.com", "1000"},
		{"asterisk-away", asteriskAwayPIDF, StatusUnknown, false, "sip:1000@example.com", "1000"},
		{"cucm-inuse", cucmInUsePIDF, StatusInUse, false, "sip:1002@10.1.1.1", "1002"},
		{"cpim-namespace", cpimNamespacePIDF, StatusIdle, false, "pres:2002@h", "2002"},
		{"person-basic-wins", personClosedTupleOpen, StatusUnknown, false, "sip:1@h", "1"},
		{"closed-dnd", `<presence entity="sip:9@h"><tuple id="a"><status><basic>closed</basic><activities><dnd/></activities></status></tuple></presence>`, StatusIdle, true, "sip:9@h", "9"},
		{"busy-alone", `<presence entity="sip:9@h"><tuple id="a"><status><basic>open</basic></status></tuple><person><activities><busy/></activities></person></presence>`, StatusBusy, false, "sip:9@h", "9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePIDF([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.status || got.DND != tt.dnd || got.Entity != tt.entity || got.Number != tt.number {
				t.Errorf("got %v dnd=%v entity=%q number=%q, want %v dnd=%v %q %q",
					got.Status, got.DND, got.Entity, got.Number, tt.status, tt.dnd, tt.entity, tt.number)
			}
		})
	}
}

func TestParseDialogInfoForeign(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		version uint32
		full    bool
		dialogs int
		status  Status
		calls   int
	}{
		{"kamailio-confirmed", kamailioDialogConfirmed, 3, true, 1, StatusInUse, 1},
		{"asterisk-ringing", asteriskDialogRinging, 0, true, 1, StatusRinging, 1},
		{"prefixed-hold", prefixedDialogHold, 12, false, 2, StatusHold, 1},
		{"rfc-pval-hold", rfcDialogHold, 4, true, 1, StatusHold, 1},
		{"empty", emptyDialogInfo, 1, true, 0, StatusIdle, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDialogInfo([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if d.Version != tt.version || d.Full != tt.full || len(d.Dialogs) != tt.dialogs {
				t.Errorf("version %d full %v dialogs %d", d.Version, d.Full, len(d.Dialogs))
			}
			s := d.LineState()
			if s.Status != tt.status || len(s.Calls) != tt.calls {
				t.Errorf("status %v calls %d, want %v %d", s.Status, len(s.Calls), tt.status, tt.calls)
			}
		})
	}
	d, _ := ParseDialogInfo([]byte(kamailioDialogConfirmed))
	c := d.Dialogs[0]
	want := Call{ID: "pub2001", CallID: "c1", LocalTag: "l", RemoteTag: "r", Direction: DirectionInitiator,
		State: DialogConfirmed, RemoteIdentity: "sip:3000@127.0.0.1", RemoteDisplay: "Bob"}
	if c != want {
		t.Errorf("dialog = %+v\nwant %+v", c, want)
	}
}

func TestRoundTripDialogCalls(t *testing.T) {
	for _, tc := range goldenCases {
		if len(tc.state.Calls) == 0 {
			continue
		}
		body := tc.state.AppendDialogInfo(nil, 42)
		d, err := ParseDialogInfo(body)
		if err != nil {
			t.Fatal(err)
		}
		if d.Version != 42 || len(d.Dialogs) != len(tc.state.Calls) {
			t.Fatalf("%s: version %d dialogs %d", tc.name, d.Version, len(d.Dialogs))
		}
		for i, c := range tc.state.Calls {
			want := c
			if want.ID == "" {
				want.ID = want.CallID
			}
			if d.Dialogs[i] != want {
				t.Errorf("%s dialog %d:\n got %+v\nwant %+v", tc.name, i, d.Dialogs[i], want)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	big := "<presence entity='x'>" + strings.Repeat("<note>a</note>", MaxBodySize/14+1) + "</presence>"
	deep := "<presence>" + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + "</presence>"
	manyTokens := "<presence>" + strings.Repeat("<a/>", 5000) + "</presence>"
	manyDialogs := `<dialog-info version="1" state="full" entity="e">` + strings.Repeat(`<dialog id="d"><state>early</state></dialog>`, 65) + `</dialog-info>`
	tests := []struct {
		name string
		body string
		pidf error
		di   error
	}{
		{"empty", "", ErrNotPIDF, ErrNotDialogInfo},
		{"wrong-root", "<foo/>", ErrNotPIDF, ErrNotDialogInfo},
		{"unclosed", "<presence><tuple>", ErrMalformed, ErrNotDialogInfo},
		{"mismatched", "<presence></tuple>", ErrMalformed, ErrNotDialogInfo},
		{"too-large", big, ErrTooLarge, ErrTooLarge},
		{"too-deep", deep, ErrTooLarge, ErrNotDialogInfo},
		{"too-many-tokens", manyTokens, ErrTooLarge, ErrNotDialogInfo},
		{"too-many-dialogs", manyDialogs, ErrNotPIDF, ErrTooLarge},
		{"bad-version", `<dialog-info version="x" state="full"/>`, ErrNotPIDF, ErrMalformed},
		{"doctype-entity", `<!DOCTYPE p [<!ENTITY a "aaaa">]><presence entity="&a;"/>`, ErrMalformed, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParsePIDF([]byte(tt.body)); !errors.Is(err, tt.pidf) {
				t.Errorf("ParsePIDF err = %v, want %v", err, tt.pidf)
			}
			if _, err := ParseDialogInfo([]byte(tt.body)); !errors.Is(err, tt.di) {
				t.Errorf("ParseDialogInfo err = %v, want %v", err, tt.di)
			}
		})
	}
	if _, err := ParseBody("text/plain", nil); !errors.Is(err, ErrContentType) {
		t.Errorf("ParseBody unknown type err = %v", err)
	}
}
