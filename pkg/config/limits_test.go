package config

import (
	"strings"
	"testing"
)

func TestLimitsParseRenderAndNegate(t *testing.T) {
	c, err := Parse("l.cfg", []byte("limit sccp connections-per-source 10\nlimit tftp transfers-per-source 3\nlimit tftp transfers 100\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{SCCPConnectionsPerSource: 10, TFTPTransfersPerSource: 3, TFTPTransfers: 100}
	if c.Services.Limits != want {
		t.Fatalf("limits = %+v", c.Services.Limits)
	}
	out := Render(c)
	for _, l := range []string{"limit sccp connections-per-source 10", "limit tftp transfers-per-source 3", "limit tftp transfers 100"} {
		if !strings.Contains(out, l+"\n") {
			t.Errorf("render lacks %q:\n%s", l, out)
		}
	}
	again, err := Parse("r.cfg", []byte(out))
	if err != nil || again.Services.Limits != want {
		t.Fatalf("round trip: %+v %v", again.Services.Limits, err)
	}
	ed := NewEditor(c)
	if err := ed.Exec("no limit tftp transfers"); err != nil {
		t.Fatal(err)
	}
	if ed.Config().Services.Limits.TFTPTransfers != 0 {
		t.Fatal("no form did not reset the limit")
	}
	if _, err := Parse("bad.cfg", []byte("limit sccp connections-per-source 0\n")); err == nil || !strings.Contains(err.Error(), "bad.cfg:1:") {
		t.Fatalf("out of range accepted: %v", err)
	}
}
