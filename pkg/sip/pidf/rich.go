package pidf

import (
	"encoding/xml"
	"io"
	"strings"
	"time"
)

// Reach is the reachability status a user's client publishes
// (docs/sip-presence.md §Rich-presence). The zero value means the user's
// clients published none.
type Reach uint8

const (
	ReachNone      Reach = iota // nothing published
	ReachAvailable              // "available": basic open, no activity
	ReachAway                   // RFC 4480 §3.2 activity "away"
	ReachIdle                   // RFC 4480 §3.7 user-input "idle"
)

var reachNames = [...]string{"", "available", "away", "idle"}

func (r Reach) String() string {
	if int(r) < len(reachNames) {
		return reachNames[r]
	}
	return ""
}

// Rich is the part of a user's status that does not come from the phone
// line: calendar presence and reachability, published by the user's
// clients with PUBLISH (RFC 3903). docs/sip-presence.md §Rich-presence.
type Rich struct {
	// Meeting is calendar presence: the user is in a meeting.
	Meeting bool
	// MeetingUntil is when the meeting ends (RFC 4480 §3.2 "until"); zero
	// when the publisher gave no end.
	MeetingUntil time.Time
	// Reach is reachability presence; Note a custom status text ("Out for
	// lunch") that goes with it.
	Reach Reach
	Note  string
}

// Equal reports whether two Rich values encode identically.
func (r Rich) Equal(o Rich) bool {
	return r.Meeting == o.Meeting && r.MeetingUntil.Equal(o.MeetingUntil) && r.Reach == o.Reach && r.Note == o.Note
}

// Zero reports whether nothing is published.
func (r Rich) Zero() bool { return r.Equal(Rich{}) }

// Source is which of a user's three presence sources a watcher is shown:
// phone over calendar over reachability, a fixed priority
// (docs/sip-presence.md §Rich-presence).
type Source uint8

const (
	SourceNone         Source = iota // unknown line: closed, nothing shown
	SourcePhone                      // the line state (idle lines too when nothing is published)
	SourceCalendar                   // "In a meeting"
	SourceReachability               // away, idle, available or a custom note
)

var sourceNames = [...]string{"none", "phone", "calendar", "reachability"}

func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "none"
}

// Shown returns the source that wins. A line that is not idle (on the
// phone, ringing, held, busy) or in DND wins over everything else; an
// idle line shows the calendar, then reachability, then plain available.
// An unknown line (unregistered, not watchable, presence off) shows
// nothing at all: its watchers must not learn more than "unknown"
// (docs/sip-presence.md §Unwatchable-DN).
func (s *LineState) Shown() Source {
	switch {
	case s.Status == StatusUnknown:
		return SourceNone
	case s.Status != StatusIdle || s.DND:
		return SourcePhone
	case s.Rich.Meeting:
		return SourceCalendar
	case s.Rich.Reach != ReachNone || s.Rich.Note != "":
		return SourceReachability
	}
	return SourcePhone
}

// Summary is the composed status in words, as the tuple <note> says it
// and `show presence subscription` prints it.
func (s *LineState) Summary() string { return s.note() }

// richNote is the note of a calendar or reachability status.
func (s *LineState) richNote(src Source) string {
	if src == SourceCalendar {
		return "In a meeting"
	}
	if s.Rich.Note != "" {
		return s.Rich.Note
	}
	switch s.Rich.Reach {
	case ReachAway:
		return "Away"
	case ReachIdle:
		return "Idle"
	}
	return "Available"
}

// appendRichActivities writes the activities of a calendar or
// reachability status. The Cisco element ce:available keeps telling
// Cisco firmware that the line is idle (it lights BLF from the Cisco
// elements, docs/sip-presence.md §Wire-format); the RFC 4480 elements
// carry the user's status for every other watcher.
func (s *LineState) appendRichActivities(dst []byte, src Source) []byte {
	dst = append(dst, "<rpid:activities"...)
	if src == SourceCalendar && !s.Rich.MeetingUntil.IsZero() {
		dst = append(dst, ` until="`...)
		dst = s.Rich.MeetingUntil.UTC().AppendFormat(dst, time.RFC3339)
		dst = append(dst, '"')
	}
	dst = append(dst, "><ce:available/>"...)
	switch {
	case src == SourceCalendar:
		dst = append(dst, "<rpid:meeting/>"...)
	case s.Rich.Reach == ReachAway:
		dst = append(dst, "<rpid:away/>"...)
	}
	return append(dst, "</rpid:activities>"...)
}

// appendUserInput writes RFC 4480 §3.7 user-input for an idle user.
func (s *LineState) appendUserInput(dst []byte, src Source) []byte {
	if src == SourceReachability && s.Rich.Reach == ReachIdle {
		dst = append(dst, "<rpid:user-input>idle</rpid:user-input>\n"...)
	}
	return dst
}

// ParsePublication reads the status a client PUBLISHes in a PIDF body
// (RFC 3903 with RFC 3863/4479/4480 documents) as calendar and
// reachability presence. Phone activities (on-the-phone, busy, Cisco's
// elements) are ignored: the phone source is cmed's own line state
// (docs/sip-presence.md §Rich-presence). Mapping: activity meeting or
// appointment → Meeting (until from the activities element); away →
// away; user-input idle → idle; otherwise basic open → available, closed
// → away. The first note (person, tuple or activities) is the custom
// note unless it merely names the status. Namespaces are ignored, as in
// ParsePIDF.
func ParsePublication(b []byte) (Rich, error) {
	var r Rich
	w, err := newWalker(b)
	if err != nil {
		return r, err
	}
	var (
		sawRoot    bool
		basic      string
		note       string
		away, idle bool
		until      time.Time
	)
loop:
	for {
		tok, err := w.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Rich{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(w.stack) == 1 {
				if t.Name.Local != "presence" {
					return Rich{}, ErrNotPIDF
				}
				sawRoot = true
				continue
			}
			switch t.Name.Local {
			case "basic", "note", "user-input":
				w.capture()
			case "activities":
				if v := strings.TrimSpace(attr(t, "until")); v != "" {
					if u, err := time.Parse(time.RFC3339, v); err == nil {
						until = u
					}
				}
			}
			if w.parent() == "activities" {
				switch strings.ToLower(t.Name.Local) {
				case "meeting", "appointment":
					r.Meeting = true
				case "away":
					away = true
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "basic":
				if v := strings.ToLower(w.captured()); basic == "" || w.inside("person") {
					basic = v
				}
			case "note":
				if v := w.captured(); note == "" {
					note = v
				}
			case "user-input":
				idle = strings.EqualFold(w.captured(), "idle")
			}
			w.pop()
			if len(w.stack) == 0 {
				break loop
			}
		}
	}
	if !sawRoot {
		return Rich{}, ErrNotPIDF
	}
	if r.Meeting {
		r.MeetingUntil = until
	}
	switch {
	case away:
		r.Reach = ReachAway
	case idle:
		r.Reach = ReachIdle
	case basic == "closed":
		r.Reach = ReachAway
	case basic == "open" && !r.Meeting:
		r.Reach = ReachAvailable
	}
	switch strings.ToLower(note) {
	case "", "available", "away", "idle", "in a meeting", "on the phone", "online", "offline":
	default:
		if r.Reach != ReachNone {
			r.Note = note // a calendar entry's note is not a status
		}
	}
	return r, nil
}

// Visible returns s without the published status its watchers are not
// shown (the phone wins, or the other rich source does), so two states
// with equal Visible values produce the same bodies and a change that
// stays hidden sends no NOTIFY.
func (s LineState) Visible() LineState {
	switch s.Shown() {
	case SourceCalendar:
		s.Rich = Rich{Meeting: true, MeetingUntil: s.Rich.MeetingUntil}
	case SourceReachability:
		s.Rich.Meeting, s.Rich.MeetingUntil = false, time.Time{}
	default:
		s.Rich = Rich{}
	}
	return s
}
