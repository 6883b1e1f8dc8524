package config

import (
	"cmp"
	"slices"
	"strings"
)

// Feature access codes (docs/cme-behaviour.md §Feature-access-codes).
// `fac standard` and `fac custom FEATURE CODE` are kept verbatim in
// Telephony.Extra by the telephony-service grammar (so they round-trip
// through show running-config unchanged); FACs reads them from there.

// FACFeature is a feature a code invokes, named by the `fac custom`
// keyword.
type FACFeature string

const (
	FACCallForward       FACFeature = "callfwd"        // **1 + number: call forward all
	FACCallForwardCancel FACFeature = "callfwd-cancel" // **2: cancel call forward all
	FACPickupLocal       FACFeature = "pickuplocal"    // **3
	FACPickupGroup       FACFeature = "pickupgroup"    // **4 + group
	FACPark              FACFeature = "park"           // **6 + slot
	FACRedial            FACFeature = "redial"         // **8
	FACHuntJoin          FACFeature = "ephone-hunt join"
	// FACDND toggles do-not-disturb. It has no standard code; cmed takes
	// it only from `fac custom dnd CODE`.
	FACDND FACFeature = "dnd"
)

// standardFACs is the `fac standard` table.
var standardFACs = []FAC{
	{"**1", FACCallForward}, {"**2", FACCallForwardCancel}, {"**3", FACPickupLocal},
	{"**4", FACPickupGroup}, {"**6", FACPark}, {"**8", FACRedial}, {"*3", FACHuntJoin},
}

// FAC is one code in force.
type FAC struct {
	Code    string
	Feature FACFeature
}

// FACTable is the codes in force, longest code first.
type FACTable []FAC

// FACs is the table the telephony-service `fac` lines put in force: the
// standard codes with `fac standard`, each `fac custom` code in addition
// (replacing the standard code of the same feature, as a custom FAC does
// in CME). Nil without any `fac` line: FACs are off on IP phones by
// default.
func (t *Telephony) FACs() FACTable {
	if t == nil {
		return nil
	}
	var out FACTable
	custom := map[FACFeature]string{}
	// `fac standard` is modelled; `fac custom` lines are kept as typed.
	standard := t.FACStandard
	for _, line := range t.Extra {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "fac" {
			continue
		}
		switch {
		case f[1] == "standard":
			standard = true
		case f[1] == "custom" && len(f) >= 4 && f[2] != "alias":
			feat := FACFeature(strings.Join(f[2:len(f)-1], " "))
			custom[feat] = f[len(f)-1]
		}
	}
	if standard {
		for _, s := range standardFACs {
			if _, ok := custom[s.Feature]; !ok {
				out = append(out, s)
			}
		}
	}
	for feat, code := range custom {
		out = append(out, FAC{Code: code, Feature: feat})
	}
	slices.SortFunc(out, func(a, b FAC) int {
		return cmp.Or(cmp.Compare(len(b.Code), len(a.Code)), cmp.Compare(a.Code, b.Code))
	})
	return out
}

// Match finds the code number starts with: the feature and the digits
// after the code (the call-forward target). Only call forward all takes
// digits after its code; the other codes must match the whole number.
func (t FACTable) Match(number string) (FACFeature, string, bool) {
	for _, f := range t {
		rest, ok := strings.CutPrefix(number, f.Code)
		if !ok || (rest != "" && f.Feature != FACCallForward) {
			continue
		}
		return f.Feature, rest, true
	}
	return "", "", false
}
