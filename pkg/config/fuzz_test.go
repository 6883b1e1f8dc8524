package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse: Parse must never panic, and anything it accepts must render
// and re-parse to an equal config. The committed corpus in
// testdata/fuzz/FuzzParse holds the example configurations.
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
		c, err := Parse("fuzz.cfg", text)
		if err != nil {
			return
		}
		_ = c.Validate()
		out := Render(c)
		again, err := Parse("rendered.cfg", []byte(out))
		if err != nil {
			t.Fatalf("re-Parse of Render failed: %v\n%s", err, out)
		}
		if diff := cmp.Diff(c, again, cfgOpts); diff != "" {
			t.Fatalf("Parse(Render(c)) != c:\n%s\n%s", diff, out)
		}
	})
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
