package msg

import "encoding/binary"

// KeypadButton 0x0003: button [, line, callRef] — 4 or 12 bytes (docs/sccp.md §Call-control).
type KeypadButton struct {
	Button        KeypadKey
	Line          uint32
	CallReference uint32
	WireLen       int // 4 or 12; Unmarshal sets it, 0 encodes 12
}

func (m *KeypadButton) encode(w *writer) {
	w.u32(uint32(m.Button))
	if m.WireLen != 4 {
		w.u32(m.Line)
		w.u32(m.CallReference)
	}
}

func (m *KeypadButton) Unmarshal(p []byte) error {
	if err := need(IDKeypadButton, p, 4); err != nil {
		return err
	}
	*m = KeypadButton{Button: KeypadKey(binary.LittleEndian.Uint32(p)), WireLen: 4}
	if len(p) >= 12 {
		m.Line, m.CallReference, m.WireLen = binary.LittleEndian.Uint32(p[4:]), binary.LittleEndian.Uint32(p[8:]), 12
	}
	return nil
}

// Stimulus 0x0005: a button press — 8, 12 or 16 bytes. A real 7960G at v11
// sent the 12-byte form without status; rejecting it broke its feature keys
// (docs/sccp.md §Call-control), so all three forms decode.
type Stimulus struct {
	Stimulus      ButtonType
	Instance      uint32
	CallReference uint32
	Status        uint32
	WireLen       int // 8, 12 or 16; Unmarshal sets it, 0 encodes 16
}

func (m *Stimulus) encode(w *writer) {
	w.u32(uint32(m.Stimulus))
	w.u32(m.Instance)
	if m.WireLen == 8 {
		return
	}
	w.u32(m.CallReference)
	if m.WireLen == 12 {
		return
	}
	w.u32(m.Status)
}

func (m *Stimulus) Unmarshal(p []byte) error {
	if err := need(IDStimulus, p, 8); err != nil {
		return err
	}
	r := reader{b: p}
	*m = Stimulus{Stimulus: ButtonType(r.u32()), Instance: r.u32(), WireLen: 8}
	if len(p) >= 12 {
		m.CallReference, m.WireLen = r.u32(), 12
	}
	if len(p) >= 16 {
		m.Status, m.WireLen = r.u32(), 16
	}
	return nil
}

// hook is the shared OffHook/OnHook body: empty, or line + callRef (a 7960 8.x
// sends 8 zero bytes).
type hook struct {
	Line          uint32
	CallReference uint32
	HasLine       bool
}

func (m *hook) encode(w *writer) {
	if m.HasLine {
		w.u32(m.Line)
		w.u32(m.CallReference)
	}
}

func (m *hook) unmarshal(p []byte) {
	*m = hook{}
	if len(p) >= 8 {
		m.Line, m.CallReference, m.HasLine = binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint32(p[4:]), true
	}
}

// OffHook 0x0006.
type OffHook struct {
	Line          uint32
	CallReference uint32
	HasLine       bool // 8-byte form
}

func (m *OffHook) encode(w *writer) { (*hook)(m).encode(w) }
func (m *OffHook) Unmarshal(p []byte) error {
	(*hook)(m).unmarshal(p)
	return nil
}

// OnHook 0x0007.
type OnHook struct {
	Line          uint32
	CallReference uint32
	HasLine       bool // 8-byte form
}

func (m *OnHook) encode(w *writer) { (*hook)(m).encode(w) }
func (m *OnHook) Unmarshal(p []byte) error {
	(*hook)(m).unmarshal(p)
	return nil
}

// SoftKeyEvent 0x0026 (12): event (as defined in our SoftKeyTemplateRes), line, callRef.
type SoftKeyEvent struct {
	Event         uint32
	Line          uint32
	CallReference uint32
}

func (m *SoftKeyEvent) encode(w *writer) { w.u32(m.Event); w.u32(m.Line); w.u32(m.CallReference) }
func (m *SoftKeyEvent) Unmarshal(p []byte) error {
	return unmarshalU32s(IDSoftKeyEvent, p, &m.Event, &m.Line, &m.CallReference)
}

// SelectSoftKeys 0x0110 (16).
type SelectSoftKeys struct {
	Line          uint32
	CallReference uint32
	SetIndex      SoftKeySetIndex
	ValidKeyMask  uint32 // bit n enables key n; CUCM 0xFFFFFFFF idle
}

func (m *SelectSoftKeys) encode(w *writer) {
	w.u32(m.Line)
	w.u32(m.CallReference)
	w.u32(uint32(m.SetIndex))
	w.u32(m.ValidKeyMask)
}

func (m *SelectSoftKeys) Unmarshal(p []byte) error {
	var set uint32
	err := unmarshalU32s(IDSelectSoftKeys, p, &m.Line, &m.CallReference, &set, &m.ValidKeyMask)
	m.SetIndex = SoftKeySetIndex(set)
	return err
}

// CallStateMsg is CallState 0x0111 (24 bytes, docs/sccp.md §Call-control).
type CallStateMsg struct {
	State            CallState
	Line             uint32
	CallReference    uint32
	Privacy          uint32 // 0 default, 1 limited, 2 hidden
	PrecedenceLevel  uint32 // CUCM: 4
	PrecedenceDomain uint32
}

func (m *CallStateMsg) encode(w *writer) {
	w.u32(uint32(m.State))
	w.u32(m.Line)
	w.u32(m.CallReference)
	w.u32(m.Privacy)
	w.u32(m.PrecedenceLevel)
	w.u32(m.PrecedenceDomain)
}

func (m *CallStateMsg) Unmarshal(p []byte) error {
	if err := need(IDCallState, p, 12); err != nil {
		return err
	}
	var full [24]byte
	copy(full[:], p)
	r := reader{b: full[:]}
	*m = CallStateMsg{State: CallState(r.u32()), Line: r.u32(), CallReference: r.u32(), Privacy: r.u32(),
		PrecedenceLevel: r.u32(), PrecedenceDomain: r.u32()}
	return nil
}

// DisplayPromptStatus 0x0112 (44): timeout (0 = stay), text[32], line, callRef.
type DisplayPromptStatus struct {
	Timeout       uint32
	Text          string
	Line          uint32
	CallReference uint32
}

func (m *DisplayPromptStatus) encode(w *writer) {
	w.u32(m.Timeout)
	w.fixed(m.Text, 32)
	w.u32(m.Line)
	w.u32(m.CallReference)
}

func (m *DisplayPromptStatus) Unmarshal(p []byte) error {
	if err := need(IDDisplayPromptStatus, p, 44); err != nil {
		return err
	}
	r := reader{b: p}
	*m = DisplayPromptStatus{Timeout: r.u32(), Text: r.fixed(32), Line: r.u32(), CallReference: r.u32()}
	return nil
}

// DisplayPromptStatusV2 0x0145 (dynamic): timeout, line, callRef, text\0.
type DisplayPromptStatusV2 struct {
	Timeout       uint32
	Line          uint32
	CallReference uint32
	Text          string
}

func (m *DisplayPromptStatusV2) encode(w *writer) {
	w.u32(m.Timeout)
	w.u32(m.Line)
	w.u32(m.CallReference)
	w.cstr(m.Text)
}

func (m *DisplayPromptStatusV2) Unmarshal(p []byte) error {
	if err := need(IDDisplayPromptStatusV2, p, 12); err != nil {
		return err
	}
	r := reader{b: p}
	*m = DisplayPromptStatusV2{Timeout: r.u32(), Line: r.u32(), CallReference: r.u32(), Text: r.cstr()}
	return nil
}

// ClearPromptStatus 0x0113 (8): line, callRef.
type ClearPromptStatus struct{ Line, CallReference uint32 }

func (m *ClearPromptStatus) encode(w *writer) { w.u32(m.Line); w.u32(m.CallReference) }
func (m *ClearPromptStatus) Unmarshal(p []byte) error {
	return unmarshalU32s(IDClearPromptStatus, p, &m.Line, &m.CallReference)
}

// DisplayNotify 0x0114 (36): timeout, text[32].
type DisplayNotify struct {
	Timeout uint32
	Text    string
}

func (m *DisplayNotify) encode(w *writer) { w.u32(m.Timeout); w.fixed(m.Text, 32) }
func (m *DisplayNotify) Unmarshal(p []byte) error {
	if err := need(IDDisplayNotify, p, 36); err != nil {
		return err
	}
	r := reader{b: p}
	*m = DisplayNotify{Timeout: r.u32(), Text: r.fixed(32)}
	return nil
}

// DisplayNotifyV2 0x0143 (dynamic): timeout, text\0.
type DisplayNotifyV2 struct {
	Timeout uint32
	Text    string
}

func (m *DisplayNotifyV2) encode(w *writer) { w.u32(m.Timeout); w.cstr(m.Text) }
func (m *DisplayNotifyV2) Unmarshal(p []byte) error {
	if err := need(IDDisplayNotifyV2, p, 4); err != nil {
		return err
	}
	r := reader{b: p}
	*m = DisplayNotifyV2{Timeout: r.u32(), Text: r.cstr()}
	return nil
}

// DisplayPriNotify 0x0120 (40): timeout, priority, text[32].
type DisplayPriNotify struct {
	Timeout  uint32
	Priority uint32
	Text     string
}

func (m *DisplayPriNotify) encode(w *writer) {
	w.u32(m.Timeout)
	w.u32(m.Priority)
	w.fixed(m.Text, 32)
}
func (m *DisplayPriNotify) Unmarshal(p []byte) error {
	if err := need(IDDisplayPriNotify, p, 40); err != nil {
		return err
	}
	r := reader{b: p}
	*m = DisplayPriNotify{Timeout: r.u32(), Priority: r.u32(), Text: r.fixed(32)}
	return nil
}

// DisplayPriNotifyV2 0x0144 (dynamic): timeout, priority, text\0.
type DisplayPriNotifyV2 struct {
	Timeout  uint32
	Priority uint32
	Text     string
}

func (m *DisplayPriNotifyV2) encode(w *writer) { w.u32(m.Timeout); w.u32(m.Priority); w.cstr(m.Text) }
func (m *DisplayPriNotifyV2) Unmarshal(p []byte) error {
	if err := need(IDDisplayPriNotifyV2, p, 8); err != nil {
		return err
	}
	r := reader{b: p}
	*m = DisplayPriNotifyV2{Timeout: r.u32(), Priority: r.u32(), Text: r.cstr()}
	return nil
}

// ClearPriNotify 0x0121: priority.
type ClearPriNotify struct{ Priority uint32 }

func (m *ClearPriNotify) encode(w *writer) { w.u32(m.Priority) }
func (m *ClearPriNotify) Unmarshal(p []byte) error {
	return unmarshalU32s(IDClearPriNotify, p, &m.Priority)
}

// SetLamp 0x0086 (12): stimulus (button type of the lamp), instance, mode.
type SetLamp struct {
	Stimulus ButtonType
	Instance uint32
	Mode     LampMode
}

func (m *SetLamp) encode(w *writer) {
	w.u32(uint32(m.Stimulus))
	w.u32(m.Instance)
	w.u32(uint32(m.Mode))
}
func (m *SetLamp) Unmarshal(p []byte) error {
	var s, mode uint32
	err := unmarshalU32s(IDSetLamp, p, &s, &m.Instance, &mode)
	m.Stimulus, m.Mode = ButtonType(s), LampMode(mode)
	return err
}

// SetRinger 0x0085 (16).
type SetRinger struct {
	Mode          RingMode
	Duration      RingDuration
	Line          uint32
	CallReference uint32
}

func (m *SetRinger) encode(w *writer) {
	w.u32(uint32(m.Mode))
	w.u32(uint32(m.Duration))
	w.u32(m.Line)
	w.u32(m.CallReference)
}

func (m *SetRinger) Unmarshal(p []byte) error {
	if err := need(IDSetRinger, p, 4); err != nil {
		return err
	}
	var full [16]byte
	copy(full[:], p)
	r := reader{b: full[:]}
	*m = SetRinger{Mode: RingMode(r.u32()), Duration: RingDuration(r.u32()), Line: r.u32(), CallReference: r.u32()}
	return nil
}

// SetSpeakerMode 0x0088: 1 on, 2 off.
type SetSpeakerMode struct{ Mode uint32 }

func (m *SetSpeakerMode) encode(w *writer) { w.u32(m.Mode) }
func (m *SetSpeakerMode) Unmarshal(p []byte) error {
	return unmarshalU32s(IDSetSpeakerMode, p, &m.Mode)
}

// StartTone 0x0082 (16): tone, direction (0 user), line, callRef.
type StartTone struct {
	Tone          Tone
	Direction     uint32
	Line          uint32
	CallReference uint32
}

func (m *StartTone) encode(w *writer) {
	w.u32(uint32(m.Tone))
	w.u32(m.Direction)
	w.u32(m.Line)
	w.u32(m.CallReference)
}

func (m *StartTone) Unmarshal(p []byte) error {
	if err := need(IDStartTone, p, 4); err != nil {
		return err
	}
	var full [16]byte
	copy(full[:], p)
	r := reader{b: full[:]}
	*m = StartTone{Tone: Tone(r.u32()), Direction: r.u32(), Line: r.u32(), CallReference: r.u32()}
	return nil
}

// StopTone 0x0083: line, callRef, and from v11 the tone (8 / 12 bytes). There
// is no ClearTone message (docs/sccp.md §Server-to-phone).
type StopTone struct {
	Version       uint32
	Line          uint32
	CallReference uint32
	Tone          Tone
}

func (m *StopTone) setVersion(v uint32) { m.Version = v }
func (m *StopTone) encode(w *writer) {
	w.u32(m.Line)
	w.u32(m.CallReference)
	if m.Version >= 11 {
		w.u32(uint32(m.Tone))
	}
}

func (m *StopTone) Unmarshal(p []byte) error {
	if err := need(IDStopTone, p, 8); err != nil {
		return err
	}
	r := reader{b: p}
	v := m.Version
	switch {
	case len(p) >= 12 && v < 11:
		v = 11
	case len(p) < 12 && v >= 11:
		v = 10
	}
	*m = StopTone{Version: v, Line: r.u32(), CallReference: r.u32()}
	if v >= 11 {
		m.Tone = Tone(r.u32())
	}
	return nil
}

// ActivateCallPlane 0x0116: line (0 deactivates the selection).
type ActivateCallPlane struct{ Line uint32 }

func (m *ActivateCallPlane) encode(w *writer) { w.u32(m.Line) }
func (m *ActivateCallPlane) Unmarshal(p []byte) error {
	return unmarshalU32s(IDActivateCallPlane, p, &m.Line)
}

// BackSpaceRes 0x0119: line, callRef.
type BackSpaceRes struct{ Line, CallReference uint32 }

func (m *BackSpaceRes) encode(w *writer) { w.u32(m.Line); w.u32(m.CallReference) }
func (m *BackSpaceRes) Unmarshal(p []byte) error {
	return unmarshalU32s(IDBackSpaceRes, p, &m.Line, &m.CallReference)
}

// DialedNumber 0x011D: number[24] (v18+: [25], packed), line, callRef.
type DialedNumber struct {
	Version       uint32
	Number        string
	Line          uint32
	CallReference uint32
}

func (m *DialedNumber) setVersion(v uint32) { m.Version = v }
func (m *DialedNumber) encode(w *writer) {
	w.fixed(m.Number, dirNumSize(m.Version))
	w.u32(m.Line)
	w.u32(m.CallReference)
}

func (m *DialedNumber) Unmarshal(p []byte) error {
	if err := need(IDDialedNumber, p, 32); err != nil {
		return err
	}
	// 33 bytes is the packed v18 form; a padded frame (36) keeps the session's.
	v := packedVersion(m.Version, len(p) == 33 || m.Version >= 18 && len(p) >= 33)
	n := dirNumSize(v)
	r := reader{b: p}
	*m = DialedNumber{Version: v, Number: r.fixed(n), Line: r.u32(), CallReference: r.u32()}
	return nil
}

// packedVersion returns v moved to the side of 18 (25-char packed directory
// numbers, docs/sccp.md §Version-changes) that the payload showed.
func packedVersion(v uint32, packed bool) uint32 {
	switch {
	case packed && v < 18:
		return 18
	case !packed && v >= 18:
		return 17
	}
	return v
}

// EnblocCall 0x0004: the whole number at once, calledParty[24] (v18+: [25])
// [, line]. Length decides: 24/25 no line, 28/29+ with line.
type EnblocCall struct {
	Version     uint32
	CalledParty string
	Line        uint32
	HasLine     bool
}

func (m *EnblocCall) setVersion(v uint32) { m.Version = v }
func (m *EnblocCall) encode(w *writer) {
	w.fixed(m.CalledParty, dirNumSize(m.Version))
	if m.HasLine {
		w.u32(m.Line)
	}
}

func (m *EnblocCall) Unmarshal(p []byte) error {
	if err := need(IDEnblocCall, p, 24); err != nil {
		return err
	}
	v := m.Version
	switch len(p) {
	case 24, 28:
		v = packedVersion(v, false)
	case 25, 29:
		v = packedVersion(v, true)
	}
	r := reader{b: p}
	*m = EnblocCall{Version: v, CalledParty: r.fixed(dirNumSize(v))}
	if r.left() >= 4 {
		m.Line, m.HasLine = r.u32(), true
	}
	return nil
}

// CallInfo 0x008F: the static 384-byte caller-id block (docs/sccp.md §Call-control).
type CallInfo struct {
	CallingPartyName            string // 40
	CallingParty                string // 24
	CalledPartyName             string // 40
	CalledParty                 string // 24
	Line                        uint32
	CallReference               uint32
	CallType                    uint32 // 1 inbound, 2 outbound, 3 forward
	OriginalCalledPartyName     string
	OriginalCalledParty         string
	LastRedirectingPartyName    string
	LastRedirectingParty        string
	OriginalCdpnRedirectReason  uint32
	LastRedirectingReason       uint32
	CgpnVoiceMailbox            string
	CdpnVoiceMailbox            string
	OriginalCdpnVoiceMailbox    string
	LastRedirectingVoiceMailbox string
	CallInstance                uint32
	CallSecurityStatus          uint32
	PartyPIRestrictionBits      uint32
}

func (m *CallInfo) encode(w *writer) {
	w.fixed(m.CallingPartyName, 40)
	w.fixed(m.CallingParty, 24)
	w.fixed(m.CalledPartyName, 40)
	w.fixed(m.CalledParty, 24)
	w.u32(m.Line)
	w.u32(m.CallReference)
	w.u32(m.CallType)
	w.fixed(m.OriginalCalledPartyName, 40)
	w.fixed(m.OriginalCalledParty, 24)
	w.fixed(m.LastRedirectingPartyName, 40)
	w.fixed(m.LastRedirectingParty, 24)
	w.u32(m.OriginalCdpnRedirectReason)
	w.u32(m.LastRedirectingReason)
	w.fixed(m.CgpnVoiceMailbox, 24)
	w.fixed(m.CdpnVoiceMailbox, 24)
	w.fixed(m.OriginalCdpnVoiceMailbox, 24)
	w.fixed(m.LastRedirectingVoiceMailbox, 24)
	w.u32(m.CallInstance)
	w.u32(m.CallSecurityStatus)
	w.u32(m.PartyPIRestrictionBits)
}

func (m *CallInfo) Unmarshal(p []byte) error {
	if err := need(IDCallInfo, p, 136); err != nil {
		return err
	}
	var full [384]byte
	copy(full[:], p)
	r := reader{b: full[:]}
	*m = CallInfo{
		CallingPartyName: r.fixed(40), CallingParty: r.fixed(24), CalledPartyName: r.fixed(40), CalledParty: r.fixed(24),
		Line: r.u32(), CallReference: r.u32(), CallType: r.u32(),
		OriginalCalledPartyName: r.fixed(40), OriginalCalledParty: r.fixed(24),
		LastRedirectingPartyName: r.fixed(40), LastRedirectingParty: r.fixed(24),
		OriginalCdpnRedirectReason: r.u32(), LastRedirectingReason: r.u32(),
		CgpnVoiceMailbox: r.fixed(24), CdpnVoiceMailbox: r.fixed(24),
		OriginalCdpnVoiceMailbox: r.fixed(24), LastRedirectingVoiceMailbox: r.fixed(24),
		CallInstance: r.u32(), CallSecurityStatus: r.u32(), PartyPIRestrictionBits: r.u32(),
	}
	return nil
}

// CallInfoV2 0x014A, the dynamic CallInfo: 8 u32 then NUL-terminated strings.
//
// The string list depends on the version and the sources disagree
// (docs/sccp.md §Call-control). We follow chan-sccp, which real phones accept: below v16 the
// 12 strings without AlternateCallingParty and the hunt pilot; from v16 all 15
// (callingParty, alternateCallingParty, calledParty, …, huntPilotNumber,
// huntPilotName). A malformed 0x14A made a 7975 reboot (docs/sccp.md §Field-reports), so the
// packing here is exactly one NUL per string.
type CallInfoV2 struct {
	Version                     uint32
	Line                        uint32
	CallReference               uint32
	CallType                    uint32
	OriginalCdpnRedirectReason  uint32
	LastRedirectingReason       uint32
	CallInstance                uint32
	CallSecurityStatus          uint32
	PartyPIRestrictionBits      uint32
	CallingParty                string
	AlternateCallingParty       string // v16+
	CalledParty                 string
	OriginalCalledParty         string
	LastRedirectingParty        string
	CgpnVoiceMailbox            string
	CdpnVoiceMailbox            string
	OriginalCdpnVoiceMailbox    string
	LastRedirectingVoiceMailbox string
	CallingPartyName            string
	CalledPartyName             string
	OriginalCalledPartyName     string
	LastRedirectingPartyName    string
	HuntPilotNumber             string // v16+
	HuntPilotName               string // v16+
}

func (m *CallInfoV2) setVersion(v uint32) { m.Version = v }

func (m *CallInfoV2) strings() []*string {
	long := m.Version >= 16
	s := []*string{&m.CallingParty}
	if long {
		s = append(s, &m.AlternateCallingParty)
	}
	s = append(s, &m.CalledParty, &m.OriginalCalledParty, &m.LastRedirectingParty, &m.CgpnVoiceMailbox,
		&m.CdpnVoiceMailbox, &m.OriginalCdpnVoiceMailbox, &m.LastRedirectingVoiceMailbox, &m.CallingPartyName,
		&m.CalledPartyName, &m.OriginalCalledPartyName, &m.LastRedirectingPartyName)
	if long {
		s = append(s, &m.HuntPilotNumber, &m.HuntPilotName)
	}
	return s
}

func (m *CallInfoV2) encode(w *writer) {
	for _, v := range []uint32{m.Line, m.CallReference, m.CallType, m.OriginalCdpnRedirectReason,
		m.LastRedirectingReason, m.CallInstance, m.CallSecurityStatus, m.PartyPIRestrictionBits} {
		w.u32(v)
	}
	for _, s := range m.strings() {
		w.cstr(*s)
	}
}

func (m *CallInfoV2) Unmarshal(p []byte) error {
	if err := need(IDCallInfoV2, p, 32); err != nil {
		return err
	}
	r := reader{b: p}
	*m = CallInfoV2{Version: m.Version, Line: r.u32(), CallReference: r.u32(), CallType: r.u32(),
		OriginalCdpnRedirectReason: r.u32(), LastRedirectingReason: r.u32(), CallInstance: r.u32(),
		CallSecurityStatus: r.u32(), PartyPIRestrictionBits: r.u32()}
	for _, s := range m.strings() {
		if r.left() <= 0 {
			break
		}
		*s = r.cstr()
	}
	return nil
}
