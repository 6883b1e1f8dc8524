package config

import (
	"crypto/sha256"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fastHash stands in for HashSecret in the fuzzer: the same "$8$SALT$HASH"
// shape from one SHA-256 instead of 20000 PBKDF2 rounds, so a corpus entry
// with `secret` lines costs microseconds, not milliseconds.
func fastHash(clear string) string {
	const salt = "fuzzfuzzfuzzfu" // 14 characters, as NewSalt's
	sum := sha256.Sum256([]byte(salt + clear))
	return "$8$" + salt + "$" + CryptEncoding.EncodeToString(sum[:])
}

var fuzzParse = ParseOptions{HashSecret: fastHash}

// FuzzParse: Parse must never panic, and anything it accepts must render
// and re-parse to an equal config. The committed corpus in
// testdata/fuzz/FuzzParse holds the example configurations. Secrets typed
// in clear are hashed with fastHash (TestParseHashSecretOption checks that
// the option reaches every clear secret and that Parse itself still uses
// PBKDF2).
func FuzzParse(f *testing.F) {
	for _, b := range exampleFiles(f) {
		f.Add(b)
	}
	for _, b := range realFiles(f) {
		f.Add(b)
	}
	f.Add([]byte("ephone 1\n button 1o1,2,3 2x1\n blf 1 1 label \"a b\" dev\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		if len(text) > 1<<16 {
			return
		}
		c, err := ParseWithOptions("fuzz.cfg", text, fuzzParse)
		if err != nil {
			return
		}
		_ = c.Validate()
		out := Render(c)
		again, err := ParseWithOptions("rendered.cfg", []byte(out), fuzzParse)
		if err != nil {
			t.Fatalf("re-Parse of Render failed: %v\n%s", err, out)
		}
		if diff := cmp.Diff(c, again, cfgOpts); diff != "" {
			t.Fatalf("Parse(Render(c)) != c:\n%s\n%s", diff, out)
		}
	})
}

func TestParseHashSecretOption(t *testing.T) {
	text := []byte("enable secret 0 s3cret\nusername admin privilege 15 secret hunter2\n")
	c, err := ParseWithOptions("t.cfg", text, fuzzParse)
	if err != nil {
		t.Fatal(err)
	}
	if c.EnableSecret != fastHash("s3cret") || len(c.Users) != 1 || c.Users[0].Secret != fastHash("hunter2") {
		t.Fatalf("option not used: enable %q users %+v", c.EnableSecret, c.Users)
	}
	c, err = Parse("t.cfg", text)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.EnableSecret, c.Users[0].Secret} {
		if SecretType(s) != 8 || s == fastHash("s3cret") || s == fastHash("hunter2") {
			t.Fatalf("Parse stored %q, want a PBKDF2 type 8 hash", s)
		}
	}
	if ok, _ := VerifySecret(c.Users[0].Secret, "hunter2"); !ok {
		t.Fatal("Parse's hash does not verify")
	}
}

func BenchmarkParseDefault(b *testing.B) {
	text := exampleFiles(b)["default"]
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := Parse("default.cfg", text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderDefault(b *testing.B) {
	c, err := Parse("default.cfg", exampleFiles(b)["default"])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = Render(c)
	}
}

func BenchmarkEditorExec(b *testing.B) {
	c, err := Parse("default.cfg", exampleFiles(b)["default"])
	if err != nil {
		b.Fatal(err)
	}
	e := NewEditor(c)
	for b.Loop() {
		if err := e.Exec("ephone 1"); err != nil {
			b.Fatal(err)
		}
		if err := e.Exec(" blf-speed-dial 4 1004 label \"Carol\""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRealOffice(b *testing.B) {
	text := realFiles(b)["office-3825"]
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := Parse("office-3825.cfg", text); err != nil {
			b.Fatal(err)
		}
	}
}
