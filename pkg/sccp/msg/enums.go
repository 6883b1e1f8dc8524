package msg

import "fmt"

// LampMode is SetLamp.lampMode (docs/sccp.md §Lamp-modes).
type LampMode uint32

const (
	LampUnknown LampMode = 0
	LampOff     LampMode = 1
	LampOn      LampMode = 2
	LampWink    LampMode = 3 // held line (chan-sccp, chan_skinny)
	LampFlash   LampMode = 4
	LampBlink   LampMode = 5 // ringing line (CUCM 4.1)
)

func (m LampMode) String() string {
	switch m {
	case LampOff:
		return "Off"
	case LampOn:
		return "On"
	case LampWink:
		return "Wink"
	case LampFlash:
		return "Flash"
	case LampBlink:
		return "Blink"
	}
	return fmt.Sprintf("LampMode(%d)", uint32(m))
}

// RingMode is SetRinger.ringMode (docs/sccp.md §Ring-modes).
type RingMode uint32

const (
	RingOff       RingMode = 1
	RingInside    RingMode = 2
	RingOutside   RingMode = 3
	RingFeature   RingMode = 4
	RingFlashOnly RingMode = 5
	RingUrgent    RingMode = 6
)

// RingDuration is SetRinger.ringDuration.
type RingDuration uint32

const (
	RingNormal RingDuration = 1
	RingSingle RingDuration = 2
)

// BLFStatus is the status of FeatureStatV2Res and Notification (docs/sccp.md §BLF-status).
type BLFStatus uint32

const (
	BLFUnknown  BLFStatus = 0 // not monitored / not registered
	BLFIdle     BLFStatus = 1
	BLFInUse    BLFStatus = 2
	BLFDND      BLFStatus = 3
	BLFAlerting BLFStatus = 4 // not rendered by 7940/7960: send BLFInUse (Model.NoAlertingBLF)
)

func (s BLFStatus) String() string {
	switch s {
	case BLFUnknown:
		return "Unknown"
	case BLFIdle:
		return "Idle"
	case BLFInUse:
		return "InUse"
	case BLFDND:
		return "DND"
	case BLFAlerting:
		return "Alerting"
	}
	return fmt.Sprintf("BLFStatus(%d)", uint32(s))
}

// CallState is CallState.callState (docs/sccp.md §Call-states).
type CallState uint32

const (
	CallIdle            CallState = 0
	CallOffHook         CallState = 1
	CallOnHook          CallState = 2
	CallRingOut         CallState = 3
	CallRingIn          CallState = 4
	CallConnected       CallState = 5
	CallBusy            CallState = 6
	CallCongestion      CallState = 7
	CallHold            CallState = 8
	CallWaiting         CallState = 9
	CallTransfer        CallState = 10
	CallPark            CallState = 11
	CallProceed         CallState = 12
	CallRemoteMultiline CallState = 13 // "in use remote"
	CallInvalidNumber   CallState = 14
	CallHoldRevert      CallState = 15
	CallWhisper         CallState = 16
	CallRemoteHold      CallState = 17
)

var callStateNames = [...]string{"Idle", "OffHook", "OnHook", "RingOut", "RingIn", "Connected",
	"Busy", "Congestion", "Hold", "CallWaiting", "CallTransfer", "CallPark", "Proceed",
	"RemoteMultiline", "InvalidNumber", "HoldRevert", "Whisper", "RemoteHold"}

func (s CallState) String() string {
	if int(s) < len(callStateNames) {
		return callStateNames[s]
	}
	return fmt.Sprintf("CallState(%d)", uint32(s))
}

// Tone is StartTone.tone / StopTone.tone (docs/sccp.md §Tones).
type Tone uint32

const (
	ToneSilence       Tone   = 0x00
	ToneDTMFStar      Tone   = 0x0E
	ToneDTMFPound     Tone   = 0x0F
	ToneInsideDial    Tone   = 0x21
	ToneOutsideDial   Tone   = 0x22
	ToneLineBusy      Tone   = 0x23
	ToneAlerting      Tone   = 0x24 // ring-back
	ToneReorder       Tone   = 0x25
	ToneReceiverOffHk Tone   = 0x29
	ToneCallWaiting   Tone   = 0x2D
	ToneConfirmation  Tone   = 0x2E
	ToneZipZip        Tone   = 0x31
	ToneZip           Tone   = 0x32
	ToneBeepBonk      Tone   = 0x33
	ToneHold          Tone   = 0x35
	ToneNone          Tone   = 0x7F
	ToneDirectionUser uint32 = 0 // StartTone.direction: played to the handset
	ToneDirectionNet  uint32 = 1
	ToneDirectionBoth uint32 = 2
)

// SoftKeySet is SelectSoftKeys.softKeySetIndex (docs/sccp.md §Softkey-sets).
type SoftKeySetIndex uint32

const (
	KeySetOnHook                SoftKeySetIndex = 0
	KeySetConnected             SoftKeySetIndex = 1
	KeySetOnHold                SoftKeySetIndex = 2
	KeySetRingIn                SoftKeySetIndex = 3
	KeySetOffHook               SoftKeySetIndex = 4
	KeySetConnectedTransferable SoftKeySetIndex = 5
	KeySetDigitsFollowing       SoftKeySetIndex = 6
	KeySetConnectedConference   SoftKeySetIndex = 7
	KeySetRingOut               SoftKeySetIndex = 8
	KeySetOffHookWithFeatures   SoftKeySetIndex = 9
	KeySetInUseHint             SoftKeySetIndex = 10
	KeySetOnHookStealable       SoftKeySetIndex = 11
)

// ButtonType is ButtonTemplate.buttonDefinition, FeatureStat.featureId, and
// Stimulus/SetLamp.stimulus (docs/sccp.md §Button-types).
type ButtonType uint32

const (
	ButtonUnused        ButtonType = 0x00
	ButtonRedial        ButtonType = 0x01
	ButtonSpeedDial     ButtonType = 0x02
	ButtonHold          ButtonType = 0x03
	ButtonTransfer      ButtonType = 0x04
	ButtonForwardAll    ButtonType = 0x05
	ButtonForwardBusy   ButtonType = 0x06
	ButtonForwardNoAns  ButtonType = 0x07
	ButtonDisplay       ButtonType = 0x08
	ButtonLine          ButtonType = 0x09
	ButtonVoicemail     ButtonType = 0x0F // also the MWI lamp stimulus
	ButtonAnswerRelease ButtonType = 0x10
	ButtonAutoAnswer    ButtonType = 0x11
	ButtonSelect        ButtonType = 0x12
	ButtonFeature       ButtonType = 0x13
	ButtonServiceURL    ButtonType = 0x14
	ButtonBLFSpeedDial  ButtonType = 0x15
	ButtonMultiBlink    ButtonType = 0x26
	ButtonConference    ButtonType = 0x7D
	ButtonCallPark      ButtonType = 0x7E
	ButtonCallPickup    ButtonType = 0x7F
	ButtonGroupPickup   ButtonType = 0x80
	ButtonDND           ButtonType = 0x82
	ButtonNewCall       ButtonType = 0x89
	ButtonEndCall       ButtonType = 0x8A
	ButtonKeypad        ButtonType = 0xF0
	ButtonNone          ButtonType = 0xFF // unused template slot
)

// KeypadKey is KeypadButton.button (docs/sccp.md §Keypad-buttons): 0-9 are digits.
type KeypadKey uint32

const (
	KeyStar  KeypadKey = 0x0E
	KeyPound KeypadKey = 0x0F
	KeyPlus  KeypadKey = 0x10
)

// KeypadKeyFor maps a dialled character to its KeypadButton code.
func KeypadKeyFor(c byte) (KeypadKey, bool) {
	switch {
	case c >= '0' && c <= '9':
		return KeypadKey(c - '0'), true
	case c >= 'A' && c <= 'D':
		return KeypadKey(0x0A + c - 'A'), true
	case c == '*':
		return KeyStar, true
	case c == '#':
		return KeyPound, true
	case c == '+':
		return KeyPlus, true
	}
	return 0, false
}

// Codec is Media_PayloadType (docs/sccp.md §Codecs).
type Codec uint32

const (
	CodecG711Alaw Codec = 2
	CodecG711Ulaw Codec = 4
	CodecG722     Codec = 6
	CodecG723     Codec = 9
	CodecG729     Codec = 11
	CodecG729A    Codec = 12
	CodecG729B    Codec = 15
	CodecG729AB   Codec = 16
	CodecWideband Codec = 25
	CodecILBC     Codec = 86
	CodecRFC2833  Codec = 257
	CodecNoAudio  Codec = 300
)

// MediaStatus is the status of OpenReceiveChannelAck and
// StartMediaTransmissionAck (docs/sccp.md §Media-status).
type MediaStatus uint32

const (
	MediaOK           MediaStatus = 0
	MediaUnknownError MediaStatus = 1
	MediaOutOfChannel MediaStatus = 2
)

// IPAddrType is the type word of v17+ address unions (docs/sccp.md §Field-encodings).
type IPAddrType uint32

const (
	IPAddrTypeIPv4 IPAddrType = 0
	IPAddrTypeIPv6 IPAddrType = 1
	IPAddrTypeBoth IPAddrType = 2
)

// DeviceType is Register.deviceType (docs/sccp.md §Device-types); see Models.
type DeviceType uint32

// Small enums (docs/sccp.md §Small-enums).
const (
	ResetReboot  uint32 = 1 // Reset.resetType
	ResetRestart uint32 = 2 // re-download config and re-register
	ResetApply   uint32 = 3

	UnregisterOK    uint32 = 0 // UnregisterAck.status
	UnregisterError uint32 = 1
	UnregisterNAK   uint32 = 2 // call active

	ModeOn  uint32 = 1 // speaker / microphone / headset / accessory state
	ModeOff uint32 = 2

	SubscriptionFeatureBLF uint32 = 1 // SubscriptionStatReq.featureId

	CallTypeInbound  uint32 = 1 // CallInfo.callType
	CallTypeOutbound uint32 = 2
	CallTypeForward  uint32 = 3
)

// Label returns the two-byte embedded display label 0x80 NN, which the phone
// replaces with its localized text (docs/sccp.md §Field-encodings, §Display-labels).
func Label(n byte) string { return string([]byte{0x80, n}) }

// Display label numbers (docs/sccp.md §Display-labels).
const (
	LabelRedial      = 1
	LabelNewCall     = 2
	LabelHold        = 3
	LabelTransfer    = 4
	LabelCFwdAll     = 5
	LabelBackSpace   = 8
	LabelEndCall     = 9
	LabelResume      = 10
	LabelAnswer      = 11
	LabelConfrn      = 13
	LabelPark        = 14
	LabelYourOptions = 19
	LabelFrom        = 23
	LabelConnected   = 24
	LabelBusy        = 25
	LabelRingOut     = 22
	LabelCallProceed = 30
	LabelInUseRemote = 31
	LabelEnterNumber = 32
)
