package phonecfg

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/cmed-project/cmed/pkg/config"
)

// Element layouts follow docs/sccp.md §Device-config-file (SCCP device file),
// §XMLDefault (XMLDefault.cnf.xml) and, for SIP 79x1/79x2 profiles, public sample
// files for SIP42/SIP41 loads (NamoDev/Cisco-IP-Phone-Provisioning-Files
// 7942.cnf.xml): sipProfile/sipLines/line[@button] with featureID 9 for a
// line, 2 for a speed dial and 21 for a BLF speed dial (speedDialNumber,
// featureLabel).

type member struct {
	Priority    int    `xml:"priority,attr"`
	PhonePort   int    `xml:"callManager>ports>ethernetPhonePort,omitempty"`
	SIPPort     int    `xml:"callManager>ports>sipPort,omitempty"`
	ProcessNode string `xml:"callManager>processNodeName"`
}

type callManagerGroup struct {
	Members []member `xml:"members>member"`
}

type dateTimeSetting struct {
	Name         string `xml:"name"`
	DateTemplate string `xml:"dateTemplate"`
	TimeZone     string `xml:"timeZone"`
}

type srstInfo struct {
	Name           string `xml:"name"`
	SRSTOption     string `xml:"srstOption"`
	UserModifiable bool   `xml:"userModifiable"`
	IsSecure       bool   `xml:"isSecure"`
}

type devicePool struct {
	DateTimeSetting           dateTimeSetting  `xml:"dateTimeSetting"`
	CallManagerGroup          callManagerGroup `xml:"callManagerGroup"`
	SRSTInfo                  *srstInfo        `xml:"srstInfo,omitempty"`
	ConnectionMonitorDuration int              `xml:"connectionMonitorDuration,omitempty"`
}

type commonProfile struct {
	PhonePassword         string `xml:"phonePassword"`
	BackgroundImageAccess bool   `xml:"backgroundImageAccess"`
	// CallLogBlfEnabled is 2 when call-list BLF is on (docs/sccp.md §Call-list-BLF:
	// the chan-sccp annotated template uses 2); omitted otherwise.
	CallLogBlfEnabled int `xml:"callLogBlfEnabled,omitempty"`
}

type userLocale struct {
	Name string `xml:"name"`
}

// sccpDeviceXML is SEP<MAC>.cnf.xml for an SCCP phone. Lines, speed dials
// and BLF buttons are not here: SCCP phones get them over SCCP
// (docs/sccp.md §Device-config-file).
type sccpDeviceXML struct {
	XMLName            xml.Name      `xml:"device"`
	FullConfig         bool          `xml:"fullConfig"`
	DeviceProtocol     string        `xml:"deviceProtocol"`
	DevicePool         devicePool    `xml:"devicePool"`
	CommonProfile      commonProfile `xml:"commonProfile"`
	LoadInformation    string        `xml:"loadInformation"`
	VersionStamp       string        `xml:"versionStamp"`
	UserLocale         userLocale    `xml:"userLocale"`
	NetworkLocale      string        `xml:"networkLocale"`
	DeviceSecurityMode int           `xml:"deviceSecurityMode"`
	IdleTimeout        int           `xml:"idleTimeout"`
	AuthenticationURL  string        `xml:"authenticationURL"`
	DirectoryURL       string        `xml:"directoryURL"`
	IdleURL            string        `xml:"idleURL"`
	InformationURL     string        `xml:"informationURL"`
	MessagesURL        string        `xml:"messagesURL"`
	ProxyServerURL     string        `xml:"proxyServerURL"`
	ServicesURL        string        `xml:"servicesURL"`
}

// render marshals v with the XML declaration; the version stamp is filled
// in by the caller's setStamp, from the rendering with an empty stamp.
func render(v any, setStamp func(string), fixed string) ([]byte, error) {
	marshal := func() ([]byte, error) {
		var buf bytes.Buffer
		buf.WriteString(xml.Header)
		enc := xml.NewEncoder(&buf)
		enc.Indent("", "  ")
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		buf.WriteByte('\n')
		return buf.Bytes(), nil
	}
	if setStamp == nil {
		return marshal()
	}
	if fixed != "" {
		setStamp(fixed)
		return marshal()
	}
	setStamp("")
	first, err := marshal()
	if err != nil {
		return nil, err
	}
	setStamp(stamp(first))
	return marshal()
}

// noSRST stops phones from opening SRST connections to a fallback router
// that does not exist (docs/sccp.md §Device-config-file, §Field-reports).
func noSRST() *srstInfo {
	return &srstInfo{Name: "Disable", SRSTOption: "Disable"}
}

func sccpDevice(cfg *config.Config, e *config.Ephone, addr string, port int, opts Options) ([]byte, error) {
	d := &sccpDeviceXML{
		FullConfig:     true,
		DeviceProtocol: "SCCP",
		DevicePool: devicePool{
			DateTimeSetting: dateTimeSetting{
				Name:         "CMEDateTime",
				DateTemplate: dateTemplate(cfg.Telephony),
				TimeZone:     opts.TimeZone,
			},
			CallManagerGroup: callManagerGroup{Members: []member{{Priority: 0, PhonePort: port, ProcessNode: addr}}},
			SRSTInfo:         noSRST(),
			// Seconds before failing back to a higher-priority CM; the
			// CUCM 4.1 file uses 120 (docs/sccp.md §Device-config-file).
			ConnectionMonitorDuration: 120,
		},
		CommonProfile: commonProfile{
			PhonePassword:         "",
			BackgroundImageAccess: true,
		},
		LoadInformation:    loadFor(cfg.Telephony.Loads, e.Type),
		UserLocale:         userLocale{Name: opts.UserLocale},
		NetworkLocale:      opts.NetworkLocale,
		DeviceSecurityMode: 1, // non-secure: CTL/ITL not required (docs/sccp.md §Device-config-file)
	}
	if cfg.PresenceCallListFor(e.PresenceCallList) {
		d.CommonProfile.CallLogBlfEnabled = 2
	}
	return render(d, func(s string) { d.VersionStamp = s }, opts.VersionStamp)
}

// deviceTypes maps model names to the SCCP device type numbers used in
// XMLDefault.cnf.xml's loadInformation<N> elements (docs/sccp.md §Device-types, §XMLDefault).
var deviceTypes = map[string]int{
	"7902": 30008, "7905": 20000, "7906": 369, "7910": 6, "7911": 307, "7912": 30007,
	"7920": 30002, "7921": 365, "7925": 484, "7926": 577, "7931": 348, "7935": 9,
	"7936": 30019, "7937": 431, "7940": 8, "7941": 115, "7941GE": 309, "7942": 434,
	"7945": 435, "7960": 7, "7961": 30018, "7961GE": 308, "7962": 404, "7965": 436,
	"7970": 30006, "7971": 119, "7975": 437,
}

// xmlDefaultDoc is XMLDefault.cnf.xml: the file phones without their own
// SEP<MAC>.cnf.xml use (docs/sccp.md §XMLDefault). Load elements are written by hand because
// their names carry the device type number.
func xmlDefault(t *config.Telephony, addr string, port int) ([]byte, error) {
	type loadElem struct {
		XMLName xml.Name
		Model   string `xml:"model,attr"`
		Image   string `xml:",chardata"`
	}
	type doc struct {
		XMLName          xml.Name         `xml:"Default"`
		CallManagerGroup callManagerGroup `xml:"callManagerGroup"`
		Loads            []loadElem
	}
	d := doc{CallManagerGroup: callManagerGroup{Members: []member{{Priority: 0, PhonePort: port, ProcessNode: addr}}}}
	seen := map[int]bool{}
	for _, l := range t.Loads {
		for m := range strings.SplitSeq(l.Type, "-") {
			m = strings.ToUpper(m)
			n, ok := deviceTypes[m]
			if !ok || seen[n] {
				continue
			}
			seen[n] = true
			d.Loads = append(d.Loads, loadElem{
				XMLName: xml.Name{Local: "loadInformation" + strconv.Itoa(n)},
				Model:   "IP Phone " + m,
				Image:   l.Firmware,
			})
		}
	}
	return render(&d, nil, "")
}

// ringList is RINGLIST.XML (CiscoIPPhoneRingList of Ring{DisplayName,
// FileName}), read by the phone's ring-type menu.
func ringList(rings []Ring) []byte {
	type ring struct {
		DisplayName string `xml:"DisplayName"`
		FileName    string `xml:"FileName"`
	}
	type doc struct {
		XMLName xml.Name `xml:"CiscoIPPhoneRingList"`
		Rings   []ring   `xml:"Ring"`
	}
	var d doc
	for _, r := range rings {
		d.Rings = append(d.Rings, ring(r))
	}
	b, err := render(&d, nil, "")
	if err != nil {
		panic("phonecfg: ring list: " + err.Error()) // only strings: cannot fail
	}
	return b
}

// legacyCnf is the text SEPDEFAULT.cnf / SEP<MAC>.cnf: the CME command
// reference documents only that it holds the router address the phone
// registers to (docs/sccp.md §Legacy-cnf), so that is its whole content.
func legacyCnf(addr string) []byte {
	return []byte(addr + "\n")
}
