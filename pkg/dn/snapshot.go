package dn

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// AppearanceStatus is one DN on one button of a phone.
type AppearanceStatus struct {
	Button  int
	DN      DNKey
	Number  string
	Monitor bool // `button m`/`w`: shows state only
	State   LineState
}

// DeviceStatus is a configured phone, registered or not (`show ephone`,
// `show voice register pool`).
type DeviceStatus struct {
	Name       string
	Kind       string // "ephone" or "pool"
	Tag        int
	Protocol   Protocol
	Model      string   // configured type; Info.Model is what registered
	ID         DeviceID // zero when not registered
	Registered bool
	Info       DeviceInfo
	DND        bool
	Presence   Presence
	Lines      []AppearanceStatus
}

// LineAppearance is where a DN appears.
type LineAppearance struct {
	Device     string
	Button     int
	Registered bool
	State      LineState
}

// LineStatus is a DN (`show ephone-dn`, `show voice register dn`).
type LineStatus struct {
	Key         DNKey
	Number      string
	Secondary   string
	Name        string
	Label       string
	MaxCalls    int
	AllowWatch  bool
	Presence    Presence
	Calls       []CallID
	Appearances []LineAppearance
}

// LegStatus is one side of a call. A trunk leg has no DN (zero DNKey) and
// no device; Trunk and DialPeer say which trunk call it is.
type LegStatus struct {
	DN     DNKey
	Device string // "" while ringing unanswered
	Line   int
	State  LineState
	Digits string
	// Trunk is the trunk call id of a trunk leg (0 for a phone's leg) and
	// DialPeer its dial-peer.
	Trunk    CallID
	DialPeer int
}

// CallStatus is an active call (`show call active voice brief` data).
type CallStatus struct {
	ID      CallID
	Calling Party
	Called  Party
	Started time.Time
	Legs    []LegStatus
}

// Devices returns every configured phone, sorted by kind and tag.
func (s *Switch) Devices() ([]DeviceStatus, error) {
	var out []DeviceStatus
	err := s.do(func() error {
		for _, name := range sortedKeys(s.devConf) {
			dc := s.devConf[name]
			st := DeviceStatus{Name: name, Kind: dc.kind, Tag: dc.tag, Protocol: dc.protocol, Model: dc.model,
				Presence: s.devicePresence(name)}
			if d := s.devs[name]; d != nil {
				st.ID, st.Registered, st.Info, st.DND = d.id, true, d.info, d.dnd
				st.Info.Extra = maps.Clone(d.info.Extra)
			}
			for _, a := range dc.apps {
				st.Lines = append(st.Lines, AppearanceStatus{Button: a.button, DN: a.dn,
					Number: s.dnConf[a.dn].number, Monitor: a.monitor, State: s.appState(a)})
			}
			out = append(out, st)
		}
		slices.SortStableFunc(out, func(a, b DeviceStatus) int {
			return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Tag, b.Tag))
		})
		return nil
	})
	return out, err
}

// Lines returns every DN, ephone-dns first, by tag.
func (s *Switch) Lines() ([]LineStatus, error) {
	var out []LineStatus
	err := s.do(func() error {
		keys := slices.Collect(maps.Keys(s.dnConf))
		slices.SortFunc(keys, func(a, b DNKey) int {
			return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Tag, b.Tag))
		})
		for _, k := range keys {
			c := s.dnConf[k]
			st := LineStatus{Key: k, Number: c.number, Secondary: c.secondary, Name: c.name, Label: c.label,
				MaxCalls: c.calls, AllowWatch: c.allowWatch, Presence: s.dnPresence(k)}
			for _, l := range s.legs[k] {
				st.Calls = append(st.Calls, l.call.id)
			}
			for _, a := range s.dnApps[k] {
				st.Appearances = append(st.Appearances, LineAppearance{Device: a.device, Button: a.button,
					Registered: s.devs[a.device] != nil, State: s.appState(a)})
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// Calls returns the active calls, oldest first.
func (s *Switch) Calls() ([]CallStatus, error) {
	var out []CallStatus
	err := s.do(func() error {
		for _, id := range s.sortedCalls() {
			c := s.calls[id]
			st := CallStatus{ID: id, Calling: c.calling, Called: c.called, Started: c.started}
			for _, l := range []*leg{c.a, c.b} {
				if l != nil {
					ls := LegStatus{DN: l.dn, Device: l.dev, Line: l.line, State: l.state, Digits: l.digits}
					if l.trunk != nil {
						ls.Trunk, ls.DialPeer = l.cid, l.trunk.peer
					}
					st.Legs = append(st.Legs, ls)
				}
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// appState is what one appearance shows: its own call (active beats held),
// else an offered call ringing here, else remote-in-use, else DND or idle.
func (s *Switch) appState(a appearance) LineState {
	d := s.devs[a.device]
	if d == nil {
		return LineUnregistered
	}
	rank := map[LineState]int{LineConnected: 5, LineRingback: 4, LineDialing: 3, LineBusy: 2, LineHold: 1}
	best, ringing, remote := LineIdle, false, false
	for _, l := range s.legs[a.dn] {
		switch {
		case l.dev == a.device && l.line == a.button:
			if rank[l.state] > rank[best] {
				best = l.state
			}
		case l.dev == "" && l.state == LineRinging && slices.Contains(l.ringing, a):
			ringing = true
		case l.dev != "":
			remote = true
		}
	}
	switch {
	case best != LineIdle:
		return best
	case ringing:
		return LineRinging
	case remote && !a.monitor:
		return LineRemoteInUse
	case d.dnd:
		return LineDND
	}
	return LineIdle
}
