package subs

import (
	"strconv"
	"strings"

	"github.com/cmed-project/cmed/pkg/sip/pidf"
)

// Package is a supported event package.
type Package int

const (
	PackageNone     Package = iota
	PackagePresence         // RFC 3856, Cisco BLF (docs/sip-presence.md §Wire-format)
	PackageDialog           // RFC 4235, Yealink/Polycom/Grandstream BLF (docs/sip-presence.md §Peer-behaviour)
)

func (p Package) String() string {
	switch p {
	case PackagePresence:
		return "presence"
	case PackageDialog:
		return "dialog"
	default:
		return ""
	}
}

// AllowEvents is the Allow-Events value for 489 responses (RFC 6665 §4.2.1.1,
// docs/sip-presence.md §Summary).
const AllowEvents = "presence, dialog"

// bodyTypes lists, per package, the types we can produce, preferred first.
// The first is the package default when the SUBSCRIBE has no Accept
// (RFC 6665 §4.2.1.1; pidf is mandatory for presence, RFC 3856 §6).
func bodyTypes(p Package) []string {
	switch p {
	case PackagePresence:
		return []string{pidf.ContentTypePIDF, pidf.ContentTypeCPIMPIDF}
	case PackageDialog:
		return []string{pidf.ContentTypeDialogInfo}
	default:
		return nil
	}
}

// parseEvent splits an Event header value ("presence;id=7") into the
// package and the id parameter (RFC 6665 §8.2.1). Matching is
// case-insensitive to be lenient with phones.
func parseEvent(v string) (Package, string) {
	tok, params, _ := strings.Cut(v, ";")
	var p Package
	switch strings.ToLower(strings.TrimSpace(tok)) {
	case "presence":
		p = PackagePresence
	case "dialog":
		p = PackageDialog
	default:
		return PackageNone, ""
	}
	for params != "" {
		var kv string
		kv, params, _ = strings.Cut(params, ";")
		k, val, _ := strings.Cut(kv, "=")
		if strings.EqualFold(strings.TrimSpace(k), "id") {
			return p, strings.Trim(strings.TrimSpace(val), `"`)
		}
	}
	return p, ""
}

func eventHeader(p Package, id string) string {
	if id == "" {
		return p.String()
	}
	return p.String() + ";id=" + id
}

// negotiate picks the body type for package p from the Accept header
// values (each may hold a comma-separated list). No Accept at all selects
// the package default; otherwise the acceptable type with the highest q wins,
// ties going to our preference order (pidf before cpim-pidf, docs/sip-presence.md §Wire-format:
// Cisco 88xx lists only cpim-pidf). ok is false when nothing is acceptable
// (→ 406, RFC 6665 §4.2.1.1).
func negotiate(p Package, accept []string) (string, bool) {
	types := bodyTypes(p)
	if len(types) == 0 {
		return "", false
	}
	present := false
	best, bestQ := "", -1.0
	for _, hv := range accept {
		for _, r := range strings.Split(hv, ",") {
			mr, params, _ := strings.Cut(r, ";")
			mr = strings.ToLower(strings.TrimSpace(mr))
			if mr == "" {
				continue
			}
			present = true
			q := 1.0
			for params != "" {
				var kv string
				kv, params, _ = strings.Cut(params, ";")
				k, v, _ := strings.Cut(kv, "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
						q = f
					}
				}
			}
			if q <= 0 {
				continue
			}
			for _, ct := range types {
				if !mediaRangeMatches(mr, ct) {
					continue
				}
				if q > bestQ || (q == bestQ && prefIndex(types, ct) < prefIndex(types, best)) {
					best, bestQ = ct, q
				}
			}
		}
	}
	if !present {
		return types[0], true
	}
	return best, best != ""
}

func mediaRangeMatches(mr, ct string) bool {
	if mr == ct || mr == "*/*" {
		return true
	}
	typ, _, _ := strings.Cut(ct, "/")
	return mr == typ+"/*"
}

func prefIndex(types []string, ct string) int {
	for i, t := range types {
		if t == ct {
			return i
		}
	}
	return len(types)
}
