package sip

import (
	"encoding/base32"
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// One generation's kept final responses (txcache.go), held outside the Go
// heap.
//
// The Timer J state is proportional to the request rate: at 3,000
// SUBSCRIBE lifecycles a second ~240,000 finished transactions are kept
// at any time (RFC 3261 §17.2.2; BENCHMARKS.md, SIP memory under
// SUBSCRIBE load). Kept in Go maps, pointer-free as they were, that state
// still counted towards the garbage collector's heap goal, which
// `cmed serve` sets to three times the live heap (GOGC=200): ~16 MB of
// entries became ~50 MiB of RSS. Here an entry is 12 bytes in a
// bucketized cuckoo table (two candidate buckets of four slots, so a
// lookup reads at most eight slots and tables fill to ~90 %), and the
// To-tags of answers that chose one are packed into a byte slab; both are
// anonymous memory mappings (offheap_*.go) that the garbage collector
// neither scans nor counts.

// keptSlot is one entry: the transaction key's hash (0: the slot is
// empty) and a reference: the index of the response's rest in the
// generation's texts, or, with refTagged set, the offset of a tag record.
// Three uint32s, so the slot is 12 bytes, not a padded 16.
type keptSlot struct {
	fpLo, fpHi uint32
	ref        uint32
}

func (s keptSlot) fp() uint64 { return uint64(s.fpHi)<<32 | uint64(s.fpLo) }

const (
	slotsPerBucket = 4
	refTagged      = 1 << 31
	maxKicks       = 500
	minBuckets     = 16
)

type keptBucket [slotsPerBucket]keptSlot

// keptTable is a cuckoo hash table of keptSlots in one memory mapping.
type keptTable struct {
	mem     []byte // the mapping behind buckets
	buckets []keptBucket
	n       int // slots in use
}

func newKeptTable(nb int) keptTable {
	nb = max(nb, minBuckets)
	mem := mapMemory(nb * int(sizeofBucket))
	return keptTable{mem: mem, buckets: bucketsIn(mem, nb)}
}

// bucketPair is fp's two candidate buckets: one from its high bits, one
// from the high bits of a multiplied copy (so they differ when the table
// grows), never the same bucket twice.
func bucketPair(fp uint64, nb int) (int, int) {
	b1, _ := bits.Mul64(fp, uint64(nb))
	m := fp * 0x9e3779b97f4a7c15
	b2, _ := bits.Mul64(m^m>>31, uint64(nb))
	if b2 == b1 {
		b2 = (b1 + 1) % uint64(nb)
	}
	return int(b1), int(b2)
}

// slotKey is the hash as kept: 0 marks an empty slot, so it becomes 1.
func slotKey(fp uint64) uint64 { return max(fp, 1) }

func (t *keptTable) lookup(fp uint64) (uint32, bool) {
	fp = slotKey(fp)
	b1, b2 := bucketPair(fp, len(t.buckets))
	for _, b := range [2]int{b1, b2} {
		for _, s := range &t.buckets[b] {
			if s.fp() == fp {
				return s.ref, true
			}
		}
	}
	return 0, false
}

// insert stores fp -> ref. When the table is too full it returns the entry
// left without a place (maybe another one than fp's) and false; the caller
// grows the table and inserts that entry again.
func (t *keptTable) insert(fp uint64, ref uint32) (keptSlot, bool) {
	fp = slotKey(fp)
	b1, b2 := bucketPair(fp, len(t.buckets))
	for _, b := range [2]int{b1, b2} { // the same key again: replace
		for i, s := range &t.buckets[b] {
			if s.fp() == fp {
				t.buckets[b][i].ref = ref
				return keptSlot{}, true
			}
		}
	}
	cur := keptSlot{fpLo: uint32(fp), fpHi: uint32(fp >> 32), ref: ref}
	b := b1
	for kick := range maxKicks {
		for _, c := range [2]int{b, otherBucket(cur.fp(), b, len(t.buckets))} {
			for i := range t.buckets[c] {
				if t.buckets[c][i].fp() == 0 {
					t.buckets[c][i] = cur
					t.n++
					return keptSlot{}, true
				}
			}
		}
		// Both full: evict one of b's entries to its other bucket. The
		// victim's place cycles with the kick count and the key, so a
		// walk does not bounce between the same two entries.
		v := (kick + int(cur.fpLo)) % slotsPerBucket
		cur, t.buckets[b][v] = t.buckets[b][v], cur
		b = otherBucket(cur.fp(), b, len(t.buckets))
	}
	return cur, false
}

// otherBucket is the candidate bucket of fp that is not b.
func otherBucket(fp uint64, b, nb int) int {
	b1, b2 := bucketPair(fp, nb)
	if b == b1 {
		return b2
	}
	return b1
}

// grown is t's entries (and the homeless one) in a table twice as large;
// t's mapping is released.
func (t *keptTable) grown(homeless keptSlot) keptTable {
	nb := len(t.buckets) * 2
	for {
		g := newKeptTable(nb)
		ok := true
		for bi := range t.buckets {
			for _, s := range &t.buckets[bi] {
				if s.fp() != 0 {
					if _, ok = g.insert(s.fp(), s.ref); !ok {
						break
					}
				}
			}
			if !ok {
				break
			}
		}
		if ok {
			if _, ok = g.insert(homeless.fp(), homeless.ref); ok {
				t.release()
				return g
			}
		}
		g.release()
		nb *= 2
	}
}

func (t *keptTable) release() {
	unmapMemory(t.mem)
	*t = keptTable{}
}

// Tag records, in a generation's slab: the rest's index (4 bytes, little
// endian), then the tag as
//
//	0x00-0xfd  its length L, then L bytes
//	0xfe       a 2-byte length, then the bytes
//	0xff       16 base-32 characters (cmed's own tags, subs.Config.NewTag)
//	           packed into 10 bytes
const (
	tagLong   = 0xfe
	tagPacked = 0xff
)

var packedTags = base32.StdEncoding.WithPadding(base32.NoPadding)

// packable: 16 characters of the RFC 4648 base-32 alphabet (upper case),
// which decode to 10 bytes and encode back to the same text.
func packable(tag string) bool {
	if len(tag) != 16 {
		return false
	}
	for i := range len(tag) {
		if c := tag[i]; !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// appendTagRecord appends the record of (rest, tag) to b.
func appendTagRecord(b []byte, rest uint32, tag string) []byte {
	b = binary.LittleEndian.AppendUint32(b, rest)
	switch {
	case packable(tag):
		var p [10]byte
		packedTags.Decode(p[:], []byte(tag))
		b = append(b, tagPacked)
		return append(b, p[:]...)
	case len(tag) < tagLong:
		b = append(b, byte(len(tag)))
	default:
		b = append(b, tagLong)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(tag)))
	}
	return append(b, tag...)
}

// tagRecordLen is how many bytes appendTagRecord adds for tag.
func tagRecordLen(tag string) int {
	switch {
	case packable(tag):
		return 4 + 1 + 10
	case len(tag) < tagLong:
		return 4 + 1 + len(tag)
	}
	return 4 + 3 + len(tag)
}

// readTagRecord reads the record at b's start; the tag is a new string
// (the slab goes when its generation does).
func readTagRecord(b []byte) (rest uint32, tag string) {
	rest = binary.LittleEndian.Uint32(b)
	switch k := b[4]; k {
	case tagPacked:
		return rest, packedTags.EncodeToString(b[5:15])
	case tagLong:
		n := int(binary.LittleEndian.Uint16(b[5:]))
		return rest, string(b[7 : 7+n])
	default:
		return rest, string(b[5 : 5+int(k)])
	}
}

const sizeofBucket = unsafe.Sizeof(keptBucket{})

// bucketsIn views mem (from mapMemory: page aligned, or a heap slice,
// which is at least 8-byte aligned) as nb buckets; keptSlot holds no
// pointer, so memory the garbage collector does not know is fine.
func bucketsIn(mem []byte, nb int) []keptBucket {
	return unsafe.Slice((*keptBucket)(unsafe.Pointer(unsafe.SliceData(mem))), nb)
}
