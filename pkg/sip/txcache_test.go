package sip

import (
	"crypto/rand"
	"log/slog"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestFinishedTxsKeepsAtLeastTimerJ: a response is found for Timer J after
// it was stored, whenever in a generation that happened, and is gone once
// every generation has turned over (RFC 3261 §17.2.2).
func TestFinishedTxsKeepsAtLeastTimerJ(t *testing.T) {
	now := time.Unix(1000, 0)
	f := newFinishedTxs(func() time.Time { return now })
	// Stored at the start, the middle and the end of a generation.
	for _, off := range []time.Duration{0, finishedStep / 2, finishedStep - time.Millisecond} {
		start := now
		now = now.Add(off)
		key := txHash(uint64(off))
		f.put(key, "", []byte("SIP/2.0 200 OK"))
		now = now.Add(sip.Timer_J - time.Millisecond)
		if _, ok := f.get(key); !ok {
			t.Errorf("stored %v into a generation: gone before Timer J", off)
		}
		now = now.Add(finishedStep + time.Millisecond)
		if _, ok := f.get(key); ok {
			t.Errorf("stored %v into a generation: still kept %v later", off, now.Sub(start)-off)
		}
		now = now.Add(finishedStep)
	}
	// Without any request the sweep ages the generations: after a burst
	// nothing is kept past Timer J plus one generation.
	f.put(txHash(9), "", []byte("z"))
	now = now.Add(finishedGens * finishedStep)
	f.sweep()
	f.mu.Lock()
	n, sweeping := f.lenLocked(), f.sweeping
	f.mu.Unlock()
	if n != 0 || sweeping {
		t.Errorf("after the sweep: %d entries, sweeping %v", n, sweeping)
	}
	// A long idle spell empties everything and restarts the clock.
	f.put(txHash(1), "", []byte("x"))
	now = now.Add(time.Hour)
	if n := f.len(); n != 0 {
		t.Errorf("%d entries after an hour", n)
	}
	f.put(txHash(3), "", []byte("y"))
	now = now.Add(sip.Timer_J - time.Millisecond)
	if _, ok := f.get(txHash(3)); !ok {
		t.Error("entry stored after an idle hour gone before Timer J")
	}
}

// fakeTx is a server transaction that records what happens to it.
type fakeTx struct {
	sip.ServerTransaction // nil: any other method panics
	mu                    sync.Mutex
	sent                  []*sip.Response
	terminated            bool
}

func (f *fakeTx) Respond(res *sip.Response) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, res)
	return nil
}

func (f *fakeTx) Terminate() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.terminated = true
}

func parseReq(t *testing.T, raw string) *sip.Request {
	t.Helper()
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sip.Request)
	req.SetTransport("UDP")
	return req
}

const rawSubscribe = "SUBSCRIBE sip:2001@127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-tx1;rport\r\nMax-Forwards: 70\r\n" +
	"From: <sip:w@127.0.0.1>;tag=w1\r\nTo: <sip:2001@127.0.0.1>\r\nCall-ID: tx-1\r\nCSeq: 1 SUBSCRIBE\r\n" +
	"Contact: <sip:w@127.0.0.1:5999>\r\nEvent: dialog\r\nContent-Length: 0\r\n\r\n"

// TestAbsorbRetransmissions: the handler's final response ends the sipgo
// transaction at once (its state is not kept for Timer J); a
// retransmission of the request gets the same response again without
// reaching the handler; provisional responses and INVITEs are left alone.
func TestAbsorbRetransmissions(t *testing.T) {
	s := &Server{finished: newFinishedTxs(nil), log: slog.New(slog.DiscardHandler)}
	calls := 0
	h := s.absorbRetransmissions(func(req *sip.Request, tx sip.ServerTransaction) {
		calls++
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.To().Params.Add("tag", "srv1")
		res.AppendHeader(sip.NewHeader("Expires", "3600"))
		res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 5060}})
		if req.CSeq().SeqNo == 7 { // one answer with a body
			res.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
			res.SetBody([]byte("a\r\nb\x00c"))
		}
		if err := tx.Respond(res); err != nil {
			t.Error(err)
		}
	})

	tx1 := &fakeTx{}
	h(parseReq(t, rawSubscribe), tx1)
	if calls != 1 || len(tx1.sent) != 1 || !tx1.terminated {
		t.Fatalf("first SUBSCRIBE: handler calls %d, responses %d, terminated %v", calls, len(tx1.sent), tx1.terminated)
	}

	tx2 := &fakeTx{}
	h(parseReq(t, rawSubscribe), tx2)
	if calls != 1 {
		t.Fatalf("the retransmission reached the handler")
	}
	if len(tx2.sent) != 1 || !tx2.terminated {
		t.Fatalf("retransmission: %d responses, terminated %v", len(tx2.sent), tx2.terminated)
	}
	// The rebuilt answer is the first one, byte for byte.
	if got, want := tx2.sent[0].String(), tx1.sent[0].String(); got != want || !strings.Contains(got, "tag=srv1") {
		t.Errorf("retransmission answered\n%s\nfirst answer\n%s", got, want)
	}
	withBody := strings.NewReplacer("z9hG4bK-tx1", "z9hG4bK-tx7", "1 SUBSCRIBE", "7 SUBSCRIBE").Replace(rawSubscribe)
	tx5, tx6 := &fakeTx{}, &fakeTx{}
	h(parseReq(t, withBody), tx5)
	h(parseReq(t, withBody), tx6)
	if len(tx6.sent) != 1 || tx6.sent[0].String() != tx5.sent[0].String() || string(tx6.sent[0].Body()) != "a\r\nb\x00c" {
		t.Errorf("answer with a body, retransmission:\n%v\nfirst:\n%s", tx6.sent, tx5.sent[0])
	}
	if calls != 2 {
		t.Errorf("handler calls %d after the answer with a body and its retransmission, want 2", calls)
	}

	// A new transaction (another branch) is handled.
	h(parseReq(t, strings.Replace(rawSubscribe, "z9hG4bK-tx1", "z9hG4bK-tx2", 1)), &fakeTx{})
	if calls != 3 {
		t.Errorf("a new branch was not handled (calls %d)", calls)
	}

	// A provisional answer keeps the transaction; INVITE is never compacted.
	prov := s.absorbRetransmissions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 100, "Trying", nil))
	})
	tx3 := &fakeTx{}
	prov(parseReq(t, strings.Replace(rawSubscribe, "z9hG4bK-tx1", "z9hG4bK-tx3", 1)), tx3)
	if tx3.terminated {
		t.Error("a 100 ended the transaction")
	}
	inv := strings.NewReplacer("SUBSCRIBE sip", "INVITE sip", "1 SUBSCRIBE", "1 INVITE", "z9hG4bK-tx1", "z9hG4bK-tx4").Replace(rawSubscribe)
	tx4 := &fakeTx{}
	h(parseReq(t, inv), tx4)
	if tx4.terminated {
		t.Error("an INVITE transaction was compacted")
	}
	if n := s.finished.len(); n != 3 {
		t.Errorf("%d responses kept, want 3 (the final answers to SUBSCRIBE)", n)
	}
}

// TestRetransmittedSubscribeOverUDP: over the wire, a SUBSCRIBE sent again
// with the same branch after its 200 (a lost response, RFC 3261 §17.1.2.2)
// gets the same 200 and To-tag, and makes no second subscription.
func TestRetransmittedSubscribeOverUDP(t *testing.T) {
	r := newRig(t, strings.Replace(registrarConfig, " authenticate presence\n", "", 1), nil)
	u := newRawUA(t, r.addr())
	raw := strings.NewReplacer("127.0.0.1:5999", u.addr(), "sip:2001@127.0.0.1 SIP", "sip:2001@127.0.0.1:"+r.port()+" SIP").
		Replace(rawSubscribe)
	send := func() {
		if _, err := u.conn.WriteTo([]byte(raw), u.to); err != nil {
			t.Fatal(err)
		}
	}
	send()
	first := u.response("SUBSCRIBE", 1)
	if first.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE: %d", first.StatusCode)
	}
	u.waitNotify(1)
	eventually(t, 2*time.Second, "the answer kept", func() bool { return r.srv.finished.len() >= 1 })

	send()
	again := u.response("SUBSCRIBE", 1)
	if again.StatusCode != 200 || tagOf(again.To().Params) != tagOf(first.To().Params) {
		t.Fatalf("retransmission: %d To-tag %q, first To-tag %q", again.StatusCode, tagOf(again.To().Params), tagOf(first.To().Params))
	}
	if n := len(r.srv.Subscriptions()); n != 1 {
		t.Errorf("%d subscriptions after a retransmission, want 1", n)
	}
	if n := len(r.eng.Subscriptions()); n != 1 {
		t.Errorf("%d engine subscriptions after a retransmission, want 1", n)
	}
}

// TestKeptResponsesShareTheirText: two answers that differ only in their
// To-tag share one text in their generation and keep their own tags (cmed's
// packed, a long one, one beyond 253 bytes); each rebuilds with its tag; an
// answer in a dialog keeps no tag (the request carries it), and its
// request's own To-tag is not doubled.
func TestKeptResponsesShareTheirText(t *testing.T) {
	f := newFinishedTxs(nil)
	answer := func(branch, tag, reqTag string, key txHash) *sip.Request {
		raw := strings.Replace(rawSubscribe, "z9hG4bK-tx1", branch, 1)
		if reqTag != "" {
			raw = strings.Replace(raw, "To: <sip:2001@127.0.0.1>", "To: <sip:2001@127.0.0.1>;tag="+reqTag, 1)
		}
		req := parseReq(t, raw)
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.To().Params.Add("tag", tag)
		res.AppendHeader(sip.NewHeader("Expires", "3600"))
		f.keep(key, res, reqTag)
		return req
	}
	own := rand.Text()[:16] // subs.Config.NewTag's shape: packed
	long := strings.Repeat("L", 300)
	cases := []struct {
		key     txHash
		tag     string
		reqTag  string
		tagRecs int // bytes of tag records it adds
	}{
		{1, "t1", "", 4 + 1 + 2},
		{2, own, "", 4 + 1 + 10},
		{3, long, "", 4 + 3 + 300},
		{4, "in-dialog", "in-dialog", 0},
		{5, strings.ToLower(own), "", 4 + 1 + 16}, // not base 32 upper case: as it is
	}
	reqs := map[txHash]*sip.Request{}
	wantTags := 0
	for i, c := range cases {
		reqs[c.key] = answer("z9hG4bK-"+strconv.Itoa(i), c.tag, c.reqTag, c.key)
		wantTags += c.tagRecs
	}
	g := f.gens[0]
	if g.table.n != len(cases) || len(g.texts) != 1 || g.tagLen != wantTags {
		t.Fatalf("%d entries, texts %q, %d bytes of tag records (want %d)", g.table.n, g.texts, g.tagLen, wantTags)
	}
	for _, c := range cases {
		k, ok := f.get(c.key)
		want := c.tag
		if c.reqTag != "" {
			want = ""
		}
		if !ok || k.tag != want {
			t.Fatalf("key %d: kept %+v %v, want tag %q", c.key, k, ok, want)
		}
		res, ok := expandResponse(reqs[c.key], k)
		if !ok || tagOf(res.To().Params) != c.tag || res.GetHeader("Expires") == nil {
			t.Fatalf("key %d: rebuilt %v %v", c.key, ok, res)
		}
		if got := res.To().Value(); strings.Count(got, "tag=") != 1 {
			t.Errorf("key %d: answer To: %s", c.key, got)
		}
	}
}

// TestKeptSlotsHoldNoPointers: kept entries live in memory the garbage
// collector does not know (keptstore.go), so they must hold no pointer.
func TestKeptSlotsHoldNoPointers(t *testing.T) {
	var walk func(reflect.Type) bool
	walk = func(ty reflect.Type) bool {
		switch ty.Kind() {
		case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface, reflect.Func, reflect.Chan, reflect.UnsafePointer:
			return true
		case reflect.Array:
			return walk(ty.Elem())
		case reflect.Struct:
			for i := range ty.NumField() {
				if walk(ty.Field(i).Type) {
					return true
				}
			}
		}
		return false
	}
	if walk(reflect.TypeFor[keptBucket]()) || walk(reflect.TypeFor[txHash]()) {
		t.Fatal("keptBucket or txHash holds a pointer")
	}
	if sizeofBucket != 48 {
		t.Errorf("a bucket is %d bytes, want 4 x 12", sizeofBucket)
	}
}

// BenchmarkFinishedTxsMemory reports what one kept final response costs
// (docs: BENCHMARKS.md, SIP memory under SUBSCRIBE load), the RFC 3261
// §17.2.2 Timer J state per transaction: bytes on the Go heap and bytes
// mapped outside it (keptstore.go), half the answers with a tag of cmed's
// (an initial SUBSCRIBE) and half in a dialog (no tag kept), the two
// SUBSCRIBEs of a lifecycle.
func BenchmarkFinishedTxsMemory(b *testing.B) {
	const n = 100_000
	req, err := sip.ParseMessage([]byte(rawSubscribe))
	if err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	for b.Loop() {
		f := newFinishedTxs(nil)
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range n {
			res := sip.NewResponseFromRequest(req.(*sip.Request), 200, "OK", nil)
			tag, reqTag := rand.Text()[:16], ""
			if i%2 == 1 {
				reqTag = tag
			}
			res.To().Params.Add("tag", tag)
			res.AppendHeader(sip.NewHeader("Expires", "3600"))
			res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "2001", Host: "127.0.0.1", Port: 5060}})
			f.keep(txHash(uint64(i)), res, reqTag)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n, "heap-B/entry")
		f.mu.Lock()
		b.ReportMetric(float64(f.mappedLocked())/n, "mapped-B/entry")
		f.mu.Unlock()
		runtime.KeepAlive(f)
	}
}
