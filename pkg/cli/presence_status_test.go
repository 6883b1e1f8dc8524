package cli

import (
	"strings"
	"testing"

	"github.com/cmed-project/cmed/pkg/blf"
)

// TestPresenceStatusRow: a SIP watcher's subscription shows the composed
// presence status (docs/sip-presence.md §Rich-presence); an SCCP lamp's
// shows none, its lamp being the line state only.
func TestPresenceStatusRow(t *testing.T) {
	f := newFake(t, labConfig)
	f.subs = []blf.SubscriptionInfo{
		{ID: 8, Watcher: "w@192.0.2.9", Presentity: "1002", Kind: blf.KindSIPTrunk, State: blf.StateIdle,
			WatcherType: "remote", PresentityType: "local", Type: "Incoming Indication", Status: "In a meeting (calendar)"},
		{ID: 9, Watcher: "1001@192.0.2.21", Presentity: "1002", Kind: blf.KindSCCPSpeedDial, State: blf.StateIdle,
			WatcherType: "local", PresentityType: "local", Type: "Incoming Indication"},
	}
	out := transcript(t, f, PrivMax, "show presence subscription subid 8")
	if !strings.Contains(out, "  Presence status       : In a meeting (calendar)\n") {
		t.Errorf("SIP subscription lacks its presence status:\n%s", out)
	}
	if out := transcript(t, f, PrivMax, "show presence subscription subid 9"); strings.Contains(out, "Presence status") {
		t.Errorf("SCCP subscription shows a presence status:\n%s", out)
	}
}
