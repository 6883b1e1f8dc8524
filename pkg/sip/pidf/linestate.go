package pidf

import (
	"slices"
	"strings"
)

// Status is the BLF status of one directory number as a watcher sees it.
// The zero value is StatusUnknown (phone unregistered or DN not watchable,
// docs/cme-behaviour.md §Presentity-state).
type Status int

// Line statuses. DND is not a Status: it is the orthogonal LineState.DND flag
// because a DN can be in DND while idle or while on a call (docs/sip-presence.md §State-mapping: "ce:dnd
// plus the call activity if any").
const (
	StatusUnknown Status = iota // unregistered / not watchable: PIDF closed
	StatusIdle                  // no call
	StatusRinging               // inbound call alerting
	StatusInUse                 // on a call (connected, dialling, ringback)
	StatusHold                  // every call on the line is held
	StatusBusy                  // all call appearances used
)

var statusNames = [...]string{"unknown", "idle", "ringing", "in-use", "hold", "busy"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// ParseStatus is the inverse of Status.String; unknown names give StatusUnknown
// and false.
func ParseStatus(name string) (Status, bool) {
	for i, n := range statusNames {
		if strings.EqualFold(n, name) {
			return Status(i), true
		}
	}
	return StatusUnknown, false
}

// Direction is the dialog-info direction attribute (RFC 4235 §4.1.1).
type Direction int

const (
	DirectionNone      Direction = iota // attribute omitted
	DirectionInitiator                  // the presentity placed the call
	DirectionRecipient                  // the presentity receives the call
)

func (d Direction) String() string {
	switch d {
	case DirectionInitiator:
		return "initiator"
	case DirectionRecipient:
		return "recipient"
	default:
		return ""
	}
}

func parseDirection(s string) Direction {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "initiator":
		return DirectionInitiator
	case "recipient":
		return DirectionRecipient
	default:
		return DirectionNone
	}
}

// DialogState is the RFC 4235 §3.7.1 dialog state machine value.
type DialogState int

const (
	DialogTerminated DialogState = iota // zero value: no call
	DialogTrying
	DialogProceeding
	DialogEarly
	DialogConfirmed
)

var dialogStateNames = [...]string{"terminated", "trying", "proceeding", "early", "confirmed"}

func (s DialogState) String() string {
	if s >= 0 && int(s) < len(dialogStateNames) {
		return dialogStateNames[s]
	}
	return "terminated"
}

// ParseDialogState is the inverse of DialogState.String.
func ParseDialogState(name string) (DialogState, bool) {
	name = strings.TrimSpace(name)
	for i, n := range dialogStateNames {
		if strings.EqualFold(n, name) {
			return DialogState(i), true
		}
	}
	return DialogTerminated, false
}

// Call describes one call of the presentity, as needed by dialog-info (RFC
// 4235 §4.1): the call-id and tags let a watcher do directed pickup with
// Replaces (docs/sip-presence.md §State-mapping, §Interop-rules), the remote identity lets it show the
// caller.
type Call struct {
	ID             string // dialog id attribute; defaults to CallID, then a DN-derived id
	CallID         string
	LocalTag       string // tag of the presentity's side
	RemoteTag      string
	Direction      Direction
	State          DialogState
	Held           bool   // local target gets +sip.rendering="no" (RFC 4235 §4.1.6.2)
	RemoteIdentity string // URI of the other party
	RemoteDisplay  string // display name of the other party
}

// LineState is what a watcher is told about one DN.
type LineState struct {
	Entity string // presentity URI, e.g. sip:2001@10.0.0.1 (docs/sip-presence.md §State-mapping: a real URI)
	Number string // DN number; used for stable tuple/person/dialog ids
	Status Status
	DND    bool
	// Calls, when not empty, are reported one <dialog> each in dialog-info.
	// When empty, dialog-info synthesises one dialog from Status.
	Calls []Call
	// Note overrides the human-readable <note> of the PIDF tuple.
	Note string
	// Rich is the user's calendar and reachability presence, shown when
	// the line is idle (LineState.Shown). PIDF only: dialog-info
	// describes dialogs, nothing else.
	Rich Rich
}

// Equal reports whether two states produce identical bodies.
func (s LineState) Equal(o LineState) bool {
	return s.Entity == o.Entity && s.Number == o.Number && s.Status == o.Status &&
		s.DND == o.DND && s.Note == o.Note && slices.Equal(s.Calls, o.Calls) && s.Rich.Equal(o.Rich)
}

// Open reports the PIDF basic status: everything but unknown is open
// (docs/sip-presence.md §State-mapping, even busy/DND: the DN exists and is reachable).
func (s LineState) Open() bool { return s.Status != StatusUnknown }

// userPart returns the user of a sip:/sips:/pres: URI ("sip:2001@h" -> "2001").
func userPart(uri string) string {
	u := strings.TrimSpace(uri)
	u = strings.TrimPrefix(strings.TrimSuffix(u, ">"), "<")
	if i := strings.IndexByte(u, ':'); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.IndexByte(u, '@'); i >= 0 {
		return u[:i]
	}
	if i := strings.IndexAny(u, ";?"); i >= 0 {
		u = u[:i]
	}
	return u
}

// idToken makes s usable inside an XML ID (tuple/person id must be an NCName,
// RFC 3863 §4.1.2): anything outside [A-Za-z0-9._-] becomes '_'.
func appendIDToken(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			dst = append(dst, c)
		default:
			dst = append(dst, '_')
		}
	}
	return dst
}
