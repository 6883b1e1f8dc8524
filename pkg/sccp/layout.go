package sccp

import (
	"cmp"
	"slices"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
)

// maxTemplateSlots is the number of ButtonTemplateRes definitions CUCM sends
// and Wireshark models (docs/sccp.md §Button-template); we never define more buttons.
const maxTemplateSlots = 42

// expansionButtons is what the expansion modules a model accepts add to its
// base buttons: two 7914 (14 each) on 7960/796x, two 7915/7916 (24 each) on
// 7962/7965/7975 (docs/sccp.md §Device-types lists the modules; docs/sccp.md §Field-reports: respect per-model
// plus add-on counts). Models not listed take no module.
var expansionButtons = map[string]int{
	"7960": 28, "7961": 28, "7961G-GE": 28, "7962": 48, "7965": 48, "7970": 28,
	"7971": 28, "7975": 48,
}

// maxButtons is how many template slots a model may get.
func maxButtons(m msg.Model) int {
	n := m.Buttons + expansionButtons[m.Name]
	return max(1, min(n, maxTemplateSlots))
}

// lineButton is one `button` entry shown as a line (type 0x09).
type lineButton struct {
	Instance uint32 // SCCP line instance, 1..n in button order
	Index    int    // the ephone `button` index the core calls the line
	DN       int    // first ephone-dn tag on the button
	Monitor  bool   // `m`/`w`: shows state only
}

// speedButton is a speed-dial or BLF speed-dial button; both count in the
// speed-dial instance series (docs/sccp.md §Button-template, §Native-BLF).
type speedButton struct {
	Instance uint32
	Number   string
	Label    string
	BLF      bool // native BLF: type 0x15 and a FeatureStatV2 lamp
	Device   bool // `blf-speed-dial … device`
	// Fallback: a `blf-speed-dial` sent as a plain speed dial without a
	// lamp, because the phone does not know type 0x15 (docs/sccp.md §BLF-fallback).
	Fallback bool
}

// layout is the phone's button model, fixed for one registration: the
// template and the instance numbers every later message uses (docs/sccp.md §Checklist
// item 6).
type layout struct {
	Buttons []msg.Button
	Lines   []lineButton
	Speeds  []speedButton
	// Features are the template's fixed feature buttons (a 7912's Hold), by
	// FeatureStatReq index - 1 (docs/sccp.md §Small-model-templates).
	Features []msg.ButtonType
}

// buildLayout derives the button template of ephone e for model m at
// negotiated version v: line buttons first in `button` index order, then
// `speed-dial` then `blf-speed-dial` entries by tag, cut at the model's
// button count. A model with a CUCM template gets that template with its
// slots filled instead (docs/sccp.md §Small-model-templates); BLF speed dials
// become plain speed dials where native BLF is not known (docs/sccp.md §BLF-fallback).
func buildLayout(e *config.Ephone, m msg.Model, v uint32) *layout {
	buttons := slices.Clone(e.Buttons)
	slices.SortFunc(buttons, func(a, b config.Button) int { return cmp.Compare(a.Index, b.Index) })
	sds := slices.Clone(e.SpeedDials)
	slices.SortFunc(sds, func(a, b config.SpeedDial) int { return cmp.Compare(a.Tag, b.Tag) })
	blfs := slices.Clone(e.BLFSpeedDials)
	slices.SortFunc(blfs, func(a, b config.BLFSpeedDial) int { return cmp.Compare(a.Tag, b.Tag) })
	native := m.NativeBLF(v)
	speeds := make([]speedButton, 0, len(sds)+len(blfs))
	for _, sd := range sds {
		speeds = append(speeds, speedButton{Number: sd.Number, Label: unquote(sd.Label)})
	}
	for _, sd := range blfs {
		speeds = append(speeds, speedButton{Number: sd.Number, Label: unquote(sd.Label), BLF: native,
			Device: sd.Device, Fallback: !native})
	}
	if m.Template != nil {
		return templateLayout(m.Template, buttons, speeds)
	}
	limit := maxButtons(m)
	// Sized up front: the layout lives as long as the registration, and
	// append's doubling left up to half of each slice unused (10,000+
	// phones, BENCHMARKS.md).
	nSpeeds := min(len(speeds), limit)
	l := &layout{Buttons: make([]msg.Button, 0, min(len(e.Buttons)+nSpeeds, limit)),
		Speeds: make([]speedButton, 0, nSpeeds)}
	for _, b := range buttons {
		if len(l.Buttons) >= limit || len(b.DNs) == 0 {
			continue
		}
		l.addLine(b)
	}
	for _, sp := range speeds {
		if len(l.Buttons) >= limit {
			break
		}
		sp.Instance = uint32(len(l.Speeds) + 1)
		l.Speeds = append(l.Speeds, sp)
		t := msg.ButtonSpeedDial
		if sp.BLF {
			t = msg.ButtonBLFSpeedDial
		}
		l.Buttons = append(l.Buttons, msg.Button{Instance: uint8(sp.Instance), Type: t})
	}
	return l
}

func (l *layout) addLine(b config.Button) {
	inst := uint32(len(l.Lines) + 1)
	l.Lines = append(l.Lines, lineButton{Instance: inst, Index: b.Index, DN: b.DNs[0],
		Monitor: b.Mode == config.ButtonMonitor || b.Mode == config.ButtonWatch})
	l.Buttons = append(l.Buttons, msg.Button{Instance: uint8(inst), Type: msg.ButtonLine})
}

// templateLayout sends tmpl as CUCM did, every slot included even when
// nothing is configured for it (an empty speed dial is answered with an
// empty SpeedDialStatRes, as CUCM answered). Configured lines fill the line
// slots and speed dials the speed-dial slots, in order; what does not fit is
// left out.
func templateLayout(tmpl []msg.Button, buttons []config.Button, speeds []speedButton) *layout {
	l := &layout{Buttons: slices.Clone(tmpl)}
	var nLines int
	for _, b := range tmpl {
		switch b.Type {
		case msg.ButtonLine:
			nLines++
		case msg.ButtonSpeedDial:
		default:
			l.Features = append(l.Features, b.Type)
		}
	}
	for _, b := range buttons {
		if len(l.Lines) < nLines && len(b.DNs) > 0 {
			inst := uint32(len(l.Lines) + 1)
			l.Lines = append(l.Lines, lineButton{Instance: inst, Index: b.Index, DN: b.DNs[0],
				Monitor: b.Mode == config.ButtonMonitor || b.Mode == config.ButtonWatch})
		}
	}
	for _, b := range tmpl {
		if b.Type != msg.ButtonSpeedDial || len(speeds) == 0 {
			continue
		}
		sp := speeds[0]
		speeds = speeds[1:]
		sp.Instance, sp.BLF = uint32(b.Instance), false
		l.Speeds = append(l.Speeds, sp)
	}
	return l
}

// feature is the template feature button asked for by FeatureStatReq index n.
func (l *layout) feature(n uint32) (msg.ButtonType, bool) {
	if n >= 1 && int(n) <= len(l.Features) {
		return l.Features[n-1], true
	}
	return 0, false
}

// unquote drops the double quotes IOS labels may be typed with.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func (l *layout) line(inst uint32) (lineButton, bool) {
	if inst >= 1 && int(inst) <= len(l.Lines) {
		return l.Lines[inst-1], true
	}
	return lineButton{}, false
}

// instanceOf maps the core's line (button index) to the SCCP line instance.
func (l *layout) instanceOf(index int) uint32 {
	for _, b := range l.Lines {
		if b.Index == index {
			return b.Instance
		}
	}
	return 0
}

func (l *layout) speed(inst uint32) (speedButton, bool) {
	if inst >= 1 && int(inst) <= len(l.Speeds) {
		return l.Speeds[inst-1], true
	}
	return speedButton{}, false
}
