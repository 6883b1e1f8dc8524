package phonecfg

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"slices"

	"github.com/cmed-project/cmed/pkg/config"
)

// Feature IDs of sipLines/line buttons in 79x1/79x2 SIP profiles (public
// SEP*.cnf.xml samples for SIP41/SIP42 loads; BLF speed dial 21 is what the
// firmware needs to show a BLF lamp instead of a plain speed dial).
const (
	featureSpeedDial    = 2
	featureLine         = 9
	featureBLFSpeedDial = 21
)

type sipLine struct {
	Button          int    `xml:"button,attr"`
	LineIndex       int    `xml:"lineIndex,attr,omitempty"`
	FeatureID       int    `xml:"featureID"`
	FeatureLabel    string `xml:"featureLabel"`
	Proxy           string `xml:"proxy,omitempty"`
	Port            int    `xml:"port,omitempty"`
	Name            string `xml:"name,omitempty"`
	DisplayName     string `xml:"displayName,omitempty"`
	AuthName        string `xml:"authName,omitempty"`
	AuthPassword    string `xml:"authPassword,omitempty"`
	Contact         string `xml:"contact,omitempty"`
	SpeedDialNumber string `xml:"speedDialNumber,omitempty"`
}

type sipProxies struct {
	RegisterWithProxy bool `xml:"registerWithProxy"`
}

type sipStack struct {
	TimerRegisterExpires  int  `xml:"timerRegisterExpires"`
	TimerSubscribeExpires int  `xml:"timerSubscribeExpires"`
	RemotePartyID         bool `xml:"remotePartyID"`
}

type sipProfile struct {
	SIPProxies     sipProxies `xml:"sipProxies"`
	SIPStack       sipStack   `xml:"sipStack"`
	PreferredCodec string     `xml:"preferredCodec"`
	DTMFAvtPayload int        `xml:"dtmfAvtPayload"`
	DTMFOutofBand  string     `xml:"dtmfOutofBand"`
	// KPML 3 enables both KPML signalling and dial-via-KPML.
	KPML            int       `xml:"kpml"`
	PhoneLabel      string    `xml:"phoneLabel"`
	SIPLines        []sipLine `xml:"sipLines>line"`
	VoIPControlPort int       `xml:"voipControlPort"`
}

type sipDeviceXML struct {
	XMLName            xml.Name      `xml:"device"`
	FullConfig         bool          `xml:"fullConfig"`
	DeviceProtocol     string        `xml:"deviceProtocol"`
	DevicePool         devicePool    `xml:"devicePool"`
	SIPProfile         sipProfile    `xml:"sipProfile"`
	CommonProfile      commonProfile `xml:"commonProfile"`
	LoadInformation    string        `xml:"loadInformation"`
	VersionStamp       string        `xml:"versionStamp"`
	UserLocale         userLocale    `xml:"userLocale"`
	NetworkLocale      string        `xml:"networkLocale"`
	DeviceSecurityMode int           `xml:"deviceSecurityMode"`
	// TransportLayerProtocol 2 is UDP (the 7942 sample).
	TransportLayerProtocol int `xml:"transportLayerProtocol"`
}

// noCnfXML are the SIP phone models whose SIP firmware never reads
// SEP<MAC>.cnf.xml: the 7940/7960 SIP loads (P0S3-8-x) take their lines
// and credentials from SIP<MAC>.cnf, the 7905/7912 from ld<MAC>.txt
// (docs/security.md §Phone-files). Their profile still gets generated
// (CME does too), but without the password, which would only be exposed.
var noCnfXML = []string{"7940", "7960", "7905", "7912"}

// needsPassword reports whether phone type reads its SIP credentials from
// SEP<MAC>.cnf.xml: every SIP load that reads that file (79x1, 79x2,
// 79x5, 89xx, 99xx) has no other source for the digest password, so an
// unknown or empty type is assumed to need it.
func needsPassword(phoneType string) bool {
	for _, m := range noCnfXML {
		if modelIs(phoneType, m) {
			return false
		}
	}
	return true
}

// sipDevice is SEP<MAC>.cnf.xml for a SIP voice register pool (`create
// profile`): line buttons first (one per `number N dn T`, in tag order),
// then BLF speed dials, then speed dials, each in tag order. withPassword
// reports whether the file carries the pool's password.
func sipDevice(cfg *config.Config, p *config.VoiceRegisterPool, addr string, port int, opts Options) (_ []byte, withPassword bool, _ error) {
	d := &sipDeviceXML{
		FullConfig:     true,
		DeviceProtocol: "SIP",
		DevicePool: devicePool{
			DateTimeSetting: dateTimeSetting{
				Name:         "CMEDateTime",
				DateTemplate: dateTemplate(cfg.Telephony),
				TimeZone:     opts.TimeZone,
			},
			CallManagerGroup: callManagerGroup{Members: []member{{Priority: 0, SIPPort: port, ProcessNode: addr}}},
		},
		SIPProfile: sipProfile{
			SIPProxies: sipProxies{RegisterWithProxy: true},
			SIPStack: sipStack{
				TimerRegisterExpires:  registerExpires(cfg.VoiceService),
				TimerSubscribeExpires: 3600,
				RemotePartyID:         true,
			},
			PreferredCodec:  "g711ulaw",
			DTMFAvtPayload:  101,
			DTMFOutofBand:   "avt",
			KPML:            3,
			VoIPControlPort: 5060,
		},
		CommonProfile:          commonProfile{BackgroundImageAccess: true},
		LoadInformation:        loadFor(cfg.VoiceRegisterGlobal.Loads, p.Type),
		UserLocale:             userLocale{Name: opts.UserLocale},
		NetworkLocale:          opts.NetworkLocale,
		DeviceSecurityMode:     1,
		TransportLayerProtocol: 2,
	}
	if cfg.PresenceCallListFor(p.PresenceCallList) {
		d.CommonProfile.CallLogBlfEnabled = 2
	}

	password := ""
	if needsPassword(p.Type) {
		password = p.Password
	}
	numbers := slices.SortedFunc(slices.Values(p.Numbers), func(a, b config.PoolNumber) int { return cmp.Compare(a.Tag, b.Tag) })
	button := 0
	for i, n := range numbers {
		dn := cfg.VoiceRegisterDNByTag(n.DN)
		if dn == nil {
			return nil, false, fmt.Errorf("number %d: voice register dn %d is not configured", n.Tag, n.DN)
		}
		button++
		authName := cmp.Or(p.Username, dn.Number)
		d.SIPProfile.SIPLines = append(d.SIPProfile.SIPLines, sipLine{
			Button:       button,
			LineIndex:    i + 1,
			FeatureID:    featureLine,
			FeatureLabel: cmp.Or(dn.Label, dn.Number),
			Proxy:        addr,
			Port:         port,
			Name:         dn.Number,
			DisplayName:  cmp.Or(dn.Name, dn.Number),
			AuthName:     authName,
			AuthPassword: password,
			Contact:      dn.Number,
		})
		if i == 0 {
			d.SIPProfile.PhoneLabel = cmp.Or(dn.Label, dn.Number)
		}
	}
	blfs := slices.SortedFunc(slices.Values(p.BLFSpeedDials), func(a, b config.BLFSpeedDial) int { return cmp.Compare(a.Tag, b.Tag) })
	for _, b := range blfs {
		button++
		d.SIPProfile.SIPLines = append(d.SIPProfile.SIPLines, sipLine{
			Button:          button,
			FeatureID:       featureBLFSpeedDial,
			FeatureLabel:    cmp.Or(b.Label, b.Number),
			SpeedDialNumber: b.Number,
		})
	}
	sds := slices.SortedFunc(slices.Values(p.SpeedDials), func(a, b config.SpeedDial) int { return cmp.Compare(a.Tag, b.Tag) })
	for _, s := range sds {
		button++
		d.SIPProfile.SIPLines = append(d.SIPProfile.SIPLines, sipLine{
			Button:          button,
			FeatureID:       featureSpeedDial,
			FeatureLabel:    cmp.Or(s.Label, s.Number),
			SpeedDialNumber: s.Number,
		})
	}
	b, err := render(d, func(s string) { d.VersionStamp = s }, opts.VersionStamp)
	return b, password != "" && len(numbers) > 0, err
}

// registerExpires is the REGISTER expiry the phone asks for: the registrar's
// maximum when configured, else CME's default 3600 (docs/cme-cli.md §Voice-register).
func registerExpires(vs *config.VoiceService) int {
	if vs != nil && vs.RegistrarExpiresMax > 0 {
		return vs.RegistrarExpiresMax
	}
	return 3600
}
