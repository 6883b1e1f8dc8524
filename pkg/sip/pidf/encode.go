package pidf

import (
	"strconv"
	"strings"
	"time"
)

// Content types this package produces and parses.
const (
	// ContentTypePIDF is mandatory for Event: presence (RFC 3856 §6).
	ContentTypePIDF = "application/pidf+xml"
	// ContentTypeCPIMPIDF is the only type Cisco 88xx enterprise firmware
	// lists in Accept (docs/sip-presence.md §Wire-format). It gets the very same PIDF document: Cisco
	// parsers match local element names and ignore namespaces (docs/sip-presence.md §Wire-format
	// "What a Cisco SIP stack parses"), so no cpim-pidf namespace is emitted.
	ContentTypeCPIMPIDF = "application/cpim-pidf+xml"
	// ContentTypeDialogInfo is the RFC 4235 §4 body of Event: dialog.
	ContentTypeDialogInfo = "application/dialog-info+xml"
)

// Namespaces. The CUCM 7.0 capture (docs/sip-presence.md
// §Wire-format "Namespaces in Cisco PIDF") uses the pre-RFC 4480 RPID URI (…:pidf:status:rpid,
// NamespaceRPIDCisco) for the RFC 4480 element names; cmed writes the RFC
// 4480 URI (NamespaceRPID), which standard watchers understand and Cisco
// firmware accepts (it ignores namespaces, docs/sip-presence.md §Wire-format). The decoder reads
// both.
const (
	NamespacePIDF       = "urn:ietf:params:xml:ns:pidf"
	NamespaceDataModel  = "urn:ietf:params:xml:ns:pidf:data-model"
	NamespaceRPIDCisco  = "urn:ietf:params:xml:ns:pidf:status:rpid"
	NamespaceRPID       = "urn:ietf:params:xml:ns:pidf:rpid"
	NamespaceCisco      = "urn:cisco:params:xml:ns:pidf:rpid"
	NamespaceServCaps   = "urn:ietf:params:xml:ns:pidf:servcaps"
	NamespaceDialogInfo = "urn:ietf:params:xml:ns:dialog-info"
)

// Options tune the PIDF encoding.
type Options struct {
	// FoldRinging reports a ringing DN as e:on-the-phone, the CME semantic
	// where ringing counts as in use (docs/cme-behaviour.md §Presentity-state), instead of the
	// CUCM-era ce:alerting (docs/sip-presence.md §State-mapping, §Interop-rules "CME-compatible" switch).
	FoldRinging bool
	// Timestamp, when not zero, is written as the tuple <timestamp>
	// (RFC 3863 §4.1.7). Left zero in golden tests for stable output.
	Timestamp time.Time
}

// BaseContentType lowercases ct and strips parameters and spaces.
func BaseContentType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// AppendBody appends the document for contentType (one of the ContentType
// constants, parameters ignored). version is used by dialog-info only.
func (s *LineState) AppendBody(dst []byte, contentType string, version uint32, opt Options) ([]byte, error) {
	switch BaseContentType(contentType) {
	case ContentTypePIDF, ContentTypeCPIMPIDF:
		return s.AppendPIDF(dst, opt), nil
	case ContentTypeDialogInfo:
		return s.AppendDialogInfo(dst, version), nil
	default:
		return dst, ErrContentType
	}
}

// entity returns the entity URI, falling back to sip:<number> so the
// mandatory attribute is never empty (RFC 3863 §4.1.1).
func (s *LineState) entity() string {
	if s.Entity != "" {
		return s.Entity
	}
	return "sip:" + s.Number
}

func (s *LineState) idBase() string {
	if s.Number != "" {
		return s.Number
	}
	return userPart(s.Entity)
}

func (s *LineState) note() string {
	if s.Note != "" {
		return s.Note
	}
	if src := s.Shown(); src == SourceCalendar || src == SourceReachability {
		return s.richNote(src)
	}
	switch s.Status {
	case StatusIdle:
		if s.DND {
			return "Do not disturb"
		}
		return "Available"
	case StatusRinging:
		return "Ringing"
	case StatusInUse:
		return "On the phone"
	case StatusHold:
		return "On hold"
	case StatusBusy:
		return "Busy"
	default:
		return "Offline" // not "Unavailable": sipp's activity regexp would see "available"
	}
}

// appendActivities writes the RFC 4480 activities (urn:ietf:params:xml:ns:
// pidf:rpid, RFC 4480 §3.2) of a line, with Cisco's extension elements
// inside them where a Cisco phone needs one (docs/sip-presence.md §State-mapping). Mapping:
//
//	idle           (none)          + ce:available, Cisco's "available" (docs/sip-presence.md §Wire-format)
//	ringing        on-the-phone    after ce:alerting, Cisco's ringing lamp;
//	                               FoldRinging: on-the-phone alone (docs/cme-behaviour.md §Presentity-state)
//	in use, hold   on-the-phone
//	busy           on-the-phone, busy
//	DND            ce:dnd added (RFC 4480 has no DND activity)
//
// RFC 4480 has no "ringing" activity; a ringing line is in use for
// standard watchers, so they do not show it as available. The Cisco
// elements sit where the RFC 4480 schema admits elements of other
// namespaces (inside activities); Cisco firmware matches local names
// only (docs/sip-presence.md §Wire-format), so it reads the RFC 4480 names as before. Unknown
// DNs get no activities: basic closed alone renders "unknown" on Cisco
// phones.
func (s *LineState) appendActivities(dst []byte, opt Options) []byte {
	if s.Status == StatusUnknown {
		return dst
	}
	if src := s.Shown(); src == SourceCalendar || src == SourceReachability {
		return s.appendRichActivities(dst, src)
	}
	dst = append(dst, "<rpid:activities>"...)
	switch s.Status {
	case StatusIdle:
		if !s.DND {
			dst = append(dst, "<ce:available/>"...)
		}
	case StatusRinging:
		if !opt.FoldRinging {
			dst = append(dst, "<ce:alerting/>"...)
		}
		dst = append(dst, "<rpid:on-the-phone/>"...)
	case StatusInUse, StatusHold:
		dst = append(dst, "<rpid:on-the-phone/>"...)
	case StatusBusy:
		dst = append(dst, "<rpid:on-the-phone/><rpid:busy/>"...)
	}
	if s.DND {
		dst = append(dst, "<ce:dnd/>"...)
	}
	return append(dst, "</rpid:activities>"...)
}

// AppendPIDF appends the PIDF document: RFC 3863 with the RFC 4479 data
// model and RFC 4480 activities, in the order the RFC 3863 §4.4 schema
// requires (tuples, then elements of other namespaces). One stable tuple
// carries basic status, the activities again (for watchers that read only
// the tuple), servcaps, contact, note and timestamp; then a dm:person
// carries basic + activities, which is what Cisco firmware renders as BLF
// (a tuple-only body is ignored by Cisco, docs/sip-presence.md §Wire-format). The person's
// <status><basic> is Cisco's flavour (CUCM capture, docs/sip-presence.md §Wire-format); the data
// model schema admits it as an element of another namespace.
func (s *LineState) AppendPIDF(dst []byte, opt Options) []byte {
	entity := s.entity()
	basic := "closed"
	if s.Open() {
		basic = "open"
	}
	dst = append(dst, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<presence xmlns="`+NamespacePIDF+`" xmlns:dm="`+NamespaceDataModel+
		`" xmlns:rpid="`+NamespaceRPID+`" xmlns:ce="`+NamespaceCisco+
		`" xmlns:sc="`+NamespaceServCaps+`" entity="`...)
	dst = appendEscaped(dst, entity)
	dst = append(dst, "\">\n<tuple id=\"cmp-"...)
	dst = appendIDToken(dst, s.idBase())
	dst = append(dst, "-1\">\n<status><basic>"...)
	dst = append(dst, basic...)
	dst = append(dst, "</basic>"...)
	dst = s.appendActivities(dst, opt)
	dst = append(dst, "</status>\n<sc:servcaps><sc:audio>true</sc:audio></sc:servcaps>\n<contact priority=\"0.8\">"...)
	dst = appendEscaped(dst, entity)
	dst = append(dst, "</contact>\n<note>"...)
	dst = appendEscaped(dst, s.note())
	dst = append(dst, "</note>\n"...)
	if !opt.Timestamp.IsZero() {
		dst = append(dst, "<timestamp>"...)
		dst = opt.Timestamp.UTC().AppendFormat(dst, time.RFC3339)
		dst = append(dst, "</timestamp>\n"...)
	}
	dst = append(dst, "</tuple>\n<dm:person id=\"p-"...)
	dst = appendIDToken(dst, s.idBase())
	dst = append(dst, "\">\n<status><basic>"...)
	dst = append(dst, basic...)
	dst = append(dst, "</basic></status>\n"...)
	if s.Status != StatusUnknown {
		dst = s.appendActivities(dst, opt)
		dst = append(dst, '\n')
		src := s.Shown()
		dst = s.appendUserInput(dst, src)
		if src == SourceReachability && s.Rich.Note != "" {
			// RFC 4479 §3.4 / §6: the person's own note.
			dst = append(dst, "<dm:note>"...)
			dst = appendEscaped(dst, s.Rich.Note)
			dst = append(dst, "</dm:note>\n"...)
		}
	}
	return append(dst, "</dm:person>\n</presence>\n"...)
}

// AppendDialogInfo appends a full-state RFC 4235 document. version is the
// per-subscription counter (RFC 4235 §4.1: starts at 0, +1 per document sent
// on that subscription) and is the caller's to keep.
//
// Dialogs: an unknown DN reports none (docs/sip-presence.md §Summary / §Unwatchable-DN); otherwise each Call
// is one <dialog>, and without Calls one dialog is synthesised from Status so
// phones that need a <dialog> node always get one (docs/sip-presence.md
// §Peer-behaviour: Yealink/Bria): idle → terminated, ringing → early/recipient, in use and
// busy → confirmed, hold → confirmed with +sip.rendering="no". DND has no
// dialog-info representation (RFC 4235 describes dialogs only).
func (s *LineState) AppendDialogInfo(dst []byte, version uint32) []byte {
	entity := s.entity()
	dst = append(dst, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<dialog-info xmlns="`+NamespaceDialogInfo+`" version="`...)
	dst = strconv.AppendUint(dst, uint64(version), 10)
	dst = append(dst, `" state="full" entity="`...)
	dst = appendEscaped(dst, entity)
	dst = append(dst, "\">\n"...)
	switch {
	case s.Status == StatusUnknown:
	case len(s.Calls) > 0:
		for i := range s.Calls {
			dst = s.appendDialog(dst, &s.Calls[i], i, entity)
		}
	default:
		c := Call{}
		switch s.Status {
		case StatusRinging:
			c.State, c.Direction = DialogEarly, DirectionRecipient
		case StatusInUse, StatusBusy:
			c.State = DialogConfirmed
		case StatusHold:
			c.State, c.Held = DialogConfirmed, true
		default:
			c.State = DialogTerminated
		}
		dst = s.appendDialog(dst, &c, 0, entity)
	}
	return append(dst, "</dialog-info>\n"...)
}

func (s *LineState) appendDialog(dst []byte, c *Call, index int, entity string) []byte {
	dst = append(dst, `<dialog id="`...)
	switch {
	case c.ID != "":
		dst = appendEscaped(dst, c.ID)
	case c.CallID != "":
		dst = appendEscaped(dst, c.CallID)
	default:
		dst = append(dst, "dn-"...)
		dst = appendIDToken(dst, s.idBase())
		if index > 0 {
			dst = append(dst, '-')
			dst = strconv.AppendInt(dst, int64(index), 10)
		}
	}
	dst = append(dst, '"')
	dst = appendAttr(dst, "call-id", c.CallID)
	dst = appendAttr(dst, "local-tag", c.LocalTag)
	dst = appendAttr(dst, "remote-tag", c.RemoteTag)
	dst = appendAttr(dst, "direction", c.Direction.String())
	dst = append(dst, "><state>"...)
	dst = append(dst, c.State.String()...)
	dst = append(dst, "</state>"...)
	if c.State != DialogTerminated || c.Held || c.RemoteIdentity != "" {
		dst = append(dst, "<local><identity>"...)
		dst = appendEscaped(dst, entity)
		dst = append(dst, "</identity>"...)
		if c.Held {
			dst = append(dst, `<target uri="`...)
			dst = appendEscaped(dst, entity)
			dst = append(dst, `"><param pname="+sip.rendering" pval="no"/></target>`...)
		}
		dst = append(dst, "</local>"...)
	}
	if c.RemoteIdentity != "" {
		dst = append(dst, "<remote><identity"...)
		dst = appendAttr(dst, "display", c.RemoteDisplay)
		dst = append(dst, '>')
		dst = appendEscaped(dst, c.RemoteIdentity)
		dst = append(dst, `</identity><target uri="`...)
		dst = appendEscaped(dst, c.RemoteIdentity)
		dst = append(dst, `"/></remote>`...)
	}
	return append(dst, "</dialog>\n"...)
}

func appendAttr(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, ' ')
	dst = append(dst, name...)
	dst = append(dst, `="`...)
	dst = appendEscaped(dst, value)
	return append(dst, '"')
}
