// Package config is cmed's typed configuration model: the IOS-style
// startup-config parsed into plain values.
//
// A *Config is an immutable snapshot once it has been handed to the rest of
// the daemon: every change (a CLI command, a reload) builds a new snapshot with
// Clone and swaps it in. The core packages (dialplan, dn, blf) read snapshots;
// they never mutate them.
//
// Slices are kept sorted by tag so that rendering and diffing are
// deterministic. Zero values mean "not configured" unless a field says
// otherwise; CME defaults are applied by the accessor methods, not stored, so
// that `show running-config` prints only what the operator typed.
package config

// Config is one complete configuration snapshot.
type Config struct {
	Hostname string // "Router" when empty
	// EnableSecret and User.Secret hold the hashed form ("$8$SALT$HASH",
	// see secret.go); Parse hashes a secret typed in clear.
	EnableSecret string
	Users        []User

	Services Services // listeners that are not SCCP or SIP (HTTP, SSH, TFTP)

	Telephony         *Telephony      // nil: no `telephony-service`
	EphoneTemplates   []PhoneTemplate // `ephone-template N`
	EphoneDNTemplates []EphoneDNTemplate
	EphoneDNs         []EphoneDN
	Ephones           []Ephone
	EphoneHunts       []HuntGroup // `ephone-hunt N KIND`
	VoiceHuntGroups   []HuntGroup // `voice hunt-group N KIND`
	VoiceClassCodecs  []VoiceClassCodec

	VoiceService           *VoiceService // `voice service voip`
	VoiceRegisterGlobal    *VoiceRegisterGlobal
	VoiceRegisterTemplates []PhoneTemplate // `voice register template N`
	VoiceRegisterDNs       []VoiceRegisterDN
	VoiceRegisterPools     []VoiceRegisterPool

	SIPUA    *SIPUA    // nil: no `sip-ua` section
	Presence *Presence // nil: presence service disabled (`no presence`)

	DialPeers           []DialPeer
	TranslationRules    []TranslationRule
	TranslationProfiles []TranslationProfile

	// Unmodelled are the top-level lines of a loaded running-config that
	// cmed does not model (interfaces, routing, voice-ports, line, banners
	// ...), kept verbatim so that show running-config gives them back.
	// Unknown sub-commands of modelled sections are kept in that
	// section's Extra instead. See parse.go for the rules.
	Unmodelled []Block

	// ApplicationDialRules and DirectoryLookupRules are cmed's
	// `dial-rule application` and `dial-rule directory-lookup` (cmedext.go),
	// sorted by tag.
	ApplicationDialRules []DialRule
	DirectoryLookupRules []DialRule

	// LoginBlock is `login block-for` (security.go).
	LoginBlock LoginBlock

	// Source records where Parse found each section and command, so that
	// Validate can name config lines. It is bookkeeping, not configuration:
	// compare configs with cmpopts.IgnoreFields(Config{}, "Source"). A
	// Config built in code has none.
	Source *Source
}

// Block is a run of consecutive unmodelled top-level lines with their
// indented children, verbatim. "!" entries are the separator lines that
// stood between them.
type Block struct {
	// After is the key of the modelled section the block followed in the
	// file ("" at the beginning): show running-config prints the block
	// right after that section (see RenderKeys for the keys).
	After string
	Lines []string
}

// User is `username NAME privilege N secret S`.
type User struct {
	Name      string
	Privilege int // 0..15; 1 when not given
	Secret    string
}

// Listener is one TCP/UDP listener's address. Port 0 asks the kernel for a
// free port, which is what tests use.
type Listener struct {
	Enabled bool
	Address string // "" means all addresses
	Port    int
}

// Services are the router's own listeners besides SCCP (telephony-service
// ip source-address) and SIP (voice register global source-address).
type Services struct {
	HTTP Listener // ip http server / ip http address A port P
	SSH  Listener // ip ssh server / ip ssh address A port P
	// Telnet is off unless configured (`ip telnet server`, `ip telnet
	// address A port P`): it sends passwords in clear.
	Telnet Listener
	TFTP   Listener // tftp-server address A port P

	// HTTPPprof serves Go's /debug/pprof on the HTTP listener, to loopback
	// clients only (`ip http pprof`, a cmed extension: cmedext.go).
	HTTPPprof bool

	// TFTPRoot is the directory firmware and other static files are served
	// from (`tftp-server directory PATH`).
	TFTPRoot string
	// TFTPFiles are single files published as `tftp-server flash:NAME`.
	TFTPFiles []string
	// TFTPAliases are the `alias NAME` parts of those lines: the name a
	// phone asks for, by file.
	TFTPAliases []TFTPAlias

	// Limits are per-source resource caps (`limit ...` lines); zero
	// means the built-in default.
	Limits Limits
}

// TFTPAlias is `tftp-server flash:FILE alias NAME`.
type TFTPAlias struct {
	File  string
	Alias string
}

// Load is `load <phone-type> <firmware>`.
type Load struct {
	Type     string
	Firmware string
}

// DialplanPattern is `dialplan-pattern TAG PATTERN extension-length N [extension-pattern P] [no-reg]`.
type DialplanPattern struct {
	Tag              int
	Pattern          string
	ExtensionLength  int
	ExtensionPattern string
	NoReg            bool
}

// Telephony is the `telephony-service` section (the SCCP system).
type Telephony struct {
	MaxEphones    int
	MaxDN         int
	SourceAddress string // ip source-address A
	// Port is `port P`. Parse stores 2000 (CME's default) when the port is
	// not typed, so 0 always means "any free port" (tests use it).
	Port int
	// SourceSecondary is `ip source-address A port P secondary B`: the
	// backup CME phones fail over to.
	SourceSecondary string
	// SourceMatch is "any-match" or "strict-match" when typed.
	SourceMatch string
	// NoAutoRegEphone is `no auto-reg-ephone`: phones without an ephone
	// section are refused instead of auto-registered.
	NoAutoRegEphone bool
	// DirectedPickup is `service directed-pickup`.
	DirectedPickup bool
	// FACStandard is `fac standard` (the standard feature access codes).
	FACStandard bool
	// ConferenceHardware is `conference hardware` (DSP-farm conferences).
	ConferenceHardware bool
	Keepalive          int // seconds; CME default 30
	CreateCnfFiles     bool
	// CnfVersionStamp is the text after `create cnf-files version-stamp`,
	// which show running-config prints (docs/cme-cli.md §Telephony-service).
	CnfVersionStamp    string
	Loads              []Load
	SystemMessage      string
	TimeFormat         int    // 12 or 24; 0 = default (12)
	DateFormat         string // dd-mm-yy | mm-dd-yy | yy-dd-mm | yy-mm-dd; "" = mm-dd-yy
	DialplanPatterns   []DialplanPattern
	Voicemail          string
	TimeoutsRinging    int // seconds; 0 = default 180
	TimeoutsInterdigit int // seconds; 0 = default 10
	TransferSystem     string
	TransferPattern    string
	CallForwardPattern string
	MaxConferences     int
	MaxConferencesGain int
	// Extra keeps accepted-but-unmodelled subcommands verbatim, in order,
	// so they round-trip through show running-config.
	Extra []string
}

// LineMode is the number of simultaneous calls an ephone-dn carries.
type LineMode int

const (
	SingleLine LineMode = iota // 1 call
	DualLine                   // 2 calls
	OctoLine                   // 8 calls
)

// Calls is how many calls a DN of this mode can carry.
func (m LineMode) Calls() int {
	switch m {
	case DualLine:
		return 2
	case OctoLine:
		return 8
	}
	return 1
}

// CallForward is the forwarding configured on a DN.
type CallForward struct {
	All             string // CFA target
	Busy            string // CFB target
	NoAnswer        string // CFNA target
	NoAnswerTimeout int    // seconds
	NightService    string
}

// EphoneDN is `ephone-dn TAG [dual-line|octo-line]`.
type EphoneDN struct {
	Tag       int
	Mode      LineMode
	Number    string
	Secondary string
	// NoReg is the `no-reg` part of `number`: "" (not typed), "secondary"
	// (bare `no-reg`), "both" or "primary" - which numbers are not
	// registered with a gatekeeper or SIP proxy.
	NoReg       string
	Name        string
	Label       string
	Description string
	// AllowWatch is `allow watch`. A template may also set it; use
	// Config.DNAllowWatch for the effective value.
	AllowWatch  bool
	CallForward CallForward
	// NoHuntstop is `no huntstop` (ephone-dn default is huntstop on).
	NoHuntstop bool
	// HuntstopChannel is `huntstop channel [N]`: -1 without N, else the
	// number of channels kept free for outgoing calls; 0 = not typed.
	HuntstopChannel       int
	Preference            int
	PreferenceSecondary   int // `preference N secondary M`; 0 = not typed
	Template              int // ephone-dn-template TAG, 0 = none
	TranslationProfileIn  string
	TranslationProfileOut string
	PickupGroup           string    // `pickup-group N`; a template may set it too
	ParkSlot              *ParkSlot // nil: not a call-park slot
	Extra                 []string
}

// ParkSlot is `park-slot [reserved-for DN] [timeout S limit N [notify DN
// [only]] [recall] [transfer DN] [alternate DN] [retry S limit N]]`.
type ParkSlot struct {
	Directed    bool
	ReservedFor string
	Timeout     int // seconds between reminder rings; 0 = not typed
	Limit       int
	Notify      string
	NotifyOnly  bool
	Recall      bool
	Transfer    string
	Alternate   string
	Retry       int
	RetryLimit  int
}

// HuntGroup is an `ephone-hunt` or a `voice hunt-group`.
type HuntGroup struct {
	Tag int
	// Kind is sequential, peer, longest-idle or parallel (voice
	// hunt-group only).
	Kind           string
	Pilot          string
	PilotSecondary string
	List           []string // member numbers in hunt order; "*" = any agent (ephone-hunt)
	Final          string
	Hops           int   // 0 = not typed (every member)
	Timeout        []int // ring time per member in seconds; one value = all
	Preference     int
	// NoReg is ephone-hunt `no-reg [both|pilot]`: "", "secondary",
	// "both" or "pilot".
	NoReg       string
	Description string
	Name        string
	Extra       []string
}

// Softkeys is one `softkeys STATE KEY...` line of a phone template.
type Softkeys struct {
	State string // idle, seized, alerting, connected, hold, remote-in-use, ringing, ...
	Keys  []string
}

// PhoneTemplate is an `ephone-template N` or a `voice register template
// N`: settings several phones share; a phone's own command wins.
type PhoneTemplate struct {
	Tag             int
	Softkeys        []Softkeys // in state order as typed
	ButtonLayout    []string   // `button-layout ...` arguments, as typed
	FeaturesBlocked []string   // `features blocked KEY...`
	PrivacyButton   bool
	Extra           []string
}

// VoiceClassCodec is `voice class codec N` with its codec preferences.
type VoiceClassCodec struct {
	Tag         int
	Preferences []CodecPreference
	Extra       []string
}

// CodecPreference is `codec preference N CODEC [bytes B]`.
type CodecPreference struct {
	Index int
	Codec string
	Bytes int
}

// EphoneDNTemplate is `ephone-dn-template TAG`.
type EphoneDNTemplate struct {
	Tag         int
	AllowWatch  bool
	CallForward CallForward
	Description string
	NoHuntstop  bool
	PickupGroup string
	Extra       []string
}

// ButtonMode is the separator in `button 1:10 2b11 ...`.
type ButtonMode byte

const (
	ButtonNormal    ButtonMode = ':'
	ButtonBeep      ButtonMode = 'b'
	ButtonFeature   ButtonMode = 'f'
	ButtonSilent    ButtonMode = 's'
	ButtonMonitor   ButtonMode = 'm'
	ButtonWatch     ButtonMode = 'w'
	ButtonOverlay   ButtonMode = 'o'
	ButtonOverlayCW ButtonMode = 'c'
	ButtonExpand    ButtonMode = 'x'
)

// Button is one entry of an ephone `button` command.
type Button struct {
	Index int        // physical button, 1-based
	Mode  ButtonMode // separator
	DNs   []int      // ephone-dn tags; overlay buttons list several
	// ExpandOf is the overlay button this one takes overflow for (mode 'x').
	ExpandOf int
}

// SpeedDial is `speed-dial TAG NUMBER [label TEXT]`.
type SpeedDial struct {
	Tag    int
	Number string
	Label  string
}

// BLFSpeedDial is `blf-speed-dial TAG NUMBER label TEXT [device]`.
type BLFSpeedDial struct {
	Tag    int
	Number string
	Label  string
	Device bool // monitor the phone whose primary line is Number
}

// Ephone is `ephone TAG`, an SCCP phone.
type Ephone struct {
	Tag              int
	MAC              string // normalised "0012.7F57.62A5"
	Type             string // "7960", "7965", ...
	TypeAddon        string // `type T addon 1 7914 ...`: the text after addon
	Buttons          []Button
	SpeedDials       []SpeedDial
	BLFSpeedDials    []BLFSpeedDial
	PresenceCallList bool
	Username         string
	Password         string
	// PasswordType is the encryption type typed before the password
	// (`username U password 0 P`): "", "0" (clear) or "6" (encrypted).
	PasswordType  string
	Description   string
	Keepalive     int // 0 = telephony-service keepalive
	Template      int // `ephone-template N`; 0 = none
	PrivacyButton bool
	// NoDNDFeatureRing is `no dnd feature-ring`. CME's default is
	// `dnd feature-ring` enabled: see docs/cme-cli.md §Ephone and docs/cme-behaviour.md §DND.
	NoDNDFeatureRing bool
	DNDMode          DNDMode // cmed's `dnd-mode` (cmedext.go)
	Extra            []string
}

// VoiceService is `voice service voip` with its `sip` submode.
type VoiceService struct {
	AllowConnections    []string // e.g. "sip to sip"
	RegistrarExpiresMax int      // sip / registrar server expires max N
	RegistrarExpiresMin int
	Extra               []string

	SIP             bool     // the `sip` submode is present
	RegistrarServer bool     // sip / registrar server [...]
	SIPExtra        []string // accepted-but-unmodelled `sip` submode lines
}

// Credential is `authenticate credential TAG LOCATION`.
type Credential struct {
	Tag      int
	Location string
}

// VoiceRegisterGlobal is `voice register global`.
type VoiceRegisterGlobal struct {
	Mode          string // "cme", "cme-app", "esrst"
	SourceAddress string
	// Port: Parse stores 5060 when `port` is not typed; 0 = any free port.
	Port                 int
	MaxDN                int
	MaxPool              int
	AuthenticateRegister bool
	AuthenticatePresence bool
	AuthenticateRealm    string
	Credentials          []Credential
	CreateProfile        bool
	ProfileSync          string // create profile sync X (show run form)
	Loads                []Load
	Extra                []string
}

// VoiceRegisterDN is `voice register dn TAG`.
type VoiceRegisterDN struct {
	Tag         int
	Number      string
	Name        string
	Label       string
	AllowWatch  bool
	CallForward CallForward // call-forward b2bua ...
	Huntstop    bool        // voice register dn default: hunting enabled
	Preference  int
	Extra       []string
}

// PoolNumber is `number TAG dn DNTAG` in a voice register pool.
type PoolNumber struct {
	Tag int
	DN  int
}

// VoiceRegisterPool is `voice register pool TAG`, a SIP phone.
type VoiceRegisterPool struct {
	Tag              int
	MAC              string // id mac H.H.H
	Type             string
	Numbers          []PoolNumber
	Username         string
	Password         string
	PasswordType     string // as Ephone.PasswordType
	Template         int    // `template N` (voice register template); 0 = none
	SpeedDials       []SpeedDial
	BLFSpeedDials    []BLFSpeedDial
	PresenceCallList bool
	DTMFRelay        []string
	DND              bool
	DNDMode          DNDMode // cmed's `dnd-mode` (cmedext.go)
	Description      string
	Extra            []string
}

// SIPUA is the `sip-ua` section.
type SIPUA struct {
	PresenceEnable bool
	AuthUsername   string
	AuthPassword   string
	Extra          []string
}

// Presence is the `presence` section; non-nil means the service is on.
type Presence struct {
	MaxSubscription int  // 0 = default 100
	CallList        bool // presence call-list (all phones)
	WatcherAll      bool
	AllowSubscribe  bool
	Server          string
	// BLFRetryInterval and BLFRetryLimit are
	// `sccp blf-speed-dial retry-interval S limit N`; 0 = defaults 60/10.
	BLFRetryInterval int
	BLFRetryLimit    int
	Extra            []string
}

// DialPeer is `dial-peer voice TAG voip|pots`.
type DialPeer struct {
	Tag                   int
	Kind                  string // "voip" or "pots"
	Description           string
	DestinationPattern    string
	SessionProtocol       string // "sipv2"
	SessionTarget         string // "ipv4:A[:P]" as typed
	Preference            int
	DTMFRelay             []string
	TranslationProfileIn  string
	TranslationProfileOut string
	VoiceClassCodec       int // `voice-class codec N`; 0 = none
	Extra                 []string
}

// TranslationRule is `voice translation-rule N` with its rules.
type TranslationRule struct {
	Tag   int
	Rules []TranslationRuleLine
	Extra []string
}

// TranslationRuleLine is `rule N /match/ /replace/`.
type TranslationRuleLine struct {
	Index   int
	Match   string
	Replace string
}

// TranslationProfile is `voice translation-profile NAME`.
type TranslationProfile struct {
	Name           string
	Called         int // translate called RULE
	Calling        int
	RedirectCalled int
	Extra          []string
}

// Limits bound what one peer can make the daemon do. They are cmed's own
// commands (CME has no equivalent); zero means the built-in default.
type Limits struct {
	SCCPConnectionsPerSource int // limit sccp connections-per-source N (default 64)
	TFTPTransfersPerSource   int // limit tftp transfers-per-source N (default 8)
	TFTPTransfers            int // limit tftp transfers N (default 512)
}
