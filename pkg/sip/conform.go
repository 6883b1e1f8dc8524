package sip

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// This file holds what cmed checks of a request before sipgo's handlers
// see it, so that the messages of RFC 4475 (SIP torture tests) get the
// answer the RFC asks for (docs/security.md §Malformed-requests):
//
//   - readFilter sees every UDP datagram before sipgo parses it. It
//     unfolds header lines (RFC 3261 §7.3.1), drops octets past
//     Content-Length (§18.3), and answers statelessly what sipgo would
//     drop without a word or accept although it is malformed: a bad
//     request line (400, or 505 for another version, §8.2.6), a missing
//     mandatory header, a single-valued header given twice, a bad
//     Content-Length or CSeq (400).
//   - conformed wraps every handler (both transports): unknown URI scheme
//     416 (§8.2.2.1), CSeq method other than the request's 400, unknown
//     Require option tags 420 with Unsupported (§8.2.2.3), INVITE bodies
//     other than SDP 415 with Accept (§8.2.3), INVITE whose Accept rules
//     out SDP 406 (§21.4.7).

// supportedOptions are the option tags cmed implements: session timers
// (RFC 4028, features.go) and Replaces (RFC 3891, refer.go).
var supportedOptions = []string{"timer", "replaces"}

// compactNames maps compact header names to full ones (RFC 3261 §7.3.3).
var compactNames = map[string]string{
	"i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
	"c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to", "v": "via",
}

// singleValued headers may appear once (RFC 3261 §7.3.1, §20).
var singleValued = []string{"call-id", "cseq", "from", "to", "max-forwards", "content-length", "content-type"}

// mandatory headers of every request (RFC 3261 §8.1.1); Max-Forwards is
// not among them here: RFC 2543 clients omit it and are processed (RFC
// 4475 §3.4.1).
var mandatory = []string{"via", "from", "to", "call-id", "cseq"}

// rawHeader is one unfolded header line.
type rawHeader struct {
	name  string // lower-case, compact forms expanded
	line  string // "Name: value" as received, unfolded
	value string
}

// rawRequest is a datagram split far enough to check it and to answer it
// without sipgo.
type rawRequest struct {
	startLine string
	headers   []rawHeader
	body      []byte
}

func (r *rawRequest) all(name string) []rawHeader {
	var out []rawHeader
	for _, h := range r.headers {
		if h.name == name {
			out = append(out, h)
		}
	}
	return out
}

// splitRaw unfolds the header section of a datagram: a line starting
// with SP or HT continues the previous one, and the fold is one SP
// (RFC 3261 §7.3.1). ok is false when the message has no end of headers.
func splitRaw(data []byte) (r rawRequest, ok bool) {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		// A datagram is one message (RFC 3261 §18.3): one that ends
		// after a header line has no body, whether or not the empty
		// line follows.
		if !bytes.HasSuffix(data, []byte("\r\n")) {
			return r, false
		}
		data = append(data[:len(data):len(data)], '\r', '\n')
		end = len(data) - 4
	}
	lines := strings.Split(string(data[:end]), "\r\n")
	r.startLine = lines[0]
	r.body = data[end+4:]
	var cur []string
	flush := func() {
		if len(cur) == 0 {
			return
		}
		line := strings.Join(cur, " ")
		cur = nil
		name, value, found := strings.Cut(line, ":")
		if !found {
			r.headers = append(r.headers, rawHeader{line: line})
			return
		}
		n := strings.ToLower(strings.TrimSpace(name))
		if full, ok := compactNames[n]; ok {
			n = full
		}
		value = strings.TrimSpace(value)
		switch n {
		case "from", "to", "via":
			// LWS around ";" and "=" is allowed (RFC 3261 §25.1, RFC 4475
			// §3.1.1.1) but sipgo reads "tag = x" as no tag; and around
			// "/" in Via's sent-protocol.
			value = tightenParams(value, n == "via")
			line = strings.TrimSpace(name) + ": " + value
		}
		r.headers = append(r.headers, rawHeader{name: n, line: line, value: value})
	}
	for _, l := range lines[1:] {
		if l != "" && (l[0] == ' ' || l[0] == '\t') && len(cur) > 0 {
			cur = append(cur, strings.TrimLeft(l, " \t"))
			continue
		}
		flush()
		cur = []string{l}
	}
	flush()
	return r, true
}

// tightenParams removes LWS around ";", "=" (and "/" in a Via) outside
// quoted strings and angle brackets.
func tightenParams(v string, via bool) string {
	var b strings.Builder
	quoted, angle, escaped := false, false, false
	pendingSpace := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if quoted {
			b.WriteByte(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				quoted = false
			}
			continue
		}
		if angle {
			b.WriteByte(c)
			angle = c != '>'
			continue
		}
		switch {
		case c == ' ' || c == '\t':
			pendingSpace = true
			continue
		case c == ';' || c == '=' || (via && c == '/'):
			pendingSpace = false
			b.WriteByte(c)
			for i+1 < len(v) && (v[i+1] == ' ' || v[i+1] == '\t') {
				i++
			}
			continue
		}
		if pendingSpace {
			b.WriteByte(' ')
			pendingSpace = false
		}
		switch c {
		case '"':
			quoted = true
		case '<':
			angle = true
		}
		b.WriteByte(c)
	}
	return b.String()
}

// rfc2543Branch gives a request from an RFC 2543 client (top Via without
// the RFC 3261 branch, From without tag) a branch made of what RFC 3261
// §17.2.3 matches such requests by, so sipgo, which keys a transaction by
// branch or else by From tag, can hold it (RFC 4475 §3.4.1). An ACK gets
// the branch of its INVITE: the CSeq method is left out.
func rfc2543Branch(r *rawRequest) {
	from, vias, cseq, callID := r.all("from"), r.all("via"), r.all("cseq"), r.all("call-id")
	if len(from) != 1 || len(vias) == 0 || len(cseq) != 1 || len(callID) != 1 {
		return
	}
	if strings.Contains(strings.ToLower(from[0].value), ";tag=") ||
		strings.Contains(strings.ToLower(vias[0].value), "branch="+strings.ToLower(sip.RFC3261BranchMagicCookie)) {
		return
	}
	num, _, _ := strings.Cut(cseq[0].value, " ")
	uri := strings.Split(r.startLine, " ")
	if len(uri) != 3 {
		return
	}
	to := ""
	if t := r.all("to"); len(t) == 1 {
		to = t[0].value
	}
	first, _, _ := strings.Cut(vias[0].value, ",")
	sum := sha256.Sum256([]byte(uri[1] + "\n" + to + "\n" + from[0].value + "\n" + callID[0].value + "\n" + num + "\n" + first))
	for i := range r.headers {
		if r.headers[i].name == "via" {
			h := &r.headers[i]
			v, rest, comma := strings.Cut(h.value, ",")
			v += ";branch=" + sip.RFC3261BranchMagicCookie + "-2543-" + hex.EncodeToString(sum[:8])
			if comma {
				v += "," + rest
			}
			name, _, _ := strings.Cut(h.line, ":")
			h.value, h.line = v, name+": "+v
			return
		}
	}
}

// rebuild writes the unfolded message back with body as given.
func (r *rawRequest) rebuild(body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(r.startLine + "\r\n")
	for _, h := range r.headers {
		b.WriteString(h.line + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// checkStartLine applies RFC 3261 §7.1 strictly: Method SP Request-URI SP
// SIP-Version, one SP each, nothing after the version (RFC 4475 §3.1.2.7
// to §3.1.2.10, §3.1.2.16).
func checkStartLine(line string) (status int, reason string) {
	// Split on single spaces, without allocating (plainRequest runs this
	// on every datagram).
	var parts [3]string
	n := 0
	for rest := line; ; n++ {
		part, after, more := strings.Cut(rest, " ")
		if n == len(parts) {
			return 400, "Malformed Request-Line"
		}
		parts[n] = part
		if !more {
			n++
			break
		}
		rest = after
	}
	if n != 3 || parts[0] == "" || parts[1] == "" {
		return 400, "Malformed Request-Line"
	}
	if strings.HasPrefix(parts[1], "<") {
		return 400, "Malformed Request-URI"
	}
	if !strings.EqualFold(parts[2], "SIP/2.0") {
		if strings.HasPrefix(strings.ToUpper(parts[2]), "SIP/") {
			return 505, "Version Not Supported"
		}
		return 400, "Malformed Request-Line"
	}
	// A scheme sipgo cannot parse is still a scheme cmed does not serve
	// (RFC 3261 §8.2.2.1, RFC 4475 §3.3.3).
	if scheme, _, ok := strings.Cut(parts[1], ":"); !ok || !(strings.EqualFold(scheme, "sip") || strings.EqualFold(scheme, "sips")) {
		return 416, "Unsupported URI Scheme"
	}
	return 0, ""
}

// checkHeaders looks at what sipgo's parser lets through or drops
// silently: missing and repeated headers, Content-Length, CSeq and
// address headers (RFC 4475 §3.1.2.2 to §3.1.2.4, §3.1.2.13, §3.3.1,
// §3.3.8, §3.3.9). It returns the body to keep: octets past
// Content-Length in a datagram are not part of the message (RFC 3261
// §18.3, RFC 4475 §3.1.1.8).
func checkHeaders(r *rawRequest, method string) (body []byte, status int, reason string) {
	for _, n := range mandatory {
		if len(r.all(n)) == 0 {
			return nil, 400, "Missing " + n
		}
	}
	for _, n := range singleValued {
		if len(r.all(n)) > 1 {
			return nil, 400, "Multiple " + n
		}
	}
	for _, h := range r.headers {
		if h.name == "" {
			return nil, 400, "Malformed Header"
		}
	}
	body = r.body
	if cl := r.all("content-length"); len(cl) == 1 {
		n, err := strconv.ParseUint(cl[0].value, 10, 31)
		switch {
		case err != nil:
			return nil, 400, "Bad Content-Length"
		case int(n) > len(body):
			return nil, 400, "Content-Length Exceeds Message"
		default:
			body = body[:n]
		}
	}
	if status, reason := checkCSeq(r.all("cseq")[0].value, method); status != 0 {
		return nil, status, reason
	}
	for _, n := range []string{"to", "from", "contact"} {
		for _, h := range r.all(n) {
			if bad := checkAddress(h.value); bad != "" {
				return nil, 400, bad
			}
		}
	}
	return body, 0, ""
}

// checkCSeq: a 32-bit sequence number below 2**31 and the request's own
// method (RFC 3261 §8.1.1.5, RFC 4475 §3.1.2.4, §3.1.2.17, §3.1.2.18).
func checkCSeq(v, method string) (int, string) {
	// Two fields between white space, as strings.Fields would split
	// them, without allocating.
	isSpace := func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '\v' || r == '\f' }
	var f [2]string
	rest := strings.TrimFunc(v, isSpace)
	i := strings.IndexFunc(rest, isSpace)
	if i < 0 {
		return 400, "Bad CSeq"
	}
	f[0], f[1] = rest[:i], strings.TrimLeftFunc(rest[i:], isSpace)
	if strings.IndexFunc(f[1], isSpace) >= 0 {
		return 400, "Bad CSeq"
	}
	if _, err := strconv.ParseUint(f[0], 10, 31); err != nil {
		return 400, "Bad CSeq"
	}
	if f[1] != method {
		return 400, "CSeq Method Mismatch"
	}
	return 0, ""
}

// checkAddress refuses an addr-spec that must have been in angle
// brackets: one with a comma or a question mark (RFC 3261 §20.10, RFC
// 4475 §3.1.2.13).
func checkAddress(v string) string {
	if dn, _, ok := strings.Cut(v, "<"); ok && !strings.Contains(dn, "\"") {
		// An unquoted display name is tokens and LWS (RFC 3261 §25.1,
		// RFC 4475 §3.1.2.15).
		for _, c := range []byte(dn) {
			if !isTokenChar(c) && c != ' ' && c != '\t' {
				return "Malformed Display Name"
			}
		}
		return ""
	}
	if strings.ContainsAny(v, "<\"") || v == "*" {
		return ""
	}
	uri, _, _ := strings.Cut(v, ";")
	if strings.ContainsAny(uri, "?,") {
		return "URI Must Be In Angle Brackets"
	}
	return ""
}

// isTokenChar: RFC 3261 §25.1 token.
func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-.!%*_+`'~", c) >= 0
}

// readFilter is sipgo's read filter: it sees every datagram (and TCP
// read) before parsing. It must not return an error: sipgo ends the read
// loop on one.
func (s *Server) readFilter(p sip.TransportReadProps, data []byte) ([]byte, error) {
	if !strings.EqualFold(p.Transport, "udp") {
		return data, nil
	}
	if bytes.HasPrefix(data, []byte("SIP/")) {
		if s.pres.onAnswer(data) {
			return nil, nil // the answer to a NOTIFY cmed sent itself (notifytx.go)
		}
		return data, nil
	}
	if plainRequest(data) {
		// Nothing to unfold, tighten, trim or refuse: sipgo parses the
		// datagram as received, once (BENCHMARKS.md: the slow path below
		// splits, rebuilds and parses every request a second time).
		return data, nil
	}
	msg, r, status, reason, extra := conformRaw(data)
	if status != 0 {
		s.rawAnswer(p.RemoteAddr, r, status, reason, extra...)
		return nil, nil
	}
	return msg, nil
}

// conformRaw is readFilter's full check of a request datagram: the
// message to hand to sipgo (data itself when it is not a request line at
// all or cannot be split), or a status to answer statelessly with its
// reason and extra headers, for the request r.
func conformRaw(data []byte) (msg []byte, r *rawRequest, status int, reason string, extra []sip.Header) {
	rr, ok := splitRaw(data)
	if !ok {
		return data, nil, 0, "", nil // sipgo drops it as unparsable, counted there
	}
	r = &rr
	method, _, _ := strings.Cut(r.startLine, " ")
	if !strings.HasSuffix(strings.TrimRight(r.startLine, " "), "SIP/2.0") && !strings.Contains(r.startLine, " SIP/") {
		return data, nil, 0, "", nil // not a request line at all: nothing to answer
	}
	status, reason = checkStartLine(r.startLine)
	var body []byte
	if status == 0 {
		body, status, reason = checkHeaders(r, method)
	}
	if status != 0 {
		return nil, r, status, reason, nil
	}
	rfc2543Branch(r)
	msg = r.rebuild(body)
	m, err := sip.ParseMessage(msg)
	if err != nil {
		return nil, r, 400, "Bad Request", nil
	}
	if req, ok := m.(*sip.Request); ok {
		if st, rs, hdrs := checkRequest(req); st != 0 {
			return nil, r, st, rs, hdrs
		}
	}
	return msg, r, 0, "", nil
}

// plainRequest reports, without allocating, that conformRaw would hand
// data to sipgo unchanged in meaning and refuse nothing: a request line
// that checkStartLine accepts, CRLF-separated header lines with no fold
// (RFC 3261 §7.3.1), each "name: value"; every mandatory header, none of
// the single-valued ones twice; From, To and Via without LWS to tighten
// and a top Via with an RFC 3261 branch (so no RFC 2543 rewrite);
// addresses checkAddress accepts; a CSeq checkCSeq accepts; a
// Content-Length equal to the body's length (nothing to cut, RFC 3261
// §18.3); and none of what checkRequest looks at: not an INVITE, ACK or
// CANCEL, no Require. Anything else takes the full path, so a false
// "no" costs time, never a different answer (FuzzPlainRequest holds the
// two to the same result).
func plainRequest(data []byte) bool {
	text := unsafeString(data) // read only during this call
	end := strings.Index(text, "\r\n\r\n")
	if end < 0 {
		return false
	}
	head, body := text[:end+2], text[end+4:]
	nl := strings.Index(head, "\r\n")
	start := head[:nl]
	if strings.IndexByte(start, '\n') >= 0 || strings.IndexByte(start, '\r') >= 0 {
		return false
	}
	if st, _ := checkStartLine(start); st != 0 {
		return false
	}
	method, rest, _ := strings.Cut(start, " ")
	if ruri, _, _ := strings.Cut(rest, " "); !plainToken(method) || !plainURI(ruri) {
		return false
	}
	switch method {
	case "INVITE", "ACK", "CANCEL":
		return false
	}
	var count [len(plainNames)]int
	var cseq, cl string
	topVia := ""
	for rest := head[nl+2:]; rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\r\n")
		if line == "" || line[0] == ' ' || line[0] == '\t' || strings.IndexByte(line, '\n') >= 0 || strings.IndexByte(line, '\r') >= 0 {
			return false
		}
		name, value, found := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !found || name == "" {
			return false
		}
		i := plainName(name)
		if i < 0 {
			continue
		}
		count[i]++
		switch plainNames[i] {
		case "require", "route", "record-route", "refer-to", "referred-by":
			return false
		case "via":
			if !plainVia(value) {
				return false
			}
			if count[i] == 1 {
				topVia = value
			}
		case "from", "to", "contact":
			if !plainAddress(value) {
				return false
			}
		case "call-id":
			if value == "" || strings.ContainsFunc(value, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
				return false
			}
		case "max-forwards":
			if !digits(value, 3) {
				return false
			}
		case "content-type":
			if !plainMediaType(value) {
				return false
			}
		case "cseq":
			cseq = value
		case "content-length":
			cl = value
			if !digits(cl, 10) {
				return false
			}
		}
	}
	for i, n := range plainNames {
		switch {
		case count[i] == 0 && slices.Contains(mandatory, n):
			return false
		case count[i] > 1 && slices.Contains(singleValued, n):
			return false
		}
	}
	if !hasRFC3261Branch(topVia) {
		return false
	}
	if st, _ := checkCSeq(cseq, method); st != 0 {
		return false
	}
	if cl != "" {
		if n, err := strconv.ParseUint(cl, 10, 31); err != nil || int(n) != len(body) {
			return false
		}
	}
	return true
}

// plainNames are the headers plainRequest looks at, by their full
// lower-case names; plainName finds one by full or compact name (RFC 3261
// §7.3.3), case-insensitively.
var plainNames = [...]string{"via", "from", "to", "call-id", "cseq", "max-forwards", "content-length",
	"content-type", "contact", "require", "route", "record-route", "refer-to", "referred-by"}

func plainName(name string) int {
	if len(name) == 1 {
		for c, full := range compactNames {
			if strings.EqualFold(c, name) {
				name = full
				break
			}
		}
	}
	for i, n := range plainNames {
		if strings.EqualFold(n, name) {
			return i
		}
	}
	return -1
}

// The plain grammar: a conservative subset of RFC 3261 §25.1 that sipgo
// parses and conformRaw leaves as it is (no LWS to tighten, nothing to
// escape). Whatever falls outside takes the full path.

// plainToken: one or more RFC 3261 token characters.
func plainToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// digits: 1 to max decimal digits.
func digits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// plainHost: a host name or IPv4 address (letters, digits, "." and "-",
// starting with a letter or digit) and an optional port.
func plainHost(s string) bool {
	host, port, hasPort := strings.Cut(s, ":")
	if host == "" || !isAlnum(host[0]) || (hasPort && !digits(port, 5)) {
		return false
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !isAlnum(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// plainParams: zero or more ";name" or ";name=value", both tokens.
func plainParams(s string) bool {
	for s != "" {
		if s[0] != ';' {
			return false
		}
		var p string
		p, s, _ = cutBefore(s[1:], ';')
		name, value, hasValue := strings.Cut(p, "=")
		if !plainToken(name) || (hasValue && !plainToken(value)) {
			return false
		}
	}
	return true
}

// cutBefore cuts s before the first c (the separator stays with after).
func cutBefore(s string, c byte) (before, after string, found bool) {
	if i := strings.IndexByte(s, c); i >= 0 {
		return s[:i], s[i:], true
	}
	return s, "", false
}

// plainURI: sip: or sips:, an optional user of token characters and "@",
// a plain host, and plain parameters; no password, headers or escapes.
func plainURI(s string) bool {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !(strings.EqualFold(scheme, "sip") || strings.EqualFold(scheme, "sips")) {
		return false
	}
	hostport, params, _ := cutBefore(rest, ';')
	if user, host, hasUser := strings.Cut(hostport, "@"); hasUser {
		if !plainToken(user) {
			return false
		}
		hostport = host
	}
	return plainHost(hostport) && plainParams(params)
}

// plainAddress: [display-name] <plain URI> params, or a plain URI (whose
// parameters are then the header's, as RFC 3261 §20.10 reads them). A
// display name is a quoted string without escapes, or tokens separated
// by single spaces.
func plainAddress(v string) bool {
	dn, rest, angle := strings.Cut(v, "<")
	if !angle {
		return plainURI(v)
	}
	if dn != "" {
		if !strings.HasSuffix(dn, " ") && !strings.HasSuffix(dn, "\"") {
			return false
		}
		dn = strings.TrimSuffix(dn, " ")
		if len(dn) >= 2 && dn[0] == '"' && dn[len(dn)-1] == '"' {
			if strings.ContainsAny(dn[1:len(dn)-1], "\"\\\r\n") {
				return false
			}
		} else {
			for w := range strings.SplitSeq(dn, " ") {
				if !plainToken(w) {
					return false
				}
			}
		}
	}
	uri, params, closed := strings.Cut(rest, ">")
	return closed && plainURI(uri) && plainParams(params)
}

// plainVia: SIP/2.0/<transport> SP <plain host> <plain params>, one value.
func plainVia(v string) bool {
	proto, rest, ok := strings.Cut(v, " ")
	if !ok || len(proto) <= len("SIP/2.0/") || !strings.EqualFold(proto[:len("SIP/2.0/")], "SIP/2.0/") ||
		!plainToken(proto[len("SIP/2.0/"):]) {
		return false
	}
	hostport, params, _ := cutBefore(rest, ';')
	return plainHost(hostport) && plainParams(params)
}

// plainMediaType: type/subtype and plain parameters.
func plainMediaType(v string) bool {
	mt, params, _ := cutBefore(v, ';')
	typ, sub, ok := strings.Cut(mt, "/")
	return ok && plainToken(typ) && plainToken(sub) && plainParams(params)
}

// hasRFC3261Branch: a Via value with branch=z9hG4bK... in any case, as
// rfc2543Branch tests it.
func hasRFC3261Branch(via string) bool {
	const want = "branch=" + sip.RFC3261BranchMagicCookie
	for i := 0; i+len(want) <= len(via); i++ {
		if strings.EqualFold(via[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

// rawAnswer sends a stateless response to a request sipgo never sees:
// Via, From, To, Call-ID and CSeq copied as received (RFC 3261 §8.2.6.2),
// to the source address and the port RFC 3261 §18.2.2 and RFC 3581 §4
// name. Without a Via there is nowhere to answer, and nothing is sent.
func (s *Server) rawAnswer(from net.Addr, r *rawRequest, status int, reason string, extra ...sip.Header) {
	if m, ok := s.opts.Metrics.(DropMetrics); ok {
		m.SIPDropped("malformed")
	}
	s.log.Warn("sip: malformed request refused", "from", from.String(), "status", status, "reason", reason, "start", r.startLine)
	vias := r.all("via")
	src, ok := from.(*net.UDPAddr)
	conn := s.udpConn()
	if len(vias) == 0 || !ok || conn == nil {
		return
	}
	srcIP := src.AddrPort().Addr().Unmap()
	var b strings.Builder
	b.WriteString("SIP/2.0 " + strconv.Itoa(status) + " " + reason + "\r\n")
	port := 0
	for i, h := range vias {
		v := h.value
		if i == 0 {
			var rport bool
			v, port, rport = receivedVia(v, srcIP, int(src.Port))
			if rport {
				port = int(src.Port)
			}
		}
		b.WriteString("Via: " + v + "\r\n")
	}
	for _, n := range []string{"from", "to", "call-id", "cseq"} {
		for _, h := range r.all(n) {
			v := h.value
			if n == "to" && !strings.Contains(strings.ToLower(v), "tag=") {
				v += ";tag=" + randomTag()
			}
			b.WriteString(canonicalName(n) + ": " + v + "\r\n")
		}
	}
	for _, h := range extra {
		b.WriteString(h.Name() + ": " + h.Value() + "\r\n")
	}
	b.WriteString("Server: cmed\r\nContent-Length: 0\r\n\r\n")
	if port == 0 {
		port = sip.DefaultUdpPort
	}
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(srcIP, uint16(port)))
	if _, err := conn.WriteTo([]byte(b.String()), dst); err != nil {
		s.log.Warn("sip: response not sent", "status", status, "to", dst.String(), "err", err)
	}
}

// receivedVia adds received (RFC 3261 §18.2.1) and fills an empty rport
// (RFC 3581 §4) in the first value of a Via line; port is the sent-by
// port (0 when absent), rport whether the client asked for symmetric
// response routing.
func receivedVia(v string, src netip.Addr, srcPort int) (out string, port int, rport bool) {
	first, rest, comma := strings.Cut(v, ",")
	params := strings.Split(first, ";")
	sentBy := strings.TrimSpace(params[0])
	if i := strings.LastIndexAny(sentBy, " \t/"); i >= 0 {
		sentBy = strings.TrimSpace(sentBy[i+1:])
	}
	host := sentBy
	if h, p, err := net.SplitHostPort(sentBy); err == nil {
		host = h
		port, _ = strconv.Atoi(p)
	}
	host = strings.Trim(host, "[]")
	hasReceived := false
	for i, p := range params[1:] {
		k, _, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "rport":
			rport = true
			if !strings.Contains(p, "=") {
				params[i+1] = "rport=" + strconv.Itoa(srcPort)
			}
		case "received":
			hasReceived = true
		}
	}
	if a, err := netip.ParseAddr(host); (err != nil || a.Unmap() != src) && !hasReceived {
		params = append(params, "received="+src.String())
	}
	out = strings.Join(params, ";")
	if comma {
		out += "," + rest
	}
	return out, port, rport
}

func canonicalName(n string) string {
	switch n {
	case "call-id":
		return "Call-ID"
	case "cseq":
		return "CSeq"
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

func randomTag() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// checkRequest holds the checks made on a parsed request, over either
// transport: the status to answer (0: none), its reason and headers.
func checkRequest(req *sip.Request) (int, string, []sip.Header) {
	if req.IsAck() || req.IsCancel() {
		// Neither is answered for these reasons: an ACK gets no response,
		// and a CANCEL must match its INVITE whatever it carries (RFC
		// 3261 §8.2.2.3, §9.2).
		return 0, "", nil
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips":
	default:
		return 416, "Unsupported URI Scheme", nil
	}
	// sipgo upper-cases the request method but not CSeq's; readFilter
	// compares the received octets exactly.
	if cs := req.CSeq(); cs == nil || !strings.EqualFold(string(cs.MethodName), string(req.Method)) {
		return 400, "CSeq Method Mismatch", nil
	}
	var unsupported []string
	for _, h := range req.Headers() { // not GetHeaders: firstHeader says why
		if !strings.EqualFold(h.Name(), "Require") {
			continue
		}
		for tag := range strings.SplitSeq(h.Value(), ",") {
			tag = strings.TrimSpace(tag)
			if tag != "" && !containsFold(supportedOptions, tag) {
				unsupported = append(unsupported, tag)
			}
		}
	}
	if len(unsupported) > 0 {
		return 420, "Bad Extension", []sip.Header{sip.NewHeader("Unsupported", strings.Join(unsupported, ", "))}
	}
	if req.Method == sip.INVITE {
		if ct := req.ContentType(); ct != nil && len(req.Body()) > 0 {
			mt, _, _ := strings.Cut(ct.Value(), ";")
			mt = strings.ToLower(strings.TrimSpace(mt))
			if mt != "application/sdp" && !strings.HasPrefix(mt, "multipart/") {
				return 415, "Unsupported Media Type", []sip.Header{sip.NewHeader("Accept", "application/sdp")}
			}
		}
		if !acceptsSDP(req) {
			return 406, "Not Acceptable", []sip.Header{sip.NewHeader("Accept", "application/sdp")}
		}
	}
	return 0, "", nil
}

// acceptsSDP: an INVITE without Accept takes application/sdp (RFC 3261
// §20.1); one with Accept must allow it.
func acceptsSDP(req *sip.Request) bool {
	hs := req.GetHeaders("Accept")
	if len(hs) == 0 {
		return true
	}
	for _, h := range hs {
		for _, t := range strings.Split(h.Value(), ",") {
			mt, _, _ := strings.Cut(t, ";")
			switch strings.ToLower(strings.TrimSpace(mt)) {
			case "application/sdp", "application/*", "*/*", "":
				return true
			}
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// conformed answers what checkRequest refuses before h sees the request.
func (s *Server) conformed(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if st, reason, hdrs := checkRequest(req); st != 0 {
			if req.IsAck() {
				return
			}
			res := sip.NewResponseFromRequest(req, st, reason, nil)
			for _, x := range hdrs {
				res.AppendHeader(x)
			}
			s.respond(tx, res)
			return
		}
		h(req, tx)
	}
}
