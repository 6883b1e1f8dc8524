package pidf

import "unicode/utf8"

// appendEscaped writes s as XML character data / attribute value content.
// Control characters that XML 1.0 forbids are dropped and invalid UTF-8 is
// replaced, so a hostile display name cannot break the document.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch c {
			case '&':
				dst = append(dst, "&amp;"...)
			case '<':
				dst = append(dst, "&lt;"...)
			case '>':
				dst = append(dst, "&gt;"...)
			case '"':
				dst = append(dst, "&quot;"...)
			case '\'':
				dst = append(dst, "&apos;"...)
			case '\t', '\n', '\r':
				dst = append(dst, c)
			default:
				if c >= 0x20 && c != 0x7f {
					dst = append(dst, c)
				}
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, "\uFFFD"...)
		} else if r == 0xFFFE || r == 0xFFFF {
			// not XML characters; drop
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}
