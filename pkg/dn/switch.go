package dn

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dialplan"
)

// Switch owns all DN, call and device state. Create it with New, start Run
// in its own goroutine, then call its methods from any goroutine.
type Switch struct {
	cmds    chan command
	done    chan struct{}
	obs     Observer
	media   MediaServer
	rec     CallRecorder
	params  MediaParams
	echo    string // echo-test number, "" when disabled
	trunk   Trunk  // nil: no trunk calls
	maxHops int
	now     func() time.Time

	// Everything below is owned by the Run goroutine.
	cfg         *config.Config
	plan        *dialplan.Plan
	dnConf      map[DNKey]*dnConf
	byNumber    map[string][]*dnConf // dnConf by number and secondary, in candidates order
	devConf     map[string]*deviceConf
	dnApps      map[DNKey][]appearance // call-capable appearances per DN
	legs        map[DNKey][]*leg       // live legs per DN
	devs        map[string]*device     // registered devices by name
	calls       map[CallID]*call
	lastCall    atomic.Uint64 // CallIDs; NewCallID takes them from any goroutine
	lastGen     uint32
	ringTimeout time.Duration
	xferBlind   bool               // transfer-system blind | full-blind
	cfa         map[DNKey]string   // call-forward all in force (config or softkey)
	cfaConf     map[DNKey]string   // call-forward all as last configured
	dndState    map[string]bool    // DND per device name, kept across registrations
	dirtyCalls  map[*call]struct{} // calls whose media must be re-derived
	trunks      map[CallID]*leg    // trunk legs by trunk call id
	consults    map[*leg]struct{}  // legs that had xferOf set and are not dropped yet
	peers       map[int]*config.DialPeer
	xlate       *dialplan.Translator
	appRules    []dialplan.DialRule // application dialing rules (docs/cme-behaviour.md §Dialing-rules)
	lookupRules []dialplan.DialRule // directory lookup rules
	records     []CallRecord
	conf        confState // ad hoc conferences (conference.go)

	// Hunt groups (hunt.go), call park (park.go).
	hunts     map[DNKey]*huntConf
	hunting   map[DNKey]int // calls hunting per group
	huntLast  map[DNKey]int // list index of the member that rang last (peer)
	huntStats map[DNKey]*huntCounters
	huntOut   map[string]bool     // phones logged out with HLog, by device name
	idleSince map[DNKey]time.Time // when a DN last went idle (longest-idle)
	// huntOfMember lists the groups a number is a member of.
	huntOfMember map[string][]DNKey

	dirtyDN  map[DNKey]struct{}
	dirtyDev map[string]struct{}
	pubDN    map[DNKey]LineEvent
	pubDev   map[string]DeviceEvent
	effects  []effect
}

type command struct {
	fn    func() error
	reply chan error // nil for timer posts
}

type device struct {
	id   DeviceID
	info DeviceInfo
	sink Device
	dnd  bool
	// dndCall is the call a CME DND softkey press while it rang applies
	// to: DND ends with that call (docs/cme-behaviour.md §DND). 0: none.
	dndCall CallID
}

// nopHandle stands in for a MediaServer stream that failed to start, so
// that the core does not retry on every change.
type nopHandle struct{}

func (nopHandle) Stop() {}

// leg is one side of a call on one DN.
type leg struct {
	call     *call
	cid      CallID // the id this leg's phones know the call by (kept across transfer)
	dn       DNKey
	dev      string // "" while an offered leg rings unbound
	line     int
	state    LineState
	gen      uint64 // bumped on every change; timers carry it
	digits   string
	outbound bool         // this leg placed the call
	placed   string       // number dialled (placed-call record)
	ringing  []appearance // appearances Ring was sent to
	alerted  []appearance // every appearance the offer alerted on (missed calls)
	remote   []appearance // appearances told remote-in-use
	refused  bool         // offered leg: some appearance refused it (Reject)
	refusal  Cause        // the best refusal so far (rejectRank)
	start    time.Time
	answered time.Time // zero until connected

	// Media (see Device): open after OpenMedia, rx once MediaReady, tx
	// where StartMedia last pointed, moh while music streams to rx.
	open bool
	rx   netip.AddrPort
	tx   netip.AddrPort
	moh  MediaHandle
	// heldTold: this leg was told to stop transmitting for the peer's
	// current hold (media.go); cleared when it is told to send again.
	heldTold bool

	xferOf    *call // consult leg: the held call a transfer will move
	xferBlind bool  // consult leg: transfer as soon as the number is complete

	// parked is set on a call-park slot's leg (park.go).
	parked *parkState
	// pickup is set on a dialing leg that collects the number of a
	// pickup (pickup.go).
	pickup pickupKind

	// trunk is set on the far side of a trunk call (no DN, no device;
	// cid is the trunk call id, rx the far end's RTP address).
	trunk *trunkSide

	timer *time.Timer // interdigit or no-answer timer in flight
}

type call struct {
	id          CallID
	a, b        *leg // caller, callee (b nil until offered)
	calling     Party
	called      Party
	original    Party // first called party once redirected
	redirecting Party
	started     time.Time
	hops        int     // call forwards so far
	visited     []DNKey // DNs the call was forwarded away from
	echo        bool    // the echo test answered it
	echoAddr    netip.AddrPort
	echoH       MediaHandle
	hunt        *huntCall // the call is hunting through a group (hunt.go)
}

// trunkSide is the state of a trunk leg (see Trunk).
type trunkSide struct {
	inbound bool
	peer    int    // dial-peer tag (0: inbound without a dial-peer)
	number  string // outbound: the number dialled, before translation
	hunt    []int  // outbound: dial-peers still to try, in hunt order
	party   Party  // the far end as displayed and recorded
	started bool   // outbound: Dial sent; inbound: Answered sent
	waited  bool   // TrunkMediaWait expired without a phone address
	alerted bool   // outbound: ringback tone given; inbound: Ringing sent
	gone    bool   // the adapter ended this id: no Hangup
	local   netip.AddrPort
}

// New builds a Switch for a config snapshot. obs may be nil.
func New(cfg *config.Config, obs Observer) *Switch {
	return NewWithOptions(cfg, Options{Observer: obs})
}

// NewWithOptions builds a Switch with media, call records and feature
// options.
func NewWithOptions(cfg *config.Config, o Options) *Switch {
	s := &Switch{
		cmds:       make(chan command, 256),
		done:       make(chan struct{}),
		obs:        o.Observer,
		media:      o.Media,
		rec:        o.Records,
		trunk:      o.Trunk,
		params:     o.MediaParams,
		echo:       o.EchoNumber,
		maxHops:    o.MaxForwardHops,
		now:        time.Now,
		legs:       make(map[DNKey][]*leg),
		devs:       make(map[string]*device),
		calls:      make(map[CallID]*call),
		dirtyDN:    make(map[DNKey]struct{}),
		dirtyDev:   make(map[string]struct{}),
		pubDN:      make(map[DNKey]LineEvent),
		pubDev:     make(map[string]DeviceEvent),
		cfa:        make(map[DNKey]string),
		cfaConf:    make(map[DNKey]string),
		dndState:   make(map[string]bool),
		dirtyCalls: make(map[*call]struct{}),
		trunks:     make(map[CallID]*leg),
		consults:   make(map[*leg]struct{}),
		hunting:    make(map[DNKey]int),
		huntLast:   make(map[DNKey]int),
		huntStats:  make(map[DNKey]*huntCounters),
		huntOut:    make(map[string]bool),
		idleSince:  make(map[DNKey]time.Time),
	}
	switch s.echo {
	case "":
		s.echo = DefaultEchoNumber
	case "-":
		s.echo = ""
	}
	if s.maxHops <= 0 {
		s.maxHops = DefaultMaxForwardHops
	}
	if s.params.PacketMs <= 0 {
		s.params.PacketMs = 20
	}
	s.applyConfig(cfg)
	s.effects = nil
	s.records = nil
	return s
}

// Run executes commands until ctx is done. It first publishes a full
// presence snapshot to the Observer.
func (s *Switch) Run(ctx context.Context) error {
	defer close(s.done)
	s.markAll()
	s.flush()
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-s.cmds:
			err := c.fn()
			s.flush()
			if c.reply != nil {
				c.reply <- err
			}
		}
	}
}

// do runs fn on the loop and waits for it.
func (s *Switch) do(fn func() error) error {
	reply := make(chan error, 1)
	select {
	case s.cmds <- command{fn: fn, reply: reply}:
	case <-s.done:
		return ErrClosed
	}
	select {
	case err := <-reply:
		return err
	case <-s.done:
		return ErrClosed
	}
}

// post runs fn on the loop without waiting (timer callbacks).
func (s *Switch) post(fn func() error) {
	select {
	case s.cmds <- command{fn: fn}:
	case <-s.done:
	}
}

// RegisterDevice attaches a phone that registered. info.Name must be a
// configured ephone (SEP+MAC) or voice register pool (SEP+MAC, or POOLn
// without `id mac`). A phone that registers again replaces its previous
// registration: the old session's calls are released and its DeviceID goes
// stale.
func (s *Switch) RegisterDevice(info DeviceInfo, sink Device) (DeviceID, error) {
	var id DeviceID
	err := s.do(func() error {
		var err error
		id, err = s.register(info, sink)
		return err
	})
	return id, err
}

// UnregisterDevice detaches a phone; its calls are released.
func (s *Switch) UnregisterDevice(id DeviceID) error {
	return s.do(func() error {
		d, err := s.lookup(id)
		if err != nil {
			return err
		}
		s.detach(d, CauseUnregistered)
		delete(s.devs, d.id.Name)
		s.markDevice(d.id.Name)
		return nil
	})
}

// legCmd runs a phone command that acts on one leg and returns that leg
// as the phone sees it when the command is done.
func (s *Switch) legCmd(fn func() (*leg, error)) (CallRef, error) {
	var out CallRef
	err := s.do(func() error {
		l, err := fn()
		out = ref(l)
		return err
	})
	return out, err
}

func ref(l *leg) CallRef {
	if l == nil {
		return CallRef{}
	}
	return CallRef{ID: l.cid, Line: l.line, State: l.state}
}

// OffHook: the handset is lifted (or the line key / speaker pressed). line 0
// means "the phone decides": answer a ringing call if there is one,
// otherwise take the first line with a free call slot. Lifting on a ringing
// line answers it. It returns the call: a new one dialing (LineDialing) or
// the one answered (LineConnected).
func (s *Switch) OffHook(id DeviceID, line int) (CallRef, error) {
	return s.legCmd(func() (*leg, error) { return s.offHook(id, line) })
}

// Digits adds dialled digits to the dialing call on line (0: any) and
// returns that call in its new state (still dialing, ringback, busy, ...).
// Digits sent once a call is past dialing are DTMF and ignored here; the
// result is then the zero CallRef.
func (s *Switch) Digits(id DeviceID, line int, digits string) (CallRef, error) {
	return s.legCmd(func() (*leg, error) { return s.addDigits(id, line, digits) })
}

// OnHook hangs up the active (not held) call on line (0: any line) and
// returns it (LineIdle); the zero CallRef when there was none.
func (s *Switch) OnHook(id DeviceID, line int) (CallRef, error) {
	return s.legCmd(func() (*leg, error) { return s.onHook(id, line) })
}

// Answer answers call callID (0: any) ringing on line (0: any) and returns
// the call answered.
func (s *Switch) Answer(id DeviceID, line int, callID CallID) (CallRef, error) {
	return s.legCmd(func() (*leg, error) { return s.answer(id, line, callID) })
}

// Reject: the phone refused call callID ringing on its appearance line (a
// SIP phone's final response 4xx-6xx). The appearance stops ringing. As a
// forking proxy does (RFC 3261 §16.7), the offer goes on while other
// appearances of the DN still ring, and the best refusal decides once
// none is left (busy before declined before the rest, see rejectRank);
// everywhere (a 6xx) ends the offer at once, cancelling the others. The
// DN's CFB target takes a busy or declined call, its CFNA target the
// rest; without one the caller gets the failure as for a busy number
// (busy or reorder tone; Released with the cause for a trunk caller).
func (s *Switch) Reject(id DeviceID, line int, callID CallID, cause Cause, everywhere bool) error {
	return s.do(func() error { return s.reject(id, line, callID, cause, everywhere) })
}

// Hold holds the connected call callID (0: the connected one) on line and
// returns the call held.
func (s *Switch) Hold(id DeviceID, line int, callID CallID) (CallRef, error) {
	return s.legCmd(func() (*leg, error) { return s.hold(id, line, callID) })
}

// Resume resumes held call callID (0: the first held) on line and returns
// it. On a shared DN the call may have been held on another phone
// (docs/cme-behaviour.md §Lines); the result's Line is then this phone's line.
func (s *Switch) Resume(id DeviceID, line int, callID CallID) (CallRef, error) {
	return s.legCmd(func() (*leg, error) { return s.resume(id, line, callID) })
}

// SetDND switches do-not-disturb on a phone. Turning it on while a call
// rings stops the ringing there; a call left ringing nowhere is released
// (docs/cme-behaviour.md §DND).
func (s *Switch) SetDND(id DeviceID, on bool) error {
	return s.do(func() error { return s.setDND(id, on) })
}

// MediaReady reports the receive address of a phone's media for call
// callID on line (0: any), after OpenMedia (SCCP OpenReceiveChannelAck,
// SIP SDP). Reports for calls that moved on are ignored.
func (s *Switch) MediaReady(id DeviceID, line int, callID CallID, addr netip.AddrPort) error {
	return s.do(func() error { return s.mediaReady(id, line, callID, addr) })
}

// StartTransfer begins a transfer of call callID (0: the connected one) on
// line (SCCP Transfer softkey): the call is held and a consultation call
// starts dialing, on the same DN when it has a free call slot, else on the
// phone's next line with one. Under
// `transfer-system blind|full-blind` the transfer completes as soon as the
// dialled number is complete; otherwise CompleteTransfer (second Transfer
// press) or OnHook (cancel) ends it. It returns both calls, so the phone
// needs no bookkeeping of its own to complete the transfer.
func (s *Switch) StartTransfer(id DeviceID, line int, callID CallID) (Transfer, error) {
	var out Transfer
	err := s.do(func() error {
		h, c, err := s.startTransfer(id, line, callID)
		out = Transfer{Held: ref(h), Consult: ref(c)}
		return err
	})
	return out, err
}

// CompleteTransfer connects the far ends of two calls on the phone and
// drops the phone from both (consultative transfer: SCCP second Transfer
// press, SIP REFER with Replaces). consult 0 means the consultation call
// StartTransfer opened for held. If the consultation call still rings, the
// held party hears ringback until it is answered (transfer at alert).
func (s *Switch) CompleteTransfer(id DeviceID, held, consult CallID) error {
	return s.do(func() error { return s.completeTransfer(id, held, consult) })
}

// BlindTransfer sends the far end of call callID to number and drops the
// phone from the call (SIP REFER without Replaces).
func (s *Switch) BlindTransfer(id DeviceID, callID CallID, number string) error {
	return s.do(func() error { return s.blindTransfer(id, callID, number) })
}

// SetCallForwardAll sets (number "") or clears call-forward all on the DN
// of line (0: the phone's first line), as the CfwdALL softkey does. Like
// `call-forward all` it belongs to the DN; the last setting wins
// (docs/cme-behaviour.md §Forwarding). Every phone with the DN gets Device.CallForward.
func (s *Switch) SetCallForwardAll(id DeviceID, line int, number string) error {
	return s.do(func() error { return s.setCallForwardAll(id, line, number) })
}

// CallForwardAll returns the call-forward all target in force for a DN.
func (s *Switch) CallForwardAll(k DNKey) (string, error) {
	var out string
	err := s.do(func() error { out = s.cfa[k]; return nil })
	return out, err
}

// DialableNumber turns a number taken from a call list or a directory
// into the digits to dial with the application dialing rules
// (docs/cme-behaviour.md §Dialing-rules): letters become keypad digits,
// punctuation goes, and the first matching rule strips and prefixes.
func (s *Switch) DialableNumber(number string) (string, error) {
	var out string
	err := s.do(func() error {
		out = dialplan.ApplyDialRules(s.appRules, number)
		return nil
	})
	return out, err
}

// NewCallID reserves a call id for TrunkIncoming. Safe from any goroutine.
func (s *Switch) NewCallID() CallID { return CallID(s.lastCall.Add(1)) }

// TrunkIncoming offers a call from a trunk to the local DN with number
// in.Called after the inbound dial-peer's and then the DN's `translation-
// profile incoming` (called and calling numbers). It is routed like an
// internal call: hunting, call-forward all/busy/no-answer, DND, missed and
// received call records. The trunk hears about it through Trunk.Ringing,
// Trunk.Answered and Trunk.Hangup. A call that alerts nowhere at once
// returns a *RejectError with the cause and leaves nothing behind.
func (s *Switch) TrunkIncoming(in InboundCall) (CallID, error) {
	var id CallID
	err := s.do(func() error {
		var err error
		id, err = s.trunkIncoming(in)
		return err
	})
	return id, err
}

// TrunkProgress reports that outbound trunk call id progresses (SIP 180
// with ringing, 183 without). early is the far end's RTP address when it
// sends early media (SDP in 18x): the phone then hears that instead of
// its own ringback tone.
func (s *Switch) TrunkProgress(id CallID, ringing bool, early netip.AddrPort) error {
	return s.do(func() error { return s.trunkProgress(id, ringing, early) })
}

// TrunkAnswered reports that outbound trunk call id was answered (200 OK);
// remote is the far end's RTP address from its SDP.
func (s *Switch) TrunkAnswered(id CallID, remote netip.AddrPort) error {
	return s.do(func() error { return s.trunkAnswered(id, remote) })
}

// TrunkMedia reports a new RTP address of the far end of trunk call id
// (re-INVITE, or the SDP of an offerless INVITE's ACK).
func (s *Switch) TrunkMedia(id CallID, remote netip.AddrPort) error {
	return s.do(func() error { return s.trunkMedia(id, remote) })
}

// TrunkFailed reports that outbound trunk call id was not answered: cause
// from the final response (486 CauseBusy, 404/484 CauseUnassigned, 480/
// 503/408/timeouts CauseUnavailable, ...). The core hunts to the next
// dial-peer matching the number (IOS dial-peer hunting), except after
// CauseUnassigned; when none is left the caller hears busy (CauseBusy,
// CauseDND) or reorder. The id is dead afterwards.
func (s *Switch) TrunkFailed(id CallID, cause Cause) error {
	return s.do(func() error { return s.trunkFailed(id, cause) })
}

// TrunkHangup reports that the far end ended trunk call id (BYE, or CANCEL
// of an inbound call). The id is dead afterwards.
func (s *Switch) TrunkHangup(id CallID) error {
	return s.do(func() error { return s.trunkHangup(id) })
}

// Apply swaps in a new config snapshot: DNs, phones and buttons are
// diffed; calls on removed DNs are released, phones whose buttons changed
// get Reset, and presence is republished (e.g. `no allow watch`). A config
// the core cannot carry out (CheckConfig) is refused with the reason and
// changes nothing: the switch keeps running the previous snapshot.
func (s *Switch) Apply(cfg *config.Config) error {
	if err := CheckConfig(cfg); err != nil {
		return err
	}
	return s.do(func() error { s.applyConfig(cfg); return nil })
}

func (s *Switch) lookup(id DeviceID) (*device, error) {
	d := s.devs[id.Name]
	switch {
	case d == nil:
		return nil, ErrUnknownDevice
	case d.id.Gen != id.Gen:
		return nil, ErrStaleDevice
	}
	return d, nil
}

// ---- effects ----

type effectKind uint8

const (
	effRing effectKind = iota
	effStopRing
	effCallState
	effCallInfo
	effTone
	effReleased
	effDND
	effReset
	effOpenMedia
	effStartMedia
	effStopMedia
	effCallForward
	effTrunkDial
	effTrunkUpdate
	effTrunkRinging
	effTrunkAnswered
	effTrunkHangup
	effStopTransmit
	effCallFailed
	effParkReminder
)

type effect struct {
	kind  effectKind
	sink  Device
	line  int
	id    CallID
	st    LineState
	tone  Tone
	cause Cause
	info  CallInfo
	on    bool
	addr  netip.AddrPort
	num   string
	tc    TrunkCall
}

func (s *Switch) emit(dev string, e effect) {
	d := s.devs[dev]
	if d == nil {
		return
	}
	e.sink = d.sink
	s.effects = append(s.effects, e)
}

func (s *Switch) flush() {
	// Media is derived from call state after every command (a state
	// function, not a sequence of steps), in call order for determinism.
	for len(s.dirtyCalls) > 0 {
		cs := make([]*call, 0, len(s.dirtyCalls))
		for c := range s.dirtyCalls {
			cs = append(cs, c)
		}
		s.dirtyCalls = drained(s.dirtyCalls)
		slices.SortFunc(cs, func(a, b *call) int { return cmp.Compare(a.id, b.id) })
		for _, c := range cs {
			s.syncMedia(c)
		}
	}
	// Effects first: a phone hears about its call before watchers do.
	for i, e := range s.effects {
		switch e.kind {
		case effRing:
			e.sink.Ring(e.line, e.info)
		case effStopRing:
			e.sink.StopRing(e.line, e.id)
		case effCallState:
			e.sink.CallState(e.line, e.id, e.st)
		case effCallInfo:
			e.sink.CallInfo(e.line, e.info)
		case effTone:
			e.sink.Tone(e.line, e.id, e.tone)
		case effReleased:
			e.sink.Released(e.line, e.id, e.cause)
		case effDND:
			e.sink.DND(e.on)
		case effReset:
			e.sink.Reset()
		case effOpenMedia:
			e.sink.OpenMedia(e.line, e.id, s.params)
		case effStartMedia:
			e.sink.StartMedia(e.line, e.id, e.addr, s.params)
		case effStopMedia:
			e.sink.StopMedia(e.line, e.id)
		case effStopTransmit:
			if ts, ok := e.sink.(TransmitStopper); ok {
				ts.StopTransmit(e.line, e.id)
			}
		case effCallFailed:
			if fr, ok := e.sink.(FailureReporter); ok {
				fr.CallFailed(e.line, e.id, e.cause)
			}
		case effCallForward:
			e.sink.CallForward(e.line, e.num)
		case effParkReminder:
			if r, ok := e.sink.(ParkReminder); ok {
				r.ParkReminder(e.num)
			}
		case effTrunkDial:
			s.trunk.Dial(e.tc)
		case effTrunkUpdate:
			s.trunk.UpdateMedia(e.id, e.addr)
		case effTrunkRinging:
			s.trunk.Ringing(e.id)
		case effTrunkAnswered:
			s.trunk.Answered(e.id, e.addr)
		case effTrunkHangup:
			s.trunk.Hangup(e.id, e.cause)
		}
		s.effects[i] = effect{}
	}
	s.effects = s.effects[:0]
	if s.rec != nil {
		for _, r := range s.records {
			s.rec.CallRecord(r)
		}
	}
	clear(s.records)
	s.records = s.records[:0]
	s.publish()
}

// ---- presence ----

func (s *Switch) markDN(k DNKey) { s.dirtyDN[k] = struct{}{} }

func (s *Switch) markDevice(name string) {
	s.dirtyDev[name] = struct{}{}
	if dc := s.devConf[name]; dc != nil {
		for _, a := range dc.apps {
			s.markDN(a.dn)
		}
	}
}

// emitTrunk queues a Trunk call; without a Trunk there are no trunk legs.
func (s *Switch) emitTrunk(e effect) {
	if s.trunk != nil {
		s.effects = append(s.effects, e)
	}
}

func (s *Switch) markLeg(l *leg) {
	s.dirtyCalls[l.call] = struct{}{}
	if l.trunk == nil {
		s.markDN(l.dn)
	}
	if l.dev != "" {
		s.dirtyDev[l.dev] = struct{}{}
	}
	for _, a := range l.ringing {
		s.dirtyDev[a.device] = struct{}{}
	}
}

func (s *Switch) markAll() {
	for k := range s.dnConf {
		s.markDN(k)
	}
	for k := range s.pubDN {
		s.markDN(k)
	}
	for k := range s.hunts {
		s.markDN(k)
	}
	for n := range s.devConf {
		s.dirtyDev[n] = struct{}{}
	}
	for n := range s.pubDev {
		s.dirtyDev[n] = struct{}{}
	}
}

func (s *Switch) publish() {
	if len(s.dirtyDN) > 0 {
		// A pilot's state follows its members' (huntPresence).
		if len(s.huntOfMember) > 0 {
			for k := range s.dirtyDN {
				if c := s.dnConf[k]; c != nil {
					for _, g := range s.huntOfMember[c.number] {
						s.dirtyDN[g] = struct{}{}
					}
				}
			}
		}
		keys := make([]DNKey, 0, len(s.dirtyDN))
		for k := range s.dirtyDN {
			keys = append(keys, k)
		}
		s.dirtyDN = drained(s.dirtyDN)
		slices.SortFunc(keys, func(a, b DNKey) int {
			return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Tag, b.Tag))
		})
		for _, k := range keys {
			ev := s.lineEvent(k)
			old, had := s.pubDN[k]
			if (had && old == ev) || (!had && ev.Removed) {
				continue
			}
			if ev.Removed {
				delete(s.pubDN, k)
			} else {
				s.pubDN[k] = ev
			}
			if s.obs != nil {
				s.obs.LineChanged(ev)
			}
		}
	}
	if len(s.dirtyDev) > 0 {
		names := make([]string, 0, len(s.dirtyDev))
		for n := range s.dirtyDev {
			names = append(names, n)
		}
		s.dirtyDev = drained(s.dirtyDev)
		slices.Sort(names)
		for _, n := range names {
			ev := s.deviceEvent(n)
			old, had := s.pubDev[n]
			if (had && old == ev) || (!had && ev.Removed) {
				continue
			}
			if ev.Removed {
				delete(s.pubDev, n)
			} else {
				s.pubDev[n] = ev
			}
			if s.obs != nil {
				s.obs.DeviceChanged(ev)
			}
		}
	}
}

// drained empties a dirty set after a flush. A set that grew large (the
// markAll of a config load marks every DN and device) is replaced rather
// than cleared: clear keeps the map's buckets, and ranging over a map
// costs its capacity, not its length, so every later flush would pay for
// the 20,000-entry high-water mark (issue 9 profile).
func drained[K comparable](m map[K]struct{}) map[K]struct{} {
	if len(m) > 64 {
		return make(map[K]struct{})
	}
	clear(m)
	return m
}

func (s *Switch) protocolOf(d *device) Protocol {
	if d.info.Protocol != "" {
		return d.info.Protocol
	}
	if dc := s.devConf[d.id.Name]; dc != nil {
		return dc.protocol
	}
	return SCCP
}

// dnPresence derives a DN's presentity state (docs/cme-behaviour.md §Presentity-state): unregistered
// when no registered phone carries it; DND only when every phone carrying it
// is an SCCP phone in DND (SIP DND is not signalled); ringing beats in-use
// so that an octo-line with one call up and one alerting shows alerting
// (docs/sccp.md §Field-reports).
func (s *Switch) dnPresence(k DNKey) Presence {
	if c := s.dnConf[k]; c != nil && c.park != nil {
		// A park slot is on no phone: in use while a call is parked
		// there (docs/cme-behaviour.md §Call-park).
		if len(s.legs[k]) > 0 {
			return PresenceInUse
		}
		return PresenceIdle
	}
	registered, allDND := false, true
	for _, a := range s.dnApps[k] {
		d := s.devs[a.device]
		if d == nil {
			continue
		}
		registered = true
		if !d.dnd || s.protocolOf(d) != SCCP {
			allDND = false
		}
	}
	if !registered {
		return PresenceUnregistered
	}
	if allDND {
		return PresenceDND
	}
	ringing, active := false, false
	for _, l := range s.legs[k] {
		if l.state == LineRinging {
			ringing = true
		} else {
			active = true
		}
	}
	switch {
	case ringing:
		return PresenceRinging
	case active:
		return PresenceInUse
	}
	return PresenceIdle
}

func (s *Switch) lineEvent(k DNKey) LineEvent {
	if isHuntKey(k) {
		return s.huntLineEvent(k)
	}
	c := s.dnConf[k]
	if c == nil {
		old := s.pubDN[k]
		return LineEvent{Key: k, Number: old.Number, Secondary: old.Secondary, Name: old.Name,
			Presence: PresenceUnregistered, Removed: true}
	}
	ev := LineEvent{Key: k, Number: c.number, Secondary: c.secondary, Name: c.name,
		AllowWatch: c.allowWatch, Presence: s.dnPresence(k)}
	ev.Held = ev.Presence == PresenceInUse && s.dnHeld(k)
	return ev
}

// dnHeld reports whether DN k has a call and every one of its calls that
// is not ringing is on hold by this side: a line with one call held and
// another being talked on is in use, not held.
func (s *Switch) dnHeld(k DNKey) bool {
	held := false
	for _, l := range s.legs[k] {
		switch l.state {
		case LineRinging:
		case LineHold:
			held = true
		default:
			return false
		}
	}
	return held
}

func (s *Switch) devicePresence(name string) Presence {
	d := s.devs[name]
	if d == nil {
		return PresenceUnregistered
	}
	if d.dnd && s.protocolOf(d) == SCCP {
		return PresenceDND
	}
	ringing, active := false, false
	dc := s.devConf[name]
	seen := map[DNKey]bool{}
	for _, a := range dc.apps {
		if seen[a.dn] {
			continue
		}
		seen[a.dn] = true
		for _, l := range s.legs[a.dn] {
			if l.dev == name {
				active = true
			} else if l.state == LineRinging && hasApp(l.ringing, name, 0) {
				ringing = true
			}
		}
	}
	// For a whole phone its own call wins: an off-hook phone with a second
	// call alerting is busy (device-based BLF shows idle/busy/unknown).
	switch {
	case active:
		return PresenceInUse
	case ringing:
		return PresenceRinging
	}
	return PresenceIdle
}

func (s *Switch) deviceEvent(name string) DeviceEvent {
	dc := s.devConf[name]
	if dc == nil {
		return DeviceEvent{Name: name, Protocol: s.pubDev[name].Protocol, Removed: true}
	}
	d := s.devs[name]
	ev := DeviceEvent{Name: name, Protocol: dc.protocol, Presence: s.devicePresence(name)}
	if d != nil {
		ev.Registered, ev.DND, ev.Protocol = true, d.dnd, s.protocolOf(d)
	}
	return ev
}

// ---- helpers ----

func hasApp(apps []appearance, dev string, button int) bool {
	for _, a := range apps {
		if a.device == dev && (button == 0 || a.button == button) {
			return true
		}
	}
	return false
}

func removeApps(apps []appearance, dev string) []appearance {
	return slices.DeleteFunc(apps, func(a appearance) bool { return a.device == dev })
}

// registeredApps are the call-capable appearances of k on registered phones.
func (s *Switch) registeredApps(k DNKey) []appearance {
	var out []appearance
	for _, a := range s.dnApps[k] {
		if s.devs[a.device] != nil {
			out = append(out, a)
		}
	}
	return out
}

func (s *Switch) party(k DNKey) Party {
	if c := s.dnConf[k]; c != nil {
		return Party{Number: c.number, Name: c.name}
	}
	return Party{}
}

func (s *Switch) info(l *leg, line int) CallInfo {
	c := l.call
	return CallInfo{ID: l.cid, Line: line, Calling: c.calling, Called: c.called, Outbound: l.outbound,
		OriginalCalled: c.original, Redirecting: c.redirecting}
}

func (s *Switch) setState(l *leg, in Input) error {
	next, ok := Transition(l.state, in)
	if !ok {
		return ErrBadState
	}
	l.state = next
	l.gen++
	s.markLeg(l)
	return nil
}

// setRemotes tells every other registered appearance of a bound leg's DN
// that the line is in use elsewhere, and clears the ones that no longer are.
func (s *Switch) setRemotes(l *leg) {
	var want []appearance
	if l.dev != "" {
		for _, a := range s.registeredApps(l.dn) {
			if a.device != l.dev || a.button != l.line {
				want = append(want, a)
			}
		}
	}
	for _, a := range l.remote {
		if !slices.Contains(want, a) {
			s.emit(a.device, effect{kind: effReleased, line: a.button, id: l.cid, cause: CauseNormal})
		}
	}
	for _, a := range want {
		if !slices.Contains(l.remote, a) {
			s.emit(a.device, effect{kind: effCallState, line: a.button, id: l.cid, st: LineRemoteInUse})
		}
	}
	l.remote = want
	for _, a := range want {
		s.dirtyDev[a.device] = struct{}{}
	}
}

// boundLegs are legs bound to dev on line (0: any line).
func (s *Switch) boundLegs(dev string, line int) []*leg {
	dc := s.devConf[dev]
	if dc == nil {
		return nil
	}
	var out []*leg
	seen := map[DNKey]bool{}
	for _, a := range dc.apps {
		if a.monitor || seen[a.dn] || (line != 0 && a.button != line) {
			continue
		}
		seen[a.dn] = true
		for _, l := range s.legs[a.dn] {
			if l.dev == dev && (line == 0 || l.line == line) {
				out = append(out, l)
			}
		}
	}
	return out
}

// ringingLegs are unbound legs ringing on dev at line (0: any), in call
// order.
func (s *Switch) ringingLegs(dev string, line int) []*leg {
	var out []*leg
	for _, c := range s.deviceCalls(dev) {
		if b := c.b; b != nil && b.dev == "" && b.state == LineRinging && hasApp(b.ringing, dev, line) {
			out = append(out, b)
		}
	}
	return out
}

// deviceCalls are the live calls with a leg on one of dev's DNs, in call
// order. Every leg that can concern dev is on one of its DNs: a leg
// bound to dev was taken on one of its appearances, and the appearances a
// leg rings or shows remote-in-use on are appearances of the leg's own DN
// (dnApps, registeredApps). So this is the subset of all calls worth
// looking at for dev, found without scanning every call: with 10,000
// calls up, a scan and sort of all of them per OffHook/OnHook was most of
// the switch's CPU in the 20,000-phone BLF churn (issue 9).
func (s *Switch) deviceCalls(dev string) []*call {
	dc := s.devConf[dev]
	if dc == nil {
		return nil
	}
	var out []*call
	for i, a := range dc.apps {
		if slices.ContainsFunc(dc.apps[:i], func(x appearance) bool { return x.dn == a.dn }) {
			continue // the same DN on another button
		}
		for _, l := range s.legs[a.dn] {
			if c := l.call; s.calls[c.id] == c && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(a, b *call) int { return cmp.Compare(a.id, b.id) })
	return out
}

func (s *Switch) sortedCalls() []CallID {
	ids := make([]CallID, 0, len(s.calls))
	for id := range s.calls {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func appOn(apps []appearance, dev string, line int) (appearance, bool) {
	for _, a := range apps {
		if a.device == dev && (line == 0 || a.button == line) {
			return a, true
		}
	}
	return appearance{}, false
}
