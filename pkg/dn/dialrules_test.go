package dn_test

import (
	"testing"
	"testing/synctest"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// TestDirectoryLookupOfTrunkCaller: a trunk caller ID that the directory
// lookup rules turn into a local number is shown, and logged, as that DN;
// one that does not become local is shown as received
// (docs/cme-behaviour.md §Dialing-rules).
func TestDirectoryLookupOfTrunkCaller(t *testing.T) {
	cfg := trunkConfig(func(d map[int]*config.EphoneDN, c *config.Config) {
		d[2].Number = "23139"
		c.DirectoryLookupRules = []config.DialRule{{Tag: 1, BeginsWith: "408902", NumDigits: 10, Remove: 5}}
	})
	for _, tt := range []struct{ from, shown string }{
		{"4089023139", "23139"},
		{"4089020000", "4089020000"}, // 20000 is no local number
		{"408902313", "408902313"},   // nine digits: the rule does not match
	} {
		t.Run(tt.from, func(t *testing.T) {
			runTrunk(t, cfg, func(h *trunkHarness) {
				h.register(3)
				id, err := h.tr.Incoming(h.sw, dn.InboundCall{Calling: dn.Party{Number: tt.from}, Called: "1003",
					Remote: h.tr.RemoteAddr()})
				h.must(err)
				h.wantLast(3, "Ring", func(e dntest.Effect) bool { return e.Info.Calling.Number == tt.shown })
				h.mustRef(h.sw.Answer(h.id[3], 0, 0))
				synctest.Wait()
				h.must(h.tr.HangupRemote(h.sw, id))
				synctest.Wait()
				r := h.recs.Of(devName(3), dn.RecordReceived)
				if len(r) != 1 || r[0].Number != tt.shown {
					t.Errorf("received list = %+v, want %s", r, tt.shown)
				}
			})
		})
	}
}

// TestDialableNumber: numbers from call lists and directories go through
// the application dialing rules (docs/cme-behaviour.md §Dialing-rules).
func TestDialableNumber(t *testing.T) {
	cfg := featConfig(func(_ map[int]*config.EphoneDN, c *config.Config) {
		c.ApplicationDialRules = []config.DialRule{
			{Tag: 1, NumDigits: 7, Prefix: "9"},
			{Tag: 2, BeginsWith: "1800", NumDigits: 11, Prefix: "9"},
		}
	})
	run(t, cfg, func(h *harness) {
		for in, want := range map[string]string{
			"1800-GOTMILK":   "918004686455",
			"555-0100":       "95550100",
			"1002":           "1002",
			"(408) 902-3139": "4089023139",
		} {
			got, err := h.sw.DialableNumber(in)
			h.must(err)
			if got != want {
				t.Errorf("DialableNumber(%q) = %q, want %q", in, got, want)
			}
		}
	})
}
