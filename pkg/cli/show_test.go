package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
)

// TestPresenceShowsTheRouterAddressAndDefaultExpires: with `ip
// source-address 0.0.0.0` local presentities carry the address the daemon
// serves phones on, and SCCP watchers (no expiry of their own) show CME's
// default 3600 (docs/cme-cli.md §Show-presence-subscription).
func TestPresenceShowsTheRouterAddressAndDefaultExpires(t *testing.T) {
	const cfg = `hostname lab
telephony-service
 ip source-address 0.0.0.0 port 2000
voice register global
 source-address 0.0.0.0 port 5060
`
	sub := blf.SubscriptionInfo{ID: 7, Watcher: "1001@192.0.2.21", Presentity: "1002", Kind: blf.KindSCCPSpeedDial,
		State: blf.StateIdle, WatcherType: "local", PresentityType: "local", Type: "Incoming Indication"}
	for _, c := range []struct {
		address, want string
	}{{"192.0.2.1", "1002@192.0.2.1"}, {"", "1002@0.0.0.0"}} {
		f := newFake(t, cfg)
		f.address = c.address
		f.subs = []blf.SubscriptionInfo{sub}
		out := transcript(t, f, PrivMax, "show presence subscription summary", "show presence subscription subid 7")
		for _, w := range []string{
			"1001@192.0.2.21          " + c.want + strings.Repeat(" ", 25-len(c.want)) + " 7     3600    0      idle\n",
			"  Presentity            : " + c.want + "\n", "  Expires               : 3600 seconds\n",
		} {
			if !strings.Contains(out, w) {
				t.Errorf("address %q: missing %q in:\n%s", c.address, w, out)
			}
		}
	}
	// A configured address wins over the daemon's; a SIP expiry is shown as is.
	f := newFake(t, labConfig)
	f.address = "192.0.2.1"
	sub.Expires = 90 * time.Second
	f.subs = []blf.SubscriptionInfo{sub}
	out := transcript(t, f, PrivMax, "show presence subscription details")
	for _, w := range []string{"  Presentity            : 1002@10.0.0.1\n", "  Expires               : 90 seconds\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
}
