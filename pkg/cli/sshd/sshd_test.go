package sshd

import (
	"encoding/binary"
	"testing"
)

type memKeys struct{ b []byte }

func (m *memKeys) Load() ([]byte, error) { return m.b, nil }
func (m *memKeys) Save(b []byte) error   { m.b = b; return nil }

func TestHostKeyGeneratedOnceAndKept(t *testing.T) {
	store := &memKeys{}
	a, err := LoadOrCreateHostKey(store)
	if err != nil {
		t.Fatal(err)
	}
	if len(store.b) == 0 {
		t.Fatal("the generated key was not saved")
	}
	b, err := LoadOrCreateHostKey(store)
	if err != nil {
		t.Fatal(err)
	}
	if string(a.PublicKey().Marshal()) != string(b.PublicKey().Marshal()) {
		t.Error("a second load produced another key")
	}
	store.b = []byte("garbage")
	if _, err := LoadOrCreateHostKey(store); err == nil {
		t.Error("a damaged saved key was accepted")
	}
}

func ptyPayload(term string, w, h uint32) []byte {
	p := binary.BigEndian.AppendUint32(nil, uint32(len(term)))
	p = append(p, term...)
	p = binary.BigEndian.AppendUint32(p, w)
	p = binary.BigEndian.AppendUint32(p, h)
	p = binary.BigEndian.AppendUint32(p, 0)
	p = binary.BigEndian.AppendUint32(p, 0)
	return binary.BigEndian.AppendUint32(p, 0)
}

func TestParsePty(t *testing.T) {
	if w, h, ok := parsePty(ptyPayload("xterm", 132, 43)); !ok || w != 132 || h != 43 {
		t.Errorf("parsePty = %d %d %v", w, h, ok)
	}
	for _, bad := range [][]byte{nil, {0, 0, 0, 9, 'x'}, {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, _, ok := parsePty(bad); ok {
			t.Errorf("parsePty(%v) accepted", bad)
		}
	}
}

// FuzzParsePty: the pty-req decoder never panics on hostile payloads.
func FuzzParsePty(f *testing.F) {
	f.Add(ptyPayload("vt100", 80, 24))
	f.Add([]byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, p []byte) {
		w, h, ok := parsePty(p)
		if !ok && (w != 0 || h != 0) {
			t.Fatal("size returned with !ok")
		}
	})
}
