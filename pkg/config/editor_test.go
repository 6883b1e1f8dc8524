package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cmed-project/cmed/pkg/cmdtree"
)

func mustExec(t *testing.T, e *Editor, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := e.Exec(l); err != nil {
			t.Fatalf("Exec(%q): %v", l, err)
		}
	}
}

func TestEditorModes(t *testing.T) {
	tests := []struct {
		lines  []string
		mode   Mode
		prompt string
	}{
		{nil, ModeGlobal, "config"},
		{[]string{"telephony-service"}, ModeTelephony, "config-telephony"},
		{[]string{"ephone 1"}, ModeEphone, "config-ephone"},
		{[]string{"ephone-dn 1"}, ModeEphoneDN, "config-ephone-dn"},
		{[]string{"ephone-dn-template 1"}, ModeEphoneDNTemplate, "config-ephone-dn-template"},
		{[]string{"voice service voip"}, ModeVoiceService, "conf-voi-serv"},
		{[]string{"voice service voip", "sip"}, ModeVoiceServiceSIP, "conf-serv-sip"},
		{[]string{"voice register global"}, ModeRegisterGlobal, "config-register-global"},
		{[]string{"voice register dn 1"}, ModeRegisterDN, "config-register-dn"},
		{[]string{"voice register pool 1"}, ModeRegisterPool, "config-register-pool"},
		{[]string{"sip-ua"}, ModeSIPUA, "config-sip-ua"},
		{[]string{"presence"}, ModePresence, "config-presence"},
		{[]string{"dial-peer voice 1 voip"}, ModeDialPeer, "config-dial-peer"},
		{[]string{"voice translation-rule 1"}, ModeTranslationRule, "config-voice-translation-rule"},
		{[]string{"voice translation-profile X"}, ModeTranslationProfile, "config-voice-translation-profile"},
		{[]string{"ephone 1", "exit"}, ModeGlobal, "config"},
		{[]string{"voice service voip", "sip", "exit"}, ModeVoiceService, "conf-voi-serv"},
		{[]string{"voice service voip", "sip", "allow-connections sip to sip"}, ModeVoiceService, "conf-voi-serv"},
		{[]string{"voice service voip", "sip", "ephone 2"}, ModeEphone, "config-ephone"},
		// context switching without exit, as in a pasted config
		{[]string{"ephone-dn 1", "number 1001", "ephone 1", "button 1:1"}, ModeEphone, "config-ephone"},
		{[]string{"ephone 1", "presence"}, ModePresence, "config-presence"},
		{[]string{"ephone 1", "hostname x"}, ModeGlobal, "config"},
	}
	for _, tc := range tests {
		e := NewEditor(nil)
		mustExec(t, e, tc.lines...)
		if e.Mode() != tc.mode || e.Mode().Prompt() != tc.prompt {
			t.Errorf("%q: mode %v prompt %q, want %v %q", tc.lines, e.Mode(), e.Mode().Prompt(), tc.mode, tc.prompt)
		}
	}
}

func TestEditorEndExit(t *testing.T) {
	e := NewEditor(nil)
	mustExec(t, e, "ephone 1", "end")
	if !e.Done() || e.Mode() != ModeGlobal {
		t.Fatalf("after end: done=%v mode=%v", e.Done(), e.Mode())
	}
	mustExec(t, e, "hostname a")
	if e.Done() {
		t.Fatal("still done after another command")
	}
	mustExec(t, e, "exit")
	if !e.Done() {
		t.Fatal("exit from global config did not leave config mode")
	}
}

func TestEditorAbbreviations(t *testing.T) {
	e := NewEditor(nil)
	mustExec(t, e, "tele", " max-ep 4", " ip sou 10.1.1.1", "ephone-dn 1 d", " num 1001", " all wa",
		"ephone 2", " mac 0012.7f57.62a5", " blf 1 1001 lab \"Front Desk\" dev", "pres", " max-s 200")
	c := e.Config()
	if c.Telephony.MaxEphones != 4 || c.Telephony.SourceAddress != "10.1.1.1" || c.Telephony.Port != DefaultSCCPPort {
		t.Errorf("telephony = %+v", c.Telephony)
	}
	d := c.EphoneDNByTag(1)
	if d == nil || d.Mode != DualLine || d.Number != "1001" || !d.AllowWatch {
		t.Errorf("ephone-dn 1 = %+v", d)
	}
	want := []Ephone{{Tag: 2, MAC: "0012.7F57.62A5", BLFSpeedDials: []BLFSpeedDial{{Tag: 1, Number: "1001", Label: "Front Desk", Device: true}}}}
	if diff := cmp.Diff(want, c.Ephones, cfgOpts); diff != "" {
		t.Errorf("ephones (-want +got):\n%s", diff)
	}
	if c.Presence.MaxSubscription != 200 {
		t.Errorf("presence = %+v", c.Presence)
	}
}

func TestEditorUnchangedOnError(t *testing.T) {
	e := NewEditor(nil)
	mustExec(t, e, "ephone-dn 1 dual-line", "number 1001")
	before := e.Config()
	for _, bad := range []string{"number", "ephone-dn 1 octo-line", "call-forward n 1", "mac-address 1.2.3", "frob", "ephone 0"} {
		err := e.Exec(bad)
		if err == nil {
			t.Errorf("Exec(%q) succeeded", bad)
		}
		if e.Mode() != ModeEphoneDN {
			t.Errorf("Exec(%q) changed the mode to %v", bad, e.Mode())
		}
		if diff := cmp.Diff(before, e.Config(), cfgOpts); diff != "" {
			t.Errorf("Exec(%q) changed the config:\n%s", bad, diff)
		}
	}
	var ce *cmdtree.Error
	if err := e.Exec("call-forward n 1"); !errors.As(err, &ce) || ce.Kind != cmdtree.Ambiguous {
		t.Errorf("call-forward n 1: %v, want ambiguous", err)
	}
	// In ephone-dn mode "ephone-d" abbreviates the sub-mode's own
	// ephone-dn-template; the global ambiguity does not matter there.
	mustExec(t, e, "ephone-d 4")
	if e.Config().EphoneDNByTag(1).Template != 4 {
		t.Error("ephone-d 4 in ephone-dn mode did not set the template")
	}
	var me *CommandError
	if err := e.Exec("ephone-dn 1 octo-line"); !errors.As(err, &me) {
		t.Errorf("changing the line mode: %v, want *CommandError", err)
	}
}

func TestEditorSnapshotIsolation(t *testing.T) {
	e := NewEditor(nil)
	mustExec(t, e, "ephone 1", "button 1:1", "blf 1 1001 label x")
	snap := e.Config()
	mustExec(t, e, "button 1o1,2", "blf 1 1002 label y")
	if snap.Ephones[0].Buttons[0].Mode != ButtonNormal || snap.Ephones[0].BLFSpeedDials[0].Number != "1001" {
		t.Errorf("snapshot changed: %+v", snap.Ephones[0])
	}
}

func TestEditorNoForms(t *testing.T) {
	e := NewEditor(nil)
	mustExec(t, e, "ephone-dn 1", "number 1001", "name A B", "no huntstop", "call-forward noan 1002 timeout 10",
		"ephone 1", "blf 1 1001 label a", "blf 2 1002 label b", "speed-dial 1 5 label x", "fastdial 1 1002",
		"no blf-speed-dial 1", "no speed-dial 1", "no fastdial 1", "no dnd feature-ring",
		"presence", "max-subscription 300", "no max-subscription",
		"ephone-dn 1", "no name", "no call-forward noan")
	c := e.Config()
	d := c.EphoneDNByTag(1)
	if d.Name != "" || !d.NoHuntstop || d.CallForward.NoAnswer != "" || d.CallForward.NoAnswerTimeout != 0 {
		t.Errorf("ephone-dn 1 = %+v", d)
	}
	p := c.Ephones[0]
	if len(p.BLFSpeedDials) != 1 || p.BLFSpeedDials[0].Tag != 2 || len(p.SpeedDials) != 0 || len(p.Extra) != 0 || !p.NoDNDFeatureRing {
		t.Errorf("ephone 1 = %+v", p)
	}
	if c.Presence == nil || c.Presence.MaxSubscription != 0 {
		t.Errorf("presence = %+v", c.Presence)
	}
	mustExec(t, e, "no presence", "no ephone 1", "no ephone-dn 1")
	c = e.Config()
	if c.Presence != nil || len(c.Ephones) != 0 || len(c.EphoneDNs) != 0 {
		t.Errorf("after deletes: %+v", c)
	}
}

func TestEditorButtons(t *testing.T) {
	e := NewEditor(nil)
	mustExec(t, e, "ephone 1", "button 1:1 2b2 3f3 4s4 5m5 6w6", "button 7o7,8,9 8c10,11 9x7 2:12")
	want := []Button{
		{Index: 1, Mode: ButtonNormal, DNs: []int{1}}, {Index: 2, Mode: ButtonNormal, DNs: []int{12}},
		{Index: 3, Mode: ButtonFeature, DNs: []int{3}}, {Index: 4, Mode: ButtonSilent, DNs: []int{4}},
		{Index: 5, Mode: ButtonMonitor, DNs: []int{5}}, {Index: 6, Mode: ButtonWatch, DNs: []int{6}},
		{Index: 7, Mode: ButtonOverlay, DNs: []int{7, 8, 9}}, {Index: 8, Mode: ButtonOverlayCW, DNs: []int{10, 11}},
		{Index: 9, Mode: ButtonExpand, ExpandOf: 7},
	}
	if diff := cmp.Diff(want, e.Config().Ephones[0].Buttons); diff != "" {
		t.Errorf("buttons (-want +got):\n%s", diff)
	}
	for _, bad := range []struct {
		line string
		off  int
	}{{"button 1:", 9}, {"button 1z1", 8}, {"button 1:1,2", 10}, {"button 1:1 1:2", 11}, {"button :1", 7}, {"button 1:1x", 10}} {
		var ce *cmdtree.Error
		if err := e.Exec(bad.line); !errors.As(err, &ce) || ce.Offset != bad.off {
			t.Errorf("Exec(%q) = %#v, want invalid at %d", bad.line, err, bad.off)
		}
	}
}

func TestEditorHelpComplete(t *testing.T) {
	e := NewEditor(nil)
	mustExec(t, e, "presence")
	h, err := e.Help("max-subscription ?"[:17])
	if err != nil || !strings.Contains(h, "<100-500>  Maximum subscriptions") {
		t.Errorf("Help = %q, %v", h, err)
	}
	h, err = e.Help("")
	if err != nil || !strings.Contains(h, "watcher") || strings.Contains(h, "ephone") {
		t.Errorf("presence-mode help lists %q, %v", h, err)
	}
	if h, err := e.Help("ephone-dn 1 "); err != nil || !strings.Contains(h, "dual-line") || !strings.Contains(h, "<cr>") {
		t.Errorf("Help falls back to global: %q, %v", h, err)
	}
	if _, err := e.Help("bogus "); err == nil {
		t.Error("Help(bogus) gave no error")
	}
	if s, ok := e.Complete("watc"); !ok || s != "watcher " {
		t.Errorf("Complete(watc) = %q %v", s, ok)
	}
	if s, ok := e.Complete("telep"); !ok || s != "telephony-service " {
		t.Errorf("Complete(telep) falls back to global: %q %v", s, ok)
	}
}

func TestParseErrorsAll(t *testing.T) {
	// frob is not a command cmed knows: kept, not an error. keepalive 5 is
	// a known command with an out-of-range value: an error.
	text := "ephone 1\n mac-address zz\n button 1:1\n keepalive 5\n frob\n type 7960\n"
	_, err := Parse("x.cfg", []byte(text))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 || list[0].Line != 2 || list[1].Line != 4 {
		t.Fatalf("errors = %v", err)
	}
	if !strings.HasPrefix(list[0].Error(), `x.cfg:2: % Invalid input detected at '^' marker: "mac-address zz"`) {
		t.Errorf("message %q", list[0].Error())
	}
	var many strings.Builder
	for range 50 {
		many.WriteString("ephone-dn bogus\n")
	}
	_, err = Parse("m.cfg", []byte(many.String()))
	if !errors.As(err, &list) || len(list) != MaxErrors+1 || !strings.Contains(list[MaxErrors].Msg, "too many") {
		t.Errorf("capped list has %d entries", len(list))
	}
}

func TestParseEndAndComments(t *testing.T) {
	c, err := Parse("e.cfg", []byte("! c\r\n\r\nhostname a\r\n  ! indented comment\nend\nthis is ignored\n"))
	if err != nil || c.Hostname != "a" {
		t.Fatalf("Parse = %+v, %v", c, err)
	}
}

func TestRenderRunningHeader(t *testing.T) {
	c := &Config{Hostname: "r1"}
	got := RenderRunning(c)
	body := "!\nhostname r1\n!\nend\n"
	want := "Building configuration...\n\nCurrent configuration : 20 bytes\n" + body
	if got != want || len(body) != 20 {
		t.Errorf("RenderRunning =\n%q\nwant\n%q", got, want)
	}
}
