package sip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzPlainRequest holds readFilter's fast path to its full path: a
// datagram plainRequest passes must be one conformRaw passes too, that
// sipgo parses as received, to the same message as conformRaw's rewrite
// (docs/security.md §Malformed-requests). Seeds: every RFC 4475 torture
// message in testdata and the requests the benchmarks send.
func FuzzPlainRequest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "rfc4475", "*.dat"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(rawSubscribe))
	f.Add([]byte(strings.Replace(rawSubscribe, "Content-Length: 0", "Content-Length: 4", 1) + "abcd"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !plainRequest(data) {
			// The full path must cope with whatever the fast one declines.
			_, _, _, _, _ = conformRaw(data)
			return
		}
		msg, _, status, reason, _ := conformRaw(data)
		if status != 0 || msg == nil {
			t.Fatalf("plainRequest passed what conformRaw refuses (%d %s):\n%q", status, reason, data)
		}
		direct, err := sip.ParseMessage(data)
		if err != nil {
			t.Fatalf("plainRequest passed what sipgo cannot parse (%v):\n%q", err, data)
		}
		rewritten, err := sip.ParseMessage(msg)
		if err != nil {
			t.Fatalf("conformRaw's rewrite does not parse (%v):\n%q", err, msg)
		}
		if a, b := direct.String(), rewritten.String(); a != b {
			t.Fatalf("sipgo reads the datagram and conformRaw's rewrite differently:\n%q\n%q", a, b)
		}
	})
}

// TestPlainRequestAllocatesNothing: the fast path runs on every UDP
// request; it must not allocate.
func TestPlainRequestAllocatesNothing(t *testing.T) {
	data := []byte(rawSubscribe)
	if !plainRequest(data) {
		t.Fatal("a plain SUBSCRIBE takes the full path")
	}
	if n := testing.AllocsPerRun(100, func() { plainRequest(data) }); n != 0 {
		t.Errorf("plainRequest allocates %v times", n)
	}
}
