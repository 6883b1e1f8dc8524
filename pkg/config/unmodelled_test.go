package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse("t.cfg", []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestShowHeaderSkippedAndPreambleKept(t *testing.T) {
	c := mustParse(t, "Building configuration...\n\nCurrent configuration : 1234 bytes\n!\nversion 15.1\n"+
		"service timestamps log datetime msec\n!\nhostname r1\n!\nend\n")
	want := []Block{{After: "", Lines: []string{"version 15.1", "service timestamps log datetime msec"}}}
	if diff := cmp.Diff(want, c.Unmodelled); diff != "" {
		t.Fatalf("Unmodelled (-want +got):\n%s", diff)
	}
	if got := Render(c); got != "version 15.1\nservice timestamps log datetime msec\n!\nhostname r1\n!\nend\n" {
		t.Errorf("Render:\n%s", got)
	}
}

// TestKeptBlockTakesIndentedChildren: the indented lines under an unknown
// top-level line are its children, never parsed, even when they look like
// modelled commands, and the editor leaves the section it was in.
func TestKeptBlockTakesIndentedChildren(t *testing.T) {
	c := mustParse(t, "ephone-dn 1\n number 1001\ninterface FastEthernet0/0\n description number 1002\n number 1003\n"+
		"ephone-dn 2\n number 1002\n")
	if d := c.EphoneDNByTag(1); d == nil || d.Number != "1001" || len(d.Extra) != 0 {
		t.Errorf("ephone-dn 1 = %+v", d)
	}
	want := []Block{{After: "ephone-dn 1", Lines: []string{"interface FastEthernet0/0", " description number 1002", " number 1003"}}}
	if diff := cmp.Diff(want, c.Unmodelled); diff != "" {
		t.Fatalf("Unmodelled (-want +got):\n%s", diff)
	}
	if !strings.Contains(Render(c), "ephone-dn  1\n number 1001\n!\ninterface FastEthernet0/0\n description number 1002\n number 1003\n!\nephone-dn  2\n") {
		t.Errorf("block not rendered after its section:\n%s", Render(c))
	}
}

func TestUnknownSubcommandKeptInSection(t *testing.T) {
	c := mustParse(t, "telephony-service\n max-ephones 5\n olsontimezone America/New_York version 2007\n"+
		" frobnicate 1\n  deeper child\n max-dn 10\n")
	tl := c.Telephony
	if tl == nil || tl.MaxEphones != 5 || tl.MaxDN != 10 {
		t.Fatalf("telephony = %+v", tl)
	}
	want := []string{"olsontimezone America/New_York version 2007", "frobnicate 1", " deeper child"}
	if diff := cmp.Diff(want, tl.Extra); diff != "" {
		t.Errorf("Extra (-want +got):\n%s", diff)
	}
	if len(c.Unmodelled) != 0 {
		t.Errorf("Unmodelled = %v", c.Unmodelled)
	}
	lines := c.UnmodelledLines()
	if len(lines) != 3 || lines[2] != (UnmodelledLine{Section: "telephony-service", Text: "  deeper child"}) {
		t.Errorf("UnmodelledLines = %+v", lines)
	}
}

// TestKnownCommandWithBadArgumentsIsAnError: keeping only applies to
// commands cmed does not know.
func TestKnownCommandWithBadArgumentsIsAnError(t *testing.T) {
	for _, text := range []string{
		"ephone-dn abc\n",
		"ephone-dn 1\n number hello\n",
		"ephone-dn 1\n number 12345678901234567\n",
		"ephone 1\n mac-address 0012.7F57\n",
		"telephony-service\n max-ephones 0\n",
		"telephony-service\n transfer-system sideways\n",
		"ephone-d 5\n",
		"hostname\n",
		"ephone-hunt 1 sequential\n hops 1\n",
		"ephone-hunt 1 sequential\n list 1001,,1002\n",
		"ephone-hunt 1 sequential\n timeout 2\n",
		"voice hunt-group 1 round-robin\n",
		"ephone-hunt 1\n",
		"ephone-dn 1\n park-slot timeout 10\n",
		"dial-peer voice 1 voip\n dtmf-relay rtp-nte rtp-nte\n",
		"voice register dn 1\n number A100\n",
		"ephone-dn 1\n pickup-group x1\n",
	} {
		if _, err := Parse("t.cfg", []byte(text)); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
}

func TestBanners(t *testing.T) {
	text := "hostname r1\nbanner motd ^C\nWelcome\n\nend of text? no: end\n^C\nbanner login #one line#\n" +
		"banner exec $\n  x\n$\nline con 0\n"
	c := mustParse(t, text)
	want := []Block{{After: "hostname", Lines: []string{"banner motd ^C", "Welcome", "", "end of text? no: end", "^C",
		"banner login #one line#", "banner exec $", "  x", "$", "line con 0"}}}
	if diff := cmp.Diff(want, c.Unmodelled); diff != "" {
		t.Fatalf("Unmodelled (-want +got):\n%s", diff)
	}
	again := mustParse(t, Render(c))
	if diff := cmp.Diff(c, again, cfgOpts); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	_, err := Parse("b.cfg", []byte("hostname r1\nbanner motd ^C\ntext\n"))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 || list[0].Line != 2 || !strings.Contains(list[0].Msg, "^C") {
		t.Errorf("unclosed banner: %v", err)
	}
	for _, tc := range []struct{ line, delim string }{
		{"banner motd ^C", "^C"}, {"banner #hi", "#"}, {"banner slip-ppp %", "%"}, {"banner motd \x03", "\x03"},
	} {
		if d, _ := bannerDelim(tc.line); d != tc.delim {
			t.Errorf("bannerDelim(%q) = %q, want %q", tc.line, d, tc.delim)
		}
	}
}

// TestBlockOrder: blocks follow the section they came after; blocks after
// the same section merge; a block whose section was removed goes last.
func TestBlockOrder(t *testing.T) {
	text := "ephone 1\n type 7960\nline con 0\n!\nhostname r1\nip route 0.0.0.0 0.0.0.0 10.0.0.1\n" +
		"telephony-service\n max-ephones 2\ncontrol-plane\nephone 2\n type 7960\nscheduler allocate 1 2\n" +
		"no ephone 2\nntp server 10.0.0.1\n"
	c := mustParse(t, text)
	want := []Block{
		{After: "hostname", Lines: []string{"ip route 0.0.0.0 0.0.0.0 10.0.0.1"}},
		{After: "telephony-service", Lines: []string{"control-plane"}},
		{After: "ephone 1", Lines: []string{"line con 0", "!", "scheduler allocate 1 2", "!", "ntp server 10.0.0.1"}},
	}
	if diff := cmp.Diff(want, c.Unmodelled); diff != "" {
		t.Fatalf("Unmodelled (-want +got):\n%s", diff)
	}
	again := mustParse(t, Render(c))
	if diff := cmp.Diff(c, again, cfgOpts); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\n%s", diff, Render(c))
	}
}

func TestKeptUsernamePassword(t *testing.T) {
	c := mustParse(t, "username admin privilege 15 password 0 cisco\nusername bob secret pw\n")
	if len(c.Users) != 1 || c.Users[0].Name != "bob" {
		t.Errorf("users = %+v", c.Users)
	}
	if len(c.Unmodelled) != 1 || c.Unmodelled[0].Lines[0] != "username admin privilege 15 password 0 cisco" {
		t.Errorf("Unmodelled = %+v", c.Unmodelled)
	}
	// Typed in the CLI, it is refused with a reason, not silently dropped.
	e := NewEditor(nil)
	err := e.Exec("username admin password 0 cisco")
	if err == nil || !strings.Contains(err.Error(), "verbatim") {
		t.Errorf("CLI: %v", err)
	}
	// The interactive CLI still refuses commands it does not know.
	if err := e.Exec("interface FastEthernet0/0"); err == nil {
		t.Error("CLI accepted an unknown command")
	}
}

func TestCMESyntaxModelled(t *testing.T) {
	c := mustParse(t, `telephony-service
 ip source-address 10.0.0.1 port 2000 secondary 10.0.0.2 strict-match
 no auto-reg-ephone
 service directed-pickup
 fac standard
 conference hardware
ephone-template 3
 softkeys idle Newcall Redial
 softkeys connected Hold Endcall
 button-layout 1 line
 features blocked Park Trnsfer
ephone-dn 1 dual-line
 number 1000 secondary 1001 no-reg primary
 huntstop channel 1
 preference 0 secondary 3
 pickup-group 7
ephone-dn 2
 number A100 no-reg
 park-slot reserved-for 1000 timeout 30 limit 3 notify 1000 only recall retry 10 limit 2
ephone 1
 ephone-template 3
 username u1 password 0 p1
 privacy-button
 type 7960 addon 1 7914
ephone-hunt 4 longest-idle
 pilot 1500 secondary 1501
 list 1000, *
 final 1000
 hops 2
 timeout 10, 12
 preference 2
 no-reg both
voice hunt-group 5 parallel
 pilot 1600
 list 1000,A100
 timeout 20
voice class codec 2
 codec preference 1 G711ULAW bytes 160
dial-peer voice 9 voip
 voice-class codec 2
 dtmf-relay rtp-nte digit-drop h245-alphanumeric
`)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	tl := c.Telephony
	if tl.SourceSecondary != "10.0.0.2" || tl.SourceMatch != "strict-match" || !tl.NoAutoRegEphone || !tl.DirectedPickup ||
		!tl.FACStandard || !tl.ConferenceHardware {
		t.Errorf("telephony = %+v", tl)
	}
	wantT := PhoneTemplate{Tag: 3, Softkeys: []Softkeys{{"idle", []string{"Newcall", "Redial"}}, {"connected", []string{"Hold", "Endcall"}}},
		ButtonLayout: []string{"1 line"}, FeaturesBlocked: []string{"Park", "Trnsfer"}}
	if diff := cmp.Diff([]PhoneTemplate{wantT}, c.EphoneTemplates); diff != "" {
		t.Errorf("ephone-template (-want +got):\n%s", diff)
	}
	d1, d2 := c.EphoneDNByTag(1), c.EphoneDNByTag(2)
	if d1.Secondary != "1001" || d1.NoReg != "primary" || d1.HuntstopChannel != 1 || d1.PreferenceSecondary != 3 || d1.PickupGroup != "7" {
		t.Errorf("ephone-dn 1 = %+v", d1)
	}
	wantPark := &ParkSlot{ReservedFor: "1000", Timeout: 30, Limit: 3, Notify: "1000", NotifyOnly: true, Recall: true, Retry: 10, RetryLimit: 2}
	if d2.Number != "A100" || d2.NoReg != "secondary" || !cmp.Equal(wantPark, d2.ParkSlot) {
		t.Errorf("ephone-dn 2 = %+v park %+v", d2, d2.ParkSlot)
	}
	p := c.Ephones[0]
	if p.Template != 3 || p.Username != "u1" || p.PasswordType != "0" || p.Password != "p1" || !p.PrivacyButton ||
		p.Type != "7960" || p.TypeAddon != "1 7914" {
		t.Errorf("ephone 1 = %+v", p)
	}
	wantH := HuntGroup{Tag: 4, Kind: "longest-idle", Pilot: "1500", PilotSecondary: "1501", List: []string{"1000", "*"},
		Final: "1000", Hops: 2, Timeout: []int{10, 12}, Preference: 2, NoReg: "both"}
	if diff := cmp.Diff([]HuntGroup{wantH}, c.EphoneHunts); diff != "" {
		t.Errorf("ephone-hunt (-want +got):\n%s", diff)
	}
	if h := c.VoiceHuntGroups; len(h) != 1 || h[0].Kind != "parallel" || !cmp.Equal(h[0].List, []string{"1000", "A100"}) {
		t.Errorf("voice hunt-group = %+v", h)
	}
	if vc := c.VoiceClassCodecs; len(vc) != 1 || vc[0].Preferences[0] != (CodecPreference{1, "g711ulaw", 160}) {
		t.Errorf("voice class codec = %+v", vc)
	}
	if dp := c.DialPeers[0]; dp.VoiceClassCodec != 2 || !cmp.Equal(dp.DTMFRelay, []string{"rtp-nte", "digit-drop", "h245-alphanumeric"}) {
		t.Errorf("dial-peer = %+v", dp)
	}
	again := mustParse(t, Render(c))
	if diff := cmp.Diff(c, again, cfgOpts); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\n%s", diff, Render(c))
	}
	// Changing a hunt group's kind in place is refused, as on CME.
	e := NewEditor(c)
	if err := e.Exec("ephone-hunt 4 peer"); err == nil {
		t.Error("kind change accepted")
	}
	if err := e.Exec("ephone-hunt 4"); err != nil || e.Mode() != ModeEphoneHunt {
		t.Errorf("re-entering without the kind: %v", err)
	}
}

func TestValidateCMEReferences(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"ephone 1\n ephone-template 2\n", "ephone-template 2, which does not exist"},
		{"voice register pool 1\n template 4\n", "voice register template 4, which does not exist"},
		{"dial-peer voice 1 voip\n voice-class codec 3\n", "voice class codec 3, which does not exist"},
		{"ephone-hunt 1 sequential\n pilot 100\n", "has no list"},
		{"ephone-dn 1\n number 101\nephone-hunt 1 sequential\n list 101\n", "has no pilot"},
		{"ephone-dn 1\n number 101\nephone-hunt 1 sequential\n pilot 101\n list 101\n", "pilot 101 is also an ephone-dn number"},
		{"ephone-dn 1\n number 101\nephone-hunt 1 sequential\n pilot 100\n list 101\n hops 2\n", "hops only applies"},
		{"ephone-dn 1\n number 101\nephone-hunt 1 peer\n pilot 100\n list 101\n hops 2\n", "more than its 1 list numbers"},
		{"ephone-dn 1\n number 101\nephone-hunt 1 peer\n pilot 100\n list 101\n timeout 5, 5\n", "2 timeouts for 1 list numbers"},
		{"ephone-dn 1\n number 101\nvoice hunt-group 1 peer\n pilot 100\n list 101, *\n", "only ephone-hunt lists take dynamic agents"},
		{"ephone-dn 1\n number 101\nephone-hunt 1 peer\n pilot 100\n list 101\nephone-hunt 2 peer\n pilot 100\n list 101\n", "already the pilot of ephone-hunt 1"},
	} {
		c := mustParse(t, tc.text)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: Validate = %v, want %q", tc.text, err, tc.want)
		}
	}
	// A voice hunt-group may list SIP DNs and FXS ports.
	c := mustParse(t, "voice register dn 1\n number 201\ndial-peer voice 5 pots\n destination-pattern 202\n"+
		"voice hunt-group 1 sequential\n pilot 200\n list 201, 202\n")
	if err := c.Validate(); err != nil {
		t.Errorf("voice hunt-group with SIP and FXS members: %v", err)
	}
}

func TestWarnings(t *testing.T) {
	c := mustParse(t, "ephone 1\n type 7960\nephone 2\n type 7999\nvoice class codec 1\n codec preference 1 g711ulaw\n codec preference 2 speex\n")
	w := c.Warnings()
	if len(w) != 2 || w[0].Line != 4 || !strings.Contains(w[0].Msg, "7999") || !strings.Contains(w[1].Msg, "speex") {
		t.Errorf("Warnings = %v", w)
	}
}

func TestRenderUnmodelled(t *testing.T) {
	c := mustParse(t, "version 15.1\nephone 1\n fastdial 1 1002\ninterface Fa0/0\n shutdown\n")
	got := RenderUnmodelled(c)
	want := "4 lines kept unmodelled (printed by show running-config, not acted on)\nversion 15.1\ninterface Fa0/0\n shutdown\nephone 1\n fastdial 1 1002\n"
	if got != want {
		t.Errorf("RenderUnmodelled:\n%s\nwant:\n%s", got, want)
	}
}

// TestBangAtMarginEndsSection: a global line cmed keeps, written after
// `exit`, is printed after the section with a `!` between; reading that
// back, the `!` at the margin ends the section, so the line stays global
// whether the section's mode would have taken it or called it incomplete
// (FuzzParse finding 09fa7f1cfb5f8626). Without the `!`, an unindented
// sub-command still goes to the section (IOS context rules).
func TestBangAtMarginEndsSection(t *testing.T) {
	for _, text := range []string{
		"voice service voip\nexit\nA\n",
		"voice service voip\nexit\nallow-connections sip to sip\n",
	} {
		c := mustParse(t, text)
		out := Render(c)
		again, err := Parse("rendered.cfg", []byte(out))
		if err != nil {
			t.Fatalf("%q: re-parse of\n%s: %v", text, out, err)
		}
		if diff := cmp.Diff(c.Unmodelled, again.Unmodelled); diff != "" || len(again.Unmodelled) != 1 {
			t.Errorf("%q: kept blocks changed (-first +again):\n%s\n%s", text, diff, out)
		}
	}
	c := mustParse(t, "ephone-dn 1\nnumber 1001\n!\nephone-dn 2\n!\nnumber 2002\n")
	if d := c.EphoneDNByTag(1); d == nil || d.Number != "1001" {
		t.Errorf("unindented sub-command without a `!`: ephone-dn 1 = %+v", d)
	}
	if d := c.EphoneDNByTag(2); d == nil || d.Number != "" || len(c.Unmodelled) != 1 {
		t.Errorf("after a `!`: ephone-dn 2 = %+v, kept %v", d, c.Unmodelled)
	}
}
