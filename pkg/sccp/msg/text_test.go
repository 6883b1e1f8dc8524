package msg

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestEncodeText(t *testing.T) {
	for _, c := range []struct {
		in         string
		latin, utf string
	}{
		{"Alice", "Alice", "Alice"},
		{"Zoë", "Zo\xeb", "Zoë"},
		{"Ærø Ñ ÿ", "\xc6r\xf8 \xd1 \xff", "Ærø Ñ ÿ"},
		{"Łukasz", "?ukasz", "Łukasz"},
		{"東京", "??", "東京"},
		{"a😀b", "a?b", "a😀b"},
		{"\u0080x\u009f", "?x?", "\u0080x\u009f"}, // C1 controls: 0x80 would read as a label code
		{Label(LabelFrom) + "Zoë", "\x80\x17Zo\xeb", "\x80\x17Zoë"},
		{"bad\xffbyte", "bad?byte", "bad?byte"},
		{"nbsp\u00a0", "nbsp\xa0", "nbsp\u00a0"},
	} {
		if got := EncodeText(c.in, CharsetLatin1); got != c.latin {
			t.Errorf("Latin-1 %q = %q, want %q", c.in, got, c.latin)
		}
		if got := EncodeText(c.in, CharsetUTF8); got != c.utf {
			t.Errorf("UTF-8 %q = %q, want %q", c.in, got, c.utf)
		}
	}
}

func TestEncodeTextASCIINoAlloc(t *testing.T) {
	s := "Enter number 1234"
	if n := testing.AllocsPerRun(100, func() { _ = EncodeText(s, CharsetLatin1) }); n != 0 {
		t.Fatalf("%v allocations for ASCII", n)
	}
}

func TestCutText(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abcdef", 4, "abcd"},
		{"abcë", 4, "abc"},        // ë is 2 bytes: never half of it
		{"abcë", 5, "abcë"},       // fits
		{"ab東", 4, "ab"},          // 3-byte character
		{"ab😀", 5, "ab"},          // 4-byte character
		{"abc\x80\x17", 4, "abc"}, // label code kept whole
		{"abc\x80\x17", 5, "abc\x80\x17"},
		{"Zo\xeb\xebx", 3, "Zo\xeb"}, // Latin-1 bytes are one character each
	} {
		if got := cutText(c.in, c.n); got != c.want {
			t.Errorf("cutText(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// TestFixedNeverSplitsUTF8 writes a 40-byte name field with a 2-byte
// character straddling the cut: the field must stay valid UTF-8.
func TestFixedNeverSplitsUTF8(t *testing.T) {
	name := string(bytes.Repeat([]byte("a"), 38)) + "ëëë" // ë at bytes 38-39 would be cut after its first byte
	b, err := (&SpeedDialStatRes{Number: 1, Name: name}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	field := b[4+24 : 4+24+40]
	text := field[:bytes.IndexByte(field, 0)]
	if !utf8.Valid(text) {
		t.Fatalf("field not valid UTF-8: %q", text)
	}
	if string(text) != name[:38] {
		t.Fatalf("field %q, want the 38 a's", text)
	}
}

func TestLocalize(t *testing.T) {
	orig := &CallInfo{CallingPartyName: "Zoë", CallingParty: "1001", CalledPartyName: "Bob"}
	m := Localize(orig, CharsetLatin1).(*CallInfo)
	if m == orig {
		t.Fatal("Localize changed nothing")
	}
	if m.CallingPartyName != "Zo\xeb" || m.CalledPartyName != "Bob" || m.CallingParty != "1001" {
		t.Fatalf("got %+v", m)
	}
	if orig.CallingPartyName != "Zoë" {
		t.Fatal("Localize modified the original message")
	}
	if Localize(orig, CharsetUTF8) != Message(orig) {
		t.Fatal("UTF-8 copy of valid UTF-8 text")
	}
	ascii := &LineStatRes{FullName: "Bob", Label: "1002"}
	if Localize(ascii, CharsetLatin1) != Message(ascii) {
		t.Fatal("ASCII message copied")
	}
	keys := &SoftKeyTemplateRes{Keys: []SoftKey{{Label: "Rückruf"}, {Label: Label(LabelRedial)}}}
	lk := Localize(keys, CharsetLatin1).(*SoftKeyTemplateRes)
	if lk.Keys[0].Label != "R\xfcckruf" || lk.Keys[1].Label != Label(LabelRedial) || keys.Keys[0].Label != "Rückruf" {
		t.Fatalf("softkeys %+v (original %+v)", lk.Keys, keys.Keys)
	}
}

func TestCharsetOf(t *testing.T) {
	for _, c := range []struct {
		wireLen  int
		features uint16
		want     Charset
	}{
		{68, 0x8560, CharsetLatin1}, // 7960 SCCP 8.x
		{124, 0x8572, CharsetUTF8},  // 7941 SCCP41.8-5-3S
		{52, 0x8100, CharsetLatin1}, // pyskinny as a 7912
		{36, 0xFFFF, CharsetLatin1}, // too short to carry the field
	} {
		if got := CharsetOf(&Register{WireLen: c.wireLen, PhoneFeatures: c.features}); got != c.want {
			t.Errorf("len %d features %#x: %v, want %v", c.wireLen, c.features, got, c.want)
		}
	}
}
