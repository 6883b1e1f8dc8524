package dn

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// DNKind separates the two tag namespaces: ephone-dn 1 and voice register
// dn 1 are different DNs.
type DNKind uint8

const (
	EphoneDN        DNKind = iota + 1 // ephone-dn TAG (SCCP button)
	VoiceRegisterDN                   // voice register dn TAG (SIP pool number)
	// EphoneHunt and VoiceHuntGroup key the pilot presentity of a hunt
	// group (docs/cme-behaviour.md §Hunt-groups): Tag is the group tag.
	EphoneHunt
	VoiceHuntGroup
)

// DNKey identifies a DN across config snapshots.
type DNKey struct {
	Kind DNKind
	Tag  int
}

func (k DNKey) String() string {
	switch k.Kind {
	case VoiceRegisterDN:
		return fmt.Sprintf("voice register dn %d", k.Tag)
	case EphoneHunt:
		return fmt.Sprintf("ephone-hunt %d", k.Tag)
	case VoiceHuntGroup:
		return fmt.Sprintf("voice hunt-group %d", k.Tag)
	}
	return fmt.Sprintf("ephone-dn %d", k.Tag)
}

// Protocol is the signalling a device speaks; the core never depends on it
// except for CME's rule that SIP DND is not signalled to watchers.
type Protocol string

const (
	SCCP Protocol = "sccp"
	SIP  Protocol = "sip"
)

// DeviceID is a registered device. Name is the device name (SEP<MAC> for
// both ephones and MAC-identified pools); Gen changes on every registration
// so a stale session cannot act for its successor (docs/sccp.md §Field-reports: phones
// that come back on a new connection).
type DeviceID struct {
	Name string
	Gen  uint32
}

func (d DeviceID) String() string { return d.Name }

// DeviceInfo is what an adapter knows about a phone when it registers.
type DeviceInfo struct {
	Name     string // SEP001122334401; see DeviceName
	Protocol Protocol
	Model    string // "7960", "CP-8845", ...
	Addr     string // signalling address "10.0.0.5:51234"
	// Extra carries protocol-specific show data (firmware, SCCP version,
	// SIP contact) so `show` needs no protocol package.
	Extra map[string]string
}

// CallID identifies a call for its whole life; never reused by a Switch.
type CallID uint64

// CallRef is the call a phone command made or acted on, as that phone sees
// it when the command returns: its id, the line (button) it is on there
// and its state on that line (LineIdle once it is gone). The adapter learns
// the call from the command's result, not by watching Device callbacks.
type CallRef struct {
	ID    CallID
	Line  int
	State LineState
}

// Transfer is what StartTransfer set up: the call put on hold and the
// consultation call dialing.
type Transfer struct {
	Held    CallRef
	Consult CallRef
}

// LineState is the state of one line appearance (a DN on a phone button) or
// of one call leg on it.
type LineState uint8

const (
	LineIdle         LineState = iota
	LineDialing                // off-hook, collecting digits (dial tone)
	LineRinging                // incoming call alerting here
	LineRingback               // outgoing call, far end alerting
	LineConnected              // talking
	LineHold                   // this side put the call on hold
	LineRemoteInUse            // shared DN busy on another phone
	LineBusy                   // call failed; busy/reorder tone until on-hook
	LineDND                    // idle, phone in do-not-disturb
	LineUnregistered           // the phone is not registered
)

var lineStateNames = [...]string{"idle", "dialing", "ringing", "ringback", "connected", "hold",
	"remote-in-use", "busy", "dnd", "unregistered"}

func (s LineState) String() string {
	if int(s) < len(lineStateNames) {
		return lineStateNames[s]
	}
	return fmt.Sprintf("LineState(%d)", int(s))
}

// Presence is the presentity state of a DN or a device, as CME derives it
// (docs/cme-behaviour.md §Presentity-state). pkg/blf maps it to lamp states per watcher.
type Presence uint8

const (
	PresenceUnregistered Presence = iota // no registered phone has the DN
	PresenceIdle
	PresenceRinging // some call alerts on it
	PresenceInUse   // off-hook: dialing, ringback, connected, hold, busy tone
	PresenceDND     // every phone with the DN is an SCCP phone in DND
)

var presenceNames = [...]string{"unregistered", "idle", "ringing", "in-use", "dnd"}

func (p Presence) String() string {
	if int(p) < len(presenceNames) {
		return presenceNames[p]
	}
	return fmt.Sprintf("Presence(%d)", int(p))
}

// Tone is a call-progress tone the phone should play.
type Tone uint8

const (
	ToneNone Tone = iota // stop any tone
	ToneDial
	ToneRingback
	ToneBusy
	ToneReorder
)

// Cause says why a call left an appearance.
type Cause uint8

const (
	CauseNormal            Cause = iota // a party hung up
	CauseBusy                           // no free call slot on the called DN
	CauseUnassigned                     // dialled digits match nothing
	CauseNoAnswer                       // `timeouts ringing` expired
	CauseDND                            // every appearance is in DND
	CauseUnavailable                    // called DN has no registered phone
	CauseAnsweredElsewhere              // shared line answered on another phone
	CauseUnregistered                   // a phone in the call went away
	CauseConfig                         // the DN or phone was removed from the config
	CauseForwarded                      // the call moved on to a call-forward target
	CauseTransferred                    // this appearance transferred the call away
	CauseLoop                           // forwarding stopped: loop or too many hops
	CauseRejected                       // the called phone declined the call (SIP 603)
	CauseNoResponse                     // the called phone never answered the offer (SIP 408)
)

var causeNames = [...]string{"normal", "busy", "unassigned", "no-answer", "dnd", "unavailable",
	"answered-elsewhere", "unregistered", "config", "forwarded", "transferred", "loop",
	"rejected", "no-response"}

func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return fmt.Sprintf("Cause(%d)", int(c))
}

// Party is one end of a call as shown on a display.
type Party struct {
	Number string
	Name   string
}

// Alert is how an offered call alerts on one appearance (`button` separators,
// docs/cme-cli.md §Ephone, and DND ringer-off, docs/cme-behaviour.md §DND).
type Alert uint8

const (
	AlertNormal  Alert = iota // audible ring
	AlertFeature              // `f`: feature ring (triple pulse)
	AlertBeep                 // `b`: beep, no ring
	AlertSilent               // `s`, or DND ringer-off: flash and display only
)

// CallInfo is the display data of a call on one appearance.
type CallInfo struct {
	ID       CallID
	Line     int // button (SCCP) or line number (SIP pool `number N`)
	Calling  Party
	Called   Party
	Outbound bool // this appearance placed the call
	PeerHold bool // the other party has put the call on hold
	// OriginalCalled and Redirecting are set once a call was forwarded or
	// transferred: the first number called and the last DN that moved it
	// (SCCP CallInfo originalCalledParty / lastRedirectingParty).
	OriginalCalled Party
	Redirecting    Party
	Alert          Alert // for Ring: how to alert
}

// Device is what the core asks of a phone. SCCP sessions and SIP endpoints
// implement it. Every method is called on the Switch goroutine and MUST
// enqueue and return: never block, never call Switch methods from inside.
//
// # Media
//
// Phones send RTP to each other directly; the core only tells each end
// where to send (docs/sccp.md §Media-rules). For every bound call leg that should carry
// audio the core calls OpenMedia; the adapter opens a receive channel (SCCP
// OpenReceiveChannel, SIP: the address is in the phone's SDP) and reports
// the phone's receive address with Switch.MediaReady. Once both ends of a
// connected call have reported, each gets StartMedia with the other's
// address. Hold closes the holder's media (StopMedia) and streams music on
// hold from the MediaServer to the held party's receive address; resume
// reopens it. A transfer calls StartMedia again with the new peer's
// address: the adapter restarts transmission (SCCP: StopMediaTransmission
// then StartMediaTransmission). StopMedia always precedes Released for a
// leg that had media.
type Device interface {
	// Ring: a call alerts on appearance line.
	Ring(line int, info CallInfo)
	// StopRing: the call stopped alerting on line (answered, cancelled, timed out).
	StopRing(line int, id CallID)
	// CallState: the call's state as seen on line (dialing, ringback,
	// connected, hold, remote-in-use, busy).
	CallState(line int, id CallID, st LineState)
	// CallInfo: the parties of a call on line changed.
	CallInfo(line int, info CallInfo)
	// Tone starts a call-progress tone (ToneNone stops it).
	Tone(line int, id CallID, t Tone)
	// Released: call id is gone from line.
	Released(line int, id CallID, cause Cause)
	// DND reports the phone's do-not-disturb state after it changed.
	DND(on bool)
	// Reset: the configuration under a registered phone changed (buttons,
	// or the phone was removed); the adapter should restart it, as CME's
	// `restart` does. The device stays registered until UnregisterDevice.
	Reset()
	// OpenMedia: open a receive channel for call id on line and report its
	// address with Switch.MediaReady (SCCP OpenReceiveChannel).
	OpenMedia(line int, id CallID, p MediaParams)
	// StartMedia: send the call's RTP to remote (SCCP
	// StartMediaTransmission). Repeated with a new remote when the peer
	// changes.
	StartMedia(line int, id CallID, remote netip.AddrPort, p MediaParams)
	// StopMedia: stop sending and close the receive channel (SCCP
	// StopMediaTransmission + CloseReceiveChannel).
	StopMedia(line int, id CallID)
	// CallForward: the DN on line is now forwarded-all to number ("" =
	// off), set from the CLI or a CfwdAll softkey on any phone with the DN
	// (docs/cme-behaviour.md §Forwarding: the last setting wins; SIP pushes it to the phone).
	CallForward(line int, number string)
}

// Codec is an RTP audio codec by its static payload type (RFC 3551 §6).
// The zero value is PCMU.
type Codec uint8

const (
	PCMU Codec = 0 // G.711 µ-law
	PCMA Codec = 8 // G.711 A-law
)

func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	}
	return fmt.Sprintf("Codec(%d)", int(c))
}

// MediaParams are the stream parameters the core asks for: one codec and
// packetisation per Switch (default PCMU, 20 ms; docs/sccp.md §Media-rules:
// both ends must use the same).
type MediaParams struct {
	Codec    Codec
	PacketMs int
}

// TransmitStopper is optionally implemented by a Device that can stop
// sending media while it keeps receiving (SCCP StopMediaTransmission). The
// core uses it when the far end of a call closes its receive side, e.g. a
// held party whose holder stopped listening; devices without it simply
// keep sending until the next StartMedia or StopMedia.
type TransmitStopper interface {
	StopTransmit(line int, id CallID)
}

// FailureReporter is optionally implemented by a Device that signals why
// a call it placed failed rather than only playing a tone: a SIP phone
// gets the final response of its INVITE from the cause (pkg/sip causeStatus).
// CallFailed precedes the CallState(LineBusy) and Tone of the failure.
type FailureReporter interface {
	CallFailed(line int, id CallID, cause Cause)
}

// MediaServer is cmed's own RTP endpoint (music on hold, echo test,
// in-band tones), implemented around pkg/media by the daemon. Its methods
// are called on the Switch goroutine: open a socket, start a goroutine and
// return; never block, never call Switch methods.
type MediaServer interface {
	// StartMOH streams music on hold to dest.
	StartMOH(dest netip.AddrPort, p MediaParams) (MediaHandle, error)
	// StartEcho opens a socket that sends every RTP packet back to where
	// it came from; the caller's phone is told to send to the returned
	// address.
	StartEcho(p MediaParams) (netip.AddrPort, MediaHandle, error)
	// StartTone streams a call-progress tone (e.g. reorder for an
	// unassigned number) to dest.
	StartTone(dest netip.AddrPort, p MediaParams, t Tone) (MediaHandle, error)
}

// MediaHandle stops one MediaServer stream. Stop must not block long and
// may be called once.
type MediaHandle interface{ Stop() }

// RecordKind names a phone call list (docs/cme-behaviour.md §Call-lists).
type RecordKind string

const (
	RecordMissed   RecordKind = "missed"
	RecordPlaced   RecordKind = "placed"
	RecordReceived RecordKind = "received"
)

// CallRecord is one entry for a phone's call history, emitted when the
// call leaves the phone. Rules: placed for a phone that dialled a complete
// number; received for the phone that answered; missed for every phone an
// offered call alerted on (audibly or ringer-off) when no appearance of
// that DN answered it: a shared-line call answered on another phone is no
// missed call, and a DND call-reject phone was never alerted so logs
// nothing (docs/cme-behaviour.md §Call-lists).
type CallRecord struct {
	Phone    string // device name
	Kind     RecordKind
	Number   string // the other party
	Name     string
	Line     string // our DN's number
	Button   int
	Start    time.Time
	Duration time.Duration // talk time; zero for missed calls
}

// CallRecorder receives call records (pkg/store persists them). Called on
// the Switch goroutine; must not block.
type CallRecorder interface {
	CallRecord(CallRecord)
}

// Trunk is the far side of calls over `dial-peer voice N voip` peers,
// implemented by the SIP adapter (pkg/sip, as a B2BUA leg). Like Device,
// every method is called on the Switch goroutine and MUST enqueue and
// return: never block, never call Switch methods from inside.
//
// Ids: an outbound attempt has its own TrunkCall.ID (a call that hunts to
// the next dial-peer gets a new id per attempt); an inbound call keeps the
// id of TrunkIncoming. The adapter reports on an outbound id with
// TrunkProgress, TrunkAnswered, TrunkFailed and TrunkHangup, on an inbound
// id with TrunkHangup (and TrunkMedia for re-INVITEs) until either side
// hangs up. After Hangup, or after the adapter reported TrunkFailed or
// TrunkHangup, the id is dead and reports on it return ErrNoCall.
//
// Suggested SIP mapping of Hangup causes for an unanswered inbound call:
// CauseBusy and CauseDND 486 Busy Here, CauseUnassigned 404 Not Found,
// CauseLoop 482 Loop Detected, CauseRejected 603 Decline, CauseNoResponse
// 408 Request Timeout, CauseNoAnswer 480 Temporarily Unavailable, others
// 480; for a call in progress: CANCEL before the answer,
// BYE after it.
type Trunk interface {
	// Dial sends a new outbound call to a dial-peer (INVITE). It is
	// called once the caller phone's RTP receive address is known
	// (call.Offer, the SDP offer) or, if the phone does not report one
	// within TrunkMediaWait, without it (UpdateMedia follows).
	Dial(call TrunkCall)
	// UpdateMedia: where the trunk should send RTP for call id changed
	// after Dial/Answered (the caller phone reported late, the call was
	// transferred to another phone, a held call resumed on a new receive
	// channel: re-INVITE with the new SDP). An invalid address means no
	// local receiver (the local party holds and music on hold is streamed
	// to the trunk's address; re-INVITE a=sendonly, or ignore).
	UpdateMedia(id CallID, local netip.AddrPort)
	// Ringing: inbound call id alerts on at least one local phone (180).
	Ringing(id CallID)
	// Answered: inbound call id was answered; local is the answering
	// phone's RTP receive address for the SDP answer (200 OK). Invalid if
	// the phone did not report one within TrunkMediaWait (UpdateMedia
	// follows).
	Answered(id CallID, local netip.AddrPort)
	// Hangup: the core ended trunk call id with cause (a phone hung up,
	// the call was not answered, the phone went away, ...). Not called
	// for ids the adapter itself ended with TrunkFailed or TrunkHangup.
	Hangup(id CallID, cause Cause)
}

// TrunkCall is an outbound call to a dial-peer.
type TrunkCall struct {
	ID     CallID // this attempt; not the id the caller's phone shows
	Call   CallID // the call the phone knows (for logs and show)
	Peer   int    // dial-peer tag
	Target string // the dial-peer's `session target` as configured ("ipv4:192.0.2.1:5060")
	// Called and Calling are after translation: the calling DN's
	// `translation-profile outgoing`, then the dial-peer's.
	Called  string
	Calling Party
	Media   MediaParams
	// Offer is the caller phone's RTP receive address (SDP offer); invalid
	// if the phone did not report it in time.
	Offer netip.AddrPort
}

// InboundCall is a call offered by a trunk (an INVITE from a SIP peer).
type InboundCall struct {
	// ID is an id from Switch.NewCallID, so that the adapter can file
	// the call before any Trunk callback for it can arrive; 0 lets
	// TrunkIncoming allocate one (callbacks may then precede its return).
	ID CallID
	// Calling is the caller (From / P-Asserted-Identity) and Called the
	// dialled number (Request-URI user part), both as received.
	Calling Party
	Called  string
	// DialPeer is the inbound dial-peer tag, whose `translation-profile
	// incoming` applies. 0: the core picks the first voip dial-peer whose
	// destination-pattern matches the calling number (IOS inbound
	// dial-peer matching, `answer-address`/destination-pattern step);
	// none: no dial-peer translation.
	DialPeer int
	// Remote is the trunk's RTP address from the SDP offer (invalid:
	// offerless INVITE; report it later with TrunkMedia).
	Remote netip.AddrPort
}

// RejectError is returned by TrunkIncoming when the call cannot be offered
// to any phone; no call exists and no Trunk method is called for it.
type RejectError struct{ Cause Cause }

func (e *RejectError) Error() string { return "dn: trunk call rejected: " + e.Cause.String() }

// Options configure a Switch beyond the config snapshot.
type Options struct {
	Observer Observer     // presence snapshots; may be nil
	Media    MediaServer  // MOH and echo audio; nil: signalling only
	Records  CallRecorder // call history; may be nil
	// Trunk places and answers calls over voip dial-peers; nil: a number
	// that matches only dial-peers gets reorder.
	Trunk Trunk
	// EchoNumber is the echo-test number, answered by the core with the
	// caller's RTP looped back. CME has no such command; "" means
	// DefaultEchoNumber, "-" disables it.
	EchoNumber string
	// MaxForwardHops bounds a chain of call forwards (0: DefaultMaxForwardHops).
	MaxForwardHops int
	// Media parameters for every call; zero value: PCMU, 20 ms.
	MediaParams MediaParams
}

const (
	// DefaultEchoNumber is the echo test, *43 as on other PBXs.
	DefaultEchoNumber = "*43"
	// DefaultMaxForwardHops: CUCM's default Forward Maximum Hop Count is 12.
	DefaultMaxForwardHops = 12
	// TrunkMediaWait is how long the core waits for a phone's receive
	// address before it dials or answers a trunk call without one.
	TrunkMediaWait = 2 * time.Second
)

// LineEvent is a DN's presence snapshot, published when any field changes.
type LineEvent struct {
	Key        DNKey
	Number     string
	Secondary  string
	Name       string
	AllowWatch bool
	Presence   Presence
	// Held: the DN is in use and every call on it that is not ringing is
	// on hold by this side (LineHold). Presence stays PresenceInUse, as
	// CME's lamps show a held line (docs/cme-behaviour.md §Presentity-state);
	// SIP watchers are told the hold (docs/sip-presence.md §State-mapping).
	Held    bool
	Removed bool // the DN left the configuration
}

// DeviceEvent is a phone's presence snapshot, for device-based BLF
// (`blf-speed-dial … device`, docs/cme-behaviour.md §Presentity-state): in use when a call on one of
// the phone's own appearances is active or ringing; a shared DN busy on
// another phone does not count.
type DeviceEvent struct {
	Name       string
	Protocol   Protocol
	Registered bool
	DND        bool
	Presence   Presence
	Removed    bool
}

// Observer receives presence snapshots. Called on the Switch goroutine; must
// not block. A full snapshot of every DN and device is sent when Run starts.
type Observer interface {
	LineChanged(LineEvent)
	DeviceChanged(DeviceEvent)
}

// Errors returned by Switch methods.
var (
	ErrClosed        = errors.New("dn: switch stopped")
	ErrUnknownDevice = errors.New("dn: device not in configuration")
	ErrStaleDevice   = errors.New("dn: device registration superseded")
	ErrNoLine        = errors.New("dn: no such line on device")
	ErrNoCall        = errors.New("dn: no such call on line")
	ErrLineBusy      = errors.New("dn: no free call slot on line")
	ErrBadState      = errors.New("dn: not allowed in this call state")
	ErrBadNumber     = errors.New("dn: number not allowed")
	ErrNoTrunk       = errors.New("dn: no trunk configured (Options.Trunk)")
	ErrBadCallID     = errors.New("dn: call id not reserved or already in use")
)
