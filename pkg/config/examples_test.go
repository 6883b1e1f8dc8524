package config

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	configs "github.com/cmed-project/cmed/config"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden")

// cfgOpts compares configurations, ignoring Parse's line bookkeeping and
// nil-vs-empty slices.
var cfgOpts = cmp.Options{cmpopts.IgnoreFields(Config{}, "Source"), cmpopts.EquateEmpty()}

// exampleFiles is default.cfg plus every valid example, by golden name.
func exampleFiles(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{"default": configs.Default}
	ents, err := fs.ReadDir(configs.Examples, "examples")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".cfg") {
			continue
		}
		b, err := fs.ReadFile(configs.Examples, path.Join("examples", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(e.Name(), ".cfg")] = b
	}
	return out
}

var secretHash = regexp.MustCompile(`secret 8 \$8\$\S+`)

func TestExamplesGolden(t *testing.T) {
	files := exampleFiles(t)
	for _, want := range []string{"default", "cme-3825", "sccp-office", "trunk-a", "trunk-b"} {
		if files[want] == nil {
			t.Errorf("example %s.cfg is missing", want)
		}
	}
	for name, text := range files {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(name+".cfg", text)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			// Secrets typed in clear get a random salt when hashed.
			got := secretHash.ReplaceAllString(Render(c), "secret 8 $$8$$SALT$$HASH")
			golden := filepath.Join("testdata", "golden", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Render differs from %s (-want +got):\n%s", golden, diff)
			}
			again, err := Parse("rendered", []byte(Render(c)))
			if err != nil {
				t.Fatalf("re-Parse of Render: %v", err)
			}
			if diff := cmp.Diff(c, again, cfgOpts); diff != "" {
				t.Errorf("Parse(Render(c)) != c (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCME3825 pins the parts of Cisco's CME-3825 example that the rest of
// cmed relies on.
func TestCME3825(t *testing.T) {
	c, err := Parse("cme-3825.cfg", exampleFiles(t)["cme-3825"])
	if err != nil {
		t.Fatal(err)
	}
	if c.Hostname != "CME-3825" || c.VoiceService == nil || c.VoiceService.RegistrarExpiresMax != 240 ||
		c.VoiceService.RegistrarExpiresMin != 60 || !c.VoiceService.SIP {
		t.Errorf("voice service = %+v", c.VoiceService)
	}
	g := c.VoiceRegisterGlobal
	if g == nil || g.Mode != "cme" || g.SourceAddress != "11.1.1.2" || g.Port != 5060 || !g.AuthenticatePresence ||
		g.ProfileSync != "0004550081249644" || len(g.Credentials) != 1 || g.Credentials[0].Location != "tftp://172.18.207.15/labtest/cred1.csv" {
		t.Errorf("voice register global = %+v", g)
	}
	if p := c.Presence; p == nil || p.Server != "11.1.1.4" || p.BLFRetryInterval != 70 || p.BLFRetryLimit != 20 ||
		!p.CallList || p.MaxSubscription != 128 || !p.WatcherAll || !p.AllowSubscribe {
		t.Errorf("presence = %+v", c.Presence)
	}
	if !c.SIPPresenceEnabled() || c.SIPUA.AuthUsername != "jack" || c.SIPUA.AuthPassword != "021201481F" {
		t.Errorf("sip-ua = %+v", c.SIPUA)
	}
	tl := c.Telephony
	if tl == nil || tl.MaxEphones != 100 || tl.MaxDN != 300 || tl.Port != 2000 || tl.MaxConferences != 6 ||
		tl.MaxConferencesGain != -6 || tl.CnfVersionStamp != "Jan 01 2002 00:00:00" || tl.TransferSystem != "full-consult" {
		t.Errorf("telephony-service = %+v", tl)
	}
	if d := c.EphoneDNByTag(1); d == nil || d.Mode != DualLine || d.Number != "2001" || !d.AllowWatch {
		t.Errorf("ephone-dn 1 = %+v", d)
	}
	want := Ephone{Tag: 1, MAC: "0012.7F57.62A5", Type: "7960",
		Buttons:       []Button{{Index: 1, Mode: ButtonNormal, DNs: []int{1}}, {Index: 2, Mode: ButtonNormal, DNs: []int{2}}},
		BLFSpeedDials: []BLFSpeedDial{{Tag: 1, Number: "2101", Label: "2101"}, {Tag: 2, Number: "1003", Label: "1003"}},
		Extra:         []string{"fastdial 1 1002"}}
	if len(c.Ephones) != 1 {
		t.Fatalf("ephones = %+v", c.Ephones)
	}
	if diff := cmp.Diff(want, c.Ephones[0], cfgOpts); diff != "" {
		t.Errorf("ephone 1 (-want +got):\n%s", diff)
	}
	if dp := c.DialPeers; len(dp) != 1 || dp[0].SessionTarget != "ipv4:11.1.1.4" || dp[0].Preference != 2 ||
		len(dp[0].DTMFRelay) != 1 || dp[0].DTMFRelay[0] != "sip-notify" {
		t.Errorf("dial-peers = %+v", dp)
	}
	if c.Source.Line("ephone 1") == 0 || c.Source.Line("ephone 1|blf-speed-dial 2") == 0 {
		t.Errorf("source lines missing: %v", c.Source.Lines)
	}
}

var expectRE = regexp.MustCompile(`^! expect line (\d+): (.+)$`)

func TestInvalidExamples(t *testing.T) {
	ents, err := fs.ReadDir(configs.Examples, "examples/invalid")
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) < 8 {
		t.Errorf("only %d invalid examples, want at least 8", len(ents))
	}
	for _, e := range ents {
		t.Run(e.Name(), func(t *testing.T) {
			text, err := fs.ReadFile(configs.Examples, "examples/invalid/"+e.Name())
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(text), "\n")
			m := expectRE.FindStringSubmatch(first)
			if m == nil {
				t.Fatalf("line 1 %q does not say `! expect line N: text`", first)
			}
			line, _ := strconv.Atoi(m[1])
			c, err := Parse(e.Name(), text)
			if err == nil {
				err = c.Validate()
			}
			if err == nil {
				t.Fatal("no error")
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not an ErrorList", err)
			}
			prefix := e.Name() + ":" + m[1] + ": "
			found := false
			for _, le := range list {
				if le.Line == line && strings.HasPrefix(le.Error(), prefix) && strings.Contains(le.Error(), m[2]) {
					found = true
				}
			}
			if !found {
				t.Errorf("want an error %q...%q, got:\n%v", prefix, m[2], err)
			}
		})
	}
}
