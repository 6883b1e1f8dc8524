package sccp

import (
	"net/netip"

	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
)

// callView is what the session knows of one call on the phone. The SCCP
// call reference is the core's CallID (unique, non-zero, docs/sccp.md §Checklist item 8).
type callView struct {
	id           dn.CallID
	line         int    // the core's line (button index)
	inst         uint32 // SCCP line instance
	state        msg.CallState
	info         dn.CallInfo
	passThru     uint32
	rtp          netip.AddrPort // from OpenReceiveChannelAck
	mediaOpen    bool
	transmitting bool
	tone         msg.Tone
}

func (c *callView) ref() uint32 { return uint32(c.id) }

// fwdEntry collects a CFwdAll target typed on the keypad.
type fwdEntry struct {
	line   int
	inst   uint32
	digits string
}

// Masks as CUCM sent them: every key of the set enabled (docs/sccp.md §Softkeys).
const allKeys = 0xFFFFFFFF

// view returns the call view for id on line, creating it; nil if the line
// is not on this phone's template. Caller holds mu.
func (s *session) viewLocked(line int, id dn.CallID) *callView {
	if cv := s.calls[id]; cv != nil {
		return cv
	}
	if s.layout == nil || len(s.calls) >= 64 {
		return nil
	}
	inst := s.layout.instanceOf(line)
	if inst == 0 {
		return nil
	}
	cv := &callView{id: id, line: line, inst: inst}
	if s.calls == nil {
		s.calls = map[dn.CallID]*callView{}
	}
	s.calls[id] = cv
	return cv
}

func (s *session) callInfoMsg(cv *callView) *msg.CallInfo {
	ci := &msg.CallInfo{
		CallingPartyName: cv.info.Calling.Name, CallingParty: cv.info.Calling.Number,
		CalledPartyName: cv.info.Called.Name, CalledParty: cv.info.Called.Number,
		Line: cv.inst, CallReference: cv.ref(), CallType: msg.CallTypeInbound, CallInstance: 1,
		OriginalCalledPartyName: cv.info.OriginalCalled.Name, OriginalCalledParty: cv.info.OriginalCalled.Number,
		LastRedirectingPartyName: cv.info.Redirecting.Name, LastRedirectingParty: cv.info.Redirecting.Number,
	}
	if cv.info.Outbound {
		ci.CallType = msg.CallTypeOutbound
	}
	if cv.info.Redirecting.Number != "" && !cv.info.Outbound {
		ci.CallType = msg.CallTypeForward
	}
	return ci
}

// Ring implements dn.Device: the callee's RingIn set in CUCM's order
// (docs/sccp.md §Call-flow "B alerted").
func (s *session) Ring(line int, info dn.CallInfo) {
	s.mu.Lock()
	cv := s.viewLocked(line, info.ID)
	if cv == nil {
		s.mu.Unlock()
		return
	}
	cv.state, cv.info = msg.CallRingIn, info
	busy := false
	for _, o := range s.calls {
		if o != cv && (o.state == msg.CallConnected || o.state == msg.CallOffHook || o.state == msg.CallRingOut) {
			busy = true
		}
	}
	mode, dur := msg.RingInside, msg.RingNormal
	switch info.Alert {
	case dn.AlertFeature:
		mode = msg.RingFeature
	case dn.AlertBeep:
		dur = msg.RingSingle
	case dn.AlertSilent:
		mode = msg.RingFlashOnly
	}
	if busy {
		mode = msg.RingFlashOnly // call waiting: do not ring over a call
	}
	ms := []msg.Message{
		&msg.CallStateMsg{State: msg.CallRingIn, Line: cv.inst, CallReference: cv.ref(), PrecedenceLevel: 4},
		&msg.SelectSoftKeys{Line: cv.inst, CallReference: cv.ref(), SetIndex: msg.KeySetRingIn, ValidKeyMask: allKeys},
		&msg.DisplayPromptStatus{Text: msg.Label(msg.LabelFrom) + info.Calling.Number, Line: cv.inst, CallReference: cv.ref()},
		s.callInfoMsg(cv),
		&msg.SetLamp{Stimulus: msg.ButtonLine, Instance: cv.inst, Mode: msg.LampBlink},
		&msg.SetRinger{Mode: mode, Duration: dur, Line: cv.inst, CallReference: cv.ref()},
	}
	s.mu.Unlock()
	s.send(ms...)
}

// StopRing implements dn.Device.
func (s *session) StopRing(line int, id dn.CallID) {
	s.mu.Lock()
	cv := s.calls[id]
	s.mu.Unlock()
	if cv == nil {
		return
	}
	s.send(&msg.SetRinger{Mode: msg.RingOff, Duration: msg.RingNormal})
}

// CallState implements dn.Device, following docs/sccp.md §Call-flow.
func (s *session) CallState(line int, id dn.CallID, st dn.LineState) {
	s.mu.Lock()
	cv := s.viewLocked(line, id)
	if cv == nil {
		s.mu.Unlock()
		return
	}
	prev := cv.state
	inst, ref := cv.inst, cv.ref()
	state := func(cs msg.CallState) msg.Message {
		return &msg.CallStateMsg{State: cs, Line: inst, CallReference: ref, PrecedenceLevel: 4}
	}
	keys := func(set msg.SoftKeySetIndex) msg.Message {
		return &msg.SelectSoftKeys{Line: inst, CallReference: ref, SetIndex: set, ValidKeyMask: allKeys}
	}
	prompt := func(label byte) msg.Message {
		return &msg.DisplayPromptStatus{Text: msg.Label(label), Line: inst, CallReference: ref}
	}
	lamp := func(m msg.LampMode) msg.Message {
		return &msg.SetLamp{Stimulus: msg.ButtonLine, Instance: inst, Mode: m}
	}
	var ms []msg.Message
	switch st {
	case dn.LineDialing:
		// CUCM opens the call plane with the speaker on whatever lifted it:
		// NewCall, a line or speed-dial key, or OffHook (docs/sccp.md §Speaker).
		cv.state = msg.CallOffHook
		ms = append(ms, &msg.SetRinger{Mode: msg.RingOff, Duration: msg.RingNormal},
			&msg.SetSpeakerMode{Mode: msg.ModeOn}, lamp(msg.LampOn), state(msg.CallOffHook),
			keys(msg.KeySetOffHook), prompt(msg.LabelEnterNumber), &msg.ActivateCallPlane{Line: inst})
	case dn.LineRingback:
		cv.state = msg.CallRingOut
		if d := s.dialing[id]; d != "" {
			ms = append(ms, &msg.DialedNumber{Version: s.version, Number: d, Line: inst, CallReference: ref})
		}
		delete(s.dialing, id)
		ms = append(ms, state(msg.CallProceed), state(msg.CallRingOut), keys(msg.KeySetRingOut), prompt(msg.LabelRingOut))
	case dn.LineConnected:
		cv.state = msg.CallConnected
		if prev == msg.CallRingIn {
			// Answered here: CUCM's order, speaker on after the ringer
			// whether Answer, the line key or OffHook answered (docs/sccp.md §Speaker).
			ms = append(ms, &msg.SetRinger{Mode: msg.RingOff, Duration: msg.RingNormal},
				&msg.SetSpeakerMode{Mode: msg.ModeOn}, lamp(msg.LampOn),
				state(msg.CallOffHook), &msg.ActivateCallPlane{Line: inst})
		} else {
			ms = append(ms, lamp(msg.LampOn))
		}
		delete(s.dialing, id)
		ms = append(ms, state(msg.CallConnected), keys(msg.KeySetConnected), prompt(msg.LabelConnected))
		if cv.info.ID != 0 {
			ms = append(ms, s.callInfoMsg(cv))
		}
	case dn.LineHold:
		cv.state = msg.CallHold
		ms = append(ms, state(msg.CallHold), lamp(msg.LampWink), keys(msg.KeySetOnHold), prompt(msg.LabelHold))
	case dn.LineRemoteInUse:
		if prev == msg.CallRingIn {
			// Answered on another phone of a shared line: RingIn → Connected,
			// so no missed call is logged (docs/sccp.md §Missed-calls, §Checklist item 8).
			ms = append(ms, &msg.SetRinger{Mode: msg.RingOff, Duration: msg.RingNormal}, state(msg.CallConnected))
		}
		cv.state = msg.CallRemoteMultiline
		ms = append(ms, state(msg.CallRemoteMultiline), lamp(msg.LampOn), keys(msg.KeySetInUseHint),
			prompt(msg.LabelInUseRemote))
	case dn.LineBusy:
		cv.state = msg.CallBusy
		ms = append(ms, state(msg.CallBusy), keys(msg.KeySetOffHook), prompt(msg.LabelBusy))
	}
	s.mu.Unlock()
	s.send(ms...)
}

// CallInfo implements dn.Device.
func (s *session) CallInfo(line int, info dn.CallInfo) {
	s.mu.Lock()
	cv := s.viewLocked(line, info.ID)
	if cv == nil {
		s.mu.Unlock()
		return
	}
	cv.info = info
	m := s.callInfoMsg(cv)
	s.mu.Unlock()
	s.send(m)
}

func toneOf(t dn.Tone) msg.Tone {
	switch t {
	case dn.ToneDial:
		return msg.ToneInsideDial
	case dn.ToneRingback:
		return msg.ToneAlerting
	case dn.ToneBusy:
		return msg.ToneLineBusy
	case dn.ToneReorder:
		return msg.ToneReorder
	}
	return 0
}

// Tone implements dn.Device.
func (s *session) Tone(line int, id dn.CallID, t dn.Tone) {
	s.mu.Lock()
	cv := s.viewLocked(line, id)
	if cv == nil {
		s.mu.Unlock()
		return
	}
	var m msg.Message
	if t == dn.ToneNone {
		m = &msg.StopTone{Version: s.version, Line: cv.inst, CallReference: cv.ref(), Tone: cv.tone}
		cv.tone = 0
	} else {
		cv.tone = toneOf(t)
		m = &msg.StartTone{Tone: cv.tone, Line: cv.inst, CallReference: cv.ref()}
	}
	s.mu.Unlock()
	s.send(m)
}

// Released implements dn.Device: the teardown set CUCM sent (docs/sccp.md §Call-flow
// "B hangs up").
func (s *session) Released(line int, id dn.CallID, cause dn.Cause) {
	s.mu.Lock()
	cv := s.calls[id]
	if cv == nil {
		s.mu.Unlock()
		return
	}
	delete(s.calls, id)
	delete(s.dialing, id)
	if id == s.xferHeld || id == s.xferConsult {
		s.xferHeld, s.xferConsult = 0, 0
	}
	inst, ref := cv.inst, cv.ref()
	var ms []msg.Message
	if cv.state == msg.CallRingIn {
		ms = append(ms, &msg.SetRinger{Mode: msg.RingOff, Duration: msg.RingNormal})
		if cause == dn.CauseAnsweredElsewhere {
			ms = append(ms, &msg.CallStateMsg{State: msg.CallConnected, Line: inst, CallReference: ref, PrecedenceLevel: 4})
		}
	}
	if cv.tone != 0 {
		ms = append(ms, &msg.StopTone{Version: s.version, Line: inst, CallReference: ref, Tone: cv.tone})
	}
	ms = append(ms, s.stopMediaLocked(cv)...)
	lineBusy := false
	for _, o := range s.calls {
		if o.inst == inst {
			lineBusy = true
		}
	}
	if !lineBusy {
		ms = append(ms, &msg.SetLamp{Stimulus: msg.ButtonLine, Instance: inst, Mode: msg.LampOff})
	}
	ms = append(ms, &msg.ClearPromptStatus{Line: inst, CallReference: ref},
		&msg.CallStateMsg{State: msg.CallOnHook, Line: inst, CallReference: ref, PrecedenceLevel: 4})
	if len(s.calls) == 0 {
		// Idle again: CUCM refreshed the clock and turned the speaker off
		// last (docs/sccp.md §Speaker).
		ms = append(ms, &msg.SelectSoftKeys{SetIndex: msg.KeySetOnHook, ValidKeyMask: allKeys},
			&msg.DisplayPromptStatus{Text: msg.Label(msg.LabelYourOptions)},
			msg.NewDefineTimeDate(s.srv.Now()), &msg.SetSpeakerMode{Mode: msg.ModeOff})
	}
	s.mu.Unlock()
	s.send(ms...)
}

func (s *session) stopMediaLocked(cv *callView) []msg.Message {
	var ms []msg.Message
	ref := cv.ref()
	if cv.mediaOpen {
		ms = append(ms, &msg.CloseReceiveChannel{ConferenceID: ref, PassThruPartyID: cv.passThru, CallReference: ref,
			HasPortHandling: true})
	}
	if cv.transmitting {
		ms = append(ms, &msg.StopMediaTransmission{ConferenceID: ref, PassThruPartyID: cv.passThru, CallReference: ref,
			HasPortHandling: true})
	}
	cv.mediaOpen, cv.transmitting, cv.passThru, cv.rtp = false, false, 0, netip.AddrPort{}
	return ms
}

// DND implements dn.Device.
func (s *session) DND(on bool) {
	s.mu.Lock()
	s.dnd = on
	idle := len(s.calls) == 0
	s.mu.Unlock()
	// Plain text: the 7960 8.x shows "UNDEFINED!" for the DND label code (docs/sccp.md §Field-reports).
	text := msg.Label(msg.LabelYourOptions)
	if on {
		text = "Do Not Disturb"
	}
	if idle {
		s.send(&msg.DisplayPromptStatus{Text: text})
	}
}

// Reset implements dn.Device: restart the phone as CME's `restart` does.
// Sent once per session: the core and Server.Apply may both ask.
func (s *session) Reset() {
	s.mu.Lock()
	again := s.resetSent
	s.resetSent = true
	s.mu.Unlock()
	if !again {
		s.send(&msg.Reset{Type: msg.ResetRestart})
	}
}

func codecOf(p dn.MediaParams) msg.Codec {
	if p.Codec == dn.PCMA {
		return msg.CodecG711Alaw
	}
	return msg.CodecG711Ulaw
}

func packetMs(p dn.MediaParams) uint32 {
	if p.PacketMs <= 0 {
		return 20
	}
	return uint32(p.PacketMs)
}

// OpenMedia implements dn.Device: OpenReceiveChannel with a fresh
// passThruPartyId (docs/sccp.md §Media-rules; RFC 2833 payload 101, dtmfType 10).
func (s *session) OpenMedia(line int, id dn.CallID, p dn.MediaParams) {
	s.mu.Lock()
	cv := s.viewLocked(line, id)
	if cv == nil {
		s.mu.Unlock()
		return
	}
	s.passThru++
	if s.passThru == 0 {
		s.passThru++
	}
	cv.passThru, cv.mediaOpen = s.passThru, true
	m := &msg.OpenReceiveChannel{Version: s.version, ConferenceID: cv.ref(), PassThruPartyID: cv.passThru,
		PacketSizeMs: packetMs(p), Codec: codecOf(p), CallReference: cv.ref(), RFC2833PayloadType: 101, DTMFType: 10}
	s.mu.Unlock()
	s.send(m)
}

// StartMedia implements dn.Device: StartMediaTransmission to the peer's
// receive address, precedence 184 as CUCM (docs/sccp.md §Media-rules).
func (s *session) StartMedia(line int, id dn.CallID, remote netip.AddrPort, p dn.MediaParams) {
	s.mu.Lock()
	cv := s.viewLocked(line, id)
	if cv == nil {
		s.mu.Unlock()
		return
	}
	var ms []msg.Message
	ref := cv.ref()
	if cv.transmitting {
		ms = append(ms, &msg.StopMediaTransmission{ConferenceID: ref, PassThruPartyID: cv.passThru, CallReference: ref,
			HasPortHandling: true, PortHandling: 1})
	}
	cv.transmitting = true
	ms = append(ms, &msg.StartMediaTransmission{Version: s.version, ConferenceID: ref, PassThruPartyID: cv.passThru,
		RemoteAddr: remote.Addr().Unmap(), RemotePort: uint32(remote.Port()), PacketSizeMs: packetMs(p),
		Codec: codecOf(p), Precedence: 184, MaxFramesPerPacket: uint16(packetMs(p) / 10), CallReference: ref,
		RFC2833PayloadType: 101, DTMFType: 10})
	s.mu.Unlock()
	s.send(ms...)
}

// StopMedia implements dn.Device. Close and Stop carry the port-handling
// flag: Wireshark reads the 12-byte CUCM 4.1 form as malformed and phones
// ignore trailing bytes (docs/sccp.md §Version-changes, §Media-messages).
func (s *session) StopMedia(line int, id dn.CallID) {
	s.mu.Lock()
	cv := s.calls[id]
	if cv == nil {
		s.mu.Unlock()
		return
	}
	ms := s.stopMediaLocked(cv)
	s.mu.Unlock()
	s.send(ms...)
}

// StopTransmit implements dn.TransmitStopper: StopMediaTransmission only;
// the receive channel stays open for music on hold.
func (s *session) StopTransmit(line int, id dn.CallID) {
	s.mu.Lock()
	cv := s.calls[id]
	if cv == nil || !cv.transmitting {
		s.mu.Unlock()
		return
	}
	ref := cv.ref()
	m := &msg.StopMediaTransmission{ConferenceID: ref, PassThruPartyID: cv.passThru, CallReference: ref, HasPortHandling: true}
	cv.transmitting = false
	s.mu.Unlock()
	s.send(m)
}

// CallForward implements dn.Device: the forward state of the DN on line.
func (s *session) CallForward(line int, number string) {
	s.mu.Lock()
	if s.layout == nil {
		s.mu.Unlock()
		return
	}
	inst := s.layout.instanceOf(line)
	if inst == 0 {
		s.mu.Unlock()
		return
	}
	if number == "" {
		delete(s.forward, inst)
	} else {
		if s.forward == nil {
			s.forward = map[uint32]string{}
		}
		s.forward[inst] = number
	}
	res := &msg.ForwardStatRes{Version: s.version, Line: inst}
	if number != "" {
		res.ActiveForward, res.ForwardAll, res.ForwardAllNumber = 1, true, number
	}
	s.mu.Unlock()
	s.send(res)
}

// ---- CFwdAll softkey ----

// cfwdAll toggles forward-all on a line: cancel when set, else collect a
// number from the keypad ('#' or EndCall finishes).
func (s *session) cfwdAll(inst uint32) {
	fw, ok := s.srv.Switch.(Forwarder)
	if !ok {
		s.send(&msg.StartTone{Tone: msg.ToneBeepBonk})
		return
	}
	s.mu.Lock()
	if inst == 0 && s.layout != nil && len(s.layout.Lines) > 0 {
		inst = s.layout.Lines[0].Instance
	}
	b, ok := s.layout.line(inst)
	current := s.forward[inst]
	if ok && current == "" {
		s.fwdEntry = &fwdEntry{line: b.Index, inst: inst}
	}
	id := s.id
	s.mu.Unlock()
	if !ok {
		return
	}
	if current != "" {
		s.coreErr("cfwdall", fw.SetCallForwardAll(id, b.Index, ""))
		return
	}
	s.send(&msg.DisplayPromptStatus{Text: msg.Label(msg.LabelCFwdAll) + " " + msg.Label(msg.LabelEnterNumber)},
		&msg.StartTone{Tone: msg.ToneZipZip})
}

// fwdDigit takes a keypad digit while a CFwdAll number is being entered.
func (s *session) fwdDigit(c byte) bool {
	s.mu.Lock()
	e := s.fwdEntry
	if e == nil {
		s.mu.Unlock()
		return false
	}
	if c != '#' {
		if len(e.digits) < 24 {
			e.digits += string(c)
		}
		s.mu.Unlock()
		return true
	}
	s.mu.Unlock()
	s.fwdDone()
	return true
}

// fwdDone ends CFwdAll entry; false when none was in progress.
func (s *session) fwdDone() bool {
	s.mu.Lock()
	e := s.fwdEntry
	s.fwdEntry = nil
	id := s.id
	s.mu.Unlock()
	if e == nil {
		return false
	}
	if fw, ok := s.srv.Switch.(Forwarder); ok && e.digits != "" {
		s.coreErr("cfwdall", fw.SetCallForwardAll(id, e.line, e.digits))
	}
	s.send(&msg.DisplayPromptStatus{Text: msg.Label(msg.LabelYourOptions)})
	return true
}
