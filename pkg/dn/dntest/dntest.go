// Package dntest provides a fake dn.Device that records every effect the
// core sends, for tests of dn and of the packages built on it.
package dntest

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cmed-project/cmed/pkg/dn"
)

// Effect is one recorded Device call. Kind is the method name.
type Effect struct {
	Kind  string // Ring, StopRing, CallState, CallInfo, Tone, Released, DND, Reset
	Line  int
	Call  dn.CallID
	State dn.LineState
	Tone  dn.Tone
	Cause dn.Cause
	Info  dn.CallInfo
	On    bool
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
	}
	return fmt.Sprintf("%s(%d, call %d)", e.Kind, e.Line, e.Call)
}

// Device records effects. It is safe for concurrent use and never blocks.
// The zero value is ready.
type Device struct {
	mu      sync.Mutex
	effects []Effect
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
	mu      sync.Mutex
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
