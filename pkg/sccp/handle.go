package sccp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
)

// handle dispatches one message from the phone (reader goroutine).
func (s *session) handle(m msg.Message) {
	switch m := m.(type) {
	case *msg.KeepAlive:
		s.keepAlives.Add(1)
		s.send(&msg.KeepAliveAck{})
		return
	case *msg.Register:
		s.onRegister(m)
		return
	case *msg.Alarm:
		// The phone's reason for its last disconnect (docs/sccp.md §Registration-sequence step 1).
		s.log.Debug("sccp: phone alarm", "device", m.Text, "severity", m.Severity)
		return
	case *msg.Unknown:
		if m.MsgID == msg.IDServerReq && s.srv.registered(s) {
			// Answered so it is never left unanswered (docs/sccp.md §Checklist item 4).
			local, _ := netip.ParseAddrPort(s.conn.LocalAddr().String())
			s.send(serverRes(s.srv.config().HostnameOrDefault(), local.Addr().Unmap(), int(local.Port())))
			return
		}
		s.log.Debug("sccp: unknown message ignored", "device", s.name, "id", m.MsgID.String(), "len", len(m.Payload))
		return
	}
	s.mu.Lock()
	registered := s.registered
	s.mu.Unlock()
	if !registered {
		s.log.Debug("sccp: message before registration ignored", "id", m.ID().String())
		return
	}
	switch m := m.(type) {
	case *msg.Unregister:
		s.onUnregister()
	case *msg.CapabilitiesRes:
		s.setCaps(m.Caps)
	case *msg.UpdateCapabilities:
		if len(m.Audio) > 0 {
			s.setCaps(m.Audio)
		}
	case *msg.ButtonTemplateReq:
		s.mu.Lock()
		btn := s.layout.Buttons
		s.mu.Unlock()
		s.send(&msg.ButtonTemplateRes{Buttons: btn})
	case *msg.SoftKeyTemplateReq:
		s.send(SoftKeyTemplate())
	case *msg.SoftKeySetReq:
		// CUCM follows with the idle key set and prompt unasked (docs/sccp.md §Registration-sequence step 6).
		s.mu.Lock()
		ks := s.keySets
		s.mu.Unlock()
		s.send(ks.res(), &msg.SelectSoftKeys{SetIndex: msg.KeySetOnHook, ValidKeyMask: 0xFFFFFFFF},
			&msg.DisplayPromptStatus{Text: msg.Label(msg.LabelYourOptions)})
	case *msg.LineStatReq:
		s.send(s.lineStat(m.Line))
	case *msg.ForwardStatReq:
		s.send(s.forwardStat(m.Line))
	case *msg.SpeedDialStatReq:
		s.send(s.speedDialStat(m.Number))
	case *msg.FeatureStatReq:
		s.featureStat(m.Index)
	case *msg.ServiceURLStatReq:
		s.send(&msg.ServiceURLStatRes{Index: m.Index})
	case *msg.ConfigStatReq:
		s.send(s.configStat())
	case *msg.TimeDateReq:
		s.onTimeDate()
	case *msg.VersionReq:
		s.mu.Lock()
		load := s.reg.FirmwareLoadName
		s.mu.Unlock()
		s.send(&msg.VersionRes{Load: load})
	case *msg.RegisterAvailableLines:
		s.mu.Lock()
		s.availLines = int(min(m.MaxLines, 64))
		s.mu.Unlock()
	case *msg.SubscriptionStatReq:
		s.onSubscription(m)
	case *msg.OffHook:
		s.onOffHook(m.Line, m.CallReference)
	case *msg.OnHook:
		s.onOnHook(m.Line, m.CallReference)
	case *msg.KeypadButton:
		s.onKeypad(m.Button, m.Line, m.CallReference)
	case *msg.EnblocCall:
		s.onEnbloc(m.CalledParty, m.Line)
	case *msg.Stimulus:
		s.onStimulus(m.Stimulus, m.Instance, m.CallReference)
	case *msg.SoftKeyEvent:
		s.onSoftKey(m.Event, m.Line, m.CallReference)
	case *msg.OpenReceiveChannelAck:
		s.onReceiveAck(m)
	}
}

func (s *session) setCaps(c []msg.MediaCapability) {
	s.mu.Lock()
	s.caps = append(s.caps[:0], c[:min(len(c), 32)]...)
	s.mu.Unlock()
}

// onUnregister answers UnregisterAck; while a call is active the answer is
// NAK and the phone stays, as chan-sccp does (docs/sccp.md §Unregister-and-reset).
func (s *session) onUnregister() {
	s.mu.Lock()
	active := len(s.calls) > 0
	s.mu.Unlock()
	if active {
		s.send(&msg.UnregisterAck{Status: msg.UnregisterNAK})
		return
	}
	s.send(&msg.UnregisterAck{Status: msg.UnregisterOK})
	s.closeAfterFlush("unregistered by phone")
}

// closeAfterFlush lets the writer send what is queued, then closes.
func (s *session) closeAfterFlush(reason string) {
	go func() {
		s.wwg.Wait()
		s.wmu.Lock()
		for s.writing {
			s.wmu.Unlock()
			s.wwg.Wait()
			s.wmu.Lock()
		}
		s.wmu.Unlock()
		s.close(reason)
	}()
}

// lineStat answers LineStatReq, with an empty record for an unknown line
// (docs/sccp.md §Registration-sequence step 7). Display options 15 show numbers and names (CS).
func (s *session) lineStat(inst uint32) *msg.LineStatRes {
	s.mu.Lock()
	b, ok := s.layout.line(inst)
	s.mu.Unlock()
	res := &msg.LineStatRes{Line: inst, DisplayOptions: 15}
	if !ok {
		return res
	}
	if d := s.srv.index().dn(b.DN); d != nil {
		res.DirNumber, res.FullName, res.Label = d.Number, d.Name, d.Label
		if res.Label == "" {
			res.Label = d.Number
		}
		if res.FullName == "" {
			res.FullName = d.Number
		}
	}
	return res
}

func (s *session) forwardStat(inst uint32) *msg.ForwardStatRes {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := &msg.ForwardStatRes{Version: s.version, Line: inst}
	if n := s.forward[inst]; n != "" {
		res.ActiveForward, res.ForwardAll, res.ForwardAllNumber = 1, true, n
	}
	return res
}

func (s *session) speedDialStat(inst uint32) *msg.SpeedDialStatRes {
	s.mu.Lock()
	sp, ok := s.layout.speed(inst)
	s.mu.Unlock()
	res := &msg.SpeedDialStatRes{Number: inst}
	if ok {
		res.DirNumber, res.Name = sp.Number, sp.Label
		if res.Name == "" {
			res.Name = sp.Number
		}
	}
	return res
}

// featureStat answers FeatureStatReq: a BLF speed dial gets its lamp as
// FeatureStatV2Res (docs/sccp.md §Native-BLF); a template feature button its
// type, as CUCM answered a 7912's Hold (docs/sccp.md §Small-model-templates);
// any other index an empty FeatureStatRes, never silence (a 7960 stalls
// otherwise, docs/sccp.md §Field-reports).
func (s *session) featureStat(inst uint32) {
	s.mu.Lock()
	var feature msg.ButtonType
	if s.layout != nil {
		feature, _ = s.layout.feature(inst)
	}
	s.mu.Unlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wclosed {
		return
	}
	if inst >= 1 && int(inst) <= len(s.lamps) && s.lamps[inst-1].blf {
		l := &s.lamps[inst-1]
		l.asked = true
		s.appendLocked(&msg.FeatureStatV2Res{Index: inst, Feature: msg.ButtonBLFSpeedDial, Status: uint32(l.status),
			Label: l.label})
	} else {
		s.appendLocked(&msg.FeatureStatRes{Index: inst, Feature: feature})
	}
	s.kickLocked()
}

func (s *session) configStat() *msg.ConfigStatRes {
	cfg := s.srv.config()
	s.mu.Lock()
	defer s.mu.Unlock()
	res := &msg.ConfigStatRes{DeviceName: s.name, Instance: 1, ServerName: cfg.HostnameOrDefault(),
		NumberLines: uint32(len(s.layout.Lines)), NumberSpeedDial: uint32(len(s.layout.Speeds))}
	if s.ephone != nil {
		res.UserName = s.ephone.Username
	}
	return res
}

// onTimeDate answers DefineTimeDate; TimeDateReq ends registration
// (docs/sccp.md §Registration-sequence step 14), so the post-registration pushes follow: every BLF
// lamp (step 15) and the forward state.
func (s *session) onTimeDate() {
	s.send(msg.NewDefineTimeDate(s.srv.Now()))
	s.mu.Lock()
	first := !s.provisioned
	s.provisioned = true
	s.mu.Unlock()
	if !first {
		return
	}
	s.wmu.Lock()
	for i := range s.lamps {
		l := &s.lamps[i]
		if l.blf {
			l.asked = true
			if !s.wclosedOrDirty(uint32(i + 1)) {
				s.lampDirty = append(s.lampDirty, uint32(i+1))
			}
		}
	}
	if !s.wclosed {
		s.kickLocked()
	}
	s.wmu.Unlock()
}

func (s *session) wclosedOrDirty(inst uint32) bool {
	if s.wclosed {
		return true
	}
	for _, d := range s.lampDirty {
		if d == inst {
			return true
		}
	}
	return false
}

// onSubscription is call-list BLF (docs/sccp.md §Call-list-BLF): SubscriptionStatRes,
// then Notification now and on every change. Honours `presence call-list`
// globally or on the ephone, and the model table (not on 7940/7960).
func (s *session) onSubscription(m *msg.SubscriptionStatReq) {
	res := &msg.SubscriptionStatRes{TransactionID: m.TransactionID, FeatureID: m.FeatureID, Timer: m.Timer}
	cfg := s.srv.config()
	s.mu.Lock()
	allowed := !s.model.Has(msg.NoCallListBLF) && s.ephone != nil && cfg.PresenceCallListFor(s.ephone.PresenceCallList)
	old, had := s.listSubs[m.TransactionID]
	if had {
		delete(s.listSubs, m.TransactionID)
	}
	full := len(s.listSubs) >= maxCallListSubs
	s.mu.Unlock()
	p := s.srv.Presence
	if had && p != nil {
		p.Unsubscribe(old)
	}
	number := trimNumber(m.SubscriptionID)
	switch {
	case !allowed || p == nil:
		res.Cause = 2 // AuthFail: not enabled for this phone
	case len(number) <= 1 || m.FeatureID != msg.SubscriptionFeatureBLF:
		res.Cause = 1 // RouteFail; phones send a lone space for "no number" (CS)
	case full:
		res.Cause = 6 // Throttle
	}
	if res.Cause != 0 || m.Timer == 0 {
		s.send(res)
		return
	}
	s.send(res)
	id, err := p.Subscribe(blf.SubscribeRequest{Watcher: &listWatcher{s: s, tid: m.TransactionID},
		WatcherName: s.name, Kind: blf.KindSCCPCallList, Presentity: number})
	if err != nil {
		// Refused (max-subscription, unknown number): the entry shows unknown.
		s.setListState(m.TransactionID, msg.BLFUnknown)
		return
	}
	s.mu.Lock()
	if !s.registered {
		s.mu.Unlock()
		p.Unsubscribe(id)
		return
	}
	if s.listSubs == nil {
		s.listSubs = map[uint32]blf.SubID{}
	}
	s.listSubs[m.TransactionID] = id
	s.mu.Unlock()
}

func trimNumber(n string) string {
	out := make([]byte, 0, len(n))
	for i := 0; i < len(n) && len(out) < 32; i++ {
		c := n[i]
		if c >= '0' && c <= '9' || c == '*' || c == '#' || c == '+' || c >= 'A' && c <= 'D' {
			out = append(out, c)
		}
	}
	return string(out)
}

// ---- call control: phone → core ----

func (s *session) deviceID() dn.DeviceID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// lineIndex maps a line instance to the core's line (button index); 0 stays
// 0 ("the phone decides").
func (s *session) lineIndex(inst uint32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.layout.line(inst); ok {
		return b.Index
	}
	return 0
}

// callByRef finds the call behind a call reference (0: none).
func (s *session) callByRef(ref uint32) (*callView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ref == 0 {
		return nil, false
	}
	cv, ok := s.calls[dn.CallID(ref)]
	if !ok {
		return nil, false
	}
	c := *cv
	return &c, true
}

// activeCall is the call in the given call states, most recent first.
func (s *session) findCall(states ...msg.CallState) (callView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *callView
	for _, cv := range s.calls {
		for _, st := range states {
			if cv.state == st && (best == nil || cv.id > best.id) {
				best = cv
			}
		}
	}
	if best == nil {
		return callView{}, false
	}
	return *best, true
}

// refErr is the error of a phone command whose call the caller does not need.
func refErr(_ dn.CallRef, err error) error { return err }

func (s *session) coreErr(op string, err error) {
	if err == nil {
		return
	}
	s.log.Debug("sccp: core refused", "device", s.name, "op", op, "err", err)
	if errors.Is(err, dn.ErrLineBusy) || errors.Is(err, dn.ErrBadState) || errors.Is(err, dn.ErrNoLine) {
		s.send(&msg.StartTone{Tone: msg.ToneBeepBonk})
	}
}

func (s *session) onOffHook(inst, ref uint32) {
	id := s.deviceID()
	if cv, ok := s.callByRef(ref); ok && cv.state == msg.CallRingIn {
		s.coreErr("answer", refErr(s.srv.Switch.Answer(id, cv.line, cv.id)))
		return
	}
	if cv, ok := s.findCall(msg.CallRingIn); ok && inst == 0 {
		s.coreErr("answer", refErr(s.srv.Switch.Answer(id, cv.line, cv.id)))
		return
	}
	s.coreErr("offhook", refErr(s.srv.Switch.OffHook(id, s.lineIndex(inst))))
}

func (s *session) onOnHook(inst, ref uint32) {
	s.mu.Lock()
	s.fwdEntry = nil
	s.mu.Unlock()
	line := s.lineIndex(inst)
	if cv, ok := s.callByRef(ref); ok {
		line = cv.line
	}
	s.coreErr("onhook", refErr(s.srv.Switch.OnHook(s.deviceID(), line)))
}

func keyChar(k msg.KeypadKey) (byte, bool) {
	switch {
	case k <= 9:
		return byte('0' + k), true
	case k >= 0x0A && k <= 0x0D:
		return byte('A' + k - 0x0A), true
	case k == msg.KeyStar:
		return '*', true
	case k == msg.KeyPound:
		return '#', true
	case k == msg.KeyPlus:
		return '+', true
	}
	return 0, false
}

func (s *session) onKeypad(k msg.KeypadKey, inst, ref uint32) {
	c, ok := keyChar(k)
	if !ok {
		return
	}
	if s.fwdDigit(c) {
		return
	}
	s.dial(string(c), inst)
}

// onEnbloc dials a whole number: what phones send when the user dials
// from a call list or a directory, so it goes through the application
// dialing rules when the core has them (docs/cme-behaviour.md
// §Dialing-rules).
func (s *session) onEnbloc(number string, inst uint32) {
	n := trimNumber(number)
	if r, ok := s.srv.Switch.(DialRuler); ok && n != "" {
		if d, err := r.DialableNumber(n); err == nil {
			n = d
		}
	}
	if n != "" {
		s.dial(n, inst)
	}
}

// dial sends digits to the dialling call, lifting the handset first when
// the phone is idle (on-hook dialling, speed dials, BLF buttons).
func (s *session) dial(digits string, inst uint32) {
	id := s.deviceID()
	cv, ok := s.findCall(msg.CallOffHook)
	if !ok {
		if _, busy := s.findCall(msg.CallConnected, msg.CallRingOut, msg.CallProceed, msg.CallBusy); busy {
			return // DTMF during a call: the phones send RFC 2833 themselves
		}
		ref, err := s.srv.Switch.OffHook(id, s.lineIndex(inst))
		if err != nil {
			s.coreErr("offhook", err)
			return
		}
		if ref.State != dn.LineDialing {
			return // lifting answered a ringing call: the digits are DTMF
		}
		cv = callView{id: ref.ID, line: ref.Line}
	}
	s.mu.Lock()
	if s.dialing == nil {
		s.dialing = map[dn.CallID]string{}
	}
	if len(s.dialing[cv.id]) < 64 {
		s.dialing[cv.id] += digits
	}
	s.lastDialed = s.dialing[cv.id]
	s.mu.Unlock()
	s.coreErr("digits", refErr(s.srv.Switch.Digits(id, cv.line, digits)))
}

func (s *session) onStimulus(st msg.ButtonType, inst, ref uint32) {
	id := s.deviceID()
	switch st {
	case msg.ButtonLine:
		if cv, ok := s.findCall(msg.CallRingIn); ok && s.lineIndex(inst) == cv.line {
			s.coreErr("answer", refErr(s.srv.Switch.Answer(id, cv.line, cv.id)))
			return
		}
		if cv, ok := s.findCall(msg.CallHold); ok && s.lineIndex(inst) == cv.line {
			s.coreErr("resume", refErr(s.srv.Switch.Resume(id, cv.line, cv.id)))
			return
		}
		s.coreErr("offhook", refErr(s.srv.Switch.OffHook(id, s.lineIndex(inst))))
	case msg.ButtonSpeedDial, msg.ButtonBLFSpeedDial:
		s.mu.Lock()
		sp, ok := s.layout.speed(inst)
		s.mu.Unlock()
		if !ok || sp.Number == "" {
			s.send(&msg.StartTone{Tone: msg.ToneBeepBonk}) // CS: BeepBonk without a number
			return
		}
		if st == msg.ButtonBLFSpeedDial && s.blfPickup(sp.Number) {
			return // directed pickup of the call ringing there (features.go)
		}
		s.dial(sp.Number, 0)
	case msg.ButtonRedial:
		s.redial()
	case msg.ButtonHold:
		s.onSoftKey(evHold, 0, ref)
	case msg.ButtonDND:
		s.onSoftKey(evDND, 0, 0)
	case msg.ButtonForwardAll:
		s.onSoftKey(evCFwdAll, inst, 0)
	case msg.ButtonTransfer:
		s.onSoftKey(evTransfer, 0, ref)
	}
}

func (s *session) redial() {
	s.mu.Lock()
	n := s.lastDialed
	s.mu.Unlock()
	if n == "" {
		s.send(&msg.StartTone{Tone: msg.ToneBeepBonk})
		return
	}
	s.dial(n, 0)
}

// onSoftKey maps our softkey events (layout.go) to the core.
func (s *session) onSoftKey(ev, inst, ref uint32) {
	s.mu.Lock()
	blocked := slices.Contains(s.blockedKeys, ev)
	s.mu.Unlock()
	if blocked {
		// `features blocked` takes the feature away, not only its key
		// (docs/cme-cli.md §Softkeys).
		s.send(&msg.StartTone{Tone: msg.ToneBeepBonk})
		return
	}
	id := s.deviceID()
	sw := s.srv.Switch
	cv, haveRef := s.callByRef(ref)
	line := s.lineIndex(inst)
	if haveRef {
		line = cv.line
	}
	switch ev {
	case evNewCall:
		s.coreErr("offhook", refErr(sw.OffHook(id, line)))
	case evRedial:
		s.redial()
	case evEndCall:
		if s.fwdDone() {
			return
		}
		s.coreErr("onhook", refErr(sw.OnHook(id, line)))
	case evAnswer:
		var call dn.CallID
		if haveRef {
			call = cv.id
		} else if r, ok := s.findCall(msg.CallRingIn); ok {
			call, line = r.id, r.line
		}
		s.coreErr("answer", refErr(sw.Answer(id, line, call)))
	case evHold:
		if !haveRef {
			c, ok := s.findCall(msg.CallConnected)
			if !ok {
				return
			}
			cv, line = &c, c.line
		}
		s.coreErr("hold", refErr(sw.Hold(id, line, cv.id)))
	case evResume:
		var call dn.CallID
		if haveRef {
			call = cv.id
		} else if h, ok := s.findCall(msg.CallHold); ok {
			call, line = h.id, h.line
		}
		s.coreErr("resume", refErr(sw.Resume(id, line, call)))
	case evDND:
		s.mu.Lock()
		on := !s.dnd
		s.mu.Unlock()
		s.coreErr("dnd", sw.SetDND(id, on))
	case evTransfer:
		t, ok := sw.(Transferrer)
		if !ok {
			s.send(&msg.StartTone{Tone: msg.ToneBeepBonk})
			return
		}
		s.mu.Lock()
		held, consult := s.xferHeld, s.xferConsult
		s.mu.Unlock()
		if held != 0 {
			// Second press: connect the held party to the consultation call.
			s.mu.Lock()
			s.xferHeld, s.xferConsult = 0, 0
			s.mu.Unlock()
			s.coreErr("transfer", t.CompleteTransfer(id, held, consult))
			return
		}
		var call dn.CallID
		if haveRef {
			call = cv.id
		} else if c, ok := s.findCall(msg.CallConnected); ok {
			call, line = c.id, c.line
		}
		x, err := t.StartTransfer(id, line, call)
		if err != nil {
			s.coreErr("transfer", err)
			return
		}
		s.mu.Lock()
		s.xferHeld, s.xferConsult = x.Held.ID, x.Consult.ID
		s.mu.Unlock()
	case evConfrn:
		c, ok := sw.(Conferencer)
		if !ok {
			s.send(&msg.StartTone{Tone: msg.ToneBeepBonk})
			return
		}
		var call dn.CallID
		if haveRef {
			call = cv.id
		} else if x, ok := s.findCall(msg.CallConnected); ok {
			call, line = x.id, x.line
		}
		s.coreErr("conference", refErr(c.Conference(id, line, call)))
	case evCFwdAll:
		s.cfwdAll(inst)
	case evBackSpace:
		// Digits already went to the core; nothing to take back.
	default:
		if featureKey(ev) {
			var call dn.CallID
			if haveRef {
				call = cv.id
			}
			s.onFeatureKey(ev, line, call)
		}
	}
}

// onReceiveAck reports the phone's RTP receive address to the core
// (docs/sccp.md §Media-rules: StartMediaTransmission to the peer carries it). Acks for
// finished calls are ignored (docs/sccp.md §Field-reports).
func (s *session) onReceiveAck(m *msg.OpenReceiveChannelAck) {
	s.mu.Lock()
	var found *callView
	for _, cv := range s.calls {
		if cv.passThru != 0 && cv.passThru == m.PassThruPartyID {
			found = cv
			break
		}
	}
	var line int
	var call dn.CallID
	if found != nil {
		found.rtp = netip.AddrPortFrom(m.Addr, uint16(m.Port))
		line, call = found.line, found.id
	}
	s.mu.Unlock()
	if found == nil || m.Status != msg.MediaOK {
		return
	}
	if mr, ok := s.srv.Switch.(MediaReporter); ok {
		s.coreErr("media", mr.MediaReady(s.deviceID(), line, call, netip.AddrPortFrom(m.Addr, uint16(m.Port))))
	}
}

// serverRes would answer ServerReq; the message is not modelled by msg, so
// it is built here: 5 × name[48], 5 × port, 5 × IPv4 (docs/sccp.md §Registration-messages).
func serverRes(name string, ip netip.Addr, port int) *msg.Unknown {
	p := make([]byte, 5*48+5*4+5*4)
	copy(p[:47], name)
	binary.LittleEndian.PutUint32(p[240:], uint32(port))
	if ip.Is4() {
		a := ip.As4()
		copy(p[260:], a[:])
	}
	return &msg.Unknown{MsgID: msg.IDServerRes, Payload: p}
}
