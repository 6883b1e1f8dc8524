package msg

import "unicode/utf8"

// PhoneFeatureUTF8 is the Register phoneFeatures bit with which a phone says
// it displays UTF-8 (docs/sccp.md §Charset). Wireshark and chan-sccp agree on
// this one bit; a 7960 on SCCP 8.x announces 0x8560 (clear), a 7941 0x8572 (set).
const PhoneFeatureUTF8 = 0x0010

// Charset is the character set a phone shows text in.
type Charset uint8

const (
	// CharsetLatin1 is ISO-8859-1, what a phone that does not announce UTF-8
	// is sent (docs/sccp.md §Charset).
	CharsetLatin1 Charset = iota
	// CharsetUTF8 is UTF-8.
	CharsetUTF8
)

func (c Charset) String() string {
	if c == CharsetUTF8 {
		return "UTF-8"
	}
	return "ISO-8859-1"
}

// CharsetOf is the charset of the phone that sent r: UTF-8 only when the
// Register is long enough to hold phoneFeatures and the UTF-8 bit is set.
func CharsetOf(r *Register) Charset {
	if r.WireLen > 42 && r.PhoneFeatures&PhoneFeatureUTF8 != 0 {
		return CharsetUTF8
	}
	return CharsetLatin1
}

// labelEscape starts a built-in display label, 0x80 NN (docs/sccp.md §Display-labels).
const labelEscape = 0x80

// EncodeText converts s, UTF-8 with embedded 0x80 NN label codes as cmed
// builds it, for a phone showing cs. Label codes pass through untouched.
// For Latin-1 each character U+00A0..U+00FF becomes its one byte; anything
// outside Latin-1, the C1 controls (whose 0x80 would read as a label code) and
// invalid bytes become '?'. For UTF-8 only invalid bytes become '?'. Plain
// ASCII is returned as is, without allocating.
func EncodeText(s string, cs Charset) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	out := make([]byte, i, len(s))
	copy(out, s[:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		case c == labelEscape && i+1 < len(s):
			out = append(out, c, s[i+1])
			i += 2
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size <= 1:
				out = append(out, '?')
			case cs == CharsetUTF8:
				out = append(out, s[i:i+size]...)
			case r >= 0xA0 && r <= 0xFF:
				out = append(out, byte(r))
			default:
				out = append(out, '?')
			}
			i += size
		}
	}
	return string(out)
}

// cutText returns the longest prefix of s of at most n bytes that ends on a
// character boundary: a 0x80 NN label code, a well-formed UTF-8 sequence or
// any other single byte (a Latin-1 character) is kept whole or dropped whole
// (docs/sccp.md §Charset).
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	end := 0
	for i := 0; i < len(s); {
		size := 1
		switch c := s[i]; {
		case c == labelEscape && i+1 < len(s):
			size = 2
		case c >= utf8.RuneSelf:
			_, size = utf8.DecodeRuneInString(s[i:])
		}
		if i+size > n {
			break
		}
		i += size
		end = i
	}
	return s[:end]
}

// Localize returns m with every display text (names, labels, prompts,
// notifications) converted by EncodeText for cs. Messages without text, or
// whose text needs no change, are returned as they are; otherwise a copy is
// changed, so a message built once may go to phones with different charsets.
func Localize(m Message, cs Charset) Message {
	e := func(s *string) bool {
		t := EncodeText(*s, cs)
		if t == *s {
			return false
		}
		*s = t
		return true
	}
	switch m := m.(type) {
	case *DisplayPromptStatus:
		c := *m
		if e(&c.Text) {
			return &c
		}
	case *DisplayPromptStatusV2:
		c := *m
		if e(&c.Text) {
			return &c
		}
	case *DisplayNotify:
		c := *m
		if e(&c.Text) {
			return &c
		}
	case *DisplayNotifyV2:
		c := *m
		if e(&c.Text) {
			return &c
		}
	case *DisplayPriNotify:
		c := *m
		if e(&c.Text) {
			return &c
		}
	case *DisplayPriNotifyV2:
		c := *m
		if e(&c.Text) {
			return &c
		}
	case *RegisterReject:
		c := *m
		if e(&c.Text) {
			return &c
		}
	case *Notification:
		c := *m
		if e(&c.Text) {
			return &c
		}
	case *CallInfo:
		c := *m
		a, b, d, f := e(&c.CallingPartyName), e(&c.CalledPartyName), e(&c.OriginalCalledPartyName),
			e(&c.LastRedirectingPartyName)
		if a || b || d || f {
			return &c
		}
	case *CallInfoV2:
		c := *m
		a, b, d, f := e(&c.CallingPartyName), e(&c.CalledPartyName), e(&c.OriginalCalledPartyName),
			e(&c.LastRedirectingPartyName)
		if h := e(&c.HuntPilotName); a || b || d || f || h {
			return &c
		}
	case *LineStatRes:
		c := *m
		if a, b := e(&c.FullName), e(&c.Label); a || b {
			return &c
		}
	case *LineStatV2Res:
		c := *m
		if a, b := e(&c.FullName), e(&c.Label); a || b {
			return &c
		}
	case *SpeedDialStatRes:
		c := *m
		if e(&c.Name) {
			return &c
		}
	case *ConfigStatRes:
		c := *m
		if a, b := e(&c.UserName), e(&c.ServerName); a || b {
			return &c
		}
	case *ConfigStatV2Res:
		c := *m
		if a, b := e(&c.UserName), e(&c.ServerName); a || b {
			return &c
		}
	case *FeatureStatRes:
		c := *m
		if e(&c.Label) {
			return &c
		}
	case *FeatureStatV2Res:
		c := *m
		if e(&c.Label) {
			return &c
		}
	case *ServiceURLStatRes:
		c := *m
		if e(&c.Label) {
			return &c
		}
	case *ServiceURLStatV2Res:
		c := *m
		if e(&c.Label) {
			return &c
		}
	case *SoftKeyTemplateRes:
		var keys []SoftKey
		for i, k := range m.Keys {
			if t := EncodeText(k.Label, cs); t != k.Label {
				if keys == nil {
					keys = append([]SoftKey(nil), m.Keys...)
				}
				keys[i].Label = t
			}
		}
		if keys != nil {
			c := *m
			c.Keys = keys
			return &c
		}
	}
	return m
}
