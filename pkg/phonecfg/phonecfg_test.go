package phonecfg

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the generator output")

// testConfig is a small CME: two SCCP phones (one without MAC), one SIP
// pool with two lines, a BLF speed dial and a speed dial.
func testConfig() *config.Config {
	return &config.Config{
		Telephony: &config.Telephony{
			SourceAddress: "0.0.0.0",
			Port:          2000,
			Loads: []config.Load{
				{Type: "7960-7940", Firmware: "P00308010200"},
				{Type: "7961", Firmware: "SCCP41.9-4-2SR3-1S"},
			},
			TimeFormat: 24,
			DateFormat: "dd-mm-yy",
		},
		EphoneDNs: []config.EphoneDN{{Tag: 1, Number: "1001"}, {Tag: 2, Number: "1002"}},
		Ephones: []config.Ephone{
			{Tag: 1, MAC: "0012.7F57.62A5", Type: "7960", Buttons: []config.Button{{Index: 1, Mode: ':', DNs: []int{1}}}},
			{Tag: 2, MAC: "001f.9e26.6369", Type: "7961", PresenceCallList: true},
			{Tag: 3, Type: "7940"},
		},
		VoiceRegisterGlobal: &config.VoiceRegisterGlobal{
			Mode:          "cme",
			SourceAddress: "192.0.2.20",
			Port:          5060,
			Loads:         []config.Load{{Type: "7961", Firmware: "SIP41.9-4-2SR3-1S"}},
		},
		VoiceRegisterDNs: []config.VoiceRegisterDN{
			{Tag: 1, Number: "2001", Name: "Alice & Bob", Label: "Alice"},
			{Tag: 2, Number: "2002"},
		},
		VoiceRegisterPools: []config.VoiceRegisterPool{{
			Tag: 1, MAC: "0021.5555.0001", Type: "7961",
			Numbers:       []config.PoolNumber{{Tag: 2, DN: 2}, {Tag: 1, DN: 1}},
			Username:      "alice",
			Password:      "s3cret<>",
			BLFSpeedDials: []config.BLFSpeedDial{{Tag: 1, Number: "1002", Label: "Reception"}},
			SpeedDials:    []config.SpeedDial{{Tag: 1, Number: "5551234", Label: "Pizza"}},
		}},
	}
}

var testOptions = Options{Address: "192.0.2.10"}

func TestGolden(t *testing.T) {
	files, err := Generate(testConfig(), Options{Address: "192.0.2.10", LegacyTextCnf: true})
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{
		"RINGLIST.XML",
		"SEP00127F5762A5.cnf",
		"SEP00127F5762A5.cnf.xml",
		"SEP001F9E266369.cnf.xml",
		"SEP002155550001.cnf.xml",
		"SEPDEFAULT.cnf",
		"XMLDefault.cnf.xml",
	}
	if d := cmp.Diff(wantNames, files.Names()); d != "" {
		t.Fatalf("generated names (-want +got):\n%s", d)
	}
	dir := filepath.Join("testdata", "golden")
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range files.Names() {
		got, _ := files.Lookup(name)
		path := filepath.Join(dir, name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if d := cmp.Diff(string(want), string(got)); d != "" {
			t.Errorf("%s differs from golden (-want +got):\n%s", name, d)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != files.Len() {
		t.Errorf("golden dir has %d files, generator %d", len(entries), files.Len())
	}
}

func TestXMLWellFormed(t *testing.T) {
	files, err := Generate(testConfig(), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range files.Names() {
		if !strings.HasSuffix(strings.ToLower(name), ".xml") {
			continue
		}
		n++
		b, _ := files.Lookup(name)
		dec := xml.NewDecoder(bytes.NewReader(b))
		dec.Strict = true
		depth, roots := 0, 0
		for range 100_000 {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			switch tok.(type) {
			case xml.StartElement:
				if depth == 0 {
					roots++
				}
				depth++
			case xml.EndElement:
				depth--
			}
		}
		if depth != 0 || roots != 1 {
			t.Errorf("%s: depth %d, %d root elements", name, depth, roots)
		}
	}
	if n != 5 {
		t.Errorf("checked %d XML files, want 5", n)
	}
}

// sccpView is the part of an SCCP SEP<MAC>.cnf.xml a phone acts on.
type sccpView struct {
	Protocol     string `xml:"deviceProtocol"`
	Node         string `xml:"devicePool>callManagerGroup>members>member>callManager>processNodeName"`
	Port         int    `xml:"devicePool>callManagerGroup>members>member>callManager>ports>ethernetPhonePort"`
	DateTemplate string `xml:"devicePool>dateTimeSetting>dateTemplate"`
	Load         string `xml:"loadInformation"`
	CallLogBLF   string `xml:"commonProfile>callLogBlfEnabled"`
	Stamp        string `xml:"versionStamp"`
}

func decode[T any](t *testing.T, files *Files, name string) T {
	t.Helper()
	var v T
	b, ok := files.Lookup(name)
	if !ok {
		t.Fatalf("%s not generated", name)
	}
	if err := xml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func TestSCCPDeviceFile(t *testing.T) {
	files, err := Generate(testConfig(), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	got := decode[sccpView](t, files, "SEP00127F5762A5.cnf.xml")
	want := sccpView{Protocol: "SCCP", Node: "192.0.2.10", Port: 2000, DateTemplate: "D/M/YA", Load: "P00308010200", Stamp: got.Stamp}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("7960 file (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(got.Stamp, "cmed-") {
		t.Errorf("versionStamp %q", got.Stamp)
	}
	got = decode[sccpView](t, files, "SEP001F9E266369.cnf.xml")
	if got.Load != "SCCP41.9-4-2SR3-1S" || got.CallLogBLF != "2" {
		t.Errorf("7961 file: load %q, callLogBlfEnabled %q; want per-ephone presence call-list on", got.Load, got.CallLogBLF)
	}
	if _, ok := files.Lookup("SEP00127F5762A5.cnf"); ok {
		t.Error("legacy text .cnf generated without Options.LegacyTextCnf")
	}
}

func TestExplicitSourceAddressAndGlobalCallList(t *testing.T) {
	cfg := testConfig()
	cfg.Telephony.SourceAddress = "10.1.1.1"
	cfg.Telephony.Port = 2001
	cfg.Telephony.Loads = []config.Load{{Type: "7940-7960", Firmware: "P0030801SR02"}}
	cfg.Presence = &config.Presence{CallList: true}
	files, err := Generate(cfg, Options{}) // no fallback address needed
	if err != nil {
		t.Fatal(err)
	}
	got := decode[sccpView](t, files, "SEP00127F5762A5.cnf.xml")
	if got.Node != "10.1.1.1" || got.Port != 2001 || got.CallLogBLF != "2" || got.Load != "P0030801SR02" {
		t.Errorf("got %+v", got)
	}
}

func TestXMLDefault(t *testing.T) {
	files, err := Generate(testConfig(), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := files.Lookup("XMLDefault.cnf.xml")
	for _, want := range []string{
		`<loadInformation7 model="IP Phone 7960">P00308010200</loadInformation7>`,
		`<loadInformation8 model="IP Phone 7940">P00308010200</loadInformation8>`,
		`<loadInformation30018 model="IP Phone 7961">SCCP41.9-4-2SR3-1S</loadInformation30018>`,
		`<processNodeName>192.0.2.10</processNodeName>`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("XMLDefault.cnf.xml lacks %s", want)
		}
	}
}

type sipView struct {
	Protocol string `xml:"deviceProtocol"`
	Lines    []struct {
		Button    int    `xml:"button,attr"`
		FeatureID int    `xml:"featureID"`
		Label     string `xml:"featureLabel"`
		Proxy     string `xml:"proxy"`
		Port      int    `xml:"port"`
		Name      string `xml:"name"`
		Display   string `xml:"displayName"`
		AuthName  string `xml:"authName"`
		AuthPass  string `xml:"authPassword"`
		SpeedDial string `xml:"speedDialNumber"`
	} `xml:"sipProfile>sipLines>line"`
	Load string `xml:"loadInformation"`
}

func TestSIPProfile(t *testing.T) {
	files, err := Generate(testConfig(), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	got := decode[sipView](t, files, "SEP002155550001.cnf.xml")
	if got.Protocol != "SIP" || got.Load != "SIP41.9-4-2SR3-1S" {
		t.Errorf("protocol %q load %q", got.Protocol, got.Load)
	}
	type line struct {
		Button, FeatureID                                        int
		Label, Proxy, Name, Display, AuthName, AuthPass, SpeedDl string
		Port                                                     int
	}
	var lines []line
	for _, l := range got.Lines {
		lines = append(lines, line{l.Button, l.FeatureID, l.Label, l.Proxy, l.Name, l.Display, l.AuthName, l.AuthPass, l.SpeedDial, l.Port})
	}
	want := []line{
		{1, 9, "Alice", "192.0.2.20", "2001", "Alice & Bob", "alice", "s3cret<>", "", 5060},
		{2, 9, "2002", "192.0.2.20", "2002", "2002", "alice", "s3cret<>", "", 5060},
		{3, 21, "Reception", "", "", "", "", "", "1002", 0},
		{4, 2, "Pizza", "", "", "", "", "", "5551234", 0},
	}
	if d := cmp.Diff(want, lines); d != "" {
		t.Errorf("sipLines (-want +got):\n%s", d)
	}
}

func TestLookupIgnoresCase(t *testing.T) {
	files, err := Generate(testConfig(), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	want, ok := files.Lookup("SEP00127F5762A5.cnf.xml")
	if !ok {
		t.Fatal("missing")
	}
	for _, n := range []string{"sep00127f5762a5.cnf.xml", "SEP00127f5762a5.CNF.XML", "xmldefault.cnf.xml", "RingList.xml"} {
		got, ok := files.Lookup(n)
		if !ok {
			t.Errorf("Lookup(%q) missed", n)
		}
		if n[:3] == "sep" && !bytes.Equal(got, want) {
			t.Errorf("Lookup(%q) returned another file", n)
		}
	}
	for _, n := range []string{"CTLSEP00127F5762A5.tlv", "SEP000000000000.cnf.xml", "", "../XMLDefault.cnf.xml"} {
		if _, ok := files.Lookup(n); ok {
			t.Errorf("Lookup(%q) hit", n)
		}
	}
	var nilFiles *Files
	if _, ok := nilFiles.Lookup("x"); ok || nilFiles.Len() != 0 || nilFiles.Names() != nil {
		t.Error("nil Files not empty")
	}
}

func TestProbeOnly(t *testing.T) {
	for _, n := range []string{"CTLSEP00127F5762A5.tlv", "ITLSEP00127F5762A5.tlv", "ITLFile.tlv", "ctlfile.TLV", "SEP00127F5762A5.cnf.xml.sgn"} {
		if !ProbeOnly(n) {
			t.Errorf("ProbeOnly(%q) = false", n)
		}
	}
	for _, n := range []string{"SEP00127F5762A5.cnf.xml", "P00308010200.bin", "English_United_States/7960-dictionary.xml", "foo.tlv"} {
		if ProbeOnly(n) {
			t.Errorf("ProbeOnly(%q) = true", n)
		}
	}
}

func TestVersionStampFollowsContent(t *testing.T) {
	a, err := Generate(testConfig(), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Generate(testConfig(), testOptions)
	cfg := testConfig()
	cfg.Telephony.Loads[0].Firmware = "P00308010300"
	b, err := Generate(cfg, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	sa := decode[sccpView](t, a, "SEP00127F5762A5.cnf.xml").Stamp
	if s := decode[sccpView](t, again, "SEP00127F5762A5.cnf.xml").Stamp; s != sa {
		t.Errorf("stamp not deterministic: %q vs %q", sa, s)
	}
	if s := decode[sccpView](t, b, "SEP00127F5762A5.cnf.xml").Stamp; s == sa {
		t.Error("stamp unchanged after a load change")
	}
	fixed, _ := Generate(testConfig(), Options{Address: "192.0.2.10", VersionStamp: "20260101"})
	if s := decode[sccpView](t, fixed, "SEP00127F5762A5.cnf.xml").Stamp; s != "20260101" {
		t.Errorf("fixed stamp = %q", s)
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*config.Config)
		opts   Options
		want   string
	}{
		{"no address", func(*config.Config) {}, Options{}, "source-address"},
		{"bad MAC", func(c *config.Config) { c.Ephones[0].MAC = "0012.7F57.62" }, testOptions, "bad MAC"},
		{"duplicate MAC", func(c *config.Config) { c.VoiceRegisterPools[0].MAC = "0012.7f57.62a5" }, testOptions, "generated twice"},
		{"missing dn", func(c *config.Config) { c.VoiceRegisterPools[0].Numbers[0].DN = 99 }, testOptions, "dn 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.mutate(cfg)
			_, err := Generate(cfg, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := Generate(nil, testOptions); err == nil {
		t.Error("Generate(nil) succeeded")
	}
	if !errors.Is(func() error { _, err := Generate(testConfig(), Options{}); return err }(), errNoAddress) {
		t.Error("missing address is not errNoAddress")
	}
}

func TestEmptyConfig(t *testing.T) {
	files, err := Generate(&config.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"RINGLIST.XML"}, files.Names()); d != "" {
		t.Error(d)
	}
}

func TestLoadFor(t *testing.T) {
	loads := []config.Load{{Type: "7960-7940", Firmware: "A"}, {Type: "7941GE", Firmware: "B"}, {Type: "7941", Firmware: "C"}}
	for typ, want := range map[string]string{"7940": "A", "7960": "A", "7960G": "A", "CP-7960": "A", "7941GE": "B", "7941": "C", "7970": "", "": ""} {
		if got := loadFor(loads, typ); got != want {
			t.Errorf("loadFor(%q) = %q, want %q", typ, got, want)
		}
	}
}

func TestMACName(t *testing.T) {
	for in, want := range map[string]string{
		"0012.7F57.62A5": "00127F5762A5", "00:12:7f:57:62:a5": "00127F5762A5", "00127f5762a5": "00127F5762A5",
	} {
		if got, err := MACName(in); err != nil || got != want {
			t.Errorf("MACName(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0012.7F57.62", "0012.7F57.62A5.00", "0012.7G57.62A5", "SEP00127F5762A5"} {
		if _, err := MACName(in); err == nil {
			t.Errorf("MACName(%q) accepted", in)
		}
	}
}

func FuzzMACName(f *testing.F) {
	f.Add("0012.7F57.62A5")
	f.Add("00:12:7f:57:62:a5")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := MACName(in)
		if err != nil {
			return
		}
		if len(got) != 12 || strings.ToUpper(got) != got || strings.Trim(got, "0123456789ABCDEF") != "" {
			t.Fatalf("MACName(%q) = %q", in, got)
		}
		if again, err := MACName(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
	})
}

func TestRingListCustom(t *testing.T) {
	files, err := Generate(&config.Config{}, Options{Rings: []Ring{{DisplayName: "Beep", FileName: "beep.raw"}}})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rings []Ring `xml:"Ring"`
	}
	b, _ := files.Lookup("RINGLIST.XML")
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Ring{{"Beep", "beep.raw"}}, doc.Rings); d != "" {
		t.Error(d)
	}
	if !slices.Equal(DefaultRings, []Ring{{"Chirp 1", "Chirp1.raw"}, {"Chirp 2", "Chirp2.raw"}}) {
		t.Error("DefaultRings changed")
	}
}

// A SIP password goes into SEP<MAC>.cnf.xml only for models whose SIP
// firmware reads it from there, and the files that carry one are named
// for the daemon's warning (docs/security.md §Phone-files).
func TestSIPPasswordOnlyWhereRead(t *testing.T) {
	const name = "SEP002155550001.cnf.xml"
	files, err := Generate(testConfig(), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if got := files.SIPPasswordFiles(); !slices.Equal(got, []string{name}) {
		t.Fatalf("SIPPasswordFiles = %q, want [%s] (a 7961 reads its password from the file)", got, name)
	}

	for _, typ := range []string{"7960", "CP-7940G", "7912"} {
		cfg := testConfig()
		cfg.VoiceRegisterPools[0].Type = typ
		files, err := Generate(cfg, testOptions)
		if err != nil {
			t.Fatal(err)
		}
		if got := files.SIPPasswordFiles(); got != nil {
			t.Errorf("type %s: SIPPasswordFiles = %q, want none", typ, got)
		}
		got := decode[sipView](t, files, name)
		for _, l := range got.Lines[:2] {
			if l.AuthPass != "" || l.AuthName != "alice" {
				t.Errorf("type %s: line %d authName %q authPassword %q, want alice and none", typ, l.Button, l.AuthName, l.AuthPass)
			}
		}
	}

	cfg := testConfig()
	cfg.VoiceRegisterPools[0].Password = ""
	files, err = Generate(cfg, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if got := files.SIPPasswordFiles(); got != nil {
		t.Errorf("pool without a password: SIPPasswordFiles = %q", got)
	}
}
