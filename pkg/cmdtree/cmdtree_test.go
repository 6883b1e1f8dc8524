package cmdtree

import (
	"errors"
	"strings"
	"testing"
)

// testTree is a small global-config-like grammar; each action records the
// canonical command it saw.
func testTree(t *testing.T) (*Tree, *[]string) {
	t.Helper()
	var got []string
	rec := func(m *Match) error {
		s := m.Canonical()
		if m.Negate {
			s = "no " + s
		}
		if m.Default {
			s = "default " + s
		}
		got = append(got, s+" args="+strings.Join(m.Args(), ","))
		return nil
	}
	tr := New()
	tr.AllowNegation()
	tr.Describe("ephone", "Define ephone", "ephone-dn", "Define ephone directory number",
		"ephone-dn-template", "Define ephone-dn template", "hostname", "Set system's network name",
		"dual-line", "dual-line DN (2 calls per line/button)", "octo-line", "octo-line DN (8 calls per line/button)")
	tr.MustAdd("ephone <1-48>", rec, "<1-48>=ephone tag")
	tr.MustAdd("ephone-dn <1-288> [dual-line|octo-line]", rec, "<1-288>=directory number tag")
	tr.MustAdd("ephone-dn-template <1-15>", rec)
	tr.MustAdd("hostname WORD", rec)
	tr.MustAdd("mac-address H.H.H", rec)
	tr.MustAdd("ip source-address A.B.C.D [port <2000-9999>]", rec)
	tr.MustAdd("blf-speed-dial <1-75> ! WORD label STRING [device]", rec)
	tr.MustAdd("description LINE", rec)
	tr.MustAdd("transfer-system {blind|full-blind|full-consult [dss]|local-consult}", rec)
	tr.MustAdd("max-conferences <1-24> [gain {-6|0|3|6}]", rec)
	tr.MustAdd("max-subscription ! <100-500>", rec)
	return tr, &got
}

func TestExecMatches(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{"ephone 1", "ephone 1 args=1"},
		{"EPHONE 7", "ephone 7 args=7"},
		{"ephone-dn 1", "ephone-dn 1 args=1"},
		{"ephone-dn 1 dual-line", "ephone-dn 1 dual-line args=1"},
		{"ephone-dn 1 d", "ephone-dn 1 dual-line args=1"},
		{"ephone-dn-t 3", "ephone-dn-template 3 args=3"},
		{"host r1", "hostname r1 args=r1"},
		{"  hostname   r1  ", "hostname r1 args=r1"},
		{"mac 0012.7f57.62A5", "mac-address 0012.7f57.62A5 args=0012.7f57.62A5"},
		{"ip so 10.0.0.1 po 2000", "ip source-address 10.0.0.1 port 2000 args=10.0.0.1,2000"},
		{"blf 3 1001 label \"Front Desk\" dev", `blf-speed-dial 3 1001 label "Front Desk" device args=3,1001,Front Desk`},
		{"blf 3 1001 label sales", "blf-speed-dial 3 1001 label sales args=3,1001,sales"},
		{"no blf 3", "no blf-speed-dial 3 args=3"},
		{"no blf-speed-dial 3 1001 label x", "no blf-speed-dial 3 1001 label x args=3,1001,x"},
		{"default max-sub", "default max-subscription args="},
		{"no max-subscription", "no max-subscription args="},
		{"description  the  boss ", "description the  boss args=the  boss"},
		{"transfer-system full-c dss", "transfer-system full-consult dss args="},
		{"transfer-system b", "transfer-system blind args="},
		{"max-conferences 6 gain -6", "max-conferences 6 gain -6 args=6"},
		{"max-conferences 8", "max-conferences 8 args=8"},
		{"no ephone 3", "no ephone 3 args=3"},
	}
	for _, tc := range tests {
		tr, got := testTree(t)
		if err := tr.Exec(tc.line, nil); err != nil {
			t.Errorf("Exec(%q): %v", tc.line, err)
			continue
		}
		if len(*got) != 1 || (*got)[0] != tc.want {
			t.Errorf("Exec(%q) ran %q, want %q", tc.line, *got, tc.want)
		}
	}
}

func TestExecErrors(t *testing.T) {
	tests := []struct {
		line   string
		kind   ErrorKind
		offset int
		msg    string
		hint   string
	}{
		{"ephone-d 5", Ambiguous, 0, `% Ambiguous command:  "ephone-d 5"`, "could be ephone-dn, ephone-dn-template"},
		{"e 1", Ambiguous, 0, `% Ambiguous command:  "e 1"`, ""},
		{"ephone", Incomplete, 6, "% Incomplete command.", "<1-48>"},
		{"ephone 49", Invalid, 7, "% Invalid input detected at '^' marker.", "from 1 to 48"},
		{"ephone 4x", Invalid, 8, "% Invalid input detected at '^' marker.", ""},
		{"ephone 1 2", Invalid, 9, "% Invalid input detected at '^' marker.", ""},
		{"frobnicate", Invalid, 0, "% Invalid input detected at '^' marker.", "expected"},
		{"hostname", Incomplete, 8, "% Incomplete command.", ""},
		{"mac-address 0012.7F57.62", Invalid, 24, "% Invalid input detected at '^' marker.", "H.H.H"},
		{"mac-address 0012.7G57.62A5", Invalid, 18, "% Invalid input detected at '^' marker.", "H.H.H"},
		{"ip source-address 10.0.0.256", Invalid, 18, "% Invalid input detected at '^' marker.", "A.B.C.D"},
		{"ip source-address 10.0.x.1", Invalid, 23, "% Invalid input detected at '^' marker.", ""},
		{"no blf", Incomplete, 6, "% Incomplete command.", ""},
		{"blf-speed-dial 3", Incomplete, 16, "% Incomplete command.", ""},
		{`blf 1 2 label "a"b"`, Invalid, 16, "% Invalid input detected at '^' marker.", ""},
		{"no no ephone 1", Invalid, 3, "% Invalid input detected at '^' marker.", ""},
		{"ephone-dn 1 x", Invalid, 12, "% Invalid input detected at '^' marker.", ""},
		{"description", Incomplete, 11, "% Incomplete command.", ""},
		{"max-conferences 6 gain", Incomplete, 22, "% Incomplete command.", ""},
	}
	for _, tc := range tests {
		tr, got := testTree(t)
		err := tr.Exec(tc.line, nil)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Exec(%q) = %v, want *Error", tc.line, err)
			continue
		}
		if e.Kind != tc.kind || e.Offset != tc.offset || e.Error() != tc.msg || !strings.Contains(e.Hint, tc.hint) {
			t.Errorf("Exec(%q) = kind %d offset %d %q hint %q; want kind %d offset %d %q hint~%q",
				tc.line, e.Kind, e.Offset, e.Error(), e.Hint, tc.kind, tc.offset, tc.msg, tc.hint)
		}
		if len(*got) != 0 {
			t.Errorf("Exec(%q) ran an action on error", tc.line)
		}
	}
}

func TestEmptyLine(t *testing.T) {
	tr, got := testTree(t)
	for _, l := range []string{"", "   ", "\t"} {
		if err := tr.Exec(l, nil); err != nil || len(*got) != 0 {
			t.Errorf("Exec(%q) = %v, ran %v", l, err, *got)
		}
	}
}

func TestCaret(t *testing.T) {
	tr, _ := testTree(t)
	err := tr.Exec("ephone 99", nil)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	prompt := "R1(config)#"
	if got, want := e.Caret(len(prompt)), strings.Repeat(" ", len(prompt)+7)+"^"; got != want {
		t.Errorf("Caret = %q, want %q", got, want)
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		line string
		want string
	}{
		{"ephone-dn 1 ", "  dual-line  dual-line DN (2 calls per line/button)\n  octo-line  octo-line DN (8 calls per line/button)\n  <cr>\n"},
		{"ephone ", "  <1-48>  ephone tag\n"},
		{"eph", "  ephone\n  ephone-dn\n  ephone-dn-template\n"},
		{"ephone-dn 1 d", "  dual-line\n"},
		{"description foo", "  LINE\n"},
		{"description foo ", "  <cr>\n"},
		{"no max-subscription ", "  <100-500>\n  <cr>\n"},
		{"max-subscription ", "  <100-500>\n"},
		{"ip source-address 1.2.3.4 ", "  port\n  <cr>\n"},
	}
	for _, tc := range tests {
		tr, _ := testTree(t)
		items, err := tr.Help(tc.line)
		if err != nil {
			t.Errorf("Help(%q): %v", tc.line, err)
			continue
		}
		if got := FormatHelp(items); got != tc.want {
			t.Errorf("Help(%q) =\n%s\nwant\n%s", tc.line, got, tc.want)
		}
	}
	tr, _ := testTree(t)
	items, err := tr.Help("")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Name)
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "default") || !strings.Contains(got, "no ") || strings.Contains(got, "<cr>") {
		t.Errorf("root help = %q", got)
	}
	if _, err := tr.Help("bogus "); err == nil {
		t.Error("Help on an invalid word: no error")
	}
	if _, err := tr.Help("zz"); err == nil {
		t.Error("Help on an unknown prefix: no error")
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		line, want string
		ok         bool
	}{
		{"hos", "hostname ", true},
		{"ephone", "ephone ", true},
		{"ephone-dn-", "ephone-dn-template ", true},
		{"ephone-d", "", false},
		{"ephone-dn 1 oc", "ephone-dn 1 octo-line ", true},
		{"ip so", "ip source-address ", true},
		{"no bl", "no blf-speed-dial ", true},
		{"ephone ", "", false},
		{"zzz", "", false},
		{"def", "default ", true},
	}
	for _, tc := range tests {
		tr, _ := testTree(t)
		got, ok := tr.Complete(tc.line)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Complete(%q) = %q,%v want %q,%v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	run := func(*Match) error { return nil }
	for _, spec := range []string{"", "a [b", "a {b|c", "a b]", "a <5-1>", "a FOO", "!"} {
		if err := New().Add(spec, run); err == nil {
			t.Errorf("Add(%q) accepted", spec)
		}
	}
	tr := New()
	tr.MustAdd("a b", run)
	if err := tr.Add("a [b]", run); err == nil {
		t.Error("duplicate path accepted")
	}
}

func TestDefineParam(t *testing.T) {
	tr := New()
	tr.DefineParam(&ParamType{Name: "EVEN", Help: "an even digit", Hint: "0,2,4,6,8",
		Check: func(s string) int {
			if len(s) == 1 && strings.Contains("02468", s) {
				return -1
			}
			return 0
		}})
	var v string
	tr.MustAdd("pick EVEN", func(m *Match) error { v = m.Arg(0); return nil })
	if err := tr.Exec("pick 4", nil); err != nil || v != "4" {
		t.Fatalf("pick 4: %v %q", err, v)
	}
	var e *Error
	if err := tr.Exec("pick 3", nil); !errors.As(err, &e) || e.Hint != "0,2,4,6,8" || e.Offset != 5 {
		t.Fatalf("pick 3: %#v", err)
	}
}

func TestTokenize(t *testing.T) {
	got := tokenize(` a  "b c" d"e f `)
	want := []rawToken{{"a", 1}, {`"b c"`, 4}, {`d"e`, 10}, {"f", 14}}
	if len(got) != len(want) {
		t.Fatalf("tokenize = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("token %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func FuzzTreeParse(f *testing.F) {
	for _, s := range []string{"ephone 1", "no blf 3", `blf 1 2 label "x y" device`, "ephone-d", "ip so 1.2.3.4 port 2000", "desc x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		tr, _ := testTree(t)
		_, err := tr.Parse(line)
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Offset < 0 || e.Offset > len(line)) {
			t.Fatalf("Parse(%q): bad error %#v", line, err)
		}
		_, _ = tr.Help(line)
		if s, ok := tr.Complete(line); ok && !strings.HasSuffix(s, " ") {
			t.Fatalf("Complete(%q) = %q", line, s)
		}
	})
}

// A constrained parameter wins over WORD when both accept the word, so an
// optional type number before a WORD (`secret [<0-9>] WORD`) reads as IOS
// reads it.
func TestConstrainedParamBeatsWord(t *testing.T) {
	tr := New()
	var got []string
	tr.MustAdd("secret [<0-9>] WORD", func(m *Match) error { got = m.Args(); return nil })
	for line, want := range map[string]string{"secret 8 $8$x": "8|$8$x", "secret abc": "abc", "secret 10": "10"} {
		got = nil
		if err := tr.Exec(line, nil); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if s := strings.Join(got, "|"); s != want {
			t.Errorf("%q: args %q, want %q", line, s, want)
		}
	}
}

// TestUnknownMarksCommandsTheTreeDoesNotHave: Error.Unknown separates a
// command the tree lacks from a known command with a bad argument.
func TestUnknownMarksCommandsTheTreeDoesNotHave(t *testing.T) {
	tr := New()
	tr.AllowNegation()
	nop := func(*Match) error { return nil }
	tr.MustAdd("ip http server", nop)
	tr.MustAdd("ip http address A.B.C.D port <0-65535>", nop)
	tr.MustAdd("hostname WORD", nop)
	tr.MustAdd("huntstop", nop)
	tr.MustAdd("huntstop channel [<1-8>]", nop)
	tr.MustAdd("transfer-system ! {blind|full-consult}", nop)
	tr.MustAdd("ephone-dn <1-10> [dual-line]", nop)
	for _, tc := range []struct {
		line    string
		unknown bool
	}{
		{"interface FastEthernet0/0", true},
		{"ip route 0.0.0.0 0.0.0.0 10.0.0.1", true},
		{"ip http secure-server", true},
		{"no ip domain lookup", true},
		{"ip http server now", false},
		{"ip http address 1.2.3 port 80", false},
		{"hostname a b", false},
		{"huntstop sometimes", false},
		{"huntstop channel 9", false},
		{"transfer-system sideways", false},
		{"ephone-dn abc", false},
		{"ephone-dn 1 triple-line", false},
	} {
		_, err := tr.Parse(tc.line)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: err = %v, want an *Error", tc.line, err)
			continue
		}
		if e.Unknown != tc.unknown {
			t.Errorf("%q: Unknown = %v, want %v (%v)", tc.line, e.Unknown, tc.unknown, err)
		}
	}
	// Ambiguous and incomplete lines are never unknown.
	for _, line := range []string{"h", "ip http", "hostname"} {
		_, err := tr.Parse(line)
		var e *Error
		if !errors.As(err, &e) || e.Unknown {
			t.Errorf("%q: %v (Unknown=%v)", line, err, e != nil && e.Unknown)
		}
	}
}
