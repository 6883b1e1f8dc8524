package sip

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/sip/subs"
)

// NOTIFYs over UDP without sipgo's client transactions.
//
// A presence server sends most of its messages as NOTIFYs, and through
// sipgo each one was a request object built header by header, a client
// transaction (state machine, timers, channels) kept for Timer K after its
// answer, a goroutine waiting in Client.Do, and the 200 parsed into a
// response object to find that transaction: about 120 allocations and
// several goroutine wakeups per NOTIFY (BENCHMARKS.md, "Allocations on
// the SIP presence path").
//
// For the common case, a watcher reached over UDP at an IP address with
// no route set, cmed runs the non-INVITE client transaction itself (RFC
// 3261 §17.1.2): the NOTIFY is written as text straight onto the listening
// socket, retransmitted on Timer E (T1 doubling to T2; T2 once a
// provisional answer came) until Timer F, and its answer is picked out of
// the datagrams before sipgo parses them (readFilter), by the branch of
// its top Via, which only cmed's NOTIFYs carry. The answer ends the
// transaction at once: the Completed state of §17.1.2.2 only absorbs
// retransmitted answers, and a later copy finds no transaction and is
// dropped all the same. Everything else (TCP, host names, a Route set,
// maddr) still goes through sipgo (docs/sip-presence.md
// §Notify-discipline).
//
// Timers: one runtime timer per transaction, stopped by the answer, so a
// NOTIFY answered within T1 costs no wakeup beyond the answer's own.

// notifyTxs is the table of NOTIFY transactions in flight.
type notifyTxs struct {
	// prefix starts every branch cmed's own NOTIFYs carry: the RFC 3261
	// §8.1.1.7 magic cookie, then random per process, so an answer is
	// recognised by its branch alone.
	prefix string

	next atomic.Uint64 // the last transaction number given out

	mu      sync.Mutex // guards pending, closed and each pending tx's timer and interval; a leaf
	pending map[uint64]*notifyTx
	closed  bool
}

// notifyTx is one NOTIFY's client transaction.
type notifyTx struct {
	id       uint64
	nt       subs.Notify
	msg      []byte
	to       netip.AddrPort
	timer    *time.Timer
	interval time.Duration // the next Timer E interval
	deadline time.Time     // Timer F
}

func newNotifyTxs() *notifyTxs {
	var r [6]byte
	_, _ = rand.Read(r[:])
	return &notifyTxs{prefix: "z9hG4bK" + hex.EncodeToString(r[:]) + ".", pending: map[uint64]*notifyTx{}}
}

// udpTarget is where a NOTIFY to contact goes when cmed can send it
// itself: over UDP (the subscription's transport and the Contact's), to
// an IP address, with no route set (RFC 3261 §8.1.2: no Route, so the
// Request-URI decides) and no maddr. ok false sends it through sipgo.
func udpTarget(contact, transport string, routeSet []string) (netip.AddrPort, bool) {
	if len(routeSet) > 0 || !strings.EqualFold(transport, "udp") {
		return netip.AddrPort{}, false
	}
	rest, ok := strings.CutPrefix(contact, "sip:")
	if !ok {
		return netip.AddrPort{}, false // sips: is never UDP
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	hostport, params := rest, ""
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		hostport, params = rest[:i], rest[i:]
	}
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params[1:], ";")
		name, value, _ := strings.Cut(p, "=")
		switch {
		case strings.EqualFold(name, "maddr"):
			return netip.AddrPort{}, false
		case strings.EqualFold(name, "transport") && !strings.EqualFold(value, "udp"):
			return netip.AddrPort{}, false
		}
		if strings.HasPrefix(params, "?") {
			break // URI headers: not about where to send
		}
	}
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap, ap.Port() != 0
	}
	host := strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, false // a host name: sipgo resolves it
	}
	return netip.AddrPortFrom(a, 5060), true
}

// renderNotify writes nt as a NOTIFY request (RFC 6665 §8.1.2, headers of
// RFC 3261 §8.1.1) into b, with the top Via branch prefix and id in base
// 36; contact is the whole Contact value ("<URI>").
func renderNotify(b []byte, nt *subs.Notify, w *watch, via, contact, prefix string, id uint64) []byte {
	b = append(b, "NOTIFY "...)
	b = append(b, nt.Contact...)
	b = append(b, " SIP/2.0\r\nVia: SIP/2.0/UDP "...)
	b = append(b, via...)
	b = append(b, ";branch="...)
	b = append(b, prefix...)
	b = strconv.AppendUint(b, id, 36)
	b = append(b, ";rport"...)
	b = appendNameAddr(b, "\r\nFrom: <", w.localText, nt.Dialog.LocalTag)
	b = appendNameAddr(b, "\r\nTo: <", w.remoteText, nt.Dialog.RemoteTag)
	b = append(b, "\r\nCall-ID: "...)
	b = append(b, nt.Dialog.CallID...)
	b = append(b, "\r\nCSeq: "...)
	b = strconv.AppendUint(b, uint64(nt.CSeq), 10)
	b = append(b, " NOTIFY\r\nMax-Forwards: 70\r\nContact: "...)
	b = append(b, contact...)
	b = append(b, "\r\nEvent: "...)
	b = append(b, nt.Event...)
	b = append(b, "\r\nSubscription-State: "...)
	b = append(b, nt.SubscriptionState...)
	if nt.ContentType != "" {
		b = append(b, "\r\nContent-Type: "...)
		b = append(b, nt.ContentType...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(nt.Body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, nt.Body...)
}

// appendNameAddr writes a From or To value: start (the header name and
// "<"), the URI, ">" and the tag when there is one (RFC 3261 §20.20, §20.39).
func appendNameAddr(b []byte, start, uri, tag string) []byte {
	b = append(b, start...)
	b = append(b, uri...)
	b = append(b, '>')
	if tag != "" {
		b = append(b, ";tag="...)
		b = append(b, tag...)
	}
	return b
}

// sendUDP starts the transaction for nt when cmed can send it itself and
// reports whether it did. The first transmission happens here, on the
// caller's goroutine.
func (n *notifier) sendUDP(nt subs.Notify) bool {
	tx := n.startUDP(nt)
	if tx == nil {
		return false
	}
	n.write(tx)
	return true
}

// startUDP makes the transaction for nt when cmed can send it itself, or
// returns nil; the caller writes it (write, or writeBatch).
func (n *notifier) startUDP(nt subs.Notify) *notifyTx {
	w, ok := nt.Wire.(*watch)
	if !ok {
		return nil
	}
	to, ok := udpTarget(nt.Contact, w.transport, nt.RouteSet)
	if !ok {
		return nil
	}
	if n.s.udpConn() == nil {
		return nil
	}
	self := n.self()
	if !self.udp.IsValid() {
		return nil
	}

	t := n.txs
	// Timer F is 64*T1 (RFC 3261 §17.1.2.2), or Options.NotifyTimeout
	// when that is shorter: the table gives up on the NOTIFY then anyway.
	timerF := min(sip.Timer_F, n.s.opts.NotifyTimeout)
	tx := &notifyTx{id: t.next.Add(1), nt: nt, to: to, interval: sip.T1, deadline: time.Now().Add(timerF)}
	tx.msg = renderNotify(make([]byte, 0, 512+len(nt.Body)), &tx.nt, w, self.via, self.udpContact, t.prefix, tx.id)

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.pending[tx.id] = tx
	// The timer exists before the first write, so an answer that comes
	// back at once always has one to stop.
	tx.timer = time.AfterFunc(tx.interval, func() { n.retransmit(tx) })
	return tx
}

// write puts tx's NOTIFY on the wire; a failed write is left to the
// retransmissions and Timer F, as a lost datagram would be.
func (n *notifier) write(tx *notifyTx) {
	conn := n.s.udpConn()
	if conn == nil {
		return
	}
	var err error
	if uc, ok := conn.(*net.UDPConn); ok {
		_, err = uc.WriteToUDPAddrPort(tx.msg, tx.to)
	} else {
		_, err = conn.WriteTo(tx.msg, net.UDPAddrFromAddrPort(tx.to))
	}
	if err != nil {
		n.s.log.Debug("sip: NOTIFY not sent", "to", tx.to, "err", err)
	}
}

// retransmit is Timer E and Timer F (RFC 3261 §17.1.2.2).
func (n *notifier) retransmit(tx *notifyTx) {
	t := n.txs
	now := time.Now()
	t.mu.Lock()
	if t.pending[tx.id] != tx {
		t.mu.Unlock()
		return // answered meanwhile
	}
	if !now.Before(tx.deadline) {
		delete(t.pending, tx.id)
		t.mu.Unlock()
		n.finish(tx, subs.StatusTimeout)
		return
	}
	// E fires at T1, 3*T1, 7*T1, ... with the gaps capped at T2.
	tx.interval = min(2*tx.interval, sip.T2)
	wait := tx.interval
	if left := tx.deadline.Sub(now); wait > left {
		wait = left
	}
	tx.timer.Reset(wait)
	t.mu.Unlock()
	n.write(tx)
}

// onAnswer takes the answer to one of cmed's own NOTIFYs out of the
// datagrams read on the UDP socket, before sipgo parses them. It reports
// whether data was such an answer (then nothing else sees it).
func (n *notifier) onAnswer(data []byte) bool {
	t := n.txs
	id, status, ok := answerOf(data, t.prefix)
	if !ok {
		return false
	}
	n.answered(id, status)
	return true
}

// onParsedAnswer takes an answer sipgo parsed and matched to none of its
// own transactions (its unhandled-response hook): one of cmed's NOTIFYs
// whose answer onAnswer could not read, written in a form the quick
// reading does not know (white space around the Via parameters, RFC
// 3261 §7.3.1).
func (n *notifier) onParsedAnswer(res *sip.Response) bool {
	via := res.Via()
	if via == nil {
		return false
	}
	branch, _ := via.Params.Get("branch")
	num, ok := strings.CutPrefix(branch, n.txs.prefix)
	if !ok {
		return false
	}
	id, err := strconv.ParseUint(num, 36, 64)
	if err != nil || strconv.FormatUint(id, 36) != num {
		return false // not the exact text cmed sent (RFC 3261 §17.1.3)
	}
	n.answered(id, res.StatusCode)
	return true
}

// answered ends or advances transaction id on an answer with status.
func (n *notifier) answered(id uint64, status int) {
	t := n.txs
	t.mu.Lock()
	tx := t.pending[id]
	if tx == nil || status < 200 {
		if tx != nil {
			// Proceeding: retransmit at T2 from now on (RFC 3261 §17.1.2.2).
			tx.interval = sip.T2
		}
		t.mu.Unlock()
		return // a provisional answer, or a late copy: absorbed
	}
	delete(t.pending, id)
	tx.timer.Stop()
	t.mu.Unlock()
	n.finish(tx, status)
}

// finish reports a NOTIFY transaction's outcome to the table and sends
// what the table queued behind it (one NOTIFY in flight per
// subscription, subs package doc).
func (n *notifier) finish(tx *notifyTx, status int) {
	if m := n.s.opts.Metrics; m != nil {
		m.NotifySent(status)
	}
	next := n.table.OnNotifyResponse(tx.nt.Sub, tx.nt.CSeq, status, time.Now())
	n.release()
	if next != nil {
		n.send(*next)
	}
}

// close ends every transaction in flight as timed out: Serve is over and
// no answer can be read any more. Later NOTIFYs go through sipgo, whose
// client fails at once on the cancelled context.
func (t *notifyTxs) close() []*notifyTx {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	out := make([]*notifyTx, 0, len(t.pending))
	for id, tx := range t.pending {
		tx.timer.Stop() // a leaf call: the runtime's timer, not a component
		delete(t.pending, id)
		out = append(out, tx)
	}
	return out
}

// inFlight is the number of transactions waiting for an answer.
func (t *notifyTxs) inFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

// answerOf reads a response datagram's status code and, when the branch
// of its top Via starts with prefix, the transaction number after it. It
// reads only the status line and the header lines up to the first Via
// (RFC 3261 §7.3: "v" is Via's compact form; names are case-insensitive)
// and allocates nothing.
func answerOf(data []byte, prefix string) (id uint64, status int, ok bool) {
	// "SIP/2.0 200 ..." (RFC 3261 §7.2)
	// The space after the code is required, but a bare CRLF is read too.
	if len(data) < 12 || !bytes.HasPrefix(data, []byte("SIP/2.0 ")) || (data[11] != ' ' && data[11] != '\r') {
		return 0, 0, false
	}
	if !bytes.Contains(data, []byte("\r\n\r\n")) {
		return 0, 0, false // headers never end: cut short, for sipgo to drop
	}
	for _, c := range data[8:11] {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 {
		return 0, 0, false
	}
	rest := data
	for {
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			return 0, 0, false
		}
		rest = rest[i+2:]
		if len(rest) == 0 || rest[0] == '\r' {
			return 0, 0, false // end of headers: no Via
		}
		line := rest
		if j := bytes.Index(line, []byte("\r\n")); j >= 0 {
			line = line[:j]
			if k := j + 2; k < len(rest) && (rest[k] == ' ' || rest[k] == '\t') {
				// A folded line (RFC 3261 §7.3.1): left to sipgo.
				return 0, 0, false
			}
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		name = bytes.TrimRight(name, " \t")
		if !bytes.EqualFold(name, []byte("via")) && !bytes.EqualFold(name, []byte("v")) {
			continue
		}
		// The top Via: the first value of the first Via line.
		if k := bytes.IndexByte(value, ','); k >= 0 {
			value = value[:k]
		}
		b := indexFold(value, ";branch=")
		if b < 0 {
			return 0, 0, false
		}
		branch := value[b+len(";branch="):]
		if k := bytes.IndexByte(branch, ';'); k >= 0 {
			branch = branch[:k]
		}
		// Anything else (white space, RFC 3261 §7.3.1 LWS) is left to
		// sipgo's parser and onParsedAnswer.
		num, isOurs := bytes.CutPrefix(branch, []byte(prefix))
		// Only the canonical text of a number cmed gave out (from 1, no
		// leading zero): "…01" is not the branch "…1" (RFC 3261 §17.1.3
		// compares branches as strings).
		if !isOurs || len(num) == 0 || len(num) > 13 || num[0] == '0' {
			return 0, 0, false
		}
		for _, c := range num {
			var d byte
			switch {
			case c >= '0' && c <= '9':
				d = c - '0'
			case c >= 'a' && c <= 'z':
				d = c - 'a' + 10
			default:
				return 0, 0, false
			}
			id = id*36 + uint64(d)
		}
		return id, status, true
	}
}

// indexFold is bytes.Index for a lower-case ASCII needle, ignoring case (header
// parameter names are case-insensitive, RFC 3261 §7.3.1).
func indexFold(s []byte, needle string) int {
outer:
	for i := 0; i+len(needle) <= len(s); i++ {
		for j := 0; j < len(needle); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				continue outer
			}
		}
		return i
	}
	return -1
}
