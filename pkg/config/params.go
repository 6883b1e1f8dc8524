package config

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cmed-project/cmed/pkg/cmdtree"
)

// Parameter types specific to CME commands.
var (
	buttonsParam = &cmdtree.ParamType{
		Name: "BUTTONS", Help: "button:dn pairs, e.g. 1:1 2:2 3b12 4o13,14,15 5x4", Rest: true,
		Hint:  "buttons are N<sep>DN with sep one of : b f s m w o c x, e.g. 1:1 2o3,4 3x2",
		Check: func(s string) int { _, bad := parseButtons(s); return bad },
	}
	targetParam = &cmdtree.ParamType{
		Name: "TARGET", Help: "ipv4:A.B.C.D[:port], dns:NAME[:port], sip-server or registrar",
		Hint:  "a session target is ipv4:A.B.C.D or ipv4:A.B.C.D:PORT, e.g. ipv4:192.0.2.7:5060",
		Check: checkTarget,
	}
	sedParam = &cmdtree.ParamType{
		Name: "/PATTERN/", Help: "SED-style pattern between slashes",
		Hint: "a translation pattern is written between slashes, e.g. /^9\\(.*\\)/",
		Check: func(s string) int {
			if len(s) < 2 || s[0] != '/' {
				return 0
			}
			if s[len(s)-1] != '/' {
				return len(s)
			}
			return -1
		},
	}
	flashParam = &cmdtree.ParamType{
		Name: "flash:FILE", Help: "file in flash to publish over TFTP",
		Hint: "a flash file is flash:NAME, e.g. flash:P00308000100.bin",
		Check: func(s string) int {
			if len(s) <= len("flash:") || !strings.EqualFold(s[:6], "flash:") {
				return 0
			}
			return -1
		},
	}
)

// checkTarget accepts the dial-peer session targets cmed understands
// (docs/cme-cli.md §Trunks-and-translation, [VCR-S2]).
func checkTarget(s string) int {
	low := strings.ToLower(s)
	switch {
	case low == "sip-server" || low == "registrar":
		return -1
	case strings.HasPrefix(low, "dns:") && len(s) > 4:
		return -1
	case strings.HasPrefix(low, "ipv4:"):
		host, port, hasPort := strings.Cut(s[5:], ":")
		if bad := cmdtree.CheckIPv4(host); bad >= 0 {
			return 5 + bad
		}
		if hasPort {
			n, err := strconv.Atoi(port)
			if err != nil || n < 0 || n > 65535 || port == "" || port[0] == '+' || port[0] == '-' {
				return 5 + len(host) + 1
			}
		}
		return -1
	}
	return 0
}

// parseButtons parses the arguments of an ephone `button` command
// (docs/cme-cli.md §Ephone separator table): `1:10 2b11 4o13,14,15 5c1,2 6x4`.
// It returns the buttons and -1, or the byte offset of the first bad
// character.
func parseButtons(s string) ([]Button, int) {
	var out []Button
	i := 0
	for i < len(s) {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		start := i
		idx, j := readInt(s, i)
		if j == i || idx < 1 || idx > 100 {
			return nil, start
		}
		if j >= len(s) {
			return nil, j
		}
		mode := ButtonMode(lower(s[j]))
		switch mode {
		case ButtonNormal, ButtonBeep, ButtonFeature, ButtonSilent, ButtonMonitor, ButtonWatch,
			ButtonOverlay, ButtonOverlayCW, ButtonExpand:
		default:
			return nil, j
		}
		b := Button{Index: idx, Mode: mode}
		k := j + 1
		for {
			n, e := readInt(s, k)
			if e == k || n < 1 {
				return nil, k
			}
			if mode == ButtonExpand {
				b.ExpandOf = n
			} else {
				b.DNs = append(b.DNs, n)
			}
			k = e
			if k < len(s) && s[k] == ',' && (mode == ButtonOverlay || mode == ButtonOverlayCW) && len(b.DNs) < 25 {
				k++
				continue
			}
			break
		}
		if k < len(s) && s[k] != ' ' && s[k] != '\t' {
			return nil, k
		}
		for _, o := range out {
			if o.Index == b.Index {
				return nil, start
			}
		}
		out = append(out, b)
		i = k
	}
	if len(out) == 0 {
		return nil, 0
	}
	return out, -1
}

// readInt reads decimal digits at s[i:] (at most 9, so no overflow).
func readInt(s string, i int) (int, int) {
	n, j := 0, i
	for j < len(s) && j-i < 9 && s[j] >= '0' && s[j] <= '9' {
		n = n*10 + int(s[j]-'0')
		j++
	}
	return n, j
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// formatButtons is the show-run form of a button list: `1:1 2o3,4 3x2`.
func formatButtons(bs []Button) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		var sb strings.Builder
		sb.WriteString(strconv.Itoa(b.Index))
		sb.WriteByte(byte(b.Mode))
		if b.Mode == ButtonExpand {
			sb.WriteString(strconv.Itoa(b.ExpandOf))
		} else {
			for j, d := range b.DNs {
				if j > 0 {
					sb.WriteByte(',')
				}
				sb.WriteString(strconv.Itoa(d))
			}
		}
		parts[i] = sb.String()
	}
	return strings.Join(parts, " ")
}

// NormalizeMAC turns any accepted H.H.H spelling into the canonical upper
// case form "0012.7F57.62A5".
func NormalizeMAC(s string) string { return strings.ToUpper(s) }

// MaxNumberLength is the longest directory number CME takes (16
// characters for ephone-dn and voice register dn numbers).
const MaxNumberLength = 16

var (
	// numberParam is an ephone-dn or hunt-group number: digits, the `.`
	// wildcard, `*`, `#`, a leading `+`, and the DTMF letters A-D that CME
	// allows so that intercom numbers cannot be dialled from a keypad.
	numberParam = &cmdtree.ParamType{
		Name: "NUMBER", Help: "Directory number (digits, . * # + and A-D, up to 16 characters)",
		Hint:  "a directory number has digits, . * # A-D and a leading +, up to 16 characters, e.g. 1001 or A100",
		Check: func(s string) int { return checkNumber(s, true) },
	}
	// sipNumberParam is a voice register dn number: no letters.
	sipNumberParam = &cmdtree.ParamType{
		Name: "NUMBER", Help: "Directory number (digits, . * # +, up to 16 characters)",
		Hint:  "a SIP directory number has digits, . * # and a leading +, up to 16 characters, e.g. 2001",
		Check: func(s string) int { return checkNumber(s, false) },
	}
	digitsParam = &cmdtree.ParamType{
		Name: "DIGITS", Help: "Digits", Hint: "digits only, up to 16, e.g. 10",
		Check: func(s string) int {
			for i := 0; i < len(s); i++ {
				if s[i] < '0' || s[i] > '9' || i == MaxNumberLength {
					return i
				}
			}
			return -1
		},
	}
	huntListParam = &cmdtree.ParamType{
		Name: "NUMBERS", Help: "Member numbers in hunt order, separated by commas (* = any agent)", Rest: true,
		Hint:  "a hunt list is numbers separated by commas, e.g. 1001, 1002, 1003 (* for a dynamic agent slot)",
		Check: func(s string) int { _, bad := parseHuntList(s); return bad },
	}
	timeoutsParam = &cmdtree.ParamType{
		Name: "SECONDS", Help: "Ring time per member, seconds (3-60000), separated by commas", Rest: true,
		Hint:  "timeouts are seconds from 3 to 60000 separated by commas, e.g. 10, 10, 15",
		Check: func(s string) int { _, bad := parseTimeouts(s); return bad },
	}
	parkParam = &cmdtree.ParamType{
		Name: "OPTIONS", Help: "[reserved-for DN] [timeout S limit N [notify DN [only]] [recall] [transfer DN] [alternate DN] [retry S limit N]]",
		Rest:  true,
		Hint:  "park-slot options are reserved-for DN, timeout S limit N, notify DN [only], recall, transfer DN, alternate DN, retry S limit N",
		Check: func(s string) int { _, bad := parseParkSlot(s); return bad },
	}
)

// checkNumber returns -1 for a valid dial string, else the offset of the
// first bad character.
func checkNumber(s string, letters bool) int {
	if s == "" {
		return 0
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := (c >= '0' && c <= '9') || c == '.' || c == '*' || c == '#' || (c == '+' && i == 0) ||
			(letters && ((c >= 'A' && c <= 'D') || (c >= 'a' && c <= 'd')))
		if !ok || i == MaxNumberLength {
			return i
		}
	}
	return -1
}

// parseHuntList reads `1001, 1002,1003 *`: numbers separated by commas
// and/or spaces. At most 32 members (the voice hunt-group list limit;
// ephone-hunt takes fewer, which Validate checks).
func parseHuntList(s string) ([]string, int) {
	var out []string
	i := 0
	for i < len(s) {
		if i = skipSep(s, i, len(out) > 0); i == len(s) {
			break
		}
		j := i
		for j < len(s) && s[j] != ',' && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		w := s[i:j]
		if w != "*" {
			if bad := checkNumber(w, true); bad >= 0 {
				return nil, i + bad
			}
		}
		if len(out) == MaxHuntMembers {
			return nil, i
		}
		out = append(out, w)
		i = j
	}
	if len(out) == 0 {
		return nil, len(s)
	}
	return out, -1
}

// skipSep skips blanks and, after the first entry, at most one comma.
func skipSep(s string, i int, comma bool) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if comma && i < len(s) && s[i] == ',' {
		i++
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	return i
}

// MaxHuntMembers is the longest voice hunt-group list cmed accepts.
const MaxHuntMembers = 32

func parseTimeouts(s string) ([]int, int) {
	var out []int
	i := 0
	for i < len(s) {
		if i = skipSep(s, i, len(out) > 0); i == len(s) {
			break
		}
		n, j := readInt(s, i)
		if j == i || n < 3 || n > 60000 || (j < len(s) && s[j] != ',' && s[j] != ' ' && s[j] != '\t') || len(out) == MaxHuntMembers {
			return nil, i
		}
		out = append(out, n)
		i = j
	}
	if len(out) == 0 {
		return nil, len(s)
	}
	return out, -1
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// parseParkSlot reads the options of `park-slot` (ParkSlot lists them) in
// any order, each at most once.
func parseParkSlot(s string) (ParkSlot, int) {
	var p ParkSlot
	toks := strings.Fields(s)
	offs := make([]int, len(toks))
	at := 0
	for i, t := range toks {
		at += strings.Index(s[at:], t)
		offs[i] = at
		at += len(t)
	}
	seen := map[string]bool{}
	num := func(i int, lo, hi int) (int, bool) {
		if i >= len(toks) {
			return 0, false
		}
		n, err := strconv.Atoi(toks[i])
		return n, err == nil && n >= lo && n <= hi
	}
	dn := func(i int) (string, bool) {
		if i >= len(toks) || checkNumber(toks[i], true) >= 0 {
			return "", false
		}
		return toks[i], true
	}
	for i := 0; i < len(toks); {
		kw := strings.ToLower(toks[i])
		if seen[kw] {
			return ParkSlot{}, offs[i]
		}
		seen[kw] = true
		bad := func(j int) (ParkSlot, int) {
			if j >= len(toks) {
				return ParkSlot{}, len(s)
			}
			return ParkSlot{}, offs[j]
		}
		var ok bool
		switch kw {
		case "directed":
			p.Directed = true
			i++
		case "recall":
			p.Recall = true
			i++
		case "only":
			if p.Notify == "" {
				return bad(i)
			}
			p.NotifyOnly = true
			i++
		case "reserved-for", "notify", "transfer", "alternate":
			v, ok := dn(i + 1)
			if !ok {
				return bad(i + 1)
			}
			switch kw {
			case "reserved-for":
				p.ReservedFor = v
			case "notify":
				p.Notify = v
			case "transfer":
				p.Transfer = v
			default:
				p.Alternate = v
			}
			i += 2
		case "timeout", "retry":
			var a, b int
			if a, ok = num(i+1, 1, 65535); !ok {
				return bad(i + 1)
			}
			if i+2 >= len(toks) || !strings.EqualFold(toks[i+2], "limit") {
				return bad(i + 2)
			}
			if b, ok = num(i+3, 1, 65535); !ok {
				return bad(i + 3)
			}
			if kw == "timeout" {
				p.Timeout, p.Limit = a, b
			} else {
				p.Retry, p.RetryLimit = a, b
			}
			i += 4
		default:
			return bad(i)
		}
	}
	return p, -1
}

// formatParkSlot is the show-run form of the options, in ParkSlot's
// field order.
func formatParkSlot(p ParkSlot) string {
	var s []string
	if p.Directed {
		s = append(s, "directed")
	}
	if p.ReservedFor != "" {
		s = append(s, "reserved-for", p.ReservedFor)
	}
	if p.Timeout != 0 {
		s = append(s, "timeout", strconv.Itoa(p.Timeout), "limit", strconv.Itoa(p.Limit))
	}
	if p.Notify != "" {
		s = append(s, "notify", p.Notify)
		if p.NotifyOnly {
			s = append(s, "only")
		}
	}
	if p.Recall {
		s = append(s, "recall")
	}
	if p.Transfer != "" {
		s = append(s, "transfer", p.Transfer)
	}
	if p.Alternate != "" {
		s = append(s, "alternate", p.Alternate)
	}
	if p.Retry != 0 {
		s = append(s, "retry", strconv.Itoa(p.Retry), "limit", strconv.Itoa(p.RetryLimit))
	}
	return strings.Join(s, " ")
}

// dtmfParam accepts `dtmf-relay` methods in any order, each once; `digit-drop`
// may follow rtp-nte (dial-peer only).
func dtmfParam(methods ...string) *cmdtree.ParamType {
	return &cmdtree.ParamType{
		Name: "METHODS", Help: strings.Join(methods, " | "), Rest: true,
		Hint:  "DTMF relay methods are " + strings.Join(methods, ", "),
		Check: func(s string) int { _, bad := parseDTMF(s, methods); return bad },
	}
}

func parseDTMF(s string, methods []string) ([]string, int) {
	var out []string
	at := 0
	for _, w := range strings.Fields(s) {
		at += strings.Index(s[at:], w)
		low := strings.ToLower(w)
		ok := false
		for _, m := range methods {
			if m == low {
				ok = true
			}
		}
		if low == "digit-drop" && len(out) > 0 && out[len(out)-1] == "rtp-nte" {
			ok = true
		}
		if !ok || slices.Contains(out, low) {
			return nil, at
		}
		out = append(out, low)
		at += len(w)
	}
	if len(out) == 0 {
		return nil, len(s)
	}
	return out, -1
}
