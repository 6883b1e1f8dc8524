package pidf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// xmlWalker reads a bounded document token by token, keeping the stack of
// local element names. Namespaces and prefixes are ignored on purpose:
// Kamailio, Asterisk and Cisco disagree on the RPID namespace URI (docs/sip-presence.md §Wire-format)
// and the Cisco stack itself matches local names only (docs/sip-presence.md §Wire-format).
type xmlWalker struct {
	dec    *xml.Decoder
	stack  []string
	tokens int
	text   []byte // character data of the element being captured
	capt   bool
}

func newWalker(b []byte) (*xmlWalker, error) {
	if len(b) > MaxBodySize {
		return nil, ErrTooLarge
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	// Bodies declared ISO-8859-1 or ASCII are read as is: the fields we
	// use (URIs, state names) are ASCII.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	return &xmlWalker{dec: d, stack: make([]string, 0, 8)}, nil
}

// next returns the next token, enforcing the token and depth limits and
// maintaining the element stack. done is true once the root element closed:
// trailing content is ignored.
func (w *xmlWalker) next() (tok xml.Token, err error) {
	w.tokens++
	if w.tokens > maxTokens {
		return nil, ErrTooLarge
	}
	tok, err = w.dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if len(w.stack) >= maxDepth {
			return nil, ErrTooLarge
		}
		w.stack = append(w.stack, t.Name.Local)
	case xml.CharData:
		if w.capt && len(w.text)+len(t) <= maxTextSize {
			w.text = append(w.text, t...)
		}
	}
	return tok, nil
}

// pop is called by the user after handling an EndElement.
func (w *xmlWalker) pop() {
	if len(w.stack) > 0 {
		w.stack = w.stack[:len(w.stack)-1]
	}
}

func (w *xmlWalker) capture() { w.text, w.capt = w.text[:0], true }

func (w *xmlWalker) captured() string {
	w.capt = false
	return strings.TrimSpace(string(w.text))
}

// parent returns the local name of the element enclosing the current one.
func (w *xmlWalker) parent() string {
	if len(w.stack) < 2 {
		return ""
	}
	return w.stack[len(w.stack)-2]
}

func (w *xmlWalker) inside(name string) bool {
	for _, n := range w.stack {
		if n == name {
			return true
		}
	}
	return false
}

func attr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// ParsePIDF decodes a PIDF (or cpim-pidf) document into a LineState.
//
// Mapping (inverse of docs/sip-presence.md §State-mapping, tolerant of other notifiers):
// alerting → ringing; on-the-phone+busy → busy; on-the-phone or busy alone
// → refined by the note ("Ringing", "On hold", "On the phone": Asterisk marks
// every call state rpid:busy and tells them apart only in the note) and
// otherwise in use / busy; dnd sets DND; with no call activity basic open →
// idle, closed → unknown (closed+dnd → idle with DND). The person's basic
// wins over the first tuple's. LineState.Note is not filled.
func ParsePIDF(b []byte) (LineState, error) {
	var s LineState
	w, err := newWalker(b)
	if err != nil {
		return s, err
	}
	var (
		sawRoot                 bool
		personBasic, tupleBasic string
		note                    string
		alerting, onThePhone    bool
		busy, dnd               bool
	)
loop:
	for {
		tok, err := w.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return LineState{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(w.stack) == 1 {
				if t.Name.Local != "presence" {
					return LineState{}, ErrNotPIDF
				}
				sawRoot = true
				s.Entity = strings.TrimSpace(attr(t, "entity"))
				continue
			}
			switch t.Name.Local {
			case "basic", "note":
				w.capture()
			}
			if w.parent() == "activities" {
				switch strings.ToLower(t.Name.Local) {
				case "alerting":
					alerting = true
				case "on-the-phone":
					onThePhone = true
				case "busy":
					busy = true
				case "dnd":
					dnd = true
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "basic":
				v := strings.ToLower(w.captured())
				if w.inside("person") {
					if personBasic == "" {
						personBasic = v
					}
				} else if w.inside("tuple") && tupleBasic == "" {
					tupleBasic = v
				}
			case "note":
				if v := w.captured(); note == "" {
					note = v
				}
			}
			w.pop()
			if len(w.stack) == 0 {
				break loop
			}
		}
	}
	if !sawRoot {
		return LineState{}, ErrNotPIDF
	}
	s.Number = userPart(s.Entity)
	s.DND = dnd
	basic := personBasic
	if basic == "" {
		basic = tupleBasic
	}
	lnote := strings.ToLower(note)
	switch {
	case alerting:
		s.Status = StatusRinging
	case onThePhone && busy:
		s.Status = StatusBusy
	case onThePhone || busy:
		switch {
		case strings.Contains(lnote, "ring"):
			s.Status = StatusRinging
		case strings.Contains(lnote, "hold"):
			s.Status = StatusHold
		case onThePhone || strings.Contains(lnote, "on the phone"):
			s.Status = StatusInUse
		default:
			s.Status = StatusBusy
		}
	case basic == "open" || dnd:
		s.Status = StatusIdle
	default:
		s.Status = StatusUnknown
	}
	return s, nil
}

// DialogInfo is a decoded RFC 4235 document.
type DialogInfo struct {
	Version uint32
	Full    bool // state="full"; false for partial
	Entity  string
	Dialogs []Call
}

// ParseDialogInfo decodes an RFC 4235 document. At most 64 dialogs are kept;
// more is reported as ErrTooLarge (BLF documents carry a handful).
func ParseDialogInfo(b []byte) (DialogInfo, error) {
	var d DialogInfo
	w, err := newWalker(b)
	if err != nil {
		return d, err
	}
	var (
		sawRoot bool
		cur     *Call
	)
loop:
	for {
		tok, err := w.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return DialogInfo{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(w.stack) == 1 {
				if t.Name.Local != "dialog-info" {
					return DialogInfo{}, ErrNotDialogInfo
				}
				sawRoot = true
				v, err := strconv.ParseUint(strings.TrimSpace(attr(t, "version")), 10, 32)
				if err != nil {
					return DialogInfo{}, fmt.Errorf("%w: dialog-info version: %v", ErrMalformed, err)
				}
				d.Version = uint32(v)
				d.Full = strings.EqualFold(strings.TrimSpace(attr(t, "state")), "full")
				d.Entity = strings.TrimSpace(attr(t, "entity"))
				continue
			}
			switch t.Name.Local {
			case "dialog":
				if len(w.stack) != 2 {
					continue
				}
				if len(d.Dialogs) >= maxDialogs {
					return DialogInfo{}, ErrTooLarge
				}
				d.Dialogs = append(d.Dialogs, Call{
					ID:        attr(t, "id"),
					CallID:    attr(t, "call-id"),
					LocalTag:  attr(t, "local-tag"),
					RemoteTag: attr(t, "remote-tag"),
					Direction: parseDirection(attr(t, "direction")),
				})
				cur = &d.Dialogs[len(d.Dialogs)-1]
			case "state":
				if cur != nil && w.parent() == "dialog" {
					w.capture()
				}
			case "identity":
				if cur != nil && w.parent() == "remote" {
					cur.RemoteDisplay = attr(t, "display")
					w.capture()
				}
			case "target":
				if cur != nil && w.parent() == "remote" && cur.RemoteIdentity == "" {
					cur.RemoteIdentity = strings.TrimSpace(attr(t, "uri"))
				}
			case "param":
				// RFC 4235 §4.1.6.2: +sip.rendering="no" on the local
				// target means the presentity put the call on hold. The
				// RFC 4235 schema names the value attribute "pval"; some
				// PBXs write "pvalue", so either is read.
				val := attr(t, "pval")
				if val == "" {
					val = attr(t, "pvalue")
				}
				if cur != nil && w.inside("local") && w.parent() == "target" &&
					strings.EqualFold(attr(t, "pname"), "+sip.rendering") &&
					strings.EqualFold(strings.TrimSpace(val), "no") {
					cur.Held = true
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "dialog":
				if len(w.stack) == 2 {
					cur = nil
				}
			case "state":
				if w.capt && cur != nil {
					st, _ := ParseDialogState(w.captured())
					cur.State = st
				}
			case "identity":
				if w.capt && cur != nil {
					if v := w.captured(); v != "" {
						cur.RemoteIdentity = v
					}
				}
			}
			w.pop()
			if len(w.stack) == 0 {
				break loop
			}
		}
	}
	if !sawRoot {
		return DialogInfo{}, ErrNotDialogInfo
	}
	return d, nil
}

// LineState folds the dialogs into one BLF status, the way BLF phones read
// dialog-info (docs/sip-presence.md §State-mapping "BLF mapping used by everyone"): an inbound early
// dialog (or an early one without direction) → ringing; any other live
// dialog not on hold → in use; only held dialogs → hold; none or all
// terminated → idle. Terminated dialogs are left out of Calls.
func (d *DialogInfo) LineState() LineState {
	s := LineState{Entity: d.Entity, Number: userPart(d.Entity), Status: StatusIdle}
	var ringing, active, held bool
	for _, c := range d.Dialogs {
		switch c.State {
		case DialogTrying, DialogProceeding, DialogEarly:
			if c.Direction == DirectionInitiator {
				active = true
			} else {
				ringing = true
			}
		case DialogConfirmed:
			if c.Held {
				held = true
			} else {
				active = true
			}
		default:
			continue
		}
		s.Calls = append(s.Calls, c)
	}
	switch {
	case ringing:
		s.Status = StatusRinging
	case active:
		s.Status = StatusInUse
	case held:
		s.Status = StatusHold
	}
	return s
}

// ParseBody decodes a PIDF, cpim-pidf or dialog-info body into a LineState
// according to its Content-Type.
func ParseBody(contentType string, b []byte) (LineState, error) {
	switch BaseContentType(contentType) {
	case ContentTypePIDF, ContentTypeCPIMPIDF:
		return ParsePIDF(b)
	case ContentTypeDialogInfo:
		d, err := ParseDialogInfo(b)
		if err != nil {
			return LineState{}, err
		}
		return d.LineState(), nil
	default:
		return LineState{}, errors.Join(ErrContentType, fmt.Errorf("pidf: cannot parse %q", contentType))
	}
}
