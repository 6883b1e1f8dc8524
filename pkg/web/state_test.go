package web

import (
	"strconv"
	"testing"
)

// undomID inverts domID, for the round-trip property.
func undomID(id string) (string, bool) {
	var out []byte
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
			out = append(out, c)
		case c == '_' && i+2 < len(id):
			v, err := strconv.ParseUint(id[i+1:i+3], 16, 8)
			if err != nil {
				return "", false
			}
			out = append(out, byte(v))
			i += 2
		default:
			return "", false
		}
	}
	return string(out), true
}

func TestDOMID(t *testing.T) {
	for in, want := range map[string]string{"1001": "1001", "*8#": "_2A8_23", "a_b": "a_5Fb", "": "", "+49 30": "_2B49_2030"} {
		if got := domID(in); got != want {
			t.Errorf("domID(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDOMID: ids are safe in HTML attributes and CSS selectors (only
// [A-Za-z0-9_-]) and injective (they decode back), so two DN numbers never
// share a lamp element.
func FuzzDOMID(f *testing.F) {
	for _, s := range []string{"1001", "*8#", "a_b", "", "_2A", "ümlaut", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id := domID(s)
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				t.Fatalf("domID(%q) = %q has byte %q", s, id, c)
			}
		}
		back, ok := undomID(id)
		if !ok || back != s {
			t.Fatalf("domID(%q) = %q decodes to %q, %v", s, id, back, ok)
		}
	})
}
