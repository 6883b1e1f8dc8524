package config

import (
	"strings"
	"testing"
)

// `ip http address` takes an IPv6 address as well as an IPv4 one, and
// both print back as typed.
func TestHTTPAddressIPv6(t *testing.T) {
	for _, addr := range []string{"2001:db8::10", "::1", "192.0.2.10"} {
		cfg, err := Parse("t.cfg", []byte("ip http server\nip http address "+addr+" port 8080\n"))
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if cfg.Services.HTTP.Address != addr || cfg.Services.HTTP.Port != 8080 {
			t.Fatalf("%s: got %+v", addr, cfg.Services.HTTP)
		}
		if out := Render(cfg); !strings.Contains(out, "ip http address "+addr+" port 8080\n") {
			t.Fatalf("%s: rendered\n%s", addr, out)
		}
	}
	for _, bad := range []string{"2001:db8::zz", "fe80::1%eth0", "1.2.3"} {
		if _, err := Parse("t.cfg", []byte("ip http address "+bad+" port 80\n")); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// `login block-for` parses, renders and is removed by its no form.
func TestLoginBlockFor(t *testing.T) {
	cfg, err := Parse("t.cfg", []byte("login block-for 120 attempts 5 within 60\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (LoginBlock{BlockFor: 120, Attempts: 5, Within: 60}); cfg.LoginBlock != want {
		t.Fatalf("got %+v", cfg.LoginBlock)
	}
	if out := Render(cfg); !strings.Contains(out, "login block-for 120 attempts 5 within 60\n") {
		t.Fatalf("rendered\n%s", out)
	}
	cfg, err = Parse("t.cfg", []byte("login block-for 120 attempts 5 within 60\nno login block-for\n"))
	if err != nil || cfg.LoginBlock != (LoginBlock{}) {
		t.Fatalf("no form: %+v %v", cfg.LoginBlock, err)
	}
	if _, err := Parse("t.cfg", []byte("login block-for 0 attempts 5 within 60\n")); err == nil {
		t.Error("block-for 0 accepted")
	}
}

// A global command after a section whose mode keeps unknown lines whole
// (voice service voip's `ip [LINE]`) is the global command, as in IOS:
// Render puts `ip http address` after `voice service voip`, and re-parsing
// must not bury it in the section (found by FuzzParse, corpus entry
// aa006281dbac7e15).
func TestGlobalCommandAfterCatchAllSection(t *testing.T) {
	c, err := Parse("t.cfg", []byte("voice service voip\n ip address trusted list\nip http address 192.0.2.1 port 8080\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Services.HTTP.Address != "192.0.2.1" || c.Services.HTTP.Port != 8080 {
		t.Errorf("ip http address: %+v", c.Services.HTTP)
	}
	if c.VoiceService == nil || len(c.VoiceService.Extra) != 1 || c.VoiceService.Extra[0] != "ip address trusted list" {
		t.Errorf("voice service extra: %+v", c.VoiceService)
	}
}
