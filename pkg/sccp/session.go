package sccp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
)

// readBufferSize is small on purpose: most frames are under 100 bytes and a
// larger one is read straight through (10,000 phones × 512 B).
const readBufferSize = 512

// maxCallListSubs bounds the call-list subscriptions one phone may hold; a
// phone shows at most a few dozen call-list entries at a time.
const maxCallListSubs = 64

// session is one phone connection. Fields under mu are shared between the
// reader goroutine and the core's / presence engine's callbacks; the reader
// never holds mu while calling the core (whose callbacks take mu).
type session struct {
	srv    *Server
	conn   net.Conn
	ip     netip.Addr
	remote netip.AddrPort
	log    *sessionLog

	// Owned by the reader goroutine (set once before registration is published).
	name  string
	br    *bufio.Reader
	ended string // why the session ended

	keepAlives atomic.Uint64
	closeOnce  sync.Once
	closed     chan struct{}

	// Write side, guarded by wmu. Lamp states live here so a change is
	// rendered when written: the latest state wins (pkg/blf's rule).
	wmu        sync.Mutex // guards the write side below; a leaf (lamp Deliver from the blf engine takes it), never held while writing to the socket or calling out
	wq         []byte     // pending frames, back to back
	wqFrames   int
	writing    bool
	wclosed    bool
	wwg        sync.WaitGroup
	wmodel     msg.Model
	wversion   uint32
	wcharset   msg.Charset // what the phone displays, from Register (docs/sccp.md §Charset)
	lamps      []lampState // by speed-dial instance - 1; nil entries for plain speed dials
	lampDirty  []uint32
	listDirty  []uint32
	listStates map[uint32]msg.BLFStatus // call-list BLF by transaction id

	// The read deadline set last and the timeout it was set for
	// (extendReadDeadline); only the reader uses them.
	rdeadline time.Time
	rto       time.Duration

	mu           sync.Mutex // guards the registration state below; a leaf: never held while taking wmu or calling the Switch or Presence
	registered   bool
	provisioned  bool
	id           dn.DeviceID
	ephone       *config.Ephone
	model        msg.Model
	version      uint32
	phoneVersion uint32
	reg          regFacts
	layout       *layout
	keepaliveSec int
	regAt        time.Time
	availLines   int
	dnd          bool
	calls        map[dn.CallID]*callView
	lampSubs     []blf.SubID
	listSubs     map[uint32]blf.SubID
	forward      map[uint32]string // CFwdAll target per line instance
	lastDialed   string
	dialing      map[dn.CallID]string // digits sent to the core per dialling call
	passThru     uint32
	caps         []msg.MediaCapability
	fwdEntry     *fwdEntry
	resetSent    bool
	xferHeld     dn.CallID // transfer in progress: the held call
	xferConsult  dn.CallID // and the consultation call
	keySets      keySets   // this phone's SoftKeySetRes (softkeys.go)
	blockedKeys  []uint32  // softkey events `features blocked` takes away
}

// regFacts are the Register fields kept for show and VersionReq.
type regFacts struct {
	DeviceType       msg.DeviceType
	StationIP        netip.Addr
	MaxStreams       uint32
	FirmwareLoadName string
}

type lampState struct {
	blf    bool
	asked  bool // the phone asked FeatureStatReq for it
	status msg.BLFStatus
	label  string
}

func newSession(srv *Server, c net.Conn, ip netip.Addr) *session {
	s := &session{srv: srv, conn: c, ip: ip, closed: make(chan struct{})}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		s.remote = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	s.log = &sessionLog{s: s}
	s.wmodel = msg.Model{MaxVersion: msg.DefaultMaxVersion}
	return s
}

// close ends the session: the connection is closed, the reader returns and
// cleans up. Safe from any goroutine, more than once.
func (s *session) close(reason string) {
	s.closeOnce.Do(func() {
		s.wmu.Lock()
		s.wclosed = true
		s.wq = nil
		s.wmu.Unlock()
		s.mu.Lock()
		if s.ended == "" {
			s.ended = reason
		}
		s.mu.Unlock()
		close(s.closed)
		s.conn.Close()
	})
}

func (s *session) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// run is the first reader goroutine. It handles the registration
// sequence in place (dispatch) and, once the phone is provisioned
// (TimeDateReq, docs/sccp.md §Registration-sequence step 14), hands the
// connection to a fresh reader goroutine and returns: the stack that
// handling grew goes with it, and the settled phone is read by a goroutine
// with a small stack (see dispatch).
func (s *session) run() {
	s.br = bufio.NewReaderSize(s.conn, readBufferSize)
	if !s.readFrames(true) {
		s.finish()
		return
	}
	s.srv.wg.Add(1) // before this goroutine's own Done (Server.serveConn)
	go func() {
		defer s.srv.wg.Done()
		defer s.finish()
		s.readFrames(false)
	}()
}

// readFrames reads and dispatches frames until the connection ends
// (false) or, while registering, until the phone is provisioned (true).
func (s *session) readFrames(registering bool) bool {
	for {
		s.extendReadDeadline()
		f, err := msg.ReadFrame(s.br, s.srv.limits.MaxFrame)
		if err != nil {
			s.close(readErrorReason(err))
			return false
		}
		s.dispatch(f, registering)
		if s.isClosed() {
			return false
		}
		if registering && s.isProvisioned() {
			return true
		}
	}
}

// extendReadDeadline makes sure the read deadline is at least the read
// timeout away. Moving it costs a runtime timer update, once per frame
// when done unconditionally (~4 % of the server's CPU in a registration
// storm, BENCHMARKS.md "SCCP registration: frames handled in place"), so
// it is moved an eighth of the timeout further than needed and then left
// alone until a frame comes later than that: a silent phone is dropped
// after at least the timeout (readTimeout) and at most 9/8 of it. A
// changed timeout (registration done) moves it at once. Reader only.
func (s *session) extendReadDeadline() {
	t := s.readTimeout()
	now := time.Now()
	if t == s.rto && !now.Add(t).After(s.rdeadline) {
		return
	}
	s.rto, s.rdeadline = t, now.Add(t+t/8)
	s.conn.SetReadDeadline(s.rdeadline)
}

func (s *session) isProvisioned() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.provisioned
}

// dispatch decodes and handles one frame. During registration (inPlace)
// and for keepalives, most of what a settled phone sends, that happens on
// the reader; anything else a settled phone sends runs on a short-lived
// goroutine the reader waits for. Decoding and handling (registration,
// the core's blocking calls, logging) need several KiB of stack, and a
// goroutine keeps its largest stack until a GC shrinks it: handled in a
// long-lived reader, every idle phone held an 8 KiB stack instead of 2
// KiB, about a quarter of its RSS (BENCHMARKS.md). The registration's
// thirty-odd frames are handled in place all the same, because a
// goroutine per frame cost 10-18 % of the server's CPU in a registration
// storm (BENCHMARKS.md, "SCCP registration: frames handled in place"),
// and the reader that did it ends with the registration (run). Waiting
// keeps the order and the one-message-at-a-time behaviour of handling in
// the reader.
//
// While a frame is handled the reader holds the writer role (see
// holdWriter): whatever the handler sends is queued, and the reader writes
// it all in one write once the handler returns, so an answer of several
// messages (RegisterAck + CapabilitiesReq, SoftKeySetRes + SelectSoftKeys,
// docs/sccp.md §Registration-sequence) costs one syscall and no writer
// goroutine.
func (s *session) dispatch(f msg.Frame, inPlace bool) {
	held := s.holdWriter()
	if inPlace || f.Header.ID == msg.IDKeepAlive {
		s.decodeAndHandle(f)
	} else {
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.decodeAndHandle(f)
		}()
		<-done
	}
	if held {
		s.writeLoop() // drains the queue and gives the writer role back
	}
}

// holdWriter makes the reader the session's writer while it handles a
// frame, so sends during handling only queue (kickLocked starts no writer
// while writing is set). It reports false when a writer is already
// running (it then writes what the handler queues) or the session is
// closed. closeAfterFlush and finish wait for a held writer through wwg
// like for a writer goroutine.
func (s *session) holdWriter() bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.writing || s.wclosed {
		return false
	}
	s.writing = true
	s.wwg.Add(1)
	return true
}

func (s *session) decodeAndHandle(f msg.Frame) {
	m, err := msg.Decode(s.negotiated(), f.Header.ID, f.Payload)
	if err != nil {
		// The frame boundary is still known: skip it (docs/sccp.md §Checklist item 1).
		s.log.Debug("sccp: malformed message skipped", "device", s.name, "id", f.Header.ID.String(), "err", err)
		return
	}
	s.handle(m)
}

func readErrorReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by phone"
	case errors.As(err, &ne) && ne.Timeout():
		return "keepalive timeout"
	case errors.Is(err, msg.ErrFrameSize):
		return "bad frame length"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	}
	return "read error: " + err.Error()
}

// readTimeout: Register must come within the handshake timeout; a
// registered phone may be silent for two keepalive intervals plus a grace.
func (s *session) readTimeout() time.Duration {
	s.mu.Lock()
	ka := s.keepaliveSec
	s.mu.Unlock()
	if ka == 0 {
		return s.srv.limits.HandshakeTimeout
	}
	return 2*time.Duration(ka)*time.Second + s.srv.limits.KeepaliveGrace
}

func (s *session) negotiated() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.version == 0 {
		return msg.DefaultMaxVersion
	}
	return s.version
}

// finish runs once the reader stops: unregister from the core and the
// presence engine, so watchers see unknown at once.
func (s *session) finish() {
	s.close("closed")
	s.wmu.Lock()
	s.wclosed = true
	s.wmu.Unlock()
	s.wwg.Wait()
	s.mu.Lock()
	registered, id, reason := s.registered, s.id, s.ended
	subs := slices.Clone(s.lampSubs)
	for _, sub := range s.listSubs {
		subs = append(subs, sub)
	}
	s.lampSubs, s.listSubs = nil, nil
	s.registered = false
	s.mu.Unlock()
	if p := s.srv.Presence; p != nil {
		for _, sub := range subs {
			p.Unsubscribe(sub)
		}
	}
	if registered {
		if err := s.srv.Switch.UnregisterDevice(id); err != nil && !errors.Is(err, dn.ErrStaleDevice) &&
			!errors.Is(err, dn.ErrUnknownDevice) && !errors.Is(err, dn.ErrClosed) {
			s.log.Warn("sccp: unregister failed", "device", s.name, "err", err)
		}
		s.log.Info("sccp: phone unregistered", "device", s.name, "reason", reason)
		if m := s.srv.Metrics; m != nil {
			m.Disconnected(reason)
		}
	} else {
		// A connection that never registered (garbage, a scan, a phone
		// that gave up) still gets a line, so bad input is visible.
		s.log.Warn("sccp: connection dropped before registration", "remote", s.conn.RemoteAddr().String(), "reason", reason)
	}
	s.srv.release(s)
}

// ---- writing ----

// send queues messages for the writer. Ids the model must never get are
// dropped here, so nothing outside the model table reaches a phone
// (docs/sccp.md §Checklist item 5). A queue past its limit drops the connection.
func (s *session) send(ms ...msg.Message) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wclosed {
		return
	}
	for _, m := range ms {
		s.appendLocked(m)
	}
	s.kickLocked()
}

func (s *session) appendLocked(m msg.Message) {
	if !s.wmodel.MaySend(m.ID()) {
		s.log.Debug("sccp: message withheld from model", "device", s.name, "model", s.wmodel.Name, "id", m.ID().String())
		return
	}
	// Every text goes out in the phone's charset (docs/sccp.md §Charset).
	m = msg.Localize(m, s.wcharset)
	q := s.wq
	if q == nil {
		q = getWriteBuf()
	}
	b, err := msg.AppendFrame(q, msg.HeaderVersion(s.wversion, m.ID()), m)
	if err != nil {
		if s.wq == nil {
			putWriteBuf(q) // taken for this frame only
		}
		return
	}
	s.wq = b
	s.wqFrames++
}

func (s *session) kickLocked() {
	if s.wqFrames+len(s.lampDirty)+len(s.listDirty) > s.srv.limits.QueueLen {
		s.wclosed = true
		s.wq = nil
		go s.close("send queue full")
		return
	}
	if !s.writing && (len(s.wq) > 0 || len(s.lampDirty) > 0 || len(s.listDirty) > 0) {
		s.writing = true
		s.wwg.Add(1)
		go s.writeLoop()
	}
}

// flushed reports whether everything queued for the phone has been written.
func (s *session) flushed() bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.wclosed || (!s.writing && len(s.wq) == 0)
}

// writeLoop drains the queue and exits when it is empty; it runs on its
// own goroutine (kickLocked) or on the reader after a held frame
// (dispatch). Each pass writes everything queued so far in one write.
func (s *session) writeLoop() {
	defer s.wwg.Done()
	for {
		s.wmu.Lock()
		for _, inst := range s.lampDirty {
			l := s.lamps[inst-1]
			s.appendLocked(&msg.FeatureStatV2Res{Index: inst, Feature: msg.ButtonBLFSpeedDial,
				Status: uint32(l.status), Label: l.label})
		}
		s.lampDirty = s.lampDirty[:0]
		for _, tid := range s.listDirty {
			if st, ok := s.listStates[tid]; ok {
				s.appendLocked(&msg.Notification{TransactionID: tid, FeatureID: msg.SubscriptionFeatureBLF, Status: st})
			}
		}
		s.listDirty = s.listDirty[:0]
		buf := s.wq
		s.wq, s.wqFrames = nil, 0
		if len(buf) == 0 || s.wclosed {
			s.writing = false
			s.wmu.Unlock()
			return
		}
		s.wmu.Unlock()
		s.conn.SetWriteDeadline(time.Now().Add(s.srv.limits.WriteTimeout))
		_, err := s.conn.Write(buf)
		putWriteBuf(buf) // Write has copied it (TCP) or handed it over (net.Pipe)
		if err != nil {
			s.wmu.Lock()
			s.writing = false
			s.wmu.Unlock()
			s.close("write error")
			return
		}
	}
}

// writeBufs recycles the writer's frame buffers across sessions: an idle
// phone holds none, and a lamp update (10,000 a second at 20,000 phones)
// no longer leaves a fresh buffer behind as garbage.
var writeBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledWriteBuf keeps a rare large burst (a phone's whole provisioning)
// from pinning big buffers in the pool.
const maxPooledWriteBuf = 4 << 10

func getWriteBuf() []byte {
	return (*writeBufs.Get().(*[]byte))[:0]
}

func putWriteBuf(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooledWriteBuf {
		return
	}
	writeBufs.Put(&b)
}

// setLamp records a BLF lamp state and sends it when the phone has asked for
// that button or finished registering.
func (s *session) setLamp(inst uint32, st msg.BLFStatus) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if inst < 1 || int(inst) > len(s.lamps) || !s.lamps[inst-1].blf {
		return
	}
	if st == msg.BLFAlerting && s.wmodel.Has(msg.NoAlertingBLF) {
		st = msg.BLFInUse // 7940/7960 do not render alerting (docs/sccp.md §Native-BLF)
	}
	l := &s.lamps[inst-1]
	changed := l.status != st
	l.status = st
	if changed && l.asked && !s.wclosed && !slices.Contains(s.lampDirty, inst) {
		s.lampDirty = append(s.lampDirty, inst)
		s.kickLocked()
	}
}

func (s *session) setListState(tid uint32, st msg.BLFStatus) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.listStates == nil {
		s.listStates = map[uint32]msg.BLFStatus{}
	}
	// CS sends in use instead of alerting on call lists: alerting "does not
	// show correctly" there (docs/sccp.md §Call-list-BLF).
	if st == msg.BLFAlerting {
		st = msg.BLFInUse
	}
	s.listStates[tid] = st
	if !s.wclosed && !slices.Contains(s.listDirty, tid) {
		s.listDirty = append(s.listDirty, tid)
		s.kickLocked()
	}
}

// lampWatcher and listWatcher are the blf.Watcher of one button or one
// call-list entry. Deliver is called with the engine lock held: it only
// records the state and wakes the writer.
type lampWatcher struct {
	s    *session
	inst uint32
}

func (w *lampWatcher) Deliver(u blf.Update) { w.s.setLamp(w.inst, msg.BLFStatus(u.State)) }

type listWatcher struct {
	s   *session
	tid uint32
}

func (w *listWatcher) Deliver(u blf.Update) { w.s.setListState(w.tid, msg.BLFStatus(u.State)) }

// ---- registration ----

// macOf turns "SEP00127F5762A5" into "0012.7F57.62A5" for logs.
func macOf(deviceName string) string {
	h := strings.TrimPrefix(strings.ToUpper(deviceName), "SEP")
	if len(h) != 12 {
		return h
	}
	return h[0:4] + "." + h[4:8] + "." + h[8:12]
}

// dateTemplate is RegisterAck's date template from `date-format` and
// `time-format` ("A" = 12-hour clock, docs/sccp.md §Registration-messages).
func dateTemplate(t *config.Telephony) string {
	d := "M/D/Y"
	if t != nil {
		switch t.DateFormat {
		case "dd-mm-yy":
			d = "D/M/Y"
		case "yy-dd-mm":
			d = "Y/D/M"
		case "yy-mm-dd":
			d = "Y/M/D"
		}
		if t.TimeFormat == 24 {
			return d
		}
	}
	return d + "A"
}

func (s *session) reject(text string) {
	// Written directly: nothing else writes to an unregistered session.
	s.conn.SetWriteDeadline(time.Now().Add(s.srv.limits.WriteTimeout))
	msg.WriteMessage(s.conn, 0, &msg.RegisterReject{Text: text})
	s.close("rejected: " + text)
}

func (s *session) onRegister(r *msg.Register) {
	s.mu.Lock()
	already := s.registered
	s.mu.Unlock()
	if already {
		s.log.Debug("sccp: duplicate Register ignored", "device", s.name)
		return
	}
	idx := s.srv.index()
	cfg := idx.cfg
	e := idx.ephone(r.DeviceName)
	if e == nil {
		s.log.Warn("sccp: registration rejected: unknown device", "device", r.DeviceName, "mac", macOf(r.DeviceName),
			"ip", r.StationIP.String())
		if m := s.srv.Metrics; m != nil {
			m.Rejected("unknown-device")
		}
		s.reject("Unknown device " + macOf(r.DeviceName))
		return
	}
	model, ok := msg.ModelByDeviceType(uint32(r.DeviceType))
	if !ok {
		model, ok = msg.ModelByName(e.Type)
	}
	if !ok {
		model = msg.Model{Name: e.Type, Lines: 1, Buttons: 1, MaxVersion: msg.DefaultMaxVersion}
	}
	version := model.NegotiateVersion(uint32(r.ProtocolVersion))
	ka := e.Keepalive
	if ka <= 0 {
		ka = cfg.Telephony.KeepaliveSeconds()
	}
	lay := buildLayout(e, model, version)
	ks, blocked := softKeysFor(cfg, e)
	s.name = dn.DeviceName(e.MAC)

	s.mu.Lock()
	s.ephone, s.model, s.version, s.phoneVersion = e, model, version, uint32(r.ProtocolVersion)
	s.reg = regFacts{DeviceType: r.DeviceType, StationIP: r.StationIP, MaxStreams: r.MaxStreams,
		FirmwareLoadName: r.FirmwareLoadName}
	s.layout, s.keepaliveSec, s.regAt = lay, ka, s.srv.Now()
	s.keySets, s.blockedKeys = ks, blocked
	for _, b := range lay.Lines {
		if d := idx.dn(b.DN); d != nil && d.CallForward.All != "" {
			if s.forward == nil {
				s.forward = map[uint32]string{}
			}
			s.forward[b.Instance] = d.CallForward.All
		}
	}
	s.mu.Unlock()

	s.wmu.Lock()
	s.wmodel, s.wversion, s.wcharset = model, version, msg.CharsetOf(r)
	s.lamps = make([]lampState, len(lay.Speeds))
	for i, sp := range lay.Speeds {
		label := sp.Label
		if label == "" {
			label = sp.Number
		}
		s.lamps[i] = lampState{blf: sp.BLF, label: label}
	}
	s.wmu.Unlock()

	if old := s.srv.claim(s.name, s); old != nil {
		old.log.Info("sccp: session replaced by a new connection", "device", s.name)
		old.close("replaced by a new connection")
	}
	// RegisterAck is followed at once by CapabilitiesReq (docs/sccp.md §Registration-sequence step 2).
	s.send(&msg.RegisterAck{KeepAliveInterval: uint32(ka), DateTemplate: dateTemplate(cfg.Telephony),
		SecondaryKeepAliveInterval: uint32(2 * ka), MaxProtocolVersion: uint8(version),
		Features: msg.RegisterAckFeatures(version)}, &msg.CapabilitiesReq{})

	info := dn.DeviceInfo{Name: s.name, Protocol: dn.SCCP, Model: model.Name, Addr: s.remote.String(),
		Extra: map[string]string{
			ExtraVersion: itoa(version), ExtraPhoneVersion: itoa(r.ProtocolVersion), ExtraDeviceType: itoa(r.DeviceType),
			ExtraModel: model.Name, ExtraIP: r.StationIP.String(), ExtraPort: itoa(s.remote.Port()),
			ExtraMaxStreams: itoa(r.MaxStreams), ExtraMaxLines: itoa(len(lay.Lines)), ExtraKeepalive: itoa(ka),
		}}
	if r.FirmwareLoadName != "" {
		info.Extra[ExtraLoad] = r.FirmwareLoadName
	}
	id, err := s.srv.Switch.RegisterDevice(info, s)
	if err != nil {
		s.log.Warn("sccp: core refused registration", "device", s.name, "err", err)
		if m := s.srv.Metrics; m != nil {
			m.Rejected("core-refused")
		}
		s.close("core refused registration")
		return
	}
	s.mu.Lock()
	s.id, s.registered = id, true
	s.mu.Unlock()
	s.log.Info("sccp: phone registered", "device", s.name, "mac", macOf(s.name), "model", model.Name,
		"version", version, "phone_version", r.ProtocolVersion, "ip", r.StationIP.String())
	if m := s.srv.Metrics; m != nil {
		m.Registered(model.Name)
	}
	s.subscribeLamps(idx, lay, model)
}

// subscribeLamps watches every BLF speed-dial's number. A refused
// subscription (no presence, max-subscription) leaves the lamp unknown.
func (s *session) subscribeLamps(idx *cfgIndex, lay *layout, model msg.Model) {
	p := s.srv.Presence
	if p == nil {
		return
	}
	watcherName := s.watcherName(idx, lay)
	var subs []blf.SubID
	for _, sp := range lay.Speeds {
		if !sp.BLF || sp.Number == "" {
			continue
		}
		id, err := p.Subscribe(blf.SubscribeRequest{Watcher: &lampWatcher{s: s, inst: sp.Instance},
			WatcherName: watcherName, Kind: blf.KindSCCPSpeedDial, Presentity: sp.Number, Device: sp.Device,
			CanShowAlerting: !model.Has(msg.NoAlertingBLF)})
		if err != nil {
			s.log.Debug("sccp: BLF speed-dial subscription refused", "device", s.name, "number", sp.Number, "err", err)
			continue
		}
		subs = append(subs, id)
	}
	s.mu.Lock()
	late := !s.registered // the session ended while subscribing
	s.lampSubs = append(s.lampSubs, subs...)
	s.mu.Unlock()
	if late {
		for _, id := range subs {
			p.Unsubscribe(id)
		}
	}
}

// watcherName is "number@ip" as `show presence subscription` prints it.
func (s *session) watcherName(idx *cfgIndex, lay *layout) string {
	num := s.name
	if len(lay.Lines) > 0 {
		if d := idx.dn(lay.Lines[0].DN); d != nil && d.Number != "" {
			num = d.Number
		}
	}
	return num + "@" + s.reg.StationIP.String()
}

func (s *session) applyConfig(idx *cfgIndex) {
	s.mu.Lock()
	old, registered, model, version, oldKeys, oldBlocked := s.ephone, s.registered, s.model, s.version, s.keySets, s.blockedKeys
	s.mu.Unlock()
	if !registered || old == nil {
		return
	}
	e := idx.ephone(s.name)
	// A changed softkey template takes a reset: the phone asks for its sets
	// only while registering (docs/sccp.md §Registration-sequence).
	newKeys, newBlocked := softKeysFor(idx.cfg, e)
	if e != nil && layoutEqual(buildLayout(old, model, version), buildLayout(e, model, version)) && e.Keepalive == old.Keepalive &&
		e.PresenceCallList == old.PresenceCallList && keySetsEqual(&oldKeys, &newKeys) && slices.Equal(oldBlocked, newBlocked) {
		s.mu.Lock()
		s.ephone = e
		s.mu.Unlock()
		return
	}
	s.Reset()
}

func layoutEqual(a, b *layout) bool {
	return slices.Equal(a.Buttons, b.Buttons) && slices.Equal(a.Lines, b.Lines) && slices.Equal(a.Speeds, b.Speeds) &&
		slices.Equal(a.Features, b.Features)
}

// info is the show data.
func (s *session) info() SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	si := SessionInfo{DeviceName: s.name, Model: s.model.Name, DeviceType: uint32(s.reg.DeviceType),
		Version: s.version, PhoneVersion: s.phoneVersion, Remote: s.remote, StationIP: s.reg.StationIP,
		MaxStreams: s.reg.MaxStreams, KeepaliveSec: s.keepaliveSec, KeepAlives: s.keepAlives.Load(),
		RegisteredAt: s.regAt, AvailableLines: s.availLines, Provisioned: s.provisioned, DND: s.dnd,
		ActiveCalls: len(s.calls), BLFSubscription: len(s.lampSubs) + len(s.listSubs)}
	if s.ephone != nil {
		si.EphoneTag = s.ephone.Tag
	}
	if s.layout != nil {
		si.MaxLines = len(s.layout.Lines)
	}
	return si
}

// sessionLog adds the remote address to the server's logger only when a
// record is actually written; a per-session slog.Logger cost ~1 KiB per
// phone.
type sessionLog struct{ s *session }

func (l *sessionLog) log(level slog.Level, m string, args ...any) {
	lg := l.s.srv.log
	if !lg.Enabled(context.Background(), level) {
		return
	}
	lg.Log(context.Background(), level, m, append([]any{"remote", l.s.remote.String()}, args...)...)
}

func (l *sessionLog) Debug(m string, args ...any) { l.log(slog.LevelDebug, m, args...) }
func (l *sessionLog) Info(m string, args ...any)  { l.log(slog.LevelInfo, m, args...) }
func (l *sessionLog) Warn(m string, args ...any)  { l.log(slog.LevelWarn, m, args...) }
