package phonecfg

import (
	"io/fs"
	"slices"
	"testing"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/pkg/config"
)

// TestInputsAreEnough: the files built from Inputs(cfg) are the files built
// from cfg, for the test config, the embedded default and every example; a
// generator reading a section Inputs leaves out fails here.
func TestInputsAreEnough(t *testing.T) {
	cfgs := map[string]*config.Config{"testConfig": testConfig()}
	c, err := config.Parse("default.cfg", configs.Default)
	if err != nil {
		t.Fatal(err)
	}
	cfgs["default.cfg"] = c
	names, err := fs.Glob(configs.Examples, "examples/*.cfg")
	if err != nil || len(names) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, n := range names {
		text, err := fs.ReadFile(configs.Examples, n)
		if err != nil {
			t.Fatal(err)
		}
		c, err := config.Parse(n, text)
		if err != nil {
			t.Fatal(err)
		}
		cfgs[n] = c
	}
	opts := Options{Address: "192.0.2.1"}
	for name, cfg := range cfgs {
		full, err := Generate(cfg, opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		part, err := Generate(Inputs(cfg), opts)
		if err != nil {
			t.Fatalf("%s inputs: %v", name, err)
		}
		if !slices.Equal(full.Names(), part.Names()) {
			t.Fatalf("%s: names %v from the inputs, %v from the config", name, part.Names(), full.Names())
		}
		for _, f := range full.Names() {
			a, _ := full.Lookup(f)
			b, _ := part.Lookup(f)
			if string(a) != string(b) {
				t.Errorf("%s: %s differs when built from Inputs", name, f)
			}
		}
	}
}

func TestSameInputs(t *testing.T) {
	a := testConfig()
	b := testConfig()
	b.Hostname = "other"
	b.EphoneDNs[0].Name = "changed" // not in any file
	b.DialPeers = []config.DialPeer{{Tag: 1, Kind: "voip", DestinationPattern: "9T"}}
	if !SameInputs(a, b) {
		t.Error("a change outside the phone files counts as an input change")
	}
	b.Ephones[0].Type = "7961"
	if SameInputs(a, b) {
		t.Error("a changed ephone type does not count as an input change")
	}
	if !SameInputs(nil, nil) || SameInputs(a, nil) {
		t.Error("nil handling")
	}
}
