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
	BLF      bool
	Device   bool // `blf-speed-dial … device`
}

// layout is the phone's button model, fixed for one registration: the
// template and the instance numbers every later message uses (docs/sccp.md §Checklist
// item 6).
type layout struct {
	Buttons []msg.Button
	Lines   []lineButton
	Speeds  []speedButton
}

// buildLayout derives the button template of ephone e for model m: line
// buttons first in `button` index order, then `speed-dial` then
// `blf-speed-dial` entries by tag, cut at the model's button count.
func buildLayout(e *config.Ephone, m msg.Model) *layout {
	limit := maxButtons(m)
	// Sized up front: the layout lives as long as the registration, and
	// append's doubling left up to half of each slice unused (10,000+
	// phones, BENCHMARKS.md).
	nSpeeds := min(len(e.SpeedDials)+len(e.BLFSpeedDials), limit)
	l := &layout{Buttons: make([]msg.Button, 0, min(len(e.Buttons)+nSpeeds, limit)),
		Speeds: make([]speedButton, 0, nSpeeds)}
	buttons := slices.Clone(e.Buttons)
	slices.SortFunc(buttons, func(a, b config.Button) int { return cmp.Compare(a.Index, b.Index) })
	for _, b := range buttons {
		if len(l.Buttons) >= limit || len(b.DNs) == 0 {
			continue
		}
		inst := uint32(len(l.Lines) + 1)
		l.Lines = append(l.Lines, lineButton{Instance: inst, Index: b.Index, DN: b.DNs[0],
			Monitor: b.Mode == config.ButtonMonitor || b.Mode == config.ButtonWatch})
		l.Buttons = append(l.Buttons, msg.Button{Instance: uint8(inst), Type: msg.ButtonLine})
	}
	sds := slices.Clone(e.SpeedDials)
	slices.SortFunc(sds, func(a, b config.SpeedDial) int { return cmp.Compare(a.Tag, b.Tag) })
	for _, sd := range sds {
		if len(l.Buttons) >= limit {
			break
		}
		inst := uint32(len(l.Speeds) + 1)
		l.Speeds = append(l.Speeds, speedButton{Instance: inst, Number: sd.Number, Label: unquote(sd.Label)})
		l.Buttons = append(l.Buttons, msg.Button{Instance: uint8(inst), Type: msg.ButtonSpeedDial})
	}
	blfs := slices.Clone(e.BLFSpeedDials)
	slices.SortFunc(blfs, func(a, b config.BLFSpeedDial) int { return cmp.Compare(a.Tag, b.Tag) })
	for _, sd := range blfs {
		if len(l.Buttons) >= limit {
			break
		}
		inst := uint32(len(l.Speeds) + 1)
		l.Speeds = append(l.Speeds, speedButton{Instance: inst, Number: sd.Number, Label: unquote(sd.Label), BLF: true,
			Device: sd.Device})
		l.Buttons = append(l.Buttons, msg.Button{Instance: uint8(inst), Type: msg.ButtonBLFSpeedDial})
	}
	return l
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

// Softkey events are ours to choose (docs/sccp.md §Softkeys); we use CUCM 4.1's: the
// display label number. DND has no label the 7960 8.x firmware knows
// (docs/sccp.md §Field-reports), so its label is plain text.
const (
	evRedial    = msg.LabelRedial
	evNewCall   = msg.LabelNewCall
	evHold      = msg.LabelHold
	evTransfer  = msg.LabelTransfer
	evCFwdAll   = msg.LabelCFwdAll
	evBackSpace = msg.LabelBackSpace
	evEndCall   = msg.LabelEndCall
	evResume    = msg.LabelResume
	evAnswer    = msg.LabelAnswer
	evDND       = 63
)

// softKeys is the template, in order; a set refers to a key by its 1-based position.
var softKeys = []msg.SoftKey{
	{Label: msg.Label(msg.LabelRedial), Event: evRedial},
	{Label: msg.Label(msg.LabelNewCall), Event: evNewCall},
	{Label: msg.Label(msg.LabelHold), Event: evHold},
	{Label: msg.Label(msg.LabelTransfer), Event: evTransfer},
	{Label: msg.Label(msg.LabelCFwdAll), Event: evCFwdAll},
	{Label: msg.Label(msg.LabelBackSpace), Event: evBackSpace},
	{Label: msg.Label(msg.LabelEndCall), Event: evEndCall},
	{Label: msg.Label(msg.LabelResume), Event: evResume},
	{Label: msg.Label(msg.LabelAnswer), Event: evAnswer},
	{Label: "DND", Event: evDND},
}

// softKeySetEvents lists each set's keys by event, modelled on CUCM 4.1's
// defaults (docs/sccp.md §Softkeys) restricted to what cmed implements.
var softKeySetEvents = [...][]uint32{
	msg.KeySetOnHook:                {evRedial, evNewCall, evCFwdAll, evDND},
	msg.KeySetConnected:             {evHold, evEndCall, evTransfer},
	msg.KeySetOnHold:                {evResume, evNewCall, evEndCall},
	msg.KeySetRingIn:                {evAnswer, evDND},
	msg.KeySetOffHook:               {evRedial, evEndCall, evCFwdAll},
	msg.KeySetConnectedTransferable: {evHold, evEndCall, evTransfer},
	msg.KeySetDigitsFollowing:       {evBackSpace, evEndCall},
	msg.KeySetConnectedConference:   {evHold, evEndCall},
	msg.KeySetRingOut:               {evEndCall},
	msg.KeySetOffHookWithFeatures:   {evRedial, evEndCall},
	msg.KeySetInUseHint:             {evNewCall},
	msg.KeySetOnHookStealable:       {evRedial, evNewCall},
}

// SoftKeyTemplate is the SoftKeyTemplateRes every phone gets.
func SoftKeyTemplate() *msg.SoftKeyTemplateRes {
	return &msg.SoftKeyTemplateRes{Keys: slices.Clone(softKeys)}
}

// SoftKeySets is the SoftKeySetRes every phone gets: templateIndex is the
// key's 1-based template position, infoIndex 300+event (docs/sccp.md §Softkeys).
func SoftKeySets() *msg.SoftKeySetRes {
	res := &msg.SoftKeySetRes{}
	for _, evs := range softKeySetEvents {
		var set msg.SoftKeySet
		for i, ev := range evs {
			pos := slices.IndexFunc(softKeys, func(k msg.SoftKey) bool { return k.Event == ev })
			set.TemplateIndex[i] = uint8(pos + 1)
			set.InfoIndex[i] = uint16(300 + ev)
		}
		res.Sets = append(res.Sets, set)
	}
	return res
}
