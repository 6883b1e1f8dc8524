package cmdtree

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// specItem is a token, or a group of alternative sequences.
type specItem struct {
	tok      string
	alts     [][]specItem
	optional bool
}

// parseSpec turns "a <1-5> [b|c d] {e|f}" into items.
func parseSpec(spec string) ([]specItem, error) {
	lex := lexSpec(spec)
	pos := 0
	seq, err := parseSeq(lex, &pos, "")
	if err != nil {
		return nil, err
	}
	if pos != len(lex) {
		return nil, fmt.Errorf("unexpected %q", lex[pos])
	}
	return seq, nil
}

func lexSpec(spec string) []string {
	var out []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range spec {
		switch r {
		case ' ', '\t':
			flush()
		case '[', ']', '{', '}', '|':
			flush()
			out = append(out, string(r))
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

// parseSeq reads items until a closing token (not consumed) or the end.
func parseSeq(lex []string, pos *int, closer string) ([]specItem, error) {
	var seq []specItem
	for *pos < len(lex) {
		t := lex[*pos]
		switch t {
		case "]", "}", "|":
			if closer == "" {
				return nil, fmt.Errorf("unexpected %q", t)
			}
			return seq, nil
		case "[", "{":
			*pos++
			want := "]"
			if t == "{" {
				want = "}"
			}
			var alts [][]specItem
			for {
				alt, err := parseSeq(lex, pos, want)
				if err != nil {
					return nil, err
				}
				alts = append(alts, alt)
				if *pos >= len(lex) {
					return nil, fmt.Errorf("missing %q", want)
				}
				sep := lex[*pos]
				*pos++
				if sep == want {
					break
				}
				if sep != "|" {
					return nil, fmt.Errorf("unexpected %q", sep)
				}
			}
			seq = append(seq, specItem{alts: alts, optional: t == "["})
		default:
			*pos++
			seq = append(seq, specItem{tok: t})
		}
	}
	if closer != "" {
		return nil, fmt.Errorf("missing %q", closer)
	}
	return seq, nil
}

// expand lists every concrete token sequence a spec accepts.
func expand(items []specItem) [][]string {
	out := [][]string{nil}
	for _, it := range items {
		var choices [][]string
		if it.tok != "" {
			choices = [][]string{{it.tok}}
		} else {
			if it.optional {
				choices = append(choices, nil)
			}
			for _, alt := range it.alts {
				choices = append(choices, expand(alt)...)
			}
		}
		var next [][]string
		for _, prefix := range out {
			for _, c := range choices {
				s := append(append([]string(nil), prefix...), c...)
				next = append(next, s)
			}
		}
		out = next
	}
	return out
}

// rawToken is a typed word and its byte offset.
type rawToken struct {
	text string
	off  int
}

// tokenize splits on spaces and tabs; a word that starts with '"' runs to
// the closing quote, spaces included (labels: `label "Front Desk"`).
func tokenize(line string) []rawToken {
	var out []rawToken
	i := 0
	for i < len(line) {
		if line[i] == ' ' || line[i] == '\t' {
			i++
			continue
		}
		start := i
		if line[i] == '"' {
			if j := strings.IndexByte(line[i+1:], '"'); j >= 0 {
				i += j + 2
			} else {
				i = len(line)
			}
		}
		for i < len(line) && line[i] != ' ' && line[i] != '\t' {
			i++
		}
		out = append(out, rawToken{text: line[start:i], off: start})
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// RangeParam is the `<lo-hi>` integer parameter.
func RangeParam(lo, hi int64) *ParamType {
	return &ParamType{
		Name: fmt.Sprintf("<%d-%d>", lo, hi),
		Hint: fmt.Sprintf("a number from %d to %d", lo, hi),
		Check: func(s string) int {
			for i := 0; i < len(s); i++ {
				if (s[i] < '0' || s[i] > '9') && !(i == 0 && s[i] == '-' && lo < 0 && len(s) > 1) {
					return i
				}
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < lo || n > hi {
				return 0 // IOS marks the start of an out-of-range number
			}
			return -1
		},
	}
}

// CheckIPv4 accepts a dotted-quad IPv4 address (A.B.C.D).
func CheckIPv4(s string) int {
	a, err := netip.ParseAddr(s)
	if err == nil && a.Is4() {
		return -1
	}
	// Point at the first character that cannot belong to an address.
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return i
		}
	}
	return 0
}

// CheckMAC accepts the Cisco dotted MAC form H.H.H with four hex digits
// per group (0012.7F57.62A5).
func CheckMAC(s string) int {
	group, digits := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if digits != 4 || group == 2 {
				return i
			}
			group, digits = group+1, 0
		case isHex(c):
			if digits == 4 {
				return i
			}
			digits++
		default:
			return i
		}
	}
	if group != 2 || digits != 4 {
		return len(s)
	}
	return -1
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func builtinParams() []*ParamType {
	return []*ParamType{
		{Name: "WORD", Help: "WORD", Check: func(string) int { return -1 }},
		{Name: "LINE", Help: "LINE", Rest: true, Check: func(string) int { return -1 }},
		{Name: "STRING", Help: `WORD or "quoted text"`, Hint: `a word or text in double quotes`,
			Check: func(s string) int {
				if strings.HasPrefix(s, `"`) {
					if len(s) < 2 || !strings.HasSuffix(s, `"`) {
						return len(s)
					}
					if i := strings.IndexByte(s[1:len(s)-1], '"'); i >= 0 {
						return i + 1
					}
					return -1
				}
				if i := strings.IndexByte(s, '"'); i >= 0 {
					return i
				}
				return -1
			}},
		{Name: "A.B.C.D", Help: "IP address", Hint: "an IPv4 address is A.B.C.D, e.g. 192.0.2.10", Check: CheckIPv4},
		{Name: "H.H.H", Help: "MAC address", Hint: "a MAC is H.H.H, e.g. 0012.7F57.62A5", Check: CheckMAC},
	}
}
