package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/sip/pidf"
	"github.com/cmed-project/cmed/pkg/sip/subs"
)

// notifier is the presence server for SIP watchers (RFC 6665 notifier,
// packages presence and dialog) and the compositor of what users publish
// (RFC 3903, publish.go): subs.Table keeps the RFC rules and the one copy
// of each DN's presence and each subscription's wire data, the blf engine
// decides authorisation and supplies lamp states, this file does the
// wire.
type notifier struct {
	s     *Server
	table *subs.Table
	// wake is signalled (capacity 1) when Deliver recorded a lamp in the
	// table; the drain loop then sends what changed.
	wake chan struct{}
	// txs are the NOTIFY transactions cmed runs itself (notifytx.go).
	txs *notifyTxs
	// names caches how cmed names itself in answers to SUBSCRIBE and in
	// the NOTIFYs it writes (self).
	names atomic.Pointer[selfNames]
	// noBatch writes a fan-out one datagram at a time: for
	// BenchmarkNotifyFanout's comparison (notifybatch.go).
	noBatch atomic.Bool
}

// watch is the wire data of one subscription, stored in subs.Table as
// SubscribeInfo.Wire and handed back with every Notify. Immutable.
type watch struct {
	local     sip.Uri // the presentity AoR: From of our NOTIFYs
	remote    sip.Uri // the watcher: To of our NOTIFYs
	transport string
	// localText and remoteText are local and remote as text, rendered
	// once per subscription for the NOTIFYs cmed writes itself
	// (notifytx.go).
	localText, remoteText string
}

func newWatch(local, remote sip.Uri, transport string) *watch {
	return &watch{local: local, remote: remote, transport: transport, localText: local.String(), remoteText: remote.String()}
}

func newNotifier(s *Server) *notifier {
	n := &notifier{s: s, wake: make(chan struct{}, 1), txs: newNotifyTxs()}
	n.table = subs.NewTable(subs.Config{FoldRinging: s.opts.FoldRinging, NotifyTimeout: s.opts.NotifyTimeout})
	return n
}

// Deliver implements blf.Watcher; it runs under the engine lock and only
// records (the table's lock is a leaf) and signals (blf package doc,
// docs/architecture.md §Lock-order). The drain loop is woken only when
// the table has something new to flush: every SUBSCRIBE gets a delivery of
// the state the table already holds, and waking a goroutine for nothing
// is a thread switch per SUBSCRIBE (BENCHMARKS.md).
func (n *notifier) Deliver(u blf.Update) {
	if !n.table.Record(u.Presentity, n.lineState(u.Presentity, u.State, u.Held), time.Now()) {
		return
	}
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// lineState maps a lamp to the body model. DND is a flag on an idle line
// (pidf.LineState doc); the engine reports DND only for idle SCCP DNs. A
// held line (blf.Update.Held) is StatusHold: PIDF on-the-phone with the
// note "On hold", dialog-info a confirmed dialog whose local target has
// +sip.rendering="no" (docs/sip-presence.md §State-mapping).
func (n *notifier) lineState(number string, st blf.State, held bool) pidf.LineState {
	ls := pidf.LineState{Entity: "sip:" + number + "@" + n.s.host(), Number: number}
	switch st {
	case blf.StateIdle:
		ls.Status = pidf.StatusIdle
	case blf.StateInUse:
		ls.Status = pidf.StatusInUse
		if held {
			ls.Status = pidf.StatusHold
		}
	case blf.StateAlerting:
		ls.Status = pidf.StatusRinging
	case blf.StateDND:
		ls.Status, ls.DND = pidf.StatusIdle, true
	default:
		ls.Status = pidf.StatusUnknown
	}
	return ls
}

func (n *notifier) drainLoop(ctx context.Context) {
	defer n.s.wg.Done()
	var buf []subs.Notify
	var txs []*notifyTx
	var b batcher
	for {
		select {
		case <-ctx.Done():
			// Serve is over: no answer will be read any more.
			for _, tx := range n.txs.close() {
				n.finish(tx, subs.StatusTimeout)
			}
			return
		case <-n.wake:
		}
		buf = n.table.Flush(buf[:0], time.Now())
		for _, nt := range buf {
			// A fan-out's first transmissions leave in one batch
			// (notifybatch.go); the rest go through sipgo.
			if tx := n.startUDP(nt); tx != nil {
				txs = append(txs, tx)
			} else {
				n.sendSipgo(nt)
			}
		}
		n.writeBatch(&b, txs)
		clear(buf) // drop the bodies until the next round
		clear(txs)
		txs = txs[:0]
	}
}

func (n *notifier) tick(now time.Time) {
	for _, nt := range n.table.Tick(now) {
		n.send(nt)
	}
	n.release()
}

func verdictFor(err error) subs.Verdict {
	var re *blf.RefusedError
	if !errors.As(err, &re) {
		return subs.RefuseServiceDisabled
	}
	switch re.Reason {
	case blf.ReasonMaxSubscriptions:
		return subs.RefuseLimit
	case blf.ReasonNotWatchable:
		return subs.RefuseNotWatchable
	case blf.ReasonExternalNotAllowed:
		return subs.RefuseWatcherNotAllowed
	case blf.ReasonUnknownPresentity:
		return subs.RefuseNoSuchPresentity
	}
	return subs.RefuseServiceDisabled
}

func subscribeInfo(req *sip.Request) subs.SubscribeInfo {
	info := subs.SubscribeInfo{CallID: req.CallID().Value(), FromTag: tagOf(req.From().Params), ToTag: tagOf(req.To().Params)}
	// One pass over the headers, names without case (firstHeader says
	// why not GetHeader).
	for _, h := range req.Headers() {
		name := h.Name()
		switch {
		case info.Event == "" && strings.EqualFold(name, "Event"):
			info.Event = h.Value()
		case strings.EqualFold(name, "Accept"):
			for v := range strings.SplitSeq(h.Value(), ",") {
				if v = strings.TrimSpace(v); v != "" {
					info.Accept = append(info.Accept, v)
				}
			}
		case !info.HasExpires && strings.EqualFold(name, "Expires"):
			n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
			if err != nil || n < 0 {
				n = 0 // unparsable: treated as too brief below
			}
			info.Expires, info.HasExpires = n, true
		case strings.EqualFold(name, "Record-Route"):
			// Route set for a UAS: Record-Route in order (RFC 3261 §12.1.1).
			info.RouteSet = append(info.RouteSet, h.Value())
		}
	}
	if c := req.Contact(); c != nil {
		info.Contact = c.Address.String()
	}
	return info
}

// onSubscribe handles SUBSCRIBE: initial, refresh and unsubscribe (RFC 6665
// §4.2.1), with CME's policy (docs/cme-behaviour.md §Presence-rules).
func (n *notifier) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	s := n.s
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		s.respond(tx, sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	info := subscribeInfo(req)
	now := time.Now()
	if info.ToTag != "" {
		// In-dialog: refresh or unsubscribe. Authorisation rode on the
		// dialog-creating request (as Kamailio does, docs/sip-presence.md §Test-rig).
		info.Verdict = subs.Allow
		dec := n.table.OnSubscribe(info, now)
		n.answer(req, tx, dec)
		n.release()
		return
	}
	if info.Contact == "" {
		s.respond(tx, sip.NewResponseFromRequest(req, 400, "Missing Contact", nil))
		return
	}
	// Dry run with a refusing verdict: Event (489), Expires (423) and
	// Accept (406) are checked by the table before any verdict, so anything
	// but the refusal's 503 is the answer, and no engine subscription is
	// made for a request that would fail anyway.
	probe := info
	probe.Verdict = subs.RefuseLimit
	if dec := n.table.OnSubscribe(probe, now); dec.Status != 503 {
		n.answer(req, tx, dec)
		return
	}

	cfg := s.cfg()
	number := req.Recipient.User
	if number == "" {
		number = req.To().Address.User
	}
	// CME shows a trunk watcher as <number>@<ip> (docs/cme-cli.md
	// §Show-presence-subscription), not the signalling host:port.
	kind, watcherName := blf.KindSIPTrunk, req.From().Address.User+"@"+hostOf(req.Source())
	if b, ok := s.reg.localWatcher(req); ok {
		kind, watcherName = blf.KindSIPPhone, req.From().Address.User+"@"+hostOf(b.Source)
	} else if g := cfg.VoiceRegisterGlobal; g != nil && g.AuthenticatePresence {
		// docs/cme-behaviour.md §Presence-rules rule 3: trunk watchers are challenged against the
		// credential files; local phones never are.
		user, ok := s.authenticate(req, tx, s.trunkPassword)
		if !ok {
			return
		}
		watcherName = user + "@" + hostOf(req.Source())
	} else if !s.trustedSource(req) && !hostItself(req) {
		// A trunk watcher that neither authenticated nor comes from a
		// trusted peer gets the same 403 for every number, before the
		// number is looked at: no enumeration, and no share of
		// max-subscription (docs/security.md §Presence-exposure).
		s.forbid(req, tx)
		return
	}
	expires := time.Duration(info.Expires) * time.Second
	if !info.HasExpires {
		expires = time.Hour
	}
	blfID, err := s.opts.Presence.Subscribe(blf.SubscribeRequest{Watcher: n, WatcherName: watcherName, Kind: kind,
		Presentity: number, CanShowAlerting: true, Expires: expires})
	info.Verdict = subs.Allow
	if err != nil {
		info.Verdict = verdictFor(err)
	}
	info.Watcher = req.From().Address.String()
	info.Presentity = number
	info.Remote = kind == blf.KindSIPTrunk
	local := sip.Uri{Scheme: "sip", User: number, Host: s.host()}
	info.Entity = local.String()
	// The engine recorded the current lamp in the table before Subscribe
	// returned (Deliver); this unknown state is used only when its
	// delivery comes later, and that delivery then sends the real state.
	info.State = n.lineState(number, blf.StateUnknown, false)
	info.Wire = newWatch(local, req.From().Address, req.Transport())
	if err == nil {
		info.EngineID = uint64(blfID)
	}

	dec := n.table.OnSubscribe(info, now)
	if dec.Status != 200 && err == nil {
		_ = s.opts.Presence.Unsubscribe(blfID)
	}
	n.answer(req, tx, dec)
	n.release() // a fetch (Expires: 0) is over at once
}

// answer sends the response for dec, then its NOTIFY (RFC 6665 §4.2.1:
// 200 first, NOTIFY right after; subscribers tolerate either order).
func (n *notifier) answer(req *sip.Request, tx sip.ServerTransaction, dec subs.Decision) {
	res := sip.NewResponseFromRequest(req, dec.Status, dec.Reason, nil)
	if dec.LocalTag != "" {
		res.To().Params.Add("tag", dec.LocalTag)
	}
	switch dec.Status {
	case 200:
		res.AppendHeader(sip.NewHeader("Expires", itoa(dec.Expires)))
		res.AppendHeader(sip.NewHeader("Contact", n.contactText(req.Transport())))
	case 423:
		res.AppendHeader(sip.NewHeader("Min-Expires", itoa(dec.MinExpires)))
	case 489:
		res.AppendHeader(sip.NewHeader("Allow-Events", dec.AllowEvents))
	case 406:
		res.AppendHeader(sip.NewHeader("Accept", dec.Accept))
	}
	if dec.RetryAfter > 0 {
		res.AppendHeader(sip.NewHeader("Retry-After", itoa(dec.RetryAfter)))
	}
	n.s.respond(tx, res)
	if dec.Notify != nil {
		n.send(*dec.Notify)
	}
}

// selfNames is how cmed names itself, for one pair of listening
// addresses and one configuration: the Contact values ("<URI>") of
// answers to SUBSCRIBE per transport, and the Via sent-by of the NOTIFYs
// it writes (notifytx.go).
type selfNames struct {
	udp, tcp               netip.AddrPort
	cfg                    *config.Config
	udpContact, tcpContact string
	via                    string // host:port of the UDP listener
}

// self returns the names, rebuilt only when a listening address or the
// configuration (source-address, Server.host) changed: a URI object per
// message was a handful of allocations, and its text once more when an
// answer is written and kept (txcache.go).
func (n *notifier) self() *selfNames {
	u, t := n.s.Addr()
	cfg := n.s.cfg()
	c := n.names.Load()
	if c == nil || c.udp != u || c.tcp != t || c.cfg != cfg {
		cu, ct := n.s.contactURI("", "udp"), n.s.contactURI("", "tcp")
		c = &selfNames{udp: u, tcp: t, cfg: cfg, udpContact: "<" + cu.String() + ">", tcpContact: "<" + ct.String() + ">",
			via: net.JoinHostPort(n.s.host(), strconv.Itoa(int(u.Port())))}
		n.names.Store(c)
	}
	return c
}

// contactText is the Contact value of an answer received over transport.
func (n *notifier) contactText(transport string) string {
	if strings.EqualFold(transport, "tcp") {
		return n.self().tcpContact
	}
	return n.self().udpContact
}

// release ends the engine subscriptions of terminated subscriptions, so
// they stop counting against max-subscription at once. The table hands
// each out once; no lock is held while calling the engine.
func (n *notifier) release() {
	var buf [8]uint64
	for _, id := range n.table.TakeReleased(buf[:0]) {
		_ = n.s.opts.Presence.Unsubscribe(blf.SubID(id))
	}
}

// send runs one NOTIFY transaction and then the ones the table queues
// behind it (coalesced state, or the terminating NOTIFY): one in flight
// per subscription (subs package doc). Over UDP to an IP address cmed
// runs the transaction itself (notifytx.go); otherwise through sipgo, on
// a goroutine of its own.
func (n *notifier) send(nt subs.Notify) {
	if n.sendUDP(nt) {
		return
	}
	n.sendSipgo(nt)
}

// sendSipgo is send through sipgo's client transaction, on a goroutine of
// its own.
func (n *notifier) sendSipgo(nt subs.Notify) {
	go func() {
		for cur := &nt; cur != nil; {
			status := n.transact(cur)
			if m := n.s.opts.Metrics; m != nil {
				m.NotifySent(status)
			}
			next := n.table.OnNotifyResponse(cur.Sub, cur.CSeq, status, time.Now())
			n.release()
			cur = next
		}
	}()
}

// transact sends a NOTIFY and returns the final status (0: no answer).
func (n *notifier) transact(nt *subs.Notify) int {
	cp, ok := nt.Wire.(*watch)
	if !ok {
		return 481 // not made by onSubscribe: nowhere to send it
	}
	var target sip.Uri
	if err := sip.ParseUri(nt.Contact, &target); err != nil {
		return 481
	}
	req := sip.NewRequest(sip.NOTIFY, target)
	req.SetTransport(strings.ToUpper(cp.transport))
	from := &sip.FromHeader{Address: cp.local, Params: sip.HeaderParams{}}
	from.Params.Add("tag", nt.Dialog.LocalTag)
	to := &sip.ToHeader{Address: cp.remote, Params: sip.HeaderParams{}}
	to.Params.Add("tag", nt.Dialog.RemoteTag)
	callID := sip.CallIDHeader(nt.Dialog.CallID)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: nt.CSeq, MethodName: sip.NOTIFY})
	req.AppendHeader(&maxFwd)
	for _, r := range nt.RouteSet {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	req.AppendHeader(&sip.ContactHeader{Address: n.s.contactURI("", cp.transport)})
	req.AppendHeader(sip.NewHeader("Event", nt.Event))
	req.AppendHeader(sip.NewHeader("Subscription-State", nt.SubscriptionState))
	req.AppendHeader(sip.NewHeader("Content-Type", nt.ContentType))
	req.SetBody(nt.Body)
	n.s.prepare(req)
	// No per-request deadline: the non-INVITE client transaction ends by
	// itself at Timer F (64·T1, RFC 3261 §17.1.2.2), and a context timer
	// per NOTIFY is measurable at fan-out rates.
	res, err := n.s.client.Do(n.s.context(), req)
	if err != nil {
		n.s.log.Debug("sip: NOTIFY failed", "to", nt.Contact, "err", err)
		return subs.StatusTimeout
	}
	return res.StatusCode
}

// shutdown terminates every subscription and waits for the NOTIFYs.
func (n *notifier) shutdown(ctx context.Context) {
	for _, nt := range n.table.Shutdown(time.Now()) {
		n.send(nt)
	}
	n.release()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for n.table.Len() > 0 || n.pending() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *notifier) pending() int {
	c := 0
	for _, in := range n.table.List() {
		if in.InFlight || in.Terminated {
			c++
		}
	}
	return c
}

// Subscriptions lists the SIP watchers' subscriptions (cmed as notifier).
func (s *Server) Subscriptions() []subs.Info { return s.pres.table.List() }

func itoa(v int) string {
	return strconv.Itoa(v)
}
