package sip

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Digest authentication (RFC 3261 §22.4, RFC 2617 §3.2) for REGISTER
// (`authenticate register`) and trunk SUBSCRIBE (`authenticate presence`).
// Only MD5 with qop "auth" or no qop is offered, the set every SIP phone and
// sipp implement.

// DigestCredentials is a parsed Authorization (or Proxy-Authorization) header.
type DigestCredentials struct {
	Username  string
	Realm     string
	Nonce     string
	URI       string // digest-uri: verified as sent, not against the Request-URI (docs/sip-presence.md §Trunk-auth, §Test-rig: sipp sends the remote address)
	Response  string
	Algorithm string
	CNonce    string
	Opaque    string
	QOP       string
	NC        string
}

// Errors from digest parsing and verification.
var (
	ErrNotDigest     = errors.New("sip: authorization is not Digest")
	ErrDigestSyntax  = errors.New("sip: malformed Digest parameters")
	ErrDigestMissing = errors.New("sip: Digest parameter missing")
	ErrStaleNonce    = errors.New("sip: stale nonce")
	ErrBadNonce      = errors.New("sip: nonce not issued by us")
	ErrBadRealm      = errors.New("sip: wrong realm")
	ErrBadAlgorithm  = errors.New("sip: unsupported digest algorithm")
	ErrBadResponse   = errors.New("sip: digest response mismatch")
	ErrUnknownUser   = errors.New("sip: unknown user")
	ErrNoQOP         = errors.New("sip: qop=auth required")
	ErrReplay        = errors.New("sip: nonce count replayed")
)

// maxAuthHeader bounds what ParseAuthorization looks at.
const maxAuthHeader = 4096

// ParseAuthorization parses the value of an Authorization header:
// `Digest k=v, k="v", ...` (RFC 2617 §3.2.2). Unknown parameters are
// ignored; quoted strings may contain commas and backslash escapes.
func ParseAuthorization(v string) (DigestCredentials, error) {
	var c DigestCredentials
	if len(v) > maxAuthHeader {
		return c, ErrDigestSyntax
	}
	v = strings.TrimSpace(v)
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Digest") {
		return c, ErrNotDigest
	}
	for rest = strings.TrimSpace(rest); rest != ""; {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return c, ErrDigestSyntax
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i, closed := 1, false
			for ; i < len(rest); i++ {
				ch := rest[i]
				if ch == '\\' && i+1 < len(rest) {
					i++
					b.WriteByte(rest[i])
					continue
				}
				if ch == '"' {
					closed = true
					break
				}
				b.WriteByte(ch)
			}
			if !closed {
				return c, ErrDigestSyntax
			}
			val, rest = b.String(), rest[i+1:]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val, rest = strings.TrimSpace(rest[:end]), rest[end:]
		}
		rest = strings.TrimLeft(rest, " \t")
		if rest != "" {
			if rest[0] != ',' {
				return c, ErrDigestSyntax
			}
			rest = strings.TrimLeft(rest[1:], " \t")
		}
		switch name {
		case "username":
			c.Username = val
		case "realm":
			c.Realm = val
		case "nonce":
			c.Nonce = val
		case "uri":
			c.URI = val
		case "response":
			c.Response = val
		case "algorithm":
			c.Algorithm = val
		case "cnonce":
			c.CNonce = val
		case "opaque":
			c.Opaque = val
		case "qop":
			c.QOP = val
		case "nc":
			c.NC = val
		}
	}
	if c.Username == "" || c.Nonce == "" || c.URI == "" || c.Response == "" {
		return c, ErrDigestMissing
	}
	return c, nil
}

func md5hex(parts ...string) string {
	h := md5.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{':'})
		}
		h.Write([]byte(p))
	}
	var sum [md5.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// DigestResponse computes the request-digest of RFC 2617 §3.2.2.1 for MD5:
// with qop=auth KD(HA1, nonce:nc:cnonce:qop:HA2), without qop the RFC 2069
// form KD(HA1, nonce:HA2). HA2 uses the uri of the credentials.
func DigestResponse(c DigestCredentials, method, password string) string {
	ha1 := md5hex(c.Username, c.Realm, password)
	ha2 := md5hex(method, c.URI)
	if c.QOP != "" {
		return md5hex(ha1, c.Nonce, c.NC, c.CNonce, c.QOP, ha2)
	}
	return md5hex(ha1, c.Nonce, ha2)
}

// NonceLifetime is how long a nonce we issue stays valid; older ones get a
// new challenge with stale=true (RFC 2617 §3.2.1), so the client retries
// without asking the user.
const NonceLifetime = 5 * time.Minute

// Digest issues and verifies nonces: base64(time || HMAC(secret,
// time||realm||source)). Issuing stores nothing, so a flood of
// unauthenticated requests costs no memory; a nonce is only good from the
// address it was issued to (docs/security.md §Digest). qop=auth is
// required, and once credentials verify, the nonce's highest nonce-count
// is kept until the nonce expires: a request whose nc is not higher is a
// replay (RFC 2617 §3.2.2 "nonce-count").
type Digest struct {
	secret [32]byte
	now    func() time.Time

	mu   sync.Mutex         // guards seen; a leaf
	seen map[string]ncEntry // highest nc per verified nonce
}

type ncEntry struct {
	nc      uint32
	expires time.Time
}

// maxTrackedNonces bounds the nonce-count table. Only nonces that carried
// valid credentials enter it, so it grows with honest clients, not with
// an attacker's guesses.
const maxTrackedNonces = 100_000

// NewDigest returns a Digest with a random secret. now may be nil.
func NewDigest(now func() time.Time) *Digest {
	d := &Digest{now: now, seen: map[string]ncEntry{}}
	if d.now == nil {
		d.now = time.Now
	}
	_, _ = rand.Read(d.secret[:])
	return d
}

func (d *Digest) mac(ts []byte, realm string, src netip.Addr) []byte {
	m := hmac.New(sha256.New, d.secret[:])
	m.Write(ts)
	m.Write([]byte(realm))
	m.Write([]byte{0})
	a := src.Unmap().As16()
	m.Write(a[:])
	return m.Sum(nil)[:16]
}

// Nonce mints a nonce for realm, good only for requests from src.
func (d *Digest) Nonce(realm string, src netip.Addr) string {
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(d.now().UnixNano()))
	return base64.RawURLEncoding.EncodeToString(append(ts[:], d.mac(ts[:], realm, src)...))
}

// checkNonce verifies that nonce is ours for realm and src and still
// fresh; it returns when it was issued.
func (d *Digest) checkNonce(nonce, realm string, src netip.Addr) (time.Time, error) {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != 24 {
		return time.Time{}, ErrBadNonce
	}
	if !hmac.Equal(raw[8:], d.mac(raw[:8], realm, src)) {
		return time.Time{}, ErrBadNonce
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:8])))
	if age := d.now().Sub(issued); age > NonceLifetime || age < -time.Minute {
		return time.Time{}, ErrStaleNonce
	}
	return issued, nil
}

// Challenge is the WWW-Authenticate value for a 401 (RFC 3261 §22.2) to a
// request from src.
func (d *Digest) Challenge(realm string, src netip.Addr, stale bool) string {
	var b strings.Builder
	b.WriteString(`Digest realm="`)
	b.WriteString(realm)
	b.WriteString(`", nonce="`)
	b.WriteString(d.Nonce(realm, src))
	b.WriteString(`", algorithm=MD5, qop="auth"`)
	if stale {
		b.WriteString(", stale=true")
	}
	return b.String()
}

// Verify checks credentials for method against realm from a request whose
// source address is src; lookup returns the user's password. The digest
// is computed over c.URI, the uri the client put in the header (RFC 2617
// §3.2.2.5 asks servers to check it names the request; peers like sipp
// send the remote address instead, so cmed accepts the header's uri as the
// reference, as Kamailio does).
func (d *Digest) Verify(c DigestCredentials, method, realm string, src netip.Addr, lookup func(user string) (string, bool)) error {
	if c.Realm != realm {
		return ErrBadRealm
	}
	if c.Algorithm != "" && !strings.EqualFold(c.Algorithm, "MD5") {
		return ErrBadAlgorithm
	}
	if c.QOP == "" {
		// Without qop there is no nonce-count, so nothing tells a replay
		// from a retry: refuse the RFC 2069 form (docs/security.md §Digest).
		return ErrNoQOP
	}
	if !strings.EqualFold(c.QOP, "auth") || c.CNonce == "" || !validNC(c.NC) {
		return ErrDigestSyntax
	}
	issued, err := d.checkNonce(c.Nonce, realm, src)
	if err != nil {
		return err
	}
	pw, ok := lookup(c.Username)
	if !ok {
		return ErrUnknownUser
	}
	want := DigestResponse(c, method, pw)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(c.Response))) != 1 {
		return ErrBadResponse
	}
	nc, _ := strconv.ParseUint(c.NC, 16, 32)
	return d.useCount(c.Nonce, uint32(nc), issued.Add(NonceLifetime))
}

// useCount records nc for nonce, refusing one not above the last seen.
func (d *Digest) useCount(nonce string, nc uint32, expires time.Time) error {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.seen[nonce]; ok && now.Before(e.expires) && nc <= e.nc {
		return ErrReplay
	}
	if len(d.seen) >= maxTrackedNonces {
		for k, e := range d.seen {
			if !now.Before(e.expires) {
				delete(d.seen, k)
			}
		}
		if len(d.seen) >= maxTrackedNonces {
			// Full of live nonces: ask for a new one rather than forget
			// counts, which would let a replay through.
			return ErrStaleNonce
		}
	}
	d.seen[nonce] = ncEntry{nc: nc, expires: expires}
	return nil
}

func validNC(nc string) bool {
	if len(nc) != 8 {
		return false
	}
	_, err := strconv.ParseUint(nc, 16, 32)
	return err == nil
}
