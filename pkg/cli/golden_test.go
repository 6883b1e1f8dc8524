package cli

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden")

const labConfig = `hostname lab
telephony-service
 max-ephones 24
 max-dn 48
 ip source-address 10.0.0.1 port 2000
ephone-dn 1 dual-line
 number 1001
 name Alice
 label Reception
 allow watch
ephone-dn 2
 number 1002
ephone-dn 3
 number 1003
ephone 1
 mac-address 0011.2233.4401
 type 7965
 button 1:1
 blf-speed-dial 1 1002 label "Bob"
ephone 2
 mac-address 0011.2233.4402
 type 7960
 button 1:2
ephone 3
 mac-address 0011.2233.4403
 type 7960
 button 1:3
voice register global
 mode cme
 source-address 10.0.0.1 port 5060
 max-dn 10
 max-pool 10
voice register dn 1
 number 2001
 allow watch
voice register pool 1
 id mac 0011.2233.4501
 type 7960
 number 1 dn 1
presence
 max-subscription 128
 watcher all
dial-peer voice 100 voip
 destination-pattern 9T
 session protocol sipv2
 session target ipv4:10.0.0.2:5060
`

// labBackend is labConfig with one registered and one unregistered
// ephone and a few subscriptions, for the show-layout goldens.
func labBackend(t testing.TB) *fakeBackend {
	f := newFake(t, labConfig)
	f.devices = []dn.DeviceStatus{
		{Name: "SEP001122334401", Kind: "ephone", Tag: 1, Protocol: dn.SCCP, Model: "7965", Registered: true,
			Info: dn.DeviceInfo{Name: "SEP001122334401", Protocol: dn.SCCP, Model: "7965", Addr: "10.0.0.21:50007",
				Extra: map[string]string{"sccp.version": "11", "sccp.phone_version": "22", "sccp.model": "7965",
					"sccp.ip": "10.0.0.21", "sccp.port": "50007", "sccp.max_streams": "1", "sccp.max_lines": "6",
					"sccp.keepalive": "30", "sccp.keepalives": "8424"}},
			Lines: []dn.AppearanceStatus{{Button: 1, DN: dn.DNKey{Kind: dn.EphoneDN, Tag: 1}, Number: "1001", State: dn.LineConnected}}},
		{Name: "SEP001122334402", Kind: "ephone", Tag: 2, Protocol: dn.SCCP, Model: "7960",
			Lines: []dn.AppearanceStatus{{Button: 1, DN: dn.DNKey{Kind: dn.EphoneDN, Tag: 2}, Number: "1002", State: dn.LineUnregistered}}},
		{Name: "SEP001122334403", Kind: "ephone", Tag: 3, Protocol: dn.SCCP, Model: "7960", Registered: true, DND: true,
			Info: dn.DeviceInfo{Name: "SEP001122334403", Protocol: dn.SCCP, Model: "7960", Addr: "10.0.0.23:49329",
				Extra: map[string]string{"sccp.version": "11", "sccp.phone_version": "11", "sccp.model": "7960",
					"sccp.ip": "10.0.0.23", "sccp.port": "49329", "sccp.max_streams": "1", "sccp.max_lines": "6",
					"sccp.keepalive": "30", "sccp.keepalives": "17602"}},
			Lines: []dn.AppearanceStatus{{Button: 1, DN: dn.DNKey{Kind: dn.EphoneDN, Tag: 3}, Number: "1003", State: dn.LineRinging}}},
		{Name: "SEP001122334501", Kind: "pool", Tag: 1, Protocol: dn.SIP, Model: "7960", Registered: true,
			Info:  dn.DeviceInfo{Addr: "10.0.0.31:5060"},
			Lines: []dn.AppearanceStatus{{Button: 1, DN: dn.DNKey{Kind: dn.VoiceRegisterDN, Tag: 1}, Number: "2001"}}},
	}
	f.lines = []dn.LineStatus{
		{Key: dn.DNKey{Kind: dn.EphoneDN, Tag: 1}, Number: "1001", Name: "Alice", Label: "Reception", MaxCalls: 2,
			AllowWatch: true, Presence: dn.PresenceInUse,
			Appearances: []dn.LineAppearance{{Device: "SEP001122334401", Button: 1, Registered: true, State: dn.LineConnected}}},
		{Key: dn.DNKey{Kind: dn.EphoneDN, Tag: 2}, Number: "1002", MaxCalls: 1,
			Appearances: []dn.LineAppearance{{Device: "SEP001122334402", Button: 1, State: dn.LineUnregistered}}},
		{Key: dn.DNKey{Kind: dn.EphoneDN, Tag: 3}, Number: "1003", MaxCalls: 1},
	}
	f.regs = []Registration{{Pool: 1, Number: "2001", Contact: "sip:2001@10.0.0.31:5060", Source: "10.0.0.31:5060",
		Transport: "UDP", CallID: "00120014-4ae40064@10.0.0.31", Registered: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Expires: goldenNow.Add(1800 * time.Second)}}
	f.global = blf.GlobalInfo{Enabled: true, AllowExternalWatchers: true, MaxSubscriptions: 128, Subscriptions: 2,
		ServerIP: "0.0.0.0", RetryInterval: 60, RetryLimit: 10, RouterMode: "CME mode"}
	f.subs = []blf.SubscriptionInfo{
		{ID: 1, Watcher: "1001@10.0.0.21", Presentity: "1002", Kind: blf.KindSCCPSpeedDial, State: blf.StateUnknown,
			Expires: time.Hour, Duration: 75 * time.Second, WatcherType: "local", PresentityType: "local", Type: "Incoming Indication"},
		{ID: 23, SibID: 24, Watcher: "2001@10.0.0.31", Presentity: "1001", Kind: blf.KindSIPPhone, State: blf.StateInUse,
			Expires: time.Hour, Duration: 5 * time.Second, WatcherType: "local", PresentityType: "local", Type: "Incoming Indication"},
	}
	return f
}

var goldens = []struct {
	name string
	priv int
	cmds []string
}{
	{"errors-exec", PrivMax, []string{
		"sh foo", "show", "d", "co", "show ephone-dn 99999", "show running-config | foo", "show running-config | include",
		"write memry", "  show   bogus", "configure terminal", "ephone-dn 40", " numbr 1040", "number", "exit", "ephone-d 5", "ephone-dn 40",
		"ephone-dn abc", "do sh foo", "do show", "mac-address 0011.2233.44", "end", "show startup-config | include x y",
	}},
	{"errors-user", PrivUser, []string{"show running-config", "configure terminal", "enable", "write", "show version | foo"}},
	{"help", PrivMax, []string{
		"?", "show ?", "sh?", "show running-config ?", "show run | ?", "show run | include ?", "show presence subscription ?",
		"xyz?", "show xyz ?", "terminal length ?", "conf t", "?", "ephone-dn 40", "?", "allow ?", "call-forward ?",
		"do show ?", "do sh?", "ephone ?", "ephone-dn-template ?", "exit", "voice register pool 1", "?", "end",
	}},
	{"help-user", PrivUser, []string{"?", "show ?"}},
	{"modes", PrivMax, []string{
		"configure terminal", "telephony-service", "ephone 1", "ephone-dn 40", "voice register global",
		"voice register dn 5", "voice register pool 3", "presence", "sip-ua", "dial-peer voice 200 voip",
		"voice translation-rule 1", "voice translation-profile P1", "voice service voip", "sip", "exit", "exit", "exit",
		"conf t", "ephone-dn 41", "number 1041", "ephone 3", "exit", "exit", "disable", "enable",
	}},
	{"show-layouts", PrivMax, []string{
		"show ephone", "show ephone summary", "show ephone registered", "show ephone unregistered", "show ephone 2",
		"show ephone mac-address 0011.2233.4401", "show ephone mac-address 0011.2233.99AA", "show ephone 9",
		"show ephone-dn summary", "show ephone-dn 1",
		"show ephone-dn 3", "show voice register all", "show voice register pool 1", "show presence global",
		"show presence subscription", "show presence subscription summary", "show presence subscription details",
		"show presence subscription presentity 1002", "show presence subscription subid 23",
		"show presence subscription subid 99", "show dial-peer voice summary",
	}},
	{"show-cme", PrivMax, []string{
		"show telephony-service", "show telephony-service all", "show ephone dnd", "show ephone offhook",
		"show ephone registered summary", "show voice register statistics", "show voice register statistics pool 1",
		"show voice register statistics global", "show voice register pool all", "show sip-ua status registrar",
		"show dial-peer voice summary",
	}},
	{"archive", PrivMax, []string{
		"show archive", "write memory", "configure terminal", "hostname changed", "end", "copy running-config startup-config",
		"show archive", "configure replace nvram:startup-config-1", "show running-config | include hostname",
		"configure replace nvram:startup-config-1 force", "show running-config | include hostname|version|Last",
		"configure replace nvram:startup-config-9 force", "write erase", "show startup-config", "show archive",
		"reload", "show running-config | include hostname", "show logging",
	}},
	{"show-config", PrivMax, []string{
		"show startup-config", "write memory", "show running-config | section ephone-dn 1", "show run | include number",
		"show run | begin presence", "show run | exclude !", "copy running-config startup-config",
		"show startup-config | include hostname", "write terminal | section voice register dn",
	}},
	{"debug", PrivMax, []string{
		"debug ephone blf", "debug presence all", "debug ccsip messages", "show debugging", "undebug ephone blf",
		"show debugging", "undebug all", "show debugging", "no debug all", "debug ephone blf mac-address 0011.2233.4401",
	}},
}

func TestGoldenTranscripts(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			got := transcript(t, labBackend(t), g.priv, g.cmds...)
			path := filepath.Join("testdata", "golden", g.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("transcript differs from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}
