package sccp

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// Keys of dn.DeviceInfo.Extra set by a session at registration, so `show
// ephone` (docs/cme-cli.md §Phone-show-commands) needs no import of this package. Values are
// decimal numbers unless noted.
const (
	ExtraVersion      = "sccp.version"       // negotiated protocol version ("11")
	ExtraPhoneVersion = "sccp.phone_version" // the phone's maximum from Register ("22")
	ExtraDeviceType   = "sccp.device_type"   // Register device type ("7" for a 7960)
	ExtraModel        = "sccp.model"         // model table name ("7960"), "" when unknown
	ExtraIP           = "sccp.ip"            // station IP from Register ("10.4.188.99")
	ExtraPort         = "sccp.port"          // TCP source port of the session
	ExtraMaxStreams   = "sccp.max_streams"   // Register maxStreams
	ExtraMaxLines     = "sccp.max_lines"     // lines in the button template
	ExtraLoad         = "sccp.load"          // firmware load name, when the phone sent one
	ExtraKeepalive    = "sccp.keepalive"     // keepalive interval given in RegisterAck (s)
)

// SessionInfo is the live state of one registered phone.
type SessionInfo struct {
	DeviceName      string
	EphoneTag       int
	Model           string
	DeviceType      uint32
	Version         uint32 // negotiated
	PhoneVersion    uint32 // the phone's maximum
	Remote          netip.AddrPort
	StationIP       netip.Addr
	MaxStreams      uint32
	KeepaliveSec    int
	KeepAlives      uint64 // KeepAlive messages received, CME's "keepalive N"
	RegisteredAt    time.Time
	MaxLines        int // line buttons in the template
	AvailableLines  int // RegisterAvailableLines from the phone
	Provisioned     bool
	DND             bool
	ActiveCalls     int
	BLFSubscription int // accepted BLF subscriptions (speed dial + call list)
}

// ShowEphoneHeader renders the first three lines of CME's `show ephone`
// block for a registered phone (docs/cme-cli.md §Phone-show-commands); tag is the ephone tag and
// mac the dotted MAC ("000A.B7B1.444A").
func ShowEphoneHeader(si SessionInfo, mac string) string {
	model := si.Model
	if model == "" {
		model = "Unknown"
	}
	return fmt.Sprintf("ephone-%d[%d] Mac:%s TCP socket:[%d] activeLine:0 whisperLine:0 REGISTERED in SCCP ver %d/%d max_streams=%d\n"+
		"mediaActive:0 whisper_mediaActive:0 startMedia:0 offhook:0 ringing:0 reset:0 reset_sent:0 paging 0 debug:0 caps:8\n"+
		"IP:%s * %d %s  keepalive %d max_line %d available_line %d\n",
		si.EphoneTag, si.EphoneTag-1, mac, si.EphoneTag, si.PhoneVersion, si.Version, si.MaxStreams,
		si.StationIP, si.Remote.Port(), model, si.KeepAlives, si.MaxLines, si.AvailableLines)
}

func itoa[T ~uint32 | ~int | ~uint16 | ~uint8](v T) string { return strconv.FormatUint(uint64(v), 10) }
