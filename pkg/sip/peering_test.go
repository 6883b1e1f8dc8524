package sip

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
)

// routerConfig is one CME of docs/peering.md: local DN `local` on an
// SCCP phone, presence to and from the peer router over a SIP trunk.
func routerConfig(local, peerPort, extraGlobal, extraUA string) string {
	return fmt.Sprintf(`
voice register global
 mode cme
 source-address 127.0.0.1 port 5060
%s
ephone-dn 1
 number %s
 allow watch
ephone 1
 mac-address 0011.2233.4401
 type 7960
 button 1:1
presence
 watcher all
 allow subscribe
 server 127.0.0.1
 sccp blf-speed-dial retry-interval 60 limit 10
sip-ua
 presence enable
%s
dial-peer voice 100 voip
 destination-pattern ....
 session protocol sipv2
 session target ipv4:127.0.0.1:%s
`, extraGlobal, local, extraUA, peerPort)
}

// TestTwoRoutersPeering: two cmed routers on different loopback ports
// watch each other's lines over the trunk; B challenges A with digest
// (`authenticate presence`, A answers with `sip-ua authentication`).
func TestTwoRoutersPeering(t *testing.T) {
	cred := writeFile(t, filepath.Join(t.TempDir(), "cred.csv"), "routerA,trunkpw\n")
	fast := func(o *Options) { o.RetryInterval = 200 * time.Millisecond }
	a := newRig(t, routerConfig("1001", "1", "", ""), fast)
	b := newRig(t, routerConfig("2001", "1", "", ""), fast)
	a.apply(routerConfig("1001", b.port(), "", " authentication username routerA password trunkpw"))
	b.apply(routerConfig("2001", a.port(), " authenticate presence\n authenticate credential 1 flash:"+cred, ""))
	phoneA, _ := registerEphone(t, a, "0011.2233.4401")
	phoneB, _ := registerEphone(t, b, "0011.2233.4401")

	onA, onB := &lampWatcher{}, &lampWatcher{}
	if _, err := a.eng.Subscribe(blf.SubscribeRequest{Watcher: onA, WatcherName: "ephone-1", Kind: blf.KindSCCPSpeedDial, Presentity: "2001"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.Subscribe(blf.SubscribeRequest{Watcher: onB, WatcherName: "ephone-1", Kind: blf.KindSCCPSpeedDial, Presentity: "1001"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "A's lamp for 2001 idle", func() bool { return onA.last() == blf.StateIdle })
	eventually(t, 5*time.Second, "B's lamp for 1001 idle", func() bool { return onB.last() == blf.StateIdle })

	// The trunk subscriptions show up as remote watchers on each side.
	for _, r := range []*rig{a, b} {
		n := 0
		for _, si := range r.eng.Subscriptions() {
			if si.Kind == blf.KindSIPTrunk && si.WatcherType == "remote" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d trunk watchers on %s", n, r.addr())
		}
	}

	// B authenticated A by digest: the watcher is named after the user.
	// Trunk watchers read <user>@<ip> like CME's (docs/cme-cli.md §Show-layouts-sources).
	if subs := b.eng.SubscriptionsFor("2001"); len(subs) != 1 || subs[0].Watcher != "routerA@127.0.0.1" {
		t.Errorf("B's watchers of 2001: %+v", subs)
	}
	if subs := a.eng.SubscriptionsFor("1001"); len(subs) != 1 || !strings.HasSuffix(subs[0].Watcher, "@127.0.0.1") ||
		strings.HasPrefix(subs[0].Watcher, "@") {
		t.Errorf("A's watchers of 1001 (no digest): %+v", subs)
	}

	if _, err := b.sw.OffHook(phoneB, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "A's lamp for 2001 in use", func() bool { return onA.last() == blf.StateInUse })
	if _, err := a.sw.OffHook(phoneA, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "B's lamp for 1001 in use", func() bool { return onB.last() == blf.StateInUse })
	if _, err := b.sw.OnHook(phoneB, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "A's lamp for 2001 idle again", func() bool { return onA.last() == blf.StateIdle })

	// Shutting B down sends terminated;reason=deactivated: A re-subscribes
	// at once and, with B gone, its lamp goes unknown.
	ctx, cancel := contextWithTimeout(3 * time.Second)
	defer cancel()
	if err := b.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	eventually(t, 5*time.Second, "A's lamp unknown after B's shutdown", func() bool { return onA.last() == blf.StateUnknown })
}
