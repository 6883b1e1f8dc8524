package sccp

import (
	"slices"
	"strings"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
)

// Softkey events are ours to choose (docs/sccp.md §Softkeys); we use CUCM 4.1's: the
// display label number for the keys CUCM sent, the events CUCM gave the
// others (Barge 21, DirTrfr 28, Select 29, ConfList 30, VidMode 33). Keys
// CUCM did not send get numbers of our own above CUCM's.
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
	evConfrn    = msg.LabelConfrn
	evPark      = msg.LabelPark
	evJoin      = 15
	evMeetMe    = 16
	evPickUp    = 17
	evGPickUp   = 18
	evBarge     = 21
	evDirTrfr   = 28
	evSelect    = 29
	evConfList  = 30
	evVidMode   = 33
	evRmLstC    = 57
	evIDivert   = 59
	evDND       = 63
	evCallBack  = 65
	evHLog      = 92
	evCBarge    = 101
	evTrnsfVM   = 102
	evAcct      = 103
	evFlash     = 104
	evLiveRcd   = 105
	evLogin     = 106
)

// softKeyDef is one template entry and the names `softkeys` and
// `features blocked` call it by (docs/cme-cli.md §Softkeys).
type softKeyDef struct {
	key   msg.SoftKey
	names []string // lower case; the first is CME's spelling
}

// softKeyDefs is the template, in order; a set refers to a key by its
// 1-based position. The first 20 are CUCM 4.1's template as it sent it
// (docs/sccp.md §Softkeys); the rest are CME keys CUCM did not send. Those
// carry plain-text labels: a label number the firmware lacks shows
// "UNDEFINED!" (docs/sccp.md §Field-reports, DND).
var softKeyDefs = []softKeyDef{
	{msg.SoftKey{Label: msg.Label(msg.LabelRedial), Event: evRedial}, []string{"redial"}},
	{msg.SoftKey{Label: msg.Label(msg.LabelNewCall), Event: evNewCall}, []string{"newcall"}},
	{msg.SoftKey{Label: msg.Label(msg.LabelHold), Event: evHold}, []string{"hold"}},
	{msg.SoftKey{Label: msg.Label(msg.LabelTransfer), Event: evTransfer}, []string{"trnsfer", "transfer"}},
	{msg.SoftKey{Label: msg.Label(msg.LabelCFwdAll), Event: evCFwdAll}, []string{"cfwdall"}},
	{msg.SoftKey{Label: msg.Label(msg.LabelBackSpace), Event: evBackSpace}, []string{"backspace"}},
	{msg.SoftKey{Label: msg.Label(msg.LabelEndCall), Event: evEndCall}, []string{"endcall"}},
	{msg.SoftKey{Label: msg.Label(msg.LabelResume), Event: evResume}, []string{"resume"}},
	{msg.SoftKey{Label: msg.Label(msg.LabelAnswer), Event: evAnswer}, []string{"answer"}},
	{msg.SoftKey{Label: msg.Label(msg.LabelConfrn), Event: evConfrn}, []string{"confrn", "conference"}},
	{msg.SoftKey{Label: msg.Label(msg.LabelPark), Event: evPark}, []string{"park"}},
	{msg.SoftKey{Label: msg.Label(15), Event: evJoin}, []string{"join"}},
	{msg.SoftKey{Label: msg.Label(16), Event: evMeetMe}, []string{"meetme"}},
	{msg.SoftKey{Label: msg.Label(17), Event: evPickUp}, []string{"pickup"}},
	{msg.SoftKey{Label: msg.Label(18), Event: evGPickUp}, []string{"gpickup"}},
	{msg.SoftKey{Label: msg.Label(67), Event: evBarge}, []string{"barge"}},
	{msg.SoftKey{Label: msg.Label(77), Event: evDirTrfr}, []string{"dirtrfr"}},
	{msg.SoftKey{Label: msg.Label(78), Event: evSelect}, []string{"select"}},
	{msg.SoftKey{Label: msg.Label(79), Event: evConfList}, []string{"conflist"}},
	{msg.SoftKey{Label: msg.Label(88), Event: evVidMode}, []string{"vidmode"}},
	{msg.SoftKey{Label: "DND", Event: evDND}, []string{"dnd"}},
	{msg.SoftKey{Label: "HLog", Event: evHLog}, []string{"hlog"}},
	{msg.SoftKey{Label: "iDivert", Event: evIDivert}, []string{"idivert"}},
	{msg.SoftKey{Label: "RmLstC", Event: evRmLstC}, []string{"rmlstc"}},
	{msg.SoftKey{Label: "CallBack", Event: evCallBack}, []string{"callback"}},
	{msg.SoftKey{Label: "cBarge", Event: evCBarge}, []string{"cbarge"}},
	{msg.SoftKey{Label: "TrnsfVM", Event: evTrnsfVM}, []string{"trnsfvm"}},
	{msg.SoftKey{Label: "Acct", Event: evAcct}, []string{"acct"}},
	{msg.SoftKey{Label: "Flash", Event: evFlash}, []string{"flash"}},
	{msg.SoftKey{Label: "LiveRcd", Event: evLiveRcd}, []string{"livercd"}},
	{msg.SoftKey{Label: "Login", Event: evLogin}, []string{"login"}},
}

// softKeyEvent finds the key a `softkeys` or `features blocked` word names
// (case-insensitive, as IOS reads them).
func softKeyEvent(name string) (uint32, bool) {
	name = strings.ToLower(name)
	for _, d := range softKeyDefs {
		if slices.Contains(d.names, name) {
			return d.key.Event, true
		}
	}
	return 0, false
}

// keySets is a phone's SoftKeySetRes content: per set index, the key events
// slot by slot; 0 leaves a slot empty, as CUCM left slot 1 of some sets
// empty so EndCall stays in the second slot (docs/sccp.md §Softkeys).
type keySets [msg.KeySetOnHookStealable + 1][]uint32

// defaultKeySets are CUCM 4.1's sets as it sent them (docs/sccp.md
// §Softkeys), with DND added to the idle and ring-in sets
// (docs/cme-behaviour.md §DND) and cmed's set 11, which CUCM left empty.
var defaultKeySets = keySets{
	msg.KeySetOnHook:                {evRedial, evNewCall, evCFwdAll, evDND},
	msg.KeySetConnected:             {evHold, evEndCall, evTransfer, evPark, evConfrn, evConfList, evSelect, evJoin, evDirTrfr, evVidMode},
	msg.KeySetOnHold:                {evResume, evNewCall, evDirTrfr, evSelect, evJoin},
	msg.KeySetRingIn:                {evAnswer, evDND},
	msg.KeySetOffHook:               {evRedial, evEndCall, evCFwdAll, evPickUp, evGPickUp, evMeetMe},
	msg.KeySetConnectedTransferable: {0, evEndCall, evTransfer},
	msg.KeySetDigitsFollowing:       {evBackSpace, evEndCall},
	msg.KeySetConnectedConference:   {0, evEndCall, evConfrn},
	msg.KeySetRingOut:               {0, evEndCall},
	msg.KeySetOffHookWithFeatures:   {evRedial, evEndCall},
	msg.KeySetInUseHint:             {evBarge, evNewCall},
	msg.KeySetOnHookStealable:       {evRedial, evNewCall},
}

// softkeyStateSets maps a `softkeys STATE` of an ephone-template to the
// SCCP sets it defines (docs/cme-cli.md §Softkeys). hold-full has no SCCP
// set of its own and is not applied.
var softkeyStateSets = map[string][]msg.SoftKeySetIndex{
	"idle":          {msg.KeySetOnHook},
	"seized":        {msg.KeySetOffHook, msg.KeySetOffHookWithFeatures},
	"alerting":      {msg.KeySetRingOut},
	"connected":     {msg.KeySetConnected},
	"hold":          {msg.KeySetOnHold},
	"remote-in-use": {msg.KeySetInUseHint},
	"ringing":       {msg.KeySetRingIn},
}

// phoneTemplate is the ephone-template e uses, or nil.
func phoneTemplate(cfg *config.Config, e *config.Ephone) *config.PhoneTemplate {
	if cfg == nil || e == nil || e.Template == 0 {
		return nil
	}
	for i := range cfg.EphoneTemplates {
		if cfg.EphoneTemplates[i].Tag == e.Template {
			return &cfg.EphoneTemplates[i]
		}
	}
	return nil
}

// softKeysFor is ephone e's key sets and blocked keys: the defaults, each
// set a `softkeys STATE` line of its template names replaced by exactly
// those keys in that order (unknown names skipped, at most 16), then every
// key `features blocked` names taken out of every set.
func softKeysFor(cfg *config.Config, e *config.Ephone) (keySets, []uint32) {
	ks := defaultKeySets
	t := phoneTemplate(cfg, e)
	if t == nil {
		return ks, nil
	}
	for _, sk := range t.Softkeys {
		sets, ok := softkeyStateSets[sk.State]
		if !ok {
			continue
		}
		var evs []uint32
		for _, name := range sk.Keys {
			if ev, ok := softKeyEvent(name); ok && len(evs) < 16 && !slices.Contains(evs, ev) {
				evs = append(evs, ev)
			}
		}
		for _, i := range sets {
			ks[i] = evs
		}
	}
	var blocked []uint32
	for _, name := range t.FeaturesBlocked {
		if ev, ok := softKeyEvent(name); ok {
			blocked = append(blocked, ev)
		}
	}
	if len(blocked) > 0 {
		for i, evs := range ks {
			// Blocking takes the key out; later keys move up (a slot left
			// empty by CUCM's layout stays empty).
			ks[i] = slices.DeleteFunc(slices.Clone(evs), func(ev uint32) bool { return slices.Contains(blocked, ev) })
		}
	}
	return ks, blocked
}

// SoftKeyTemplate is the SoftKeyTemplateRes every phone gets.
func SoftKeyTemplate() *msg.SoftKeyTemplateRes {
	keys := make([]msg.SoftKey, len(softKeyDefs))
	for i, d := range softKeyDefs {
		keys[i] = d.key
	}
	return &msg.SoftKeyTemplateRes{Keys: keys}
}

// SoftKeySets is the SoftKeySetRes of a phone without an ephone-template.
func SoftKeySets() *msg.SoftKeySetRes { return defaultKeySets.res() }

// res encodes ks: templateIndex is the key's 1-based template position,
// infoIndex 300+event (docs/sccp.md §Softkeys).
func (ks *keySets) res() *msg.SoftKeySetRes {
	res := &msg.SoftKeySetRes{Sets: make([]msg.SoftKeySet, len(ks))}
	for s, evs := range ks {
		for i, ev := range evs[:min(len(evs), 16)] {
			pos := slices.IndexFunc(softKeyDefs, func(d softKeyDef) bool { return d.key.Event == ev })
			if ev == 0 || pos < 0 {
				continue
			}
			res.Sets[s].TemplateIndex[i] = uint8(pos + 1)
			res.Sets[s].InfoIndex[i] = uint16(300 + ev)
		}
	}
	return res
}

func keySetsEqual(a, b *keySets) bool {
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
