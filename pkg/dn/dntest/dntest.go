// Package dntest provides a fake dn.Device that records every effect the
// core sends, for tests of dn and of the packages built on it.
package dntest

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/cmed-project/cmed/pkg/dn"
)

// Effect is one recorded Device call. Kind is the method name.
type Effect struct {
	// Ring, StopRing, CallState, CallInfo, Tone, Released, DND, Reset,
	// OpenMedia, StartMedia, StopMedia, CallForward
	Kind   string
	Line   int
	Call   dn.CallID
	State  dn.LineState
	Tone   dn.Tone
	Cause  dn.Cause
	Info   dn.CallInfo
	On     bool
	Addr   netip.AddrPort // StartMedia: the remote
	Params dn.MediaParams
	Number string // CallForward
}

func (e Effect) String() string {
	switch e.Kind {
	case "Ring":
		return fmt.Sprintf("Ring(%d, call %d from %s)", e.Line, e.Call, e.Info.Calling.Number)
	case "CallState":
		return fmt.Sprintf("CallState(%d, call %d, %v)", e.Line, e.Call, e.State)
	case "Tone":
		return fmt.Sprintf("Tone(%d, call %d, %d)", e.Line, e.Call, e.Tone)
	case "Released":
		return fmt.Sprintf("Released(%d, call %d, %v)", e.Line, e.Call, e.Cause)
	case "DND":
		return fmt.Sprintf("DND(%v)", e.On)
	case "Reset":
		return "Reset()"
	case "StartMedia":
		return fmt.Sprintf("StartMedia(%d, call %d, %v)", e.Line, e.Call, e.Addr)
	case "CallForward":
		return fmt.Sprintf("CallForward(%d, %q)", e.Line, e.Number)
	}
	return fmt.Sprintf("%s(%d, call %d)", e.Kind, e.Line, e.Call)
}

// Device records effects. It is safe for concurrent use and never blocks.
// The zero value is ready; AutoMedia makes it answer OpenMedia like a
// phone would.
type Device struct {
	mu      sync.Mutex // guards the fields below; a leaf
	effects []Effect

	sw       *dn.Switch
	id       dn.DeviceID
	addr     netip.Addr
	nextPort uint16
	rx       map[dn.CallID]netip.AddrPort
}

// AutoMedia makes the device report a receive address (addr, ports from
// 20000 up, a new one per OpenMedia) with sw.MediaReady for every
// OpenMedia, from a new goroutine as a real adapter would (a Device must
// not call the Switch synchronously).
func (d *Device) AutoMedia(sw *dn.Switch, id dn.DeviceID, addr netip.Addr) {
	d.mu.Lock()
	d.sw, d.id, d.addr, d.nextPort = sw, id, addr, 20000
	d.mu.Unlock()
}

// RxAddr is the receive address last reported for a call (AutoMedia).
func (d *Device) RxAddr(id dn.CallID) netip.AddrPort {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rx[id]
}

var _ dn.Device = (*Device)(nil)

func (d *Device) add(e Effect) {
	d.mu.Lock()
	d.effects = append(d.effects, e)
	d.mu.Unlock()
}

func (d *Device) Ring(line int, info dn.CallInfo) {
	d.add(Effect{Kind: "Ring", Line: line, Call: info.ID, Info: info})
}
func (d *Device) StopRing(line int, id dn.CallID) {
	d.add(Effect{Kind: "StopRing", Line: line, Call: id})
}
func (d *Device) CallState(line int, id dn.CallID, st dn.LineState) {
	d.add(Effect{Kind: "CallState", Line: line, Call: id, State: st})
}
func (d *Device) CallInfo(line int, info dn.CallInfo) {
	d.add(Effect{Kind: "CallInfo", Line: line, Call: info.ID, Info: info})
}
func (d *Device) Tone(line int, id dn.CallID, t dn.Tone) {
	d.add(Effect{Kind: "Tone", Line: line, Call: id, Tone: t})
}
func (d *Device) Released(line int, id dn.CallID, c dn.Cause) {
	d.add(Effect{Kind: "Released", Line: line, Call: id, Cause: c})
}
func (d *Device) DND(on bool) { d.add(Effect{Kind: "DND", On: on}) }
func (d *Device) Reset()      { d.add(Effect{Kind: "Reset"}) }

func (d *Device) OpenMedia(line int, id dn.CallID, p dn.MediaParams) {
	d.mu.Lock()
	d.effects = append(d.effects, Effect{Kind: "OpenMedia", Line: line, Call: id, Params: p})
	sw, dev := d.sw, d.id
	var ap netip.AddrPort
	if sw != nil {
		ap = netip.AddrPortFrom(d.addr, d.nextPort)
		d.nextPort += 2
		if d.rx == nil {
			d.rx = map[dn.CallID]netip.AddrPort{}
		}
		d.rx[id] = ap
	}
	d.mu.Unlock()
	if sw != nil {
		go func() { _ = sw.MediaReady(dev, line, id, ap) }()
	}
}
func (d *Device) StartMedia(line int, id dn.CallID, remote netip.AddrPort, p dn.MediaParams) {
	d.add(Effect{Kind: "StartMedia", Line: line, Call: id, Addr: remote, Params: p})
}
func (d *Device) StopMedia(line int, id dn.CallID) {
	d.add(Effect{Kind: "StopMedia", Line: line, Call: id})
}
func (d *Device) CallForward(line int, number string) {
	d.add(Effect{Kind: "CallForward", Line: line, Number: number})
}

// Effects returns a copy of everything recorded so far.
func (d *Device) Effects() []Effect {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.effects)
}

// Take returns and forgets everything recorded so far.
func (d *Device) Take() []Effect {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.effects
	d.effects = nil
	return out
}

// Kinds returns the recorded method names in order, handy for cmp.Diff.
func (d *Device) Kinds() []string {
	var out []string
	for _, e := range d.Effects() {
		out = append(out, e.Kind)
	}
	return out
}

// Last returns the last effect of the given kind and whether there is one.
func (d *Device) Last(kind string) (Effect, bool) {
	es := d.Effects()
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Kind == kind {
			return es[i], true
		}
	}
	return Effect{}, false
}

// Dump renders the effects one per line for failure messages.
func (d *Device) Dump() string {
	var b strings.Builder
	for _, e := range d.Effects() {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Recorder is a dn.Observer that keeps the latest event per DN and device.
type Recorder struct {
	mu      sync.Mutex // guards lines and devices; a leaf
	lines   map[dn.DNKey]dn.LineEvent
	devices map[string]dn.DeviceEvent
	count   int
}

var _ dn.Observer = (*Recorder)(nil)

func (r *Recorder) LineChanged(ev dn.LineEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lines == nil {
		r.lines = map[dn.DNKey]dn.LineEvent{}
	}
	r.lines[ev.Key] = ev
	r.count++
}

func (r *Recorder) DeviceChanged(ev dn.DeviceEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.devices == nil {
		r.devices = map[string]dn.DeviceEvent{}
	}
	r.devices[ev.Name] = ev
	r.count++
}

// Line returns the latest event for a DN.
func (r *Recorder) Line(k dn.DNKey) (dn.LineEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev, ok := r.lines[k]
	return ev, ok
}

// Device returns the latest event for a device.
func (r *Recorder) Device(name string) (dn.DeviceEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev, ok := r.devices[name]
	return ev, ok
}

// Count is the number of events received.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

// Media is a fake dn.MediaServer that records the streams it runs.
type Media struct {
	mu      sync.Mutex // guards streams, echo and every Stream.stopped (shared with them); a leaf
	streams []*Stream
	echo    uint16
}

var _ dn.MediaServer = (*Media)(nil)

// Stream is one started MediaServer stream.
type Stream struct {
	Kind    string // MOH, Echo, Tone
	Dest    netip.AddrPort
	Addr    netip.AddrPort // Echo: where the phone sends
	Tone    dn.Tone
	mu      *sync.Mutex // the Media's mu: guards stopped
	stopped bool
}

// Stop implements dn.MediaHandle.
func (st *Stream) Stop() {
	st.mu.Lock()
	st.stopped = true
	st.mu.Unlock()
}

// Stopped reports whether Stop was called.
func (st *Stream) Stopped() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.stopped
}

func (m *Media) add(st *Stream) *Stream {
	m.mu.Lock()
	defer m.mu.Unlock()
	st.mu = &m.mu
	m.streams = append(m.streams, st)
	return st
}

func (m *Media) StartMOH(dest netip.AddrPort, _ dn.MediaParams) (dn.MediaHandle, error) {
	return m.add(&Stream{Kind: "MOH", Dest: dest}), nil
}

func (m *Media) StartEcho(_ dn.MediaParams) (netip.AddrPort, dn.MediaHandle, error) {
	m.mu.Lock()
	m.echo++
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 40000+2*m.echo)
	m.mu.Unlock()
	return addr, m.add(&Stream{Kind: "Echo", Addr: addr}), nil
}

func (m *Media) StartTone(dest netip.AddrPort, _ dn.MediaParams, t dn.Tone) (dn.MediaHandle, error) {
	return m.add(&Stream{Kind: "Tone", Dest: dest, Tone: t}), nil
}

// Streams returns the streams started so far.
func (m *Media) Streams() []*Stream {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.streams)
}

// Active returns the streams of a kind not stopped yet.
func (m *Media) Active(kind string) []*Stream {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Stream
	for _, st := range m.streams {
		if st.Kind == kind && !st.stopped {
			out = append(out, st)
		}
	}
	return out
}

// Records is a dn.CallRecorder that keeps every record.
type Records struct {
	mu   sync.Mutex // guards recs; a leaf
	recs []dn.CallRecord
}

var _ dn.CallRecorder = (*Records)(nil)

func (r *Records) CallRecord(rec dn.CallRecord) {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
}

// All returns the records so far.
func (r *Records) All() []dn.CallRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.recs)
}

// Of returns the records of one phone and kind.
func (r *Records) Of(phone string, kind dn.RecordKind) []dn.CallRecord {
	var out []dn.CallRecord
	for _, rec := range r.All() {
		if rec.Phone == phone && rec.Kind == kind {
			out = append(out, rec)
		}
	}
	return out
}

// Stuck replays the recorded effects like a phone's display would and
// returns what is still showing: per line and call the last call state or
// "ringing" not yet ended by Released, and "media" for receive channels
// opened and never stopped. At quiescence (no calls) it must be empty:
// anything left is a stuck lamp (docs/sccp.md §Field-reports).
func (d *Device) Stuck() []string {
	type key struct {
		line int
		call dn.CallID
	}
	shown := map[key]string{}
	media := map[key]bool{}
	var order []key
	for _, e := range d.Effects() {
		k := key{e.Line, e.Call}
		switch e.Kind {
		case "Ring":
			k.call = e.Info.ID
			if _, ok := shown[k]; !ok {
				order = append(order, k)
			}
			shown[k] = "ringing"
		case "StopRing":
			if shown[k] == "ringing" {
				shown[k] = "alerted"
			}
		case "CallState":
			if _, ok := shown[k]; !ok {
				order = append(order, k)
			}
			shown[k] = e.State.String()
		case "Released":
			delete(shown, k)
		case "OpenMedia":
			if !media[k] {
				order = append(order, k)
			}
			media[k] = true
		case "StopMedia":
			delete(media, k)
		}
	}
	var out []string
	for _, k := range order {
		if st, ok := shown[k]; ok {
			out = append(out, fmt.Sprintf("line %d call %d: %s", k.line, k.call, st))
			delete(shown, k)
		}
		if media[k] {
			out = append(out, fmt.Sprintf("line %d call %d: media open", k.line, k.call))
			delete(media, k)
		}
	}
	return out
}

// Nop is a dn.Device that ignores everything (benchmarks, load tests).
type Nop struct{}

var _ dn.Device = Nop{}

func (Nop) Ring(int, dn.CallInfo)                                     {}
func (Nop) StopRing(int, dn.CallID)                                   {}
func (Nop) CallState(int, dn.CallID, dn.LineState)                    {}
func (Nop) CallInfo(int, dn.CallInfo)                                 {}
func (Nop) Tone(int, dn.CallID, dn.Tone)                              {}
func (Nop) Released(int, dn.CallID, dn.Cause)                         {}
func (Nop) DND(bool)                                                  {}
func (Nop) Reset()                                                    {}
func (Nop) OpenMedia(int, dn.CallID, dn.MediaParams)                  {}
func (Nop) StartMedia(int, dn.CallID, netip.AddrPort, dn.MediaParams) {}
func (Nop) StopMedia(int, dn.CallID)                                  {}
func (Nop) CallForward(int, string)                                   {}

// Trunk is a fake dn.Trunk: it records every call the core makes and keeps
// the set of trunk calls a real adapter would still have a dialog for, so
// tests can check that none is left behind. Report back with the helper
// methods (Incoming, Answer, Fail, HangupRemote), which call the Switch from the
// test goroutine as an adapter's own goroutine would.
type Trunk struct {
	mu     sync.Mutex // guards events and dials; a leaf
	events []TrunkEvent
	dials  map[dn.CallID]dn.TrunkCall
	live   map[dn.CallID]bool
	port   uint16
}

// TrunkEvent is one recorded Trunk call. Kind is the method name: Dial,
// UpdateMedia, Ringing, Answered, Hangup.
type TrunkEvent struct {
	Kind  string
	ID    dn.CallID
	Call  dn.TrunkCall // Dial
	Addr  netip.AddrPort
	Cause dn.Cause
}

func (e TrunkEvent) String() string {
	switch e.Kind {
	case "Dial":
		return fmt.Sprintf("Dial(%d, peer %d, %s -> %s, offer %v)", e.ID, e.Call.Peer, e.Call.Calling.Number,
			e.Call.Called, e.Call.Offer)
	case "Hangup":
		return fmt.Sprintf("Hangup(%d, %v)", e.ID, e.Cause)
	case "Ringing":
		return fmt.Sprintf("Ringing(%d)", e.ID)
	}
	return fmt.Sprintf("%s(%d, %v)", e.Kind, e.ID, e.Addr)
}

var _ dn.Trunk = (*Trunk)(nil)

func (t *Trunk) add(e TrunkEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, e)
	switch e.Kind {
	case "Dial":
		if t.dials == nil {
			t.dials = map[dn.CallID]dn.TrunkCall{}
		}
		t.dials[e.ID] = e.Call
		t.setLive(e.ID, true)
	case "Hangup":
		t.setLive(e.ID, false)
	}
}

func (t *Trunk) setLive(id dn.CallID, on bool) {
	if t.live == nil {
		t.live = map[dn.CallID]bool{}
	}
	if on {
		t.live[id] = true
	} else {
		delete(t.live, id)
	}
}

func (t *Trunk) Dial(c dn.TrunkCall) {
	t.add(TrunkEvent{Kind: "Dial", ID: c.ID, Call: c, Addr: c.Offer})
}
func (t *Trunk) UpdateMedia(id dn.CallID, local netip.AddrPort) {
	t.add(TrunkEvent{Kind: "UpdateMedia", ID: id, Addr: local})
}
func (t *Trunk) Ringing(id dn.CallID) { t.add(TrunkEvent{Kind: "Ringing", ID: id}) }
func (t *Trunk) Answered(id dn.CallID, local netip.AddrPort) {
	t.add(TrunkEvent{Kind: "Answered", ID: id, Addr: local})
}
func (t *Trunk) Hangup(id dn.CallID, c dn.Cause) { t.add(TrunkEvent{Kind: "Hangup", ID: id, Cause: c}) }

// RemoteAddr returns a new far-end RTP address (198.51.100.1, even ports
// from 30000).
func (t *Trunk) RemoteAddr() netip.AddrPort {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.port == 0 {
		t.port = 30000
	}
	t.port += 2
	return netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), t.port)
}

// Events returns a copy of everything recorded so far.
func (t *Trunk) Events() []TrunkEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.events)
}

// Last returns the last event of a kind (any id when id is 0).
func (t *Trunk) Last(kind string, id dn.CallID) (TrunkEvent, bool) {
	es := t.Events()
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Kind == kind && (id == 0 || es[i].ID == id) {
			return es[i], true
		}
	}
	return TrunkEvent{}, false
}

// Dials returns the outbound calls in the order they were dialled.
func (t *Trunk) Dials() []dn.TrunkCall {
	var out []dn.TrunkCall
	for _, e := range t.Events() {
		if e.Kind == "Dial" {
			out = append(out, e.Call)
		}
	}
	return out
}

// Live returns the trunk calls a real adapter would still hold a dialog
// for: dialled or incoming, and not ended by either side; sorted.
func (t *Trunk) Live() []dn.CallID {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]dn.CallID, 0, len(t.live))
	for id := range t.live {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Inbound reports whether id is a call that came in through Incoming.
func (t *Trunk) Inbound(id dn.CallID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, dialled := t.dials[id]
	return !dialled
}

// Dump renders the events one per line for failure messages.
func (t *Trunk) Dump() string {
	var b strings.Builder
	for _, e := range t.Events() {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Incoming offers a call from the trunk, as an adapter receiving an
// INVITE would: it reserves the id first so that callbacks find it.
func (t *Trunk) Incoming(sw *dn.Switch, in dn.InboundCall) (dn.CallID, error) {
	in.ID = sw.NewCallID()
	t.mu.Lock()
	t.setLive(in.ID, true)
	t.mu.Unlock()
	id, err := sw.TrunkIncoming(in)
	if err != nil {
		t.mu.Lock()
		t.setLive(in.ID, false)
		t.mu.Unlock()
	}
	return id, err
}

// Answer reports the far end's answer of outbound call id.
func (t *Trunk) Answer(sw *dn.Switch, id dn.CallID, remote netip.AddrPort) error {
	return sw.TrunkAnswered(id, remote)
}

// Fail reports a final failure of outbound call id; the dialog is over.
func (t *Trunk) Fail(sw *dn.Switch, id dn.CallID, c dn.Cause) error {
	t.mu.Lock()
	t.setLive(id, false)
	t.mu.Unlock()
	return sw.TrunkFailed(id, c)
}

// HangupRemote reports that the far end hung up call id (BYE); the
// dialog is over.
func (t *Trunk) HangupRemote(sw *dn.Switch, id dn.CallID) error {
	t.mu.Lock()
	t.setLive(id, false)
	t.mu.Unlock()
	return sw.TrunkHangup(id)
}
