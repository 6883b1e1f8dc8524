package sccptest

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/cmed-project/cmed/pkg/sccp/msg"
)

// RegisterMessage is the Register this phone sends: 68 bytes like a 7960 on
// SCCP 8.x, 124 with MAC and load name like a 7941 on 8.5 (docs/sccp.md §Register-layout).
func (p *Phone) RegisterMessage() *msg.Register {
	r := &msg.Register{
		DeviceName: p.cfg.DeviceName, Instance: 1, StationIP: p.cfg.StationIP,
		DeviceType: p.model.DeviceType, MaxStreams: 5, ProtocolVersion: uint8(p.cfg.Version),
		PhoneFeatures: 0x8560, MaxLines: uint32(p.model.Lines),
	}
	if p.model.Has(msg.LegacyFirmware) {
		r.WireLen = 68
	} else {
		r.WireLen = 124
		r.PhoneFeatures = 0x8572
		if mac, err := hex.DecodeString(p.cfg.MAC); err == nil && len(mac) == 6 {
			copy(r.MAC[:], mac)
		}
		r.FirmwareLoadName = "SCCP" + p.model.Name + ".test"
	}
	if p.cfg.PhoneFeatures != 0 {
		r.PhoneFeatures = p.cfg.PhoneFeatures
	}
	return r
}

// Register sends Alarm ("Last=Initialized", as phones do first) and Register,
// then waits for RegisterAck and the CapabilitiesReq that must follow it
// (answered automatically), or RegisterReject (ErrRejected).
func (p *Phone) Register(ctx context.Context) error {
	alarm := &msg.Alarm{Severity: 2, Text: fmt.Sprintf("Name=%s Load=test Last=Initialized", p.cfg.DeviceName)}
	if err := p.Send(alarm); err != nil {
		return err
	}
	if err := p.Send(p.RegisterMessage()); err != nil {
		return err
	}
	m, err := p.WaitFor(ctx, func(m msg.Message) bool {
		switch m.(type) {
		case *msg.RegisterAck, *msg.RegisterReject:
			return true
		}
		return false
	})
	if err != nil {
		return err
	}
	if rj, ok := m.(*msg.RegisterReject); ok {
		return fmt.Errorf("%w: %q", ErrRejected, rj.Text)
	}
	// Every call manager sends CapabilitiesReq right after RegisterAck
	// (docs/sccp.md §Registration-sequence step 2); the read loop has answered it once it is seen.
	if _, err := p.WaitFor(ctx, is[*msg.CapabilitiesReq]); err != nil {
		return fmt.Errorf("sccptest: no CapabilitiesReq after RegisterAck: %w", err)
	}
	return nil
}

// request sends req and waits for the first message match accepts.
func (p *Phone) request(ctx context.Context, req msg.Message, match func(msg.Message) bool) (msg.Message, error) {
	if err := p.Send(req); err != nil {
		return nil, err
	}
	m, err := p.WaitFor(ctx, match)
	if err != nil {
		return nil, fmt.Errorf("sccptest: no answer to %v: %w", req.ID(), err)
	}
	return m, nil
}

func is[T msg.Message](m msg.Message) bool { _, ok := m.(T); return ok }

// instances returns the instance numbers of the template buttons of the given types.
func instances(buttons []msg.Button, types ...msg.ButtonType) []uint32 {
	var out []uint32
	for _, b := range buttons {
		if slices.Contains(types, b.Type) && !slices.Contains(out, uint32(b.Instance)) {
			out = append(out, uint32(b.Instance))
		}
	}
	return out
}

// Provision runs the requests a registered phone sends, in the order of
// docs/sccp.md §Registration-sequence, waiting for each answer: ButtonTemplate, SoftKeyTemplate and
// SoftKeySet (softkey models), LineStat + ForwardStat per line,
// FeatureStatReq per feature/BLF button (4 bytes on 7940/7960, 8 on newer
// loads, as captured), SpeedDialStat per speed dial and BLF speed dial
// (highest first, as in the CUCM capture), ServiceURLStat per service button,
// ConfigStat, RegisterAvailableLines, and last TimeDateReq.
func (p *Phone) Provision(ctx context.Context) error {
	if _, err := p.request(ctx, &msg.ButtonTemplateReq{}, is[*msg.ButtonTemplateRes]); err != nil {
		return err
	}
	if !p.model.Has(msg.NoSoftKeys) {
		if _, err := p.request(ctx, &msg.SoftKeyTemplateReq{}, is[*msg.SoftKeyTemplateRes]); err != nil {
			return err
		}
		if _, err := p.request(ctx, &msg.SoftKeySetReq{}, is[*msg.SoftKeySetRes]); err != nil {
			return err
		}
	}
	buttons := p.State().Buttons
	lines := instances(buttons, msg.ButtonLine)
	for _, n := range lines {
		if _, err := p.request(ctx, &msg.LineStatReq{Line: n}, func(m msg.Message) bool {
			switch m := m.(type) {
			case *msg.LineStatRes:
				return m.Line == n
			case *msg.LineStatV2Res:
				return m.Line == n
			}
			return false
		}); err != nil {
			return err
		}
		if _, err := p.request(ctx, &msg.ForwardStatReq{Line: n}, is[*msg.ForwardStatRes]); err != nil {
			return err
		}
	}
	// A 7912 asked FeatureStatReq for its template's Hold button too (CUCM 4.1 capture).
	for _, n := range instances(buttons, msg.ButtonFeature, msg.ButtonBLFSpeedDial, msg.ButtonMultiBlink, msg.ButtonDND,
		msg.ButtonHold) {
		if err := p.featureStat(ctx, n); err != nil {
			return err
		}
	}
	sd := instances(buttons, msg.ButtonSpeedDial, msg.ButtonBLFSpeedDial)
	slices.Sort(sd)
	slices.Reverse(sd)
	for _, n := range sd {
		if _, err := p.request(ctx, &msg.SpeedDialStatReq{Number: n}, func(m msg.Message) bool {
			r, ok := m.(*msg.SpeedDialStatRes)
			return ok && r.Number == n
		}); err != nil {
			return err
		}
	}
	for _, n := range instances(buttons, msg.ButtonServiceURL) {
		if _, err := p.request(ctx, &msg.ServiceURLStatReq{Index: n}, func(m msg.Message) bool {
			return is[*msg.ServiceURLStatRes](m) || is[*msg.ServiceURLStatV2Res](m)
		}); err != nil {
			return err
		}
	}
	if _, err := p.request(ctx, &msg.ConfigStatReq{}, func(m msg.Message) bool {
		return is[*msg.ConfigStatRes](m) || is[*msg.ConfigStatV2Res](m)
	}); err != nil {
		return err
	}
	if err := p.Send(&msg.RegisterAvailableLines{MaxLines: uint32(max(len(lines), 1))}); err != nil {
		return err
	}
	_, err := p.request(ctx, &msg.TimeDateReq{}, is[*msg.DefineTimeDate])
	return err
}

func (p *Phone) featureStat(ctx context.Context, n uint32) error {
	req := &msg.FeatureStatReq{Index: n}
	if p.model.Has(msg.LegacyFirmware) {
		req.WireLen = 4
	}
	_, err := p.request(ctx, req, func(m msg.Message) bool {
		switch m := m.(type) {
		case *msg.FeatureStatRes:
			return m.Index == n
		case *msg.FeatureStatV2Res:
			return m.Index == n
		}
		return false
	})
	return err
}

// Connect is Register followed by Provision.
func (p *Phone) Connect(ctx context.Context) error {
	if err := p.Register(ctx); err != nil {
		return err
	}
	return p.Provision(ctx)
}

// KeepAlive sends KeepAlive and waits for KeepAliveAck.
func (p *Phone) KeepAlive(ctx context.Context) error {
	_, err := p.request(ctx, &msg.KeepAlive{}, is[*msg.KeepAliveAck])
	return err
}

// Unregister sends Unregister and waits for UnregisterAck.
func (p *Phone) Unregister(ctx context.Context) (*msg.UnregisterAck, error) {
	m, err := p.request(ctx, &msg.Unregister{}, is[*msg.UnregisterAck])
	if err != nil {
		return nil, err
	}
	return m.(*msg.UnregisterAck), nil
}

// current returns the line and call reference of the active call (1, 0 when idle).
func (p *Phone) current() (line, ref uint32) {
	s := p.State()
	if c := s.Calls[s.ActiveCall]; s.ActiveCall != 0 && c != nil {
		return c.Line, c.CallReference
	}
	return 1, 0
}

// Press sends a Stimulus for a button: the 12-byte form without status on a
// 7940/7960 (what a real 7960G sends, docs/sccp.md §Call-control), else the 16-byte form.
func (p *Phone) Press(stimulus msg.ButtonType, instance uint32) error {
	_, ref := p.current()
	m := &msg.Stimulus{Stimulus: stimulus, Instance: instance, CallReference: ref}
	if p.model.Has(msg.LegacyFirmware) {
		m.WireLen = 12
	}
	return p.Send(m)
}

// OffHook lifts the handset. From v11 the message carries line and call
// reference (docs/sccp.md §Version-changes; a 7960 8.x sends them as zeros when idle).
func (p *Phone) OffHook() error {
	line, ref := p.current()
	if ref == 0 {
		line = 0
	}
	return p.Send(&msg.OffHook{Line: line, CallReference: ref, HasLine: p.version() >= 11})
}

// OnHook hangs up.
func (p *Phone) OnHook() error {
	line, ref := p.current()
	if ref == 0 {
		line = 0
	}
	return p.Send(&msg.OnHook{Line: line, CallReference: ref, HasLine: p.version() >= 11})
}

// Answer answers a ringing call by going off hook.
func (p *Phone) Answer() error { return p.OffHook() }

// Dial sends one KeypadButton per character of digits (0-9, A-D, *, #, +);
// with line and call reference from v11.
func (p *Phone) Dial(digits string) error {
	for i := range len(digits) {
		k, ok := msg.KeypadKeyFor(digits[i])
		if !ok {
			return fmt.Errorf("sccptest: cannot dial %q", digits[i])
		}
		line, ref := p.current()
		m := &msg.KeypadButton{Button: k, Line: line, CallReference: ref}
		if p.version() < 11 {
			m.WireLen = 4
		}
		if err := p.Send(m); err != nil {
			return err
		}
	}
	return nil
}

// SoftKey sends a SoftKeyEvent with an explicit event number.
func (p *Phone) SoftKey(event, line, callRef uint32) error {
	return p.Send(&msg.SoftKeyEvent{Event: event, Line: line, CallReference: callRef})
}

// PressSoftKey presses the softkey whose template label is the display label
// number label (msg.LabelNewCall, msg.LabelAnswer, …), using the event number
// the server assigned in its SoftKeyTemplateRes, on the active call.
func (p *Phone) PressSoftKey(label byte) error {
	want := msg.Label(label)
	var event uint32
	found := false
	for _, k := range p.State().SoftKeys {
		if k.Label == want {
			event, found = k.Event, true
			break
		}
	}
	if !found {
		return fmt.Errorf("sccptest: no softkey with label %d in the template", label)
	}
	line, ref := p.current()
	return p.SoftKey(event, line, ref)
}

// SubscribeCallListBLF sends SubscriptionStatReq for a call-list entry (docs/sccp.md §Call-list-BLF).
func (p *Phone) SubscribeCallListBLF(transactionID uint32, number string) error {
	return p.Send(&msg.SubscriptionStatReq{TransactionID: transactionID, FeatureID: msg.SubscriptionFeatureBLF,
		Timer: 3600, SubscriptionID: number})
}
