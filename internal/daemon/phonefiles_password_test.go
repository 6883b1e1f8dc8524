package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/cmed-project/cmed/pkg/config"
)

// Generating phone files that carry a SIP password warns in the daemon
// log, naming the files (docs/security.md §Phone-files); files without
// one do not.
func TestPhoneFilesWarnAboutSIPPasswords(t *testing.T) {
	cfg := func(typ, password string) *config.Config {
		return &config.Config{
			VoiceRegisterGlobal: &config.VoiceRegisterGlobal{Mode: "cme"},
			VoiceRegisterDNs:    []config.VoiceRegisterDN{{Tag: 1, Number: "2001"}},
			VoiceRegisterPools: []config.VoiceRegisterPool{{Tag: 1, MAC: "0021.5555.0001", Type: typ,
				Numbers: []config.PoolNumber{{Tag: 1, DN: 1}}, Username: "alice", Password: password}},
		}
	}
	for _, tt := range []struct {
		typ, password string
		warn          bool
	}{
		{"7962", "s3cret", true},
		{"7960", "s3cret", false}, // its SIP firmware reads SIP<MAC>.cnf, not this file
		{"7962", "", false},
	} {
		var logs bytes.Buffer
		var p phoneFiles
		p.init(slog.New(slog.NewTextHandler(&logs, nil)))
		p.address = "192.0.2.10"
		if err := p.build(cfg(tt.typ, tt.password)); err != nil {
			t.Fatal(err)
		}
		warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "SEP002155550001.cnf.xml")
		if warned != tt.warn {
			t.Errorf("type %s password %q: warned %v, want %v; log:\n%s", tt.typ, tt.password, warned, tt.warn, logs.String())
		}
		if strings.Contains(logs.String(), "s3cret") {
			t.Errorf("the warning shows the password: %s", logs.String())
		}
	}
}
