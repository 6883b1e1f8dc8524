package web

import (
	"strconv"
	"strings"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
)

// Lamp states shown on the board. They are the values of the data-state
// attribute of every lamp element, so browser tests can assert them.
const (
	LampIdle    = "idle"
	LampRinging = "ringing"
	LampInUse   = "inuse"
	LampHold    = "hold"
	LampDND     = "dnd"
	LampUnknown = "unknown"
)

// lampWord is how the board writes a lamp state (board.js has the same map).
func lampWord(lamp string) string {
	switch lamp {
	case LampInUse:
		return "in use"
	case LampDND:
		return "DND"
	}
	return lamp
}

// State is the whole board: what /api/state returns and what the first SSE
// event carries.
type State struct {
	Hostname      string       `json:"hostname"`
	DNs           []DNView     `json:"dns"`
	Devices       []DeviceView `json:"devices"`
	Subscriptions []SubView    `json:"subscriptions"` // phone watchers (SCCP, SIP phones, web)
	Trunks        []SubView    `json:"trunks"`        // trunk watchers and our outbound watches
}

// DNView is one directory number and its lamp.
type DNView struct {
	ID        string `json:"id"`  // DOM id of the lamp, "dn-1001"
	Key       string `json:"key"` // "ephone-dn 1"
	Number    string `json:"number"`
	Secondary string `json:"secondary,omitempty"`
	Label     string `json:"label,omitempty"`
	Name      string `json:"name,omitempty"`
	State     string `json:"state"` // Lamp*
	// Status is the composed presence SIP watchers see (Options.PresenceStatus):
	// the line, the calendar or what the user published.
	Status string      `json:"status,omitempty"`
	Calls  int         `json:"calls"`
	Owners []OwnerView `json:"owners"`
}

// OwnerView is a phone button the DN appears on.
type OwnerView struct {
	Device     string `json:"device"`
	Button     int    `json:"button"`
	Registered bool   `json:"registered"`
	State      string `json:"state"` // Lamp*
}

// DeviceView is one configured phone and its buttons.
type DeviceView struct {
	ID         string       `json:"id"` // DOM id, "dev-SEP001122334455"
	Name       string       `json:"name"`
	Kind       string       `json:"kind"` // "ephone" or "pool"
	Tag        int          `json:"tag"`
	Protocol   string       `json:"protocol"`
	Model      string       `json:"model"`
	Addr       string       `json:"addr,omitempty"`
	Registered bool         `json:"registered"`
	DND        bool         `json:"dnd"`
	State      string       `json:"state"` // device presence lamp
	Buttons    []ButtonView `json:"buttons"`
	// SpeedDials are the phone's blf-speed-dial keys with the lamp the
	// phone shows for each.
	SpeedDials []SpeedDialView `json:"speed_dials"`
}

// SpeedDialView is one `blf-speed-dial TAG NUMBER [label L] [device]` key.
type SpeedDialView struct {
	ID     string `json:"id"` // DOM id of the lamp, "sd-SEP001122334455-1"
	Tag    int    `json:"tag"`
	Number string `json:"number"`
	Label  string `json:"label,omitempty"`
	Device bool   `json:"device,omitempty"` // watches the phone, not the line
	// State is the lamp the presence engine last delivered to this
	// phone's subscription (Lamp*); unknown when the phone is not
	// registered or the subscription was refused (no `presence`, no
	// `allow watch`, max-subscription), as the phone itself shows.
	State string `json:"state"`
}

// ButtonView is one line button and its lamp.
type ButtonView struct {
	ID      string `json:"id"` // DOM id, "btn-SEP001122334455-1"
	Button  int    `json:"button"`
	Number  string `json:"number"`
	DN      string `json:"dn"`              // DOM id of the DN lamp
	Label   string `json:"label,omitempty"` // the DN's label, else its name
	Monitor bool   `json:"monitor,omitempty"`
	State   string `json:"state"`  // Lamp*
	Detail  string `json:"detail"` // line state word: "connected", "remote-in-use", ...
}

// SubView is one presence subscription.
type SubView struct {
	ID         uint32 `json:"id"`
	Watcher    string `json:"watcher"`
	Presentity string `json:"presentity"`
	Kind       string `json:"kind"`
	Device     bool   `json:"device,omitempty"`
	State      string `json:"state"` // Lamp*
}

// domID makes an HTML id / CSS identifier from arbitrary text, injectively:
// letters, digits and '-' stay, every other byte becomes "_XX" (hex), so
// "1001" -> "1001" and "*8#" -> "_2A8_23". Tests and the JS select lamps
// with "#dn-" + domID(number).
func domID(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
			b.WriteByte(c)
		default:
			const hex = "0123456789ABCDEF"
			b.WriteByte('_')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// lineLamp is the lamp of one appearance.
func lineLamp(s dn.LineState) string {
	switch s {
	case dn.LineIdle:
		return LampIdle
	case dn.LineRinging:
		return LampRinging
	case dn.LineHold:
		return LampHold
	case dn.LineDND:
		return LampDND
	case dn.LineUnregistered:
		return LampUnknown
	case dn.LineDialing, dn.LineRingback, dn.LineConnected, dn.LineBusy, dn.LineRemoteInUse:
		return LampInUse
	}
	return LampUnknown
}

func presenceLamp(p dn.Presence) string {
	switch p {
	case dn.PresenceIdle:
		return LampIdle
	case dn.PresenceRinging:
		return LampRinging
	case dn.PresenceInUse:
		return LampInUse
	case dn.PresenceDND:
		return LampDND
	}
	return LampUnknown
}

// dnLamp refines the DN's presence with its appearances: presence says "in
// use" for a held call too (CME's BLF has no hold lamp), but the board can
// tell: in use with every active appearance on hold is "hold".
func dnLamp(l dn.LineStatus) string {
	lamp := presenceLamp(l.Presence)
	if lamp != LampInUse {
		return lamp
	}
	held := false
	for _, a := range l.Appearances {
		switch a.State {
		case dn.LineHold:
			held = true
		case dn.LineDialing, dn.LineRingback, dn.LineConnected, dn.LineBusy:
			return LampInUse
		}
	}
	if held {
		return LampHold
	}
	return LampInUse
}

func blfLamp(s blf.State) string {
	switch s {
	case blf.StateIdle:
		return LampIdle
	case blf.StateInUse:
		return LampInUse
	case blf.StateDND:
		return LampDND
	case blf.StateAlerting:
		return LampRinging
	}
	return LampUnknown
}

// speedDialLamp finds the presence subscription behind one speed-dial key
// of the phone named device and returns the lamp last delivered on it. The
// phone adapters name their watcher after the phone: SCCP as
// "<primary number>@<ip>", others by device name; a subscription on the same
// presentity from another phone is the fallback (same lamp unless the
// phones differ in showing alerting).
func speedDialLamp(subs []blf.SubscriptionInfo, device, primary string, sd config.BLFSpeedDial) string {
	found := -1
	for i, s := range subs {
		if s.Presentity != sd.Number || s.Device != sd.Device {
			continue
		}
		if s.Kind != blf.KindSCCPSpeedDial && s.Kind != blf.KindSIPPhone {
			continue
		}
		if s.Watcher == device || (primary != "" && strings.HasPrefix(s.Watcher, primary+"@")) {
			return blfLamp(s.State)
		}
		if found < 0 {
			found = i
		}
	}
	if found >= 0 {
		return blfLamp(subs[found].State)
	}
	return LampUnknown
}

// buildState turns core snapshots into the board model. DN ids are
// "dn-"+number; a second DN with the same number (an ephone-dn and a voice
// register dn, say) gets its key appended so ids stay unique.
//
// dials returns the configured blf-speed-dials of a device (kind "ephone"
// or "pool" and its tag); nil dials means none are shown.
func buildState(host string, lines []dn.LineStatus, devs []dn.DeviceStatus, subs []blf.SubscriptionInfo,
	dials func(kind string, tag int) []config.BLFSpeedDial) State {
	st := State{Hostname: host, DNs: make([]DNView, 0, len(lines)), Devices: make([]DeviceView, 0, len(devs)),
		Subscriptions: []SubView{}, Trunks: []SubView{}}
	idOf := make(map[dn.DNKey]string, len(lines))
	labelOf := make(map[dn.DNKey]string, len(lines))
	used := make(map[string]bool, len(lines))
	for _, l := range lines {
		id := "dn-" + domID(l.Number)
		if l.Number == "" || used[id] {
			kind := "e"
			if l.Key.Kind == dn.VoiceRegisterDN {
				kind = "v"
			}
			id += "-" + kind + strconv.Itoa(l.Key.Tag)
		}
		used[id] = true
		idOf[l.Key] = id
		labelOf[l.Key] = l.Label
		if l.Label == "" {
			labelOf[l.Key] = l.Name
		}
		v := DNView{ID: id, Key: l.Key.String(), Number: l.Number, Secondary: l.Secondary, Label: l.Label,
			Name: l.Name, State: dnLamp(l), Calls: len(l.Calls), Owners: make([]OwnerView, 0, len(l.Appearances))}
		for _, a := range l.Appearances {
			v.Owners = append(v.Owners, OwnerView{Device: a.Device, Button: a.Button, Registered: a.Registered,
				State: lineLamp(a.State)})
		}
		st.DNs = append(st.DNs, v)
	}
	for _, d := range devs {
		model := d.Model
		if d.Info.Model != "" {
			model = d.Info.Model
		}
		v := DeviceView{ID: "dev-" + domID(d.Name), Name: d.Name, Kind: d.Kind, Tag: d.Tag,
			Protocol: string(d.Protocol), Model: model, Addr: d.Info.Addr, Registered: d.Registered, DND: d.DND,
			State: presenceLamp(d.Presence), Buttons: make([]ButtonView, 0, len(d.Lines))}
		if !d.Registered {
			v.State = LampUnknown
		}
		for _, a := range d.Lines {
			v.Buttons = append(v.Buttons, ButtonView{ID: v.ID + "-" + strconv.Itoa(a.Button), Button: a.Button,
				Number: a.Number, DN: idOf[a.DN], Label: labelOf[a.DN], Monitor: a.Monitor, State: lineLamp(a.State),
				Detail: a.State.String()})
		}
		v.SpeedDials = []SpeedDialView{}
		if dials != nil {
			primary := ""
			if len(d.Lines) > 0 {
				primary = d.Lines[0].Number
			}
			for _, sd := range dials(d.Kind, d.Tag) {
				lamp := LampUnknown
				if d.Registered {
					lamp = speedDialLamp(subs, d.Name, primary, sd)
				}
				v.SpeedDials = append(v.SpeedDials, SpeedDialView{ID: "sd-" + strings.TrimPrefix(v.ID, "dev-") + "-" +
					strconv.Itoa(sd.Tag), Tag: sd.Tag, Number: sd.Number, Label: sd.Label, Device: sd.Device, State: lamp})
			}
		}
		// Button ids use "btn-" so they never collide with device ids.
		for i := range v.Buttons {
			v.Buttons[i].ID = "btn-" + strings.TrimPrefix(v.Buttons[i].ID, "dev-")
		}
		st.Devices = append(st.Devices, v)
	}
	for _, s := range subs {
		v := SubView{ID: uint32(s.ID), Watcher: s.Watcher, Presentity: s.Presentity, Kind: s.Kind.String(),
			Device: s.Device, State: blfLamp(s.State)}
		if s.Kind == blf.KindSIPTrunk || s.Kind == blf.KindOutbound {
			st.Trunks = append(st.Trunks, v)
		} else {
			st.Subscriptions = append(st.Subscriptions, v)
		}
	}
	return st
}
