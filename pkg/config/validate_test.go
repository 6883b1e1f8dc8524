package config

import (
	"errors"
	"strings"
	"testing"
)

// validBase is a small consistent office built in code (no line numbers).
func validBase() *Config {
	return &Config{
		Telephony: &Telephony{MaxEphones: 2, MaxDN: 5, Keepalive: 30, Port: 2000, SourceAddress: "10.0.0.1"},
		EphoneDNs: []EphoneDN{{Tag: 1, Number: "1001"}, {Tag: 2, Number: "1002"}},
		Ephones: []Ephone{{Tag: 1, MAC: "0011.2233.4401", Buttons: []Button{{Index: 1, Mode: ButtonNormal, DNs: []int{1}}},
			BLFSpeedDials: []BLFSpeedDial{{Tag: 75, Number: "1002", Label: strings.Repeat("x", 30)}}}},
		VoiceRegisterGlobal: &VoiceRegisterGlobal{Mode: "cme", Port: 5060},
		VoiceRegisterDNs:    []VoiceRegisterDN{{Tag: 1, Number: "2001"}},
		VoiceRegisterPools: []VoiceRegisterPool{{Tag: 1, MAC: "0011.2233.4411", Numbers: []PoolNumber{{Tag: 1, DN: 1}},
			BLFSpeedDials: []BLFSpeedDial{{Tag: 113, Number: "1001"}}}},
		Presence: &Presence{MaxSubscription: 500},
		Services: Services{HTTP: Listener{Enabled: true, Address: "127.0.0.1", Port: 0}},
	}
}

func TestValidateOK(t *testing.T) {
	if err := validBase().Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c := validBase()
	// A hunt group: same number, different preference (docs/cme-behaviour.md §Lines).
	c.EphoneDNs = append(c.EphoneDNs, EphoneDN{Tag: 3, Number: "1001", Preference: 1})
	if err := c.Validate(); err != nil {
		t.Fatalf("hunt group rejected: %v", err)
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"missing dn", func(c *Config) { c.Ephones[0].Buttons[0].DNs = []int{9} }, "names ephone-dn 9, which does not exist"},
		{"overlay dn", func(c *Config) {
			c.Ephones[0].Buttons = []Button{{Index: 1, Mode: ButtonOverlay, DNs: []int{1, 8}}}
		}, "names ephone-dn 8"},
		{"expand of non-overlay", func(c *Config) {
			c.Ephones[0].Buttons = append(c.Ephones[0].Buttons, Button{Index: 2, Mode: ButtonExpand, ExpandOf: 1})
		}, "is not an overlay"},
		{"pool dn", func(c *Config) { c.VoiceRegisterPools[0].Numbers[0].DN = 4 }, "names voice register dn 4"},
		{"dup ephone-dn", func(c *Config) { c.EphoneDNs[1].Number = "1001" }, "number 1001 of ephone-dn 2 is already used by ephone-dn 1"},
		{"dup sip/sccp", func(c *Config) { c.VoiceRegisterDNs[0].Number = "1002" }, "already used by ephone-dn 2"},
		{"dup mac", func(c *Config) { c.VoiceRegisterPools[0].MAC = "0011.2233.4401" }, "already used by ephone 1"},
		{"bad mac", func(c *Config) { c.Ephones[0].MAC = "0011.2233" }, "malformed"},
		{"max-subscription low", func(c *Config) { c.Presence.MaxSubscription = 99 }, "max-subscription 99 is out of range"},
		{"max-subscription high", func(c *Config) { c.Presence.MaxSubscription = 5000 }, "use 100 to 500"},
		{"too many ephones", func(c *Config) {
			c.Telephony.MaxEphones = 1
			c.Ephones = append(c.Ephones, Ephone{Tag: 7})
		}, "max-ephones is 1"},
		{"dn above max-dn", func(c *Config) { c.EphoneDNs = append(c.EphoneDNs, EphoneDN{Tag: 6}) }, "above telephony-service max-dn 5"},
		{"sccp blf tag", func(c *Config) { c.Ephones[0].BLFSpeedDials[0].Tag = 76 }, "SCCP phones take 1 to 75"},
		{"sip blf tag", func(c *Config) { c.VoiceRegisterPools[0].BLFSpeedDials[0].Tag = 114 }, "SIP phones take 1 to 113"},
		{"blf label", func(c *Config) { c.Ephones[0].BLFSpeedDials[0].Label = strings.Repeat("y", 31) }, "31 characters"},
		{"keepalive", func(c *Config) { c.Telephony.Keepalive = 9 }, "keepalive 9 is out of range"},
		{"ephone keepalive", func(c *Config) { c.Ephones[0].Keepalive = 70000 }, "keepalive 70000"},
		{"port", func(c *Config) { c.Services.HTTP.Port = 70000 }, "port 70000 is out of range"},
		{"sip port", func(c *Config) { c.VoiceRegisterGlobal.Port = -1 }, "port -1"},
		{"template", func(c *Config) { c.EphoneDNs[0].Template = 3 }, "ephone-dn-template 3, which does not exist"},
		{"profile", func(c *Config) { c.EphoneDNs[0].TranslationProfileIn = "nope" }, "translation-profile nope"},
	}
	for _, tc := range tests {
		c := validBase()
		tc.mod(c)
		err := c.Validate()
		var list ErrorList
		if !errors.As(err, &list) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want %q", tc.name, err, tc.want)
			continue
		}
		for _, e := range list {
			if e.Line != 0 || strings.HasPrefix(e.Error(), ":") {
				t.Errorf("%s: code-built config got a line number: %q", tc.name, e.Error())
			}
		}
	}
}

func TestValidateNamesLines(t *testing.T) {
	text := "telephony-service\n max-dn 5\nephone-dn 1\n number 1001\nephone 1\n type 7960\n button 1:1 2:4\n"
	c, err := Parse("office.cfg", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil || !strings.HasPrefix(err.Error(), "office.cfg:7: ephone 1 button 2 names ephone-dn 4") {
		t.Fatalf("Validate = %v", err)
	}
}
