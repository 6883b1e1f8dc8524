// Package phonecfg builds, in memory, the files Cisco phones fetch over TFTP
// at boot (docs/sccp.md §Provisioning): what CME writes with `create cnf-files` for SCCP
// ephones and `create profile` for SIP voice register pools.
//
// Generate turns a *config.Config into a Files set; the daemon serves it in
// front of the firmware directory (cmd/cmed wires Files.Lookup into a
// tftp.Handler; phonecfg does not import tftp). cmed regenerates the set
// after every configuration change that alters Inputs (see SameInputs), so
// `create cnf-files` and `create profile` never need to be typed for the
// files to be current.
//
// Generated names:
//   - SEP<MAC>.cnf.xml for every ephone and every voice register pool with a
//     MAC (MAC as 12 upper-case hex digits, docs/sccp.md §Boot-order item 6);
//   - XMLDefault.cnf.xml when telephony-service is configured
//     (docs/sccp.md §XMLDefault);
//   - RINGLIST.XML, the ring list the phone reads for its ring menu;
//   - with Options.LegacyTextCnf, SEPDEFAULT.cnf and SEP<MAC>.cnf for
//     7940/7960 ephones (docs/sccp.md §Legacy-cnf).
//
// Lookups ignore case. Everything else is a miss; see ProbeOnly for the
// names phones ask for that cmed never serves.
package phonecfg

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cmed-project/cmed/pkg/config"
)

// Options are the facts Generate needs beyond the configuration.
type Options struct {
	// Address is written wherever the configuration leaves the server
	// address unset or unspecified (ip source-address 0.0.0.0, no
	// voice register global source-address): typically the daemon's
	// primary interface address. Phones cannot use 0.0.0.0.
	Address string
	// TimeZone is the dateTimeSetting/timeZone text (a CUCM time zone
	// name); default "Greenwich Standard Time" (docs/sccp.md §Device-config-file).
	TimeZone string
	// UserLocale and NetworkLocale name the locale packages; defaults
	// English_United_States and United_States, which are built into the
	// firmware, so no locale file is fetched.
	UserLocale    string
	NetworkLocale string
	// VersionStamp overrides the versionStamp element. By default it is
	// derived from the file's own content, so it changes exactly when the
	// file does (phones compare it to decide whether to reapply).
	VersionStamp string
	// Rings are listed in RINGLIST.XML; default DefaultRings. The .raw
	// files themselves must be in the TFTP directory.
	Rings []Ring
	// LegacyTextCnf also generates SEPDEFAULT.cnf and SEP<MAC>.cnf for
	// 7940/7960 ephones. Their syntax is not documented anywhere we could
	// reach (docs/sccp.md §Legacy-cnf): the only documented content is the router's
	// address, so that is all these files hold. Loads that read
	// .cnf.xml (every 7940/7960 SCCP load from 5.x on) never ask for them.
	LegacyTextCnf bool
}

// Ring is one RINGLIST.XML entry.
type Ring struct {
	DisplayName string
	FileName    string
}

// DefaultRings is the ring list used when Options.Rings is empty.
var DefaultRings = []Ring{
	{DisplayName: "Chirp 1", FileName: "Chirp1.raw"},
	{DisplayName: "Chirp 2", FileName: "Chirp2.raw"},
}

// Files is a generated, immutable set of files.
type Files struct {
	byKey     map[string]file // key: lower-case name
	passwords []string        // files carrying a SIP password, sorted
}

type file struct {
	name string
	data []byte
}

// Lookup returns a generated file by name, ignoring case: phones and
// guides disagree on "SEP" vs "sep" and on hex case (docs/sccp.md §Boot-order item 6).
// The returned slice must not be modified.
func (f *Files) Lookup(name string) ([]byte, bool) {
	if f == nil {
		return nil, false
	}
	e, ok := f.byKey[strings.ToLower(name)]
	return e.data, ok
}

// Names lists the generated file names, sorted.
func (f *Files) Names() []string {
	if f == nil {
		return nil
	}
	names := make([]string, 0, len(f.byKey))
	for _, e := range f.byKey {
		names = append(names, e.name)
	}
	slices.Sort(names)
	return names
}

// SIPPasswordFiles names the files that carry a SIP digest password in
// clear text: anyone who can reach the TFTP server can read them
// (docs/security.md §Phone-files). Sorted; nil when none.
func (f *Files) SIPPasswordFiles() []string {
	if f == nil {
		return nil
	}
	return slices.Clone(f.passwords)
}

// Len is the number of generated files.
func (f *Files) Len() int {
	if f == nil {
		return 0
	}
	return len(f.byKey)
}

func (f *Files) add(name string, data []byte) error {
	key := strings.ToLower(name)
	if _, dup := f.byKey[key]; dup {
		return fmt.Errorf("phonecfg: %s generated twice (same MAC on two devices?)", name)
	}
	f.byKey[key] = file{name: name, data: data}
	return nil
}

// ProbeOnly reports names phones request that cmed never generates and
// that a TFTP server should answer with "file not found" at once, without
// a disk lookup: the security trust lists CTL<...>.tlv and ITL<...>.tlv
// (CTLSEP<MAC>.tlv, ITLSEP<MAC>.tlv, CTLFile.tlv, ITLFile.tlv) and signed
// or encrypted configuration (*.sgn, *.enc.sgn). A phone in non-secure
// mode (deviceSecurityMode 1) carries on when they are missing (docs/sccp.md
// §Boot-order item 3). Other misses (locale packages, firmware, backgrounds) may
// be real files in the TFTP directory and go on to it.
func ProbeOnly(name string) bool {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".tlv") && (strings.HasPrefix(n, "ctl") || strings.HasPrefix(n, "itl")):
		return true
	case strings.HasSuffix(n, ".sgn"):
		return true
	}
	return false
}

// MACName converts a configured MAC ("0012.7F57.62A5", "00:12:7f:57:62:a5"
// or bare hex) to the 12 upper-case hex digits used in file names.
func MACName(mac string) (string, error) {
	var b strings.Builder
	for _, r := range mac {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'F':
			b.WriteRune(r)
		case r >= 'a' && r <= 'f':
			b.WriteRune(r - 'a' + 'A')
		case r == '.' || r == ':' || r == '-':
		default:
			return "", fmt.Errorf("phonecfg: bad MAC %q", mac)
		}
	}
	if b.Len() != 12 {
		return "", fmt.Errorf("phonecfg: bad MAC %q: want 12 hex digits", mac)
	}
	return b.String(), nil
}

var errNoAddress = errors.New("phonecfg: server address unset (0.0.0.0) and Options.Address empty")

// serverAddress picks the address phones must contact.
func serverAddress(configured, fallback string) (string, error) {
	switch configured {
	case "", "0.0.0.0", "::":
		if fallback == "" {
			return "", errNoAddress
		}
		return fallback, nil
	}
	return configured, nil
}

// Generate builds every file for cfg. It fails on an invalid MAC, on two
// devices sharing a MAC, or when a needed server address is unknown.
func Generate(cfg *config.Config, opts Options) (*Files, error) {
	if cfg == nil {
		return nil, errors.New("phonecfg: nil config")
	}
	opts = opts.withDefaults()
	fs := &Files{byKey: map[string]file{}}
	if err := fs.add("RINGLIST.XML", ringList(opts.Rings)); err != nil {
		return nil, err
	}
	if t := cfg.Telephony; t != nil {
		addr, err := serverAddress(t.SourceAddress, opts.Address)
		if err != nil {
			return nil, fmt.Errorf("telephony-service ip source-address: %w", err)
		}
		port := cmp.Or(t.Port, config.DefaultSCCPPort)
		b, err := xmlDefault(t, addr, port)
		if err != nil {
			return nil, err
		}
		if err := fs.add("XMLDefault.cnf.xml", b); err != nil {
			return nil, err
		}
		if opts.LegacyTextCnf {
			if err := fs.add("SEPDEFAULT.cnf", legacyCnf(addr)); err != nil {
				return nil, err
			}
		}
		for i := range cfg.Ephones {
			e := &cfg.Ephones[i]
			if e.MAC == "" {
				continue // not yet bound to a phone (auto-registration fills it)
			}
			mac, err := MACName(e.MAC)
			if err != nil {
				return nil, fmt.Errorf("ephone %d: %w", e.Tag, err)
			}
			b, err := sccpDevice(cfg, e, addr, port, opts)
			if err != nil {
				return nil, fmt.Errorf("ephone %d: %w", e.Tag, err)
			}
			if err := fs.add("SEP"+mac+".cnf.xml", b); err != nil {
				return nil, err
			}
			if opts.LegacyTextCnf && (modelIs(e.Type, "7940") || modelIs(e.Type, "7960")) {
				if err := fs.add("SEP"+mac+".cnf", legacyCnf(addr)); err != nil {
					return nil, err
				}
			}
		}
	}
	if g := cfg.VoiceRegisterGlobal; g != nil {
		addr, err := serverAddress(g.SourceAddress, opts.Address)
		if err != nil {
			return nil, fmt.Errorf("voice register global source-address: %w", err)
		}
		port := cmp.Or(g.Port, config.DefaultSIPPort)
		for i := range cfg.VoiceRegisterPools {
			p := &cfg.VoiceRegisterPools[i]
			if p.MAC == "" {
				continue // id ip/network pools have no per-device file
			}
			mac, err := MACName(p.MAC)
			if err != nil {
				return nil, fmt.Errorf("voice register pool %d: %w", p.Tag, err)
			}
			b, withPassword, err := sipDevice(cfg, p, addr, port, opts)
			if err != nil {
				return nil, fmt.Errorf("voice register pool %d: %w", p.Tag, err)
			}
			if err := fs.add("SEP"+mac+".cnf.xml", b); err != nil {
				return nil, err
			}
			if withPassword {
				fs.passwords = append(fs.passwords, "SEP"+mac+".cnf.xml")
			}
		}
	}
	slices.Sort(fs.passwords)
	return fs, nil
}

func (o Options) withDefaults() Options {
	o.TimeZone = cmp.Or(o.TimeZone, "Greenwich Standard Time")
	o.UserLocale = cmp.Or(o.UserLocale, "English_United_States")
	o.NetworkLocale = cmp.Or(o.NetworkLocale, "United_States")
	if len(o.Rings) == 0 {
		o.Rings = DefaultRings
	}
	return o
}

// modelIs reports whether a phone type names model, ignoring case and the
// "CP-"/"G" decorations ("7960G", "CP-7960" are both 7960).
func modelIs(phoneType, model string) bool {
	t := strings.ToUpper(strings.TrimPrefix(strings.ToUpper(phoneType), "CP-"))
	m := strings.ToUpper(model)
	return t == m || t == m+"G"
}

// loadFor finds the `load <type> <firmware>` entry for a phone type. Load
// types may cover several models joined by '-' ("7960-7940"), as in CME
// (docs/cme-cli.md §Telephony-service).
func loadFor(loads []config.Load, phoneType string) string {
	if phoneType == "" {
		return ""
	}
	for _, l := range loads {
		for m := range strings.SplitSeq(l.Type, "-") {
			if modelIs(phoneType, m) {
				return l.Firmware
			}
		}
	}
	return ""
}

// stamp returns a content-derived version stamp for data (which must have
// been rendered with an empty stamp).
func stamp(data []byte) string {
	sum := sha256.Sum256(data)
	return "cmed-" + hex.EncodeToString(sum[:8])
}

// dateTemplate maps telephony-service date-format and time-format to the
// CUCM dateTemplate: the order of M, D and Y, then "a" for a 12-hour clock
// or "A" for 24 hours (docs/sccp.md §Device-config-file; both suffixes occur in public
// SEP*.cnf.xml files).
func dateTemplate(t *config.Telephony) string {
	order := "M/D/Y"
	clock := "a"
	if t != nil {
		switch t.DateFormat {
		case "dd-mm-yy":
			order = "D/M/Y"
		case "yy-dd-mm":
			order = "Y/D/M"
		case "yy-mm-dd":
			order = "Y/M/D"
		}
		if t.TimeFormat == 24 {
			clock = "A"
		}
	}
	return order + clock
}
