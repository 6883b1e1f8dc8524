package sip

import (
	crand "crypto/rand"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestKeptTableAgainstMap: the cuckoo table (keptstore.go) answers like a
// Go map for 200,000 random keys inserted from its smallest size (so it
// grows many times), replaced values included, and finds none of 200,000
// keys it never got.
func TestKeptTableAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tab := newKeptTable(0)
	defer tab.release()
	model := map[uint64]uint32{}
	for i := range 200_000 {
		fp := slotKey(r.Uint64())
		ref := uint32(i)
		if i%10 == 9 { // now and then the same key again
			for k := range model {
				fp = k
				break
			}
		}
		if homeless, ok := tab.insert(fp, ref); !ok {
			tab = tab.grown(homeless)
		}
		model[fp] = ref
	}
	if tab.n != len(model) {
		t.Fatalf("table holds %d entries, model %d", tab.n, len(model))
	}
	for fp, want := range model {
		if got, ok := tab.lookup(fp); !ok || got != want {
			t.Fatalf("lookup(%x) = %d %v, want %d", fp, got, ok, want)
		}
	}
	for range 200_000 {
		fp := slotKey(r.Uint64())
		if _, in := model[fp]; in {
			continue
		}
		if got, ok := tab.lookup(fp); ok {
			t.Fatalf("lookup(%x) = %d for a key never inserted", fp, got)
		}
	}
	if load := float64(tab.n) / float64(len(tab.buckets)*slotsPerBucket); load < 0.4 {
		t.Errorf("load %.2f after growing: the table doubled too early", load)
	}
}

// TestKeptTableFillsBeforeGrowing: a table made for n entries takes them
// without growing (the next generation is sized from the last one's count,
// txcache.go), so a steady rate costs ~12 bytes per entry and a little.
func TestKeptTableFillsBeforeGrowing(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 48_000
	tab := newKeptTable((n + n/8) / slotsPerBucket)
	defer tab.release()
	for i := range n {
		if _, ok := tab.insert(r.Uint64(), uint32(i)); !ok {
			t.Fatalf("full after %d of %d entries (load %.2f)", i, n, float64(i)/float64(len(tab.buckets)*slotsPerBucket))
		}
	}
}

// TestTagRecordsRoundTrip: every kind of tag record reads back as written.
func TestTagRecordsRoundTrip(t *testing.T) {
	for _, tag := range []string{"x", crand.Text()[:16], strings.ToLower(crand.Text()[:16]), "ABCDEFGHIJKLMNO1",
		strings.Repeat("a", 253), strings.Repeat("b", 254), strings.Repeat("c", 65535)} {
		checkTagRecord(t, 7, tag)
	}
}

func checkTagRecord(t *testing.T, rest uint32, tag string) {
	t.Helper()
	b := appendTagRecord([]byte{0xaa}, rest, tag)
	if len(b)-1 != tagRecordLen(tag) {
		t.Fatalf("tag %.20q: record of %d bytes, tagRecordLen %d", tag, len(b)-1, tagRecordLen(tag))
	}
	gotRest, got := readTagRecord(b[1:])
	if gotRest != rest || got != tag {
		t.Fatalf("tag %.20q rest %d: read back %.20q %d", tag, rest, got, gotRest)
	}
}

// FuzzTagRecord: any tag up to 65,535 bytes and any rest index read back as
// written (the store refuses longer tags, txcache.go).
func FuzzTagRecord(f *testing.F) {
	f.Add(uint32(0), "t1")
	f.Add(uint32(1<<31-1), "ABCDEFGHIJKLMNOP")
	f.Add(uint32(3), "abcdefghijklmnop")
	f.Fuzz(func(t *testing.T, rest uint32, tag string) {
		if len(tag) > 0xffff {
			return
		}
		checkTagRecord(t, rest, tag)
	})
}
