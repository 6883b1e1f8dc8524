package sip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// RFC 2617 §3.5 example (HTTP, but the digest arithmetic is the same).
func TestDigestResponseRFC2617(t *testing.T) {
	c := DigestCredentials{Username: "Mufasa", Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		URI: "/dir/index.html", QOP: "auth", NC: "00000001", CNonce: "0a4f113b"}
	if got, want := DigestResponse(c, "GET", "Circle Of Life"), "6629fae49393a05397450978507c4ef1"; got != want {
		t.Fatalf("response = %s, want %s", got, want)
	}
}

func TestParseAuthorization(t *testing.T) {
	h := `Digest username="trunk", realm="blf.test", nonce="abc,def", uri="sip:127.0.0.1:5071", ` +
		`response="0123456789abcdef0123456789abcdef", algorithm=MD5, cnonce="6b8b4567", qop=auth, nc=00000001, opaque="o\"q"`
	c, err := ParseAuthorization(h)
	if err != nil {
		t.Fatal(err)
	}
	want := DigestCredentials{Username: "trunk", Realm: "blf.test", Nonce: "abc,def", URI: "sip:127.0.0.1:5071",
		Response: "0123456789abcdef0123456789abcdef", Algorithm: "MD5", CNonce: "6b8b4567", QOP: "auth", NC: "00000001", Opaque: `o"q`}
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	for _, bad := range []string{"Basic dXNlcjpwYXNz", `Digest username="a"`, `Digest username="a, nonce=x`, `Digest =x`,
		`Digest username="a" nonce="b"`} {
		if _, err := ParseAuthorization(bad); err == nil {
			t.Errorf("ParseAuthorization(%q) accepted", bad)
		}
	}
}

// sign fills in a correct response like a client would.
func sign(c DigestCredentials, method, password string) DigestCredentials {
	c.Response = DigestResponse(c, method, password)
	return c
}

// TestDigestVerifyUsesHeaderURI: the digest is checked against the uri in
// the Authorization header, which sipp sets to the remote address rather
// than the Request-URI (docs/sip-presence.md §Test-rig). A response computed over any other uri
// (e.g. the Request-URI) must fail.
func TestDigestVerifyUsesHeaderURI(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	d := NewDigest(func() time.Time { return now })
	lookup := func(u string) (string, bool) { return "trunkpass", u == "trunk" }
	c := DigestCredentials{Username: "trunk", Realm: "blf.test", Nonce: d.Nonce("blf.test", phoneIP), URI: "sip:127.0.0.1:5071",
		QOP: "auth", NC: "00000001", CNonce: "abcd"}
	good := sign(c, "SUBSCRIBE", "trunkpass")
	if err := d.Verify(good, "SUBSCRIBE", "blf.test", phoneIP, lookup); err != nil {
		t.Fatalf("valid credentials: %v", err)
	}

	overRURI := c
	overRURI.URI = "sip:2001@127.0.0.1:5071"
	overRURI = sign(overRURI, "SUBSCRIBE", "trunkpass")
	overRURI.URI = c.URI // header names one uri, digest computed over another
	if err := d.Verify(overRURI, "SUBSCRIBE", "blf.test", phoneIP, lookup); !errors.Is(err, ErrBadResponse) {
		t.Errorf("digest over another uri: %v, want ErrBadResponse", err)
	}

	// RFC 2069 form (no qop) has no nonce-count to detect a replay with:
	// refused (docs/security.md §Digest).
	noQOP := c
	noQOP.QOP, noQOP.NC, noQOP.CNonce = "", "", ""
	if err := d.Verify(sign(noQOP, "REGISTER", "trunkpass"), "REGISTER", "blf.test", phoneIP, lookup); !errors.Is(err, ErrNoQOP) {
		t.Errorf("no-qop credentials: %v, want ErrNoQOP", err)
	}

	c.NC = "00000002" // the good credentials above used nc 1
	cases := []struct {
		name string
		mod  func(*DigestCredentials)
		want error
	}{
		{"wrong password", func(c *DigestCredentials) { *c = sign(*c, "SUBSCRIBE", "nope") }, ErrBadResponse},
		{"wrong method", func(c *DigestCredentials) { *c = sign(*c, "REGISTER", "trunkpass") }, ErrBadResponse},
		{"unknown user", func(c *DigestCredentials) { c.Username = "eve"; *c = sign(*c, "SUBSCRIBE", "trunkpass") }, ErrUnknownUser},
		{"wrong realm", func(c *DigestCredentials) { c.Realm = "x"; *c = sign(*c, "SUBSCRIBE", "trunkpass") }, ErrBadRealm},
		{"forged nonce", func(c *DigestCredentials) {
			c.Nonce = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			*c = sign(*c, "SUBSCRIBE", "trunkpass")
		}, ErrBadNonce},
		{"sha256", func(c *DigestCredentials) { c.Algorithm = "SHA-256" }, ErrBadAlgorithm},
		{"bad nc", func(c *DigestCredentials) { c.NC = "1"; *c = sign(*c, "SUBSCRIBE", "trunkpass") }, ErrDigestSyntax},
	}
	for _, tc := range cases {
		cc := c
		tc.mod(&cc)
		if cc.Response == "" {
			cc = sign(cc, "SUBSCRIBE", "trunkpass")
		}
		if err := d.Verify(cc, "SUBSCRIBE", "blf.test", phoneIP, lookup); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}

	// A nonce from another Digest (another router, or before a restart).
	other := NewDigest(func() time.Time { return now })
	fc := c
	fc.Nonce = other.Nonce("blf.test", phoneIP)
	if err := d.Verify(sign(fc, "SUBSCRIBE", "trunkpass"), "SUBSCRIBE", "blf.test", phoneIP, lookup); !errors.Is(err, ErrBadNonce) {
		t.Errorf("foreign nonce: %v", err)
	}
	// The same nonce past its lifetime is stale.
	good.NC = "000000ff"
	good = sign(good, "SUBSCRIBE", "trunkpass")
	now = now.Add(NonceLifetime + time.Second)
	if err := d.Verify(good, "SUBSCRIBE", "blf.test", phoneIP, lookup); !errors.Is(err, ErrStaleNonce) {
		t.Errorf("old nonce: %v, want ErrStaleNonce", err)
	}
}

func TestChallengeParses(t *testing.T) {
	d := NewDigest(nil)
	ch := d.Challenge("cmed", phoneIP, true)
	// The challenge uses the same grammar as credentials, minus response.
	c, err := ParseAuthorization(ch + `, username="u", uri="sip:x", response="r"`)
	if err != nil || c.Realm != "cmed" || c.Nonce == "" || !strings.Contains(ch, "stale=true") {
		t.Fatalf("challenge %q: %+v %v", ch, c, err)
	}
}

func TestParseCredentials(t *testing.T) {
	m, err := ParseCredentials([]byte("# CME credential file\ntrunk,trunkpass\n\n \"jsmith\" , \"12,34\"\r\nx,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 3 || m["trunk"] != "trunkpass" || m["jsmith"] != "12,34" || m["x"] != "" {
		t.Fatalf("got %q", m)
	}
	for _, bad := range []string{"nocomma\n", "a,1\na,2\n", ",pw\n"} {
		if _, err := ParseCredentials([]byte(bad)); !errors.Is(err, ErrCredentialFile) {
			t.Errorf("ParseCredentials(%q) = %v", bad, err)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(`Digest username="trunk", realm="blf.test", nonce="n", uri="sip:127.0.0.1:5071", response="r", qop=auth, nc=00000001, cnonce="c"`)
	f.Add(`Digest username=a,nonce=b,uri=c,response=d`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseAuthorization(s)
		if err != nil {
			return
		}
		if c.Username == "" || c.Nonce == "" || c.URI == "" || c.Response == "" {
			t.Fatalf("accepted without mandatory fields: %+v", c)
		}
		_ = DigestResponse(c, "SUBSCRIBE", "pw")
	})
}

func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte("trunk,trunkpass\n"))
	f.Add([]byte("# c\n\"a\",\"b\"\"c\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseCredentials(b)
		if err != nil {
			return
		}
		for u := range m {
			if u == "" {
				t.Fatal("empty username accepted")
			}
		}
	})
}

var phoneIP = netip.MustParseAddr("192.0.2.10")

// A nonce is good from the address it was issued to only, and each
// nonce-count once (docs/security.md §Digest).
func TestDigestReplayAndSourceBinding(t *testing.T) {
	d := NewDigest(nil)
	lookup := func(u string) (string, bool) { return "pw", u == "1001" }
	c := DigestCredentials{Username: "1001", Realm: "cmed", Nonce: d.Nonce("cmed", phoneIP), URI: "sip:cmed",
		QOP: "auth", NC: "00000001", CNonce: "c1"}
	first := sign(c, "REGISTER", "pw")
	if err := d.Verify(first, "REGISTER", "cmed", phoneIP, lookup); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := d.Verify(first, "REGISTER", "cmed", phoneIP, lookup); !errors.Is(err, ErrReplay) {
		t.Errorf("same nc again: %v, want ErrReplay", err)
	}
	attacker := netip.MustParseAddr("198.51.100.7")
	c.NC = "00000002"
	second := sign(c, "REGISTER", "pw")
	if err := d.Verify(second, "REGISTER", "cmed", attacker, lookup); !errors.Is(err, ErrBadNonce) {
		t.Errorf("fresh nc from another address: %v, want ErrBadNonce", err)
	}
	if err := d.Verify(second, "REGISTER", "cmed", phoneIP, lookup); err != nil {
		t.Errorf("next nc from the phone: %v", err)
	}
	// An IPv4-mapped IPv6 source is the same address.
	c.NC = "00000003"
	if err := d.Verify(sign(c, "REGISTER", "pw"), "REGISTER", "cmed", netip.AddrFrom16(phoneIP.As16()), lookup); err != nil {
		t.Errorf("v4-mapped source: %v", err)
	}
}
