package sccp

import (
	"errors"

	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
)

// Call park, call pickup and hunt-group softkeys (docs/cme-behaviour.md
// §Call-park, §Call-pickup, §Hunt-groups). Their events (evPark, evPickUp,
// evGPickUp, evHLog) are defined with the template in softkeys.go.

// Parker is implemented by a Switch with call park (Park softkey).
type Parker interface {
	Park(id dn.DeviceID, line int, call dn.CallID, slot string) (string, error)
}

// Picker is implemented by a Switch with call pickup (PickUp and GPickUp
// softkeys, BLF speed-dial pickup).
type Picker interface {
	Pickup(id dn.DeviceID, line int, kind dn.PickupKind, number string) (dn.CallRef, error)
	PickupBLF(id dn.DeviceID, number string) (dn.CallRef, error)
}

// HuntLogger is implemented by a Switch with hunt groups (HLog softkey).
type HuntLogger interface {
	SetHuntLogout(id dn.DeviceID, out bool) error
	HuntLoggedOut(name string) (bool, error)
}

// featureKeys are the softkeys of this file, for onSoftKey.
func featureKey(ev uint32) bool {
	return ev == evPark || ev == evPickUp || ev == evGPickUp || ev == evHLog
}

// onFeatureKey handles Park, PickUp, GPickUp and HLog.
func (s *session) onFeatureKey(ev uint32, line int, call dn.CallID) {
	id := s.deviceID()
	switch ev {
	case evPark:
		p, ok := s.srv.Switch.(Parker)
		if !ok {
			s.send(&msg.StartTone{Tone: msg.ToneBeepBonk})
			return
		}
		if call == 0 {
			if c, ok := s.findCall(msg.CallConnected); ok {
				call, line = c.id, c.line
			}
		}
		slot, err := p.Park(id, line, call, "")
		if err != nil {
			s.coreErr("park", err)
			if errors.Is(err, dn.ErrLineBusy) {
				s.send(&msg.StartTone{Tone: msg.ToneLineBusy}) // no free slot: busy tone
			}
			return
		}
		// The phone shows where the call went (CME: "Call park at ...").
		s.send(&msg.DisplayPromptStatus{Timeout: 10, Text: msg.Label(msg.LabelPark) + " " + slot})
	case evPickUp, evGPickUp:
		p, ok := s.srv.Switch.(Picker)
		if !ok {
			s.send(&msg.StartTone{Tone: msg.ToneBeepBonk})
			return
		}
		kind := dn.PickupGroup // GPickUp: the group digits follow ("*": own group)
		if ev == evPickUp {
			kind = dn.PickupLocal
			if s.srv.directedPickup() {
				kind = dn.PickupDirected // the extension digits follow
			}
		}
		_, err := p.Pickup(id, line, kind, "")
		s.coreErr("pickup", err)
		if errors.Is(err, dn.ErrNoCall) {
			s.send(&msg.StartTone{Tone: msg.ToneBeepBonk})
		}
	case evHLog:
		h, ok := s.srv.Switch.(HuntLogger)
		if !ok {
			return
		}
		out, err := h.HuntLoggedOut(s.name)
		if err != nil {
			return
		}
		s.coreErr("hlog", h.SetHuntLogout(id, !out))
		text := "Hunt group login"
		if !out {
			text = "Hunt group logout"
		}
		s.send(&msg.DisplayPromptStatus{Timeout: 10, Text: text})
	}
}

// directedPickup reports `service directed-pickup`: PickUp then takes
// an extension instead of picking up in the phone's own group.
func (s *Server) directedPickup() bool {
	t := s.config().Telephony
	return t != nil && t.DirectedPickup
}

// blfPickup: a BLF speed-dial pressed while its line rings picks the call
// up under `service directed-pickup` (dn.Switch.PickupBLF); false means
// the key dials its number as usual.
func (s *session) blfPickup(number string) bool {
	p, ok := s.srv.Switch.(Picker)
	if !ok {
		return false
	}
	_, err := p.PickupBLF(s.deviceID(), number)
	return err == nil
}

// ParkReminder implements dn.ParkReminder: one short ring and the slot
// on the display.
func (s *session) ParkReminder(slot string) {
	s.send(&msg.SetRinger{Mode: msg.RingFeature, Duration: msg.RingSingle},
		&msg.DisplayPromptStatus{Timeout: 10, Text: msg.Label(msg.LabelPark) + " " + slot})
}
