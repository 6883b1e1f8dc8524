package config

import (
	"strings"
	"testing"
)

func TestMD5CryptVectors(t *testing.T) {
	// From `openssl passwd -1 -salt SALT PASSWORD`.
	for _, v := range []struct{ pw, salt, want string }{
		{"password", "xyzsalt", "$1$xyzsalt$2eTsT8hwLX2wFYs8OL8u20"},
		{"", "ab", "$1$ab$rn6aQS/o7141mj179E/zA."},
		{"a-long-password-over-16-chars", "saltsalt", "$1$saltsalt$ehNHzkK6Q6QE3mDfydap5/"},
	} {
		if got := MD5Crypt(v.pw, v.salt); got != v.want {
			t.Errorf("MD5Crypt(%q, %q) = %q, want %q", v.pw, v.salt, got, v.want)
		}
	}
}

func TestSecretsHashedOnEntry(t *testing.T) {
	c, err := Parse("t.cfg", []byte("enable secret cisco\nusername a privilege 15 secret 0 pw1\n"+
		"username b secret 5 $1$xyzsalt$2eTsT8hwLX2wFYs8OL8u20\n"))
	if err != nil {
		t.Fatal(err)
	}
	if SecretType(c.EnableSecret) != 8 || SecretType(c.Users[0].Secret) != 8 || SecretType(c.Users[1].Secret) != 5 {
		t.Fatalf("secrets not hashed: %q %+v", c.EnableSecret, c.Users)
	}
	for _, v := range []struct {
		stored, clear string
		ok            bool
	}{
		{c.EnableSecret, "cisco", true}, {c.EnableSecret, "cisco2", false},
		{c.Users[0].Secret, "pw1", true}, {c.Users[0].Secret, "", false},
		{c.Users[1].Secret, "password", true}, {c.Users[1].Secret, "Password", false},
	} {
		if ok, known := VerifySecret(v.stored, v.clear); !known || ok != v.ok {
			t.Errorf("VerifySecret(%q, %q) = %v,%v want %v", v.stored, v.clear, ok, known, v.ok)
		}
	}
	out := Render(c)
	for _, clear := range []string{"cisco", "pw1"} {
		if strings.Contains(out, " "+clear+"\n") {
			t.Errorf("running-config shows secret %q in clear:\n%s", clear, out)
		}
	}
	if !strings.Contains(out, "username b privilege 1 secret 5 $1$xyzsalt$2eTsT8hwLX2wFYs8OL8u20\n") {
		t.Errorf("type 5 secret not kept:\n%s", out)
	}
	again, err := Parse("again", []byte(out))
	if err != nil || again.EnableSecret != c.EnableSecret || again.Users[0].Secret != c.Users[0].Secret {
		t.Fatalf("hashed secrets do not round-trip: %v", err)
	}
	if _, err := Parse("bad", []byte("enable secret 8 notahash\n")); err == nil {
		t.Error("type 8 secret that is not a hash was accepted")
	}
}

func TestRebaseDropsVanishedModes(t *testing.T) {
	e := NewEditor(nil)
	for _, l := range []string{"ephone-dn 40", "number 1040"} {
		if err := e.Exec(l); err != nil {
			t.Fatal(err)
		}
	}
	e.Rebase(e.Config())
	if e.Mode() != ModeEphoneDN {
		t.Fatalf("mode %v after rebase onto a config that has the DN", e.Mode())
	}
	e.Rebase(&Config{})
	if e.Mode() != ModeGlobal {
		t.Fatalf("mode %v after rebase onto a config without the DN", e.Mode())
	}
	if err := e.Exec("number 1041"); err == nil {
		t.Fatal("sub-mode command accepted in global mode")
	}
}
