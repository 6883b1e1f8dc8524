package config

import (
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
