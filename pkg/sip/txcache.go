package sip

import (
	"bytes"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Finished non-INVITE server transactions over UDP, kept small.
//
// After its final response a non-INVITE server transaction over an
// unreliable transport stays in the Completed state for Timer J = 64*T1
// (32 s) so that a retransmitted request is answered with the same final
// response instead of being handled again (RFC 3261 §17.2.2). sipgo keeps
// the whole transaction for that time: the parsed request, the response
// object, four timers and the state machine, about 2-3 KB each. At 3,000
// SUBSCRIBE lifecycles a second that is ~190,000 live transactions, and
// the daemon's RSS grew ten-fold between 300/s and 3,000/s (BENCHMARKS.md).
//
// So once cmed has sent the final response, the sipgo transaction is
// terminated at once and only what the response adds to the request is
// kept here (status, To-tag, its own header fields, body: compactResponse),
// under the transaction's RFC 3261 §17.2.3 key, for at least Timer J. Only
// the To-tag differs from one transaction to the next; the rest (status,
// Contact, Expires, body) is the same for most answers, so it is interned
// (unique.Make) and an entry is a hash, a short tag and a handle, ~64
// bytes instead of the few hundred of the response text. A
// retransmission arriving later finds no sipgo transaction, so sipgo makes
// a new one and calls the handler; absorbRetransmissions rebuilds the
// response on the retransmitted request (whose Via, From, To, Call-ID and
// CSeq are the original's, §17.2.3) and sends it, which is what the
// Completed state does.
//
// The entries themselves live outside the Go heap (keptstore.go): a
// 12-byte slot per transaction, plus a packed To-tag for answers that
// chose one, so the state the RFC asks for does not count three times
// towards the garbage collector's heap goal.

// finishedGens generations of finishedStep each: an entry lives between
// (finishedGens-1)*finishedStep = Timer J and finishedGens*finishedStep.
const finishedGens = 5

var finishedStep = sip.Timer_J / (finishedGens - 1)

// finishedTxs maps transaction keys to final responses in generations: the
// oldest generation is dropped whole, so expiry costs no timer per entry.
type finishedTxs struct {
	mu       sync.Mutex // guards gens, start and sweeping; a leaf
	gens     [finishedGens]*generation
	start    time.Time // when gens[0], the newest generation, began
	sweeping bool      // a sweep timer is pending
	now      func() time.Time
}

// generation is one finishedStep's kept responses (keptstore.go), the tag
// records they point to and the distinct texts of their rests.
type generation struct {
	table  keptTable // made at the first put, sized by hintSlots
	tags   []byte    // tag records (a mapping), tags[:tagLen] used
	tagLen int
	texts  []string
	index  map[string]uint32 // text -> its place in texts

	// What the generation before held when this one began: a steady rate
	// fills this one as much, so its table is made that large at once
	// instead of doubling its way there.
	hintSlots, hintTags int
}

func newGeneration(prev *generation) *generation {
	g := &generation{index: map[string]uint32{}}
	if prev != nil {
		g.hintSlots, g.hintTags = prev.table.n, prev.tagLen
	}
	return g
}

// release gives back the generation's mappings.
func (g *generation) release() {
	g.table.release()
	unmapMemory(g.tags)
	g.tags, g.tagLen = nil, 0
}

// intern returns b's place in texts, adding it when new.
func (g *generation) intern(b []byte) uint32 {
	if i, ok := g.index[string(b)]; ok { // no allocation for the lookup
		return i
	}
	t := string(b)
	i := uint32(len(g.texts))
	g.texts = append(g.texts, t)
	g.index[t] = i
	return i
}

// addTag appends a tag record and returns its offset.
func (g *generation) addTag(rest uint32, tag string) uint32 {
	need := tagRecordLen(tag)
	if g.tagLen+need > len(g.tags) {
		n := max(4096, 2*len(g.tags), g.tagLen+need, g.hintTags+g.hintTags/8)
		m := mapMemory(n)
		copy(m, g.tags[:g.tagLen])
		unmapMemory(g.tags)
		g.tags = m
	}
	off := g.tagLen
	appendTagRecord(g.tags[:off], rest, tag) // within the mapping: len(tags) >= off+need
	g.tagLen += need
	return uint32(off)
}

func newFinishedTxs(now func() time.Time) *finishedTxs {
	if now == nil {
		now = time.Now
	}
	f := &finishedTxs{now: now, start: now()}
	for i := range f.gens {
		f.gens[i] = newGeneration(nil)
	}
	return f
}

// rotateLocked ages the generations by the steps elapsed since start.
func (f *finishedTxs) rotateLocked() {
	n := int(f.now().Sub(f.start) / finishedStep)
	if n <= 0 {
		return
	}
	n = min(n, finishedGens)
	for _, g := range f.gens[finishedGens-n:] {
		g.release()
	}
	prev := f.gens[0]
	if n > 1 { // idle for a step or more: no rate to go by
		prev = nil
	}
	copy(f.gens[n:], f.gens[:finishedGens-n])
	for i := range n {
		f.gens[i] = newGeneration(prev)
	}
	f.start = f.start.Add(time.Duration(n) * finishedStep)
	if f.now().Sub(f.start) >= finishedStep { // idle for longer than all generations
		f.start = f.now()
	}
}

// put keeps a final response: its To-tag ("" when the request carries it)
// and the rest (keptResponse).
func (f *finishedTxs) put(key txHash, tag string, rest []byte) {
	if len(tag) > math.MaxUint16 { // cannot come in a UDP datagram
		return
	}
	f.mu.Lock()
	f.rotateLocked()
	g := f.gens[0]
	ref := g.intern(rest)
	if tag != "" {
		ref = refTagged | g.addTag(ref, tag)
	}
	if g.table.buckets == nil {
		g.table = newKeptTable((g.hintSlots + g.hintSlots/8) / slotsPerBucket)
	}
	if homeless, ok := g.table.insert(uint64(key), ref); !ok {
		g.table = g.table.grown(homeless)
	}
	if !f.sweeping {
		// Without requests nothing else would age the generations: a
		// burst's responses would stay until the next request.
		f.sweeping = true
		time.AfterFunc(finishedStep, f.sweep)
	}
	f.mu.Unlock()
}

// sweep ages the generations every finishedStep while any entry is left.
func (f *finishedTxs) sweep() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotateLocked()
	if f.lenLocked() == 0 {
		f.sweeping = false
		return
	}
	time.AfterFunc(finishedStep, f.sweep)
}

func (f *finishedTxs) get(key txHash) (keptResponse, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotateLocked()
	for _, g := range f.gens {
		if g.table.buckets == nil {
			continue
		}
		ref, ok := g.table.lookup(uint64(key))
		if !ok {
			continue
		}
		if ref&refTagged == 0 {
			return keptResponse{rest: g.texts[ref]}, true
		}
		rest, tag := readTagRecord(g.tags[ref&^refTagged:])
		return keptResponse{tag: tag, rest: g.texts[rest]}, true
	}
	return keptResponse{}, false
}

// len is the number of responses kept (tests).
func (f *finishedTxs) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotateLocked()
	return f.lenLocked()
}

func (f *finishedTxs) lenLocked() int {
	n := 0
	for _, g := range f.gens {
		n += g.table.n
	}
	return n
}

// compactable: non-INVITE requests over UDP whose handlers answer on the
// transaction and keep nothing of it (RFC 3261 §17.2.2). INVITE, ACK and
// CANCEL belong to the INVITE machinery (§17.2.1, §9.2); BYE, REFER and
// UPDATE are handled inside sipgo dialog sessions and keep sipgo's own
// handling.
func compactable(req *sip.Request) bool {
	switch req.Method {
	case sip.SUBSCRIBE, sip.NOTIFY, sip.PUBLISH, sip.REGISTER, sip.OPTIONS:
		return req.Transport() == "UDP"
	}
	return false
}

// absorbRetransmissions wraps h: a retransmission of a request whose
// transaction was compacted gets the stored final response; any other
// compactable request reaches h with a transaction that compacts itself
// after its final response.
func (s *Server) absorbRetransmissions(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if !compactable(req) {
			h(req, tx)
			return
		}
		key, ok := txKey(req)
		if !ok {
			h(req, tx)
			return
		}
		if c, ok := s.finished.get(key); ok {
			if res, ok := expandResponse(req, c); ok {
				s.respond(tx, res)
				tx.Terminate()
				return
			}
		}
		h(req, &compactingTx{ServerTransaction: tx, key: key, reqTag: toTag(req), f: s.finished})
	}
}

// txKey is the RFC 3261 §17.2.3 key of a request's server transaction —
// the top Via's branch and sent-by, and the method — hashed to 64 bits
// with a per-process seed, so an entry holds no key string. A lookup
// compares at most eight kept hashes (keptstore.go) in each of five
// generations, so a new request is taken for a kept one with odds of
// about 40 in 2^64: at 6,000 requests a second, once in millions of
// years.
// Requests without an RFC 3261 branch (magic cookie z9hG4bK) are not
// compacted: matching them needs the whole request (§17.2.3's RFC 2543
// rules), which sipgo keeps.
func txKey(req *sip.Request) (txHash, bool) {
	via := req.Via()
	if via == nil {
		return 0, false
	}
	branch, _ := via.Params.Get("branch")
	if len(branch) <= len(sip.RFC3261BranchMagicCookie) || !strings.HasPrefix(branch, sip.RFC3261BranchMagicCookie) {
		return 0, false
	}
	var kb [160]byte
	b := append(kb[:0], branch...)
	b = append(b, ' ')
	b = append(b, via.Host...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(via.Port), 10)
	b = append(b, ' ')
	b = append(b, req.Method...)
	return txHash(maphash.Bytes(txSeed, b)), true
}

// txHash is a transaction key's 64-bit hash.
type txHash uint64

var txSeed = maphash.MakeSeed()

// textBufs are scratch buffers for compactResponse.
var textBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// copiedFromRequest are the header fields sip.NewResponseFromRequest takes
// from the request (RFC 3261 §8.2.6.2) and Content-Length, which SetBody
// writes: a rebuilt response gets them from the retransmitted request.
func copiedFromRequest(name string) bool {
	for _, n := range [...]string{"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "record-route", "content-length", "l"} {
		if strings.EqualFold(name, n) {
			return true
		}
	}
	return false
}

// keptResponse is what a final response adds to its request: the To-tag
// and the rest,
//
//	<status> <reason> NUL { <name>: <value> CRLF } NUL <body>
//
// (NUL cannot occur in a start line or header field, RFC 3261 §25.1.)
type keptResponse struct {
	tag  string
	rest string
}

// compactResponse writes what res adds to its request into buf (which it
// resets) and returns the To-tag; buf then holds the rest.
func compactResponse(res *sip.Response, buf *bytes.Buffer) (tag string) {
	if to := res.To(); to != nil {
		tag, _ = to.Params.Get("tag")
	}
	buf.Reset()
	var nb [8]byte
	buf.Write(strconv.AppendInt(nb[:0], int64(res.StatusCode), 10))
	buf.WriteByte(' ')
	buf.WriteString(res.Reason)
	buf.WriteByte(0)
	for _, h := range res.Headers() {
		if !copiedFromRequest(h.Name()) {
			buf.WriteString(h.Name())
			buf.WriteString(": ")
			buf.WriteString(h.Value())
			buf.WriteString("\r\n")
		}
	}
	buf.WriteByte(0)
	buf.Write(res.Body())
	return tag
}

// keep stores res's final response for key (finishedTxs.put); reqTag is
// the request's To-tag: an answer in a dialog repeats it, and a
// retransmission carries it again (RFC 3261 §17.2.3), so it is not kept.
func (f *finishedTxs) keep(key txHash, res *sip.Response, reqTag string) {
	buf := textBufs.Get().(*bytes.Buffer)
	tag := compactResponse(res, buf)
	if tag == reqTag {
		tag = ""
	}
	f.put(key, tag, buf.Bytes())
	if buf.Cap() <= 64<<10 {
		textBufs.Put(buf)
	}
}

// expandResponse rebuilds the response compactResponse kept, on req.
func expandResponse(req *sip.Request, k keptResponse) (*sip.Response, bool) {
	tag, ok2 := k.tag, true
	status, c, ok1 := strings.Cut(k.rest, "\x00")
	hdrs, body, ok3 := strings.Cut(c, "\x00")
	codeText, reason, ok4 := strings.Cut(status, " ")
	code, err := strconv.Atoi(codeText)
	if !ok1 || !ok2 || !ok3 || !ok4 || err != nil {
		return nil, false
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	res := sip.NewResponseFromRequest(req, code, reason, b)
	if to := res.To(); to != nil && tag != "" {
		// Replaces the tag sipgo made up (or the request's own, the same).
		to.Params.Add("tag", tag)
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(hdrs, "\r\n"), "\r\n") {
		if name, value, ok := strings.Cut(line, ": "); ok {
			res.AppendHeader(sip.NewHeader(name, value))
		}
	}
	return res, true
}

// compactingTx stores its final response in finishedTxs and terminates the
// sipgo transaction (see the comment at the top of this file).
type compactingTx struct {
	sip.ServerTransaction
	key    txHash
	reqTag string // the request's To-tag
	f      *finishedTxs
}

func (t *compactingTx) Respond(res *sip.Response) error {
	err := t.ServerTransaction.Respond(res)
	if err == nil && !res.IsProvisional() {
		// Stored before the sipgo transaction goes, so a retransmission
		// always finds one or the other.
		t.f.keep(t.key, res, t.reqTag)
		t.ServerTransaction.Terminate()
	}
	return err
}

// unsafeString views b as a string without copying, for code that only
// reads it during the call and keeps nothing of it (plainRequest scans
// every datagram this way without allocating).
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// toTag is req's To-tag, "" without one.
func toTag(req *sip.Request) string {
	if to := req.To(); to != nil {
		return tagOf(to.Params)
	}
	return ""
}

// mappedLocked is the bytes mapped for kept responses (benchmarks).
func (f *finishedTxs) mappedLocked() int {
	n := 0
	for _, g := range f.gens {
		n += len(g.table.mem) + len(g.tags)
	}
	return n
}
