package sip

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"time"

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
// terminated at once and only the response's bytes are kept here, under
// the transaction's RFC 3261 §17.2.3 key, for at least Timer J. A
// retransmission arriving later finds no sipgo transaction, so sipgo makes
// a new one and calls the handler; absorbRetransmissions answers it from
// here with the stored response, exactly what the Completed state does.

// finishedGens generations of finishedStep each: an entry lives between
// (finishedGens-1)*finishedStep = Timer J and finishedGens*finishedStep.
const finishedGens = 5

var finishedStep = sip.Timer_J / (finishedGens - 1)

// finishedTxs maps transaction keys to final responses in generations: the
// oldest generation is dropped whole, so expiry costs no timer per entry.
type finishedTxs struct {
	mu    sync.Mutex // guards gens and start; a leaf
	gens  [finishedGens]map[string]string
	start time.Time // when gens[0], the newest generation, began
	now   func() time.Time
}

func newFinishedTxs(now func() time.Time) *finishedTxs {
	if now == nil {
		now = time.Now
	}
	f := &finishedTxs{now: now, start: now()}
	for i := range f.gens {
		f.gens[i] = map[string]string{}
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
	copy(f.gens[n:], f.gens[:finishedGens-n])
	for i := range n {
		f.gens[i] = map[string]string{}
	}
	f.start = f.start.Add(time.Duration(n) * finishedStep)
	if f.now().Sub(f.start) >= finishedStep { // idle for longer than all generations
		f.start = f.now()
	}
}

func (f *finishedTxs) put(key, res string) {
	f.mu.Lock()
	f.rotateLocked()
	f.gens[0][key] = res
	f.mu.Unlock()
}

func (f *finishedTxs) get(key string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotateLocked()
	for _, g := range f.gens {
		if b, ok := g[key]; ok {
			return b, true
		}
	}
	return "", false
}

// len is the number of responses kept (tests).
func (f *finishedTxs) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotateLocked()
	n := 0
	for _, g := range f.gens {
		n += len(g)
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
		if b, ok := s.finished.get(key); ok {
			if m, err := sip.ParseMessage([]byte(b)); err == nil {
				if res, ok := m.(*sip.Response); ok {
					s.respond(tx, res)
					tx.Terminate()
					return
				}
			}
		}
		h(req, &compactingTx{ServerTransaction: tx, key: key, f: s.finished})
	}
}

// txKey is the RFC 3261 §17.2.3 key of a request's server transaction:
// the top Via's branch and sent-by, and the method. Requests without an
// RFC 3261 branch (magic cookie z9hG4bK) are not compacted: matching them
// needs the whole request (§17.2.3's RFC 2543 rules), which sipgo keeps.
func txKey(req *sip.Request) (string, bool) {
	via := req.Via()
	if via == nil {
		return "", false
	}
	branch, _ := via.Params.Get("branch")
	if len(branch) <= len(sip.RFC3261BranchMagicCookie) || !strings.HasPrefix(branch, sip.RFC3261BranchMagicCookie) {
		return "", false
	}
	var pb [8]byte
	port := strconv.AppendInt(pb[:0], int64(via.Port), 10)
	var b strings.Builder
	b.Grow(len(branch) + len(via.Host) + len(port) + len(req.Method) + 3)
	b.WriteString(branch)
	b.WriteByte(' ')
	b.WriteString(via.Host)
	b.WriteByte(':')
	b.Write(port)
	b.WriteByte(' ')
	b.WriteString(string(req.Method))
	return b.String(), true
}

// textBufs are scratch buffers for responseText.
var textBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// responseText is res as sent, in a string of exactly its size (it is kept
// for Timer J).
func responseText(res *sip.Response) string {
	buf := textBufs.Get().(*bytes.Buffer)
	buf.Reset()
	res.StringWrite(buf)
	s := buf.String()
	if buf.Cap() <= 64<<10 {
		textBufs.Put(buf)
	}
	return s
}

// compactingTx stores its final response in finishedTxs and terminates the
// sipgo transaction (see the comment at the top of this file).
type compactingTx struct {
	sip.ServerTransaction
	key string
	f   *finishedTxs
}

func (t *compactingTx) Respond(res *sip.Response) error {
	err := t.ServerTransaction.Respond(res)
	if err == nil && !res.IsProvisional() {
		// Stored before the sipgo transaction goes, so a retransmission
		// always finds one or the other.
		t.f.put(t.key, responseText(res))
		t.ServerTransaction.Terminate()
	}
	return err
}
