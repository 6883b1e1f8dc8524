package sccp_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cmed-project/cmed/pkg/sccp"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// parityConfig adds, to the office: DN 1007 "Zoë" on a 7960 (ephone 8) that
// also has a BLF speed dial, the same DN on a 7961 (ephone 10), and a 7912
// (ephone 9) with one speed dial and one BLF speed dial.
const parityConfig = officeConfig + `ephone-dn 7
 number 1007
 name Zoë
 allow watch
ephone 8
 mac-address 0000.0000.0008
 type 7960
 button 1:7
 blf-speed-dial 1 1002 label "Bob"
ephone 9
 mac-address 0000.0000.0009
 type 7912
 button 1:6
 speed-dial 1 1001 label "Alice"
 blf-speed-dial 1 1002 label "Bob"
ephone 10
 mac-address 0000.0000.000A
 type 7961
 button 1:7
`

// cucmFrames reads testdata/cucm41_7912.txt: the messages CUCM 4.1 sent,
// by section (docs/sccp.md §Captures).
func cucmFrames(t *testing.T) map[string][]msg.Message {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "cucm41_7912.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]msg.Message{}
	section := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<16)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#':
			continue
		case line[0] == '[':
			section = line[1:strings.IndexByte(line, ']')]
			continue
		}
		b, err := hex.DecodeString(line)
		if err != nil {
			t.Fatalf("%s: %v", section, err)
		}
		fr, err := msg.ReadFrame(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatalf("%s: %v", section, err)
		}
		m, err := msg.Decode(6, fr.Header.ID, fr.Payload)
		if err != nil {
			t.Fatalf("%s: decode %v: %v", section, fr.Header.ID, err)
		}
		out[section] = append(out[section], m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func speakerModes(ms []msg.Message) []uint32 {
	var out []uint32
	for _, m := range ms {
		if sp, ok := m.(*msg.SetSpeakerMode); ok {
			out = append(out, sp.Mode)
		}
	}
	return out
}

// TestSpeakerOnNewCallAsCUCM: NewCall pressed on-hook gets exactly the
// message sequence CUCM 4.1 sent (SetRinger off, SetSpeakerMode on, lamp,
// OffHook, keys, prompt, call plane, dial tone), and EndCall the teardown
// ending with SetSpeakerMode off (docs/sccp.md §Speaker).
func TestSpeakerOnNewCallAsCUCM(t *testing.T) {
	cf := cucmFrames(t)
	e := start(t, parityConfig, nil, sccp.Limits{})
	p := e.phone(sccptest.Config{Model: "7912", MAC: "000000000009", Version: 7}, true)

	m0 := mark(p)
	if err := p.PressSoftKey(msg.LabelNewCall); err != nil {
		t.Fatal(err)
	}
	waitState(t, p, "dial tone", func(s sccptest.State) bool { return s.Tone == msg.ToneInsideDial })
	want := ids(cf["newcall"])
	if len(want) != 8 || want[1] != msg.IDSetSpeakerMode {
		t.Fatalf("capture newcall section %v", want)
	}
	got := since(p, m0)
	if !slices.Equal(ids(got[:min(len(got), len(want))]), want) {
		t.Errorf("after NewCall: %v, CUCM sent %v", ids(got), want)
	}
	if sp := speakerModes(got); !slices.Equal(sp, []uint32{msg.ModeOn}) {
		t.Errorf("speaker modes after NewCall %v, want [on]", sp)
	}

	m1 := mark(p)
	if err := p.PressSoftKey(msg.LabelEndCall); err != nil {
		t.Fatal(err)
	}
	waitState(t, p, "speaker off", func(s sccptest.State) bool { return s.Speaker == msg.ModeOff })
	var wantEnd []any
	for _, m := range cf["endcall"] {
		if cs, ok := m.(*msg.CallStateMsg); ok {
			wantEnd = append(wantEnd, cs.State)
		} else {
			wantEnd = append(wantEnd, m.ID())
		}
	}
	if len(wantEnd) != 7 || wantEnd[6] != msg.IDSetSpeakerMode {
		t.Fatalf("capture endcall section %v", wantEnd)
	}
	inOrder(t, "after EndCall", since(p, m1), wantEnd...)
}

// TestSpeakerOnAnswerAndSpeedDial: Answer pressed on-hook and a speed-dial
// key pressed on-hook both turn the speaker on, Answer right after the
// ringer as CUCM 4.1 did (docs/sccp.md §Speaker).
func TestSpeakerOnAnswerAndSpeedDial(t *testing.T) {
	e := start(t, parityConfig, nil, sccp.Limits{})
	caller := e.phone(sccptest.Config{Model: "7965", MAC: "000000000004"}, true)
	b := e.phone(sccptest.Config{Model: "7960", MAC: "000000000002", Version: 11}, true)
	if err := caller.OffHook(); err != nil {
		t.Fatal(err)
	}
	waitState(t, caller, "dial tone", func(s sccptest.State) bool { return s.Tone == msg.ToneInsideDial })
	if err := caller.Dial("1002"); err != nil {
		t.Fatal(err)
	}
	waitState(t, b, "ringing", func(s sccptest.State) bool { return s.Ringer == msg.RingInside })
	if s := b.State(); s.Speaker != 0 {
		t.Fatalf("speaker mode %d while ringing", s.Speaker)
	}
	mb := mark(b)
	if err := b.PressSoftKey(msg.LabelAnswer); err != nil {
		t.Fatal(err)
	}
	waitState(t, b, "connected", func(s sccptest.State) bool { return callState(s) == msg.CallConnected })
	got := since(b, mb)
	inOrder(t, "B answers", got, msg.IDSetRinger, msg.IDSetSpeakerMode, msg.IDSetLamp, msg.CallOffHook,
		msg.IDActivateCallPlane, msg.CallConnected)
	if sp := speakerModes(got); !slices.Equal(sp, []uint32{msg.ModeOn}) {
		t.Errorf("speaker modes after Answer %v, want [on]", sp)
	}
	if err := b.PressSoftKey(msg.LabelEndCall); err != nil {
		t.Fatal(err)
	}
	waitState(t, b, "speaker off after hang-up", func(s sccptest.State) bool {
		return s.ActiveCall == 0 && s.Speaker == msg.ModeOff
	})

	// A speed dial pressed on-hook on the 7912 (slot 2: 1002): the call
	// plane opens with the speaker on, then the number is dialled.
	p := e.phone(sccptest.Config{Model: "7912", MAC: "000000000009", Version: 7}, true)
	mp := mark(p)
	if err := p.Press(msg.ButtonSpeedDial, 2); err != nil {
		t.Fatal(err)
	}
	waitState(t, p, "ring-back", func(s sccptest.State) bool { return s.Tone == msg.ToneAlerting })
	got = since(p, mp)
	inOrder(t, "speed dial", got, msg.IDSetSpeakerMode, msg.CallOffHook, msg.IDDialedNumber)
	if sp := speakerModes(got); len(sp) == 0 || sp[0] != msg.ModeOn {
		t.Errorf("speaker modes after a speed dial %v, want on first", sp)
	}
}

// TestLatin1Names: a 7960 on SCCP 8.x does not announce UTF-8, so "Zoë"
// reaches it as ISO-8859-1 "Zo\xeb" in LineStatRes and CallInfo; a 7961
// announcing UTF-8 gets the UTF-8 bytes (docs/sccp.md §Charset).
func TestLatin1Names(t *testing.T) {
	e := start(t, parityConfig, nil, sccp.Limits{})
	z60 := e.phone(sccptest.Config{Model: "7960", MAC: "000000000008", Version: 11}, true)
	z61 := e.phone(sccptest.Config{Model: "7961", MAC: "00000000000A"}, true)
	b := e.phone(sccptest.Config{Model: "7960", MAC: "000000000002", Version: 11}, true)
	if got := z60.State().Lines[1].FullName; got != "Zo\xeb" {
		t.Errorf("7960 line name % x, want 5a 6f eb", got)
	}
	if got := z61.State().Lines[1].FullName; got != "Zo\xc3\xab" {
		t.Errorf("7961 line name % x, want 5a 6f c3 ab", got)
	}
	// Zoë calls the 7960 of 1002: its CallInfo names the caller in Latin-1.
	mb := mark(b)
	if err := z60.OffHook(); err != nil {
		t.Fatal(err)
	}
	waitState(t, z60, "dial tone", func(s sccptest.State) bool { return s.Tone == msg.ToneInsideDial })
	if err := z60.Dial("1002"); err != nil {
		t.Fatal(err)
	}
	waitState(t, b, "ringing", func(s sccptest.State) bool { return s.Ringer == msg.RingInside })
	var names []string
	for _, m := range since(b, mb) {
		if ci, ok := m.(*msg.CallInfo); ok {
			names = append(names, ci.CallingPartyName)
		}
	}
	if len(names) == 0 || names[0] != "Zo\xeb" {
		t.Errorf("CallInfo calling names %q, want \"Zo\\xeb\"", names)
	}
	// The raw frame: the 40-byte name field starts with exactly 5a 6f eb 00.
	ci, err := (&msg.CallInfo{CallingPartyName: names[0]}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(ci, []byte{0x5a, 0x6f, 0xeb, 0x00}) {
		t.Errorf("CallInfo name bytes % x", ci[:8])
	}
}

// TestBLFFallbackBelowV11: a 7960 negotiated at v5 (a pre-8.x load) gets no
// 0x15 button and no FeatureStatV2; its blf-speed-dial is a plain speed dial
// with number and label (docs/sccp.md §BLF-fallback). The same ephone at v11
// gets the native button.
func TestBLFFallbackBelowV11(t *testing.T) {
	e := start(t, parityConfig, nil, sccp.Limits{})
	old := e.phone(sccptest.Config{Model: "7960", MAC: "000000000008", Version: 5}, true)
	s := old.State()
	if s.Version != 5 {
		t.Fatalf("negotiated %d", s.Version)
	}
	want := []msg.Button{{Instance: 1, Type: msg.ButtonLine}, {Instance: 1, Type: msg.ButtonSpeedDial}}
	if !slices.Equal(s.Buttons, want) {
		t.Errorf("v5 template %v, want %v", s.Buttons, want)
	}
	if sd := s.SpeedDials[1]; sd.DirNumber != "1002" || sd.Name != "Bob" {
		t.Errorf("fallback speed dial %+v", sd)
	}
	// B going off-hook must not produce any BLF message for the old phone.
	b := e.phone(sccptest.Config{Model: "7960", MAC: "000000000002", Version: 11}, true)
	if err := b.OffHook(); err != nil {
		t.Fatal(err)
	}
	waitState(t, b, "dial tone", func(s sccptest.State) bool { return s.Tone == msg.ToneInsideDial })
	if err := old.KeepAlive(e.ctxT(5e9)); err != nil { // a round trip after B's change
		t.Fatal(err)
	}
	for _, r := range old.Messages() {
		if r.Msg.ID() == msg.IDFeatureStatV2Res {
			t.Errorf("v5 phone got FeatureStatV2 %+v", r.Msg)
		}
		if bt, ok := r.Msg.(*msg.ButtonTemplateRes); ok {
			for _, x := range bt.Buttons {
				if x.Type == msg.ButtonBLFSpeedDial {
					t.Errorf("v5 phone got button type 0x15: %v", bt.Buttons)
				}
			}
		}
	}
	if err := b.OnHook(); err != nil {
		t.Fatal(err)
	}
	waitState(t, b, "B idle", func(s sccptest.State) bool { return s.ActiveCall == 0 })
	// Pressing the fallback key dials the number.
	old.Close()
	p := e.phone(sccptest.Config{Model: "7960", MAC: "000000000008", Version: 5}, true)
	if err := p.Press(msg.ButtonSpeedDial, 1); err != nil {
		t.Fatal(err)
	}
	waitState(t, p, "dialled 1002", func(s sccptest.State) bool { return s.DialedNumber == "1002" })

	// At v11 the same configuration is a native BLF button with a lamp.
	p.Close()
	n := e.phone(sccptest.Config{Model: "7960", MAC: "000000000008", Version: 11}, true)
	if got := n.State().Buttons; !slices.Equal(got, []msg.Button{{Instance: 1, Type: msg.ButtonLine},
		{Instance: 1, Type: msg.ButtonBLFSpeedDial}}) {
		t.Errorf("v11 template %v", got)
	}
	waitState(t, n, "native lamp", func(s sccptest.State) bool { return s.BLF[1] != msg.BLFUnknown })
}

// Test7912TemplateAsCUCM: a 7912 gets CUCM 4.1's seven-button template
// (Line 1, SpeedDial 1-4, Hold 1, Select 1), its speed dials in the
// speed-dial slots (the BLF one as a plain speed dial), empty answers for
// the unused ones, and FeatureStatRes Hold for feature index 1, as CUCM
// answered (docs/sccp.md §Small-model-templates).
func Test7912TemplateAsCUCM(t *testing.T) {
	cf := cucmFrames(t)
	bt, ok := cf["button-template"][0].(*msg.ButtonTemplateRes)
	if !ok {
		t.Fatalf("capture button-template section: %T", cf["button-template"][0])
	}
	e := start(t, parityConfig, nil, sccp.Limits{})
	p := e.phone(sccptest.Config{Model: "7912", MAC: "000000000009", Version: 7}, true)
	var got *msg.ButtonTemplateRes
	for _, r := range p.Messages() {
		if m, ok := r.Msg.(*msg.ButtonTemplateRes); ok {
			got = m
		}
	}
	if got == nil {
		t.Fatal("no ButtonTemplateRes")
	}
	if len(got.Buttons) != len(bt.Buttons) || len(got.Buttons) != 7 {
		t.Errorf("7912 got %d buttons, CUCM sent %d", len(got.Buttons), len(bt.Buttons))
	}
	if !slices.Equal(got.Buttons, bt.Buttons) {
		t.Errorf("7912 template %v, CUCM sent %v", got.Buttons, bt.Buttons)
	}
	s := p.State()
	if sd := s.SpeedDials[1]; sd.DirNumber != "1001" || sd.Name != "Alice" {
		t.Errorf("speed dial 1 %+v", sd)
	}
	if sd := s.SpeedDials[2]; sd.DirNumber != "1002" || sd.Name != "Bob" {
		t.Errorf("speed dial 2 (blf-speed-dial as plain) %+v", sd)
	}
	if sd, ok := s.SpeedDials[4]; !ok || sd.DirNumber != "" {
		t.Errorf("speed dial 4 %+v (answered %v), want empty", sd, ok)
	}
	var hold *msg.FeatureStatRes
	for _, r := range p.Messages() {
		if m, ok := r.Msg.(*msg.FeatureStatRes); ok && m.Index == 1 {
			hold = m
		}
		if r.Msg.ID() == msg.IDFeatureStatV2Res {
			t.Errorf("7912 got FeatureStatV2")
		}
	}
	if hold == nil || hold.Feature != msg.ButtonHold {
		t.Errorf("FeatureStatRes for index 1 %+v, want feature Hold as CUCM", hold)
	}
	if len(s.Lines) != 1 || s.Lines[1].DirNumber != "1006" {
		t.Errorf("lines %+v", s.Lines)
	}
}
