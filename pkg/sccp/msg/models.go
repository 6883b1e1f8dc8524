package msg

import "strings"

// ModelFlags are per-model quirks that change what a server may send.
type ModelFlags uint32

const (
	// NoAlertingBLF: the phone does not render BLF status 4 (alerting); send
	// BLFInUse instead (wazo does this for 7940/7960, docs/sccp.md §Native-BLF).
	NoAlertingBLF ModelFlags = 1 << iota
	// NoCallListBLF: no BLF on call lists/directories (SubscriptionStatReq);
	// Cisco documents this for 7940/7960 (docs/sccp.md §Call-list-BLF).
	NoCallListBLF
	// NoSoftKeys: the phone has no softkeys and does not ask for templates.
	NoSoftKeys
	// StrictParser marks the Java-based loads (79x1/79x2/797x/69xx/89xx): an
	// unknown message id or a payload shorter than expected makes them drop
	// the session and re-register or reboot (docs/sccp.md §Field-reports).
	StrictParser
	// LegacyFirmware marks the 7940/7960 SCCP 8.x (P003…) behaviour seen on
	// the wire: header version 0 at v11, 12-byte Stimulus, 4-byte
	// FeatureStatReq, 68-byte Register (docs/sccp.md §Phone-versions, §Call-control, RS-FX).
	LegacyFirmware
)

// Model describes one phone model.
type Model struct {
	Name       string     // "7960"
	DeviceType DeviceType // Register.deviceType (docs/sccp.md §Device-types)
	Lines      int        // line appearances the phone can show
	Buttons    int        // programmable line/feature buttons on the base unit
	// FirmwareVersion is the highest protocol version the model's last SCCP
	// loads announce (docs/sccp.md §Phone-versions); 0 when unknown.
	FirmwareVersion uint32
	// MaxVersion is the version we negotiate at most with this model (see the
	// package documentation for why); the phone's own Register value still bounds it.
	MaxVersion uint32
	Flags      ModelFlags
	// NeverSend lists message ids the firmware does not know and resets on.
	NeverSend []MessageID
	// Template, when set, is the button template CUCM gives the model: its
	// line and speed-dial slots are filled from the configuration, its other
	// buttons (Hold, Select) are sent as they are (docs/sccp.md §Small-model-templates).
	Template []Button
}

// NativeBLFMinVersion is the lowest negotiated version that gets BLF speed
// dials as button type 0x15 with FeatureStatV2 0x146: v11, the SCCP 8.x
// loads wazo-libsccp drives that way. Below it a BLF speed dial is a plain
// speed dial without a lamp (docs/sccp.md §BLF-fallback).
const NativeBLFMinVersion = 11

// NativeBLF reports whether a phone of this model at negotiated version v
// gets native BLF speed dials (docs/sccp.md §BLF-fallback).
func (m Model) NativeBLF(v uint32) bool { return v >= NativeBLFMinVersion && m.Template == nil }

// template7912 is what CUCM 4.1 sent a 7912 (CAP, ButtonTemplateRes): Line 1,
// SpeedDial 1-4, Hold 1, Select 1 (docs/sccp.md §Small-model-templates).
var template7912 = []Button{{1, ButtonLine}, {1, ButtonSpeedDial}, {2, ButtonSpeedDial}, {3, ButtonSpeedDial},
	{4, ButtonSpeedDial}, {1, ButtonHold}, {1, ButtonSelect}}

// Has reports whether all flags f are set.
func (m Model) Has(f ModelFlags) bool { return m.Flags&f == f }

// MaySend reports whether id is safe to send to this model.
func (m Model) MaySend(id MessageID) bool {
	for _, n := range m.NeverSend {
		if n == id {
			return false
		}
	}
	return true
}

// NegotiateVersion returns the version to put in RegisterAck for a phone of
// this model announcing phoneMax: the smaller of the two, never below 3 (the
// minimum chan-sccp speaks; ATA 186/188 announce 33 and need 3, docs/sccp.md §Negotiation).
func (m Model) NegotiateVersion(phoneMax uint32) uint32 {
	v := phoneMax
	if m.MaxVersion != 0 {
		v = min(v, m.MaxVersion)
	}
	return max(v, 3)
}

// DefaultMaxVersion is the cap for models not in Models (docs/sccp.md §Checklist item 2).
const DefaultMaxVersion = 11

// javaNeverSend: ClearDisplay 0x9A reset a 7975 on 9.x (docs/sccp.md §Field-reports); the Java
// loads share one message table, so it is withheld from all of them (our inference).
var javaNeverSend = []MessageID{IDClearDisplay}

// sccp11NeverSend: 7911/7906 SCCP11 loads reset on id 0x57 (docs/sccp.md §Field-reports) as well.
var sccp11NeverSend = []MessageID{IDClearDisplay, 0x0057}

const java = StrictParser

// Models is the model table, keyed by device type (docs/sccp.md §Device-types). Line and
// button counts are the base unit without expansion modules.
var Models = []Model{
	{Name: "7960", DeviceType: 7, Lines: 6, Buttons: 6, FirmwareVersion: 11, MaxVersion: 11, Flags: NoAlertingBLF | NoCallListBLF | LegacyFirmware},
	{Name: "7940", DeviceType: 8, Lines: 2, Buttons: 2, FirmwareVersion: 11, MaxVersion: 11, Flags: NoAlertingBLF | NoCallListBLF | LegacyFirmware},
	{Name: "7910", DeviceType: 6, Lines: 1, Buttons: 1, MaxVersion: 11, Flags: NoSoftKeys | NoAlertingBLF | NoCallListBLF | LegacyFirmware},
	{Name: "7935", DeviceType: 9, Lines: 1, Buttons: 1, MaxVersion: 11},
	{Name: "7936", DeviceType: 30019, Lines: 1, Buttons: 1, MaxVersion: 11},
	{Name: "7937", DeviceType: 431, Lines: 1, Buttons: 1, MaxVersion: 11},
	{Name: "7905", DeviceType: 20000, Lines: 1, Buttons: 1, MaxVersion: 11},
	{Name: "7912", DeviceType: 30007, Lines: 1, Buttons: 7, MaxVersion: 11, Template: template7912},
	{Name: "7902", DeviceType: 30008, Lines: 1, Buttons: 1, MaxVersion: 11, Flags: NoSoftKeys},
	{Name: "7911", DeviceType: 307, Lines: 1, Buttons: 1, FirmwareVersion: 17, MaxVersion: 11, Flags: java, NeverSend: sccp11NeverSend},
	{Name: "7906", DeviceType: 369, Lines: 1, Buttons: 1, FirmwareVersion: 17, MaxVersion: 11, Flags: java, NeverSend: sccp11NeverSend},
	{Name: "7941", DeviceType: 115, Lines: 2, Buttons: 2, FirmwareVersion: 17, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7941G-GE", DeviceType: 309, Lines: 2, Buttons: 2, FirmwareVersion: 17, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7961", DeviceType: 30018, Lines: 6, Buttons: 6, FirmwareVersion: 22, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7961G-GE", DeviceType: 308, Lines: 6, Buttons: 6, FirmwareVersion: 22, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7942", DeviceType: 434, Lines: 2, Buttons: 2, FirmwareVersion: 22, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7962", DeviceType: 404, Lines: 6, Buttons: 6, FirmwareVersion: 22, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7945", DeviceType: 435, Lines: 2, Buttons: 2, FirmwareVersion: 22, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7965", DeviceType: 436, Lines: 6, Buttons: 6, FirmwareVersion: 22, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7970", DeviceType: 30006, Lines: 8, Buttons: 8, FirmwareVersion: 22, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7971", DeviceType: 119, Lines: 8, Buttons: 8, FirmwareVersion: 22, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7975", DeviceType: 437, Lines: 8, Buttons: 8, FirmwareVersion: 22, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7931", DeviceType: 348, Lines: 24, Buttons: 24, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7920", DeviceType: 30002, Lines: 6, Buttons: 6, MaxVersion: 11},
	{Name: "7921", DeviceType: 365, Lines: 6, Buttons: 6, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7925", DeviceType: 484, Lines: 6, Buttons: 6, FirmwareVersion: 16, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "7926", DeviceType: 577, Lines: 6, Buttons: 6, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "IPCommunicator", DeviceType: 30016, Lines: 8, Buttons: 8, MaxVersion: 11},
	{Name: "6901", DeviceType: 547, Lines: 1, Buttons: 1, FirmwareVersion: 20, MaxVersion: 11, Flags: java | NoSoftKeys, NeverSend: javaNeverSend},
	{Name: "6911", DeviceType: 548, Lines: 1, Buttons: 1, MaxVersion: 11, Flags: java | NoSoftKeys, NeverSend: javaNeverSend},
	{Name: "6921", DeviceType: 495, Lines: 2, Buttons: 2, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "6941", DeviceType: 496, Lines: 4, Buttons: 4, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "6945", DeviceType: 564, Lines: 4, Buttons: 4, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "6961", DeviceType: 497, Lines: 12, Buttons: 12, FirmwareVersion: 15, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "8941", DeviceType: 586, Lines: 4, Buttons: 4, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "8945", DeviceType: 585, Lines: 4, Buttons: 4, FirmwareVersion: 22, MaxVersion: 11, Flags: java, NeverSend: javaNeverSend},
	{Name: "ATA186", DeviceType: 12, Lines: 2, Buttons: 2, MaxVersion: 3, Flags: NoSoftKeys},
	{Name: "ATA188", DeviceType: 13, Lines: 2, Buttons: 2, MaxVersion: 3, Flags: NoSoftKeys},
}

// ModelByDeviceType finds a model by its Register device type.
func ModelByDeviceType(t uint32) (Model, bool) {
	for _, m := range Models {
		if uint32(m.DeviceType) == t {
			return m, true
		}
	}
	return Model{}, false
}

// ModelByName finds a model by name, accepting "7960", "7960G", "CP-7960G",
// "cp-7960g" and "SCCP7960".
func ModelByName(name string) (Model, bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, "CISCO")
	n = strings.TrimSpace(n)
	n = strings.TrimPrefix(n, "CP-")
	n = strings.TrimPrefix(n, "SCCP")
	for _, m := range Models {
		u := strings.ToUpper(m.Name)
		if n == u || n == u+"G" {
			return m, true
		}
	}
	return Model{}, false
}
