// Package sccptest is a fake Cisco SCCP phone for tests and load generation.
// It speaks over any net.Conn, registers as any model at any protocol
// version, runs the registration requests the way docs/sccp.md §Registration describes,
// answers CapabilitiesReq and OpenReceiveChannel by itself, and records what
// the server tells it: lamps, BLF states, call states, prompt, ringer and the
// last messages, with waits for tests.
package sccptest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmed-project/cmed/pkg/sccp/msg"
)

// Config describes the phone to emulate. Zero values have defaults.
type Config struct {
	// Model is a msg.Models name ("7960", "7961", …); default "7960".
	Model string
	// MAC is 12 hex digits; default a unique made-up value.
	MAC string
	// DeviceName defaults to "SEP" + MAC.
	DeviceName string
	// Version is the protocol version announced in Register; default the
	// model's firmware version, else 11.
	Version uint32
	// StationIP is announced in Register; default 127.0.0.1.
	StationIP netip.Addr
	// RTPAddr is the receive address given in OpenReceiveChannelAck; default
	// 127.0.0.1:16384.
	RTPAddr netip.AddrPort
	// NoMediaAck disables the automatic OpenReceiveChannelAck.
	NoMediaAck bool
	// Capabilities answered to CapabilitiesReq; default µ-law, A-law, G.729,
	// G.729A (as the 7912 in docs/sccp.md §Codecs offered).
	Capabilities []msg.MediaCapability
	// History is how many received messages are kept; default 1024.
	History int
	// PhoneFeatures overrides Register's phoneFeatures; 0 keeps the model's
	// captured value (0x8560 for a 7960 on SCCP 8.x, without the UTF-8 bit;
	// 0x8572 for the Java loads, with it; docs/sccp.md §Charset).
	PhoneFeatures uint16
}

var macCounter atomic.Uint32

// Received is one message as the phone got it.
type Received struct {
	Seq    uint64
	Header msg.Header
	Msg    msg.Message
	At     time.Time
}

// LampKey addresses a lamp: the SetLamp stimulus and instance.
type LampKey struct {
	Stimulus msg.ButtonType
	Instance uint32
}

// Call is what the phone knows about one call reference.
type Call struct {
	Line          uint32
	CallReference uint32
	State         msg.CallState
	CallingParty  string
	CalledParty   string
}

// Line is a line button's LineStatRes data.
type Line struct {
	DirNumber string
	FullName  string
	Label     string
}

// State is a snapshot of what the phone shows.
type State struct {
	Registered     bool
	Rejected       string // RegisterReject text
	Version        uint32 // negotiated, from RegisterAck
	KeepAlive      uint32 // seconds, from RegisterAck
	Buttons        []msg.Button
	SoftKeys       []msg.SoftKey
	SoftKeySets    []msg.SoftKeySet
	SoftKeySet     msg.SoftKeySetIndex // last SelectSoftKeys
	Lines          map[uint32]Line
	SpeedDials     map[uint32]msg.SpeedDialStatRes
	Lamps          map[LampKey]msg.LampMode
	BLF            map[uint32]msg.BLFStatus // per FeatureStat(V2) index
	BLFLabel       map[uint32]string
	CallListBLF    map[uint32]msg.BLFStatus // per Notification transaction id
	Calls          map[uint32]*Call         // by call reference
	ActiveCall     uint32                   // call reference of the latest non-idle call, 0 none
	Prompt         string                   // DisplayPromptStatus text, "" after ClearPromptStatus
	Notify         string
	Ringer         msg.RingMode
	Speaker        uint32
	Tone           msg.Tone // playing tone, 0 after StopTone
	DialedNumber   string
	ActiveLine     uint32 // ActivateCallPlane
	TimeDate       *msg.DefineTimeDate
	ResetType      uint32 // from Reset, 0 none
	OpenReceive    []msg.OpenReceiveChannel
	StartMedia     []msg.StartMediaTransmission
	UnregisterDone bool
}

func (s *State) clone() State {
	c := *s
	c.Buttons = slices.Clone(s.Buttons)
	c.SoftKeys = slices.Clone(s.SoftKeys)
	c.SoftKeySets = slices.Clone(s.SoftKeySets)
	c.Lines = maps.Clone(s.Lines)
	c.SpeedDials = maps.Clone(s.SpeedDials)
	c.Lamps = maps.Clone(s.Lamps)
	c.BLF = maps.Clone(s.BLF)
	c.BLFLabel = maps.Clone(s.BLFLabel)
	c.CallListBLF = maps.Clone(s.CallListBLF)
	c.Calls = make(map[uint32]*Call, len(s.Calls))
	for k, v := range s.Calls {
		cc := *v
		c.Calls[k] = &cc
	}
	c.OpenReceive = slices.Clone(s.OpenReceive)
	c.StartMedia = slices.Clone(s.StartMedia)
	return c
}

// ErrRejected is returned by Register when the server sent RegisterReject.
var ErrRejected = errors.New("sccptest: registration rejected")

// Phone is one emulated phone on one connection.
type Phone struct {
	conn  net.Conn
	cfg   Config
	model msg.Model

	mu       sync.Mutex // guards the read-side state below; a leaf
	state    State
	log      []Received
	seq      uint64
	consumed uint64        // WaitFor cursor
	changed  chan struct{} // closed and replaced on every update
	readErr  error

	wmu     sync.Mutex // guards the write queue below; a leaf
	queue   []outFrame
	wakeW   chan struct{}
	closing chan struct{}
	wg      sync.WaitGroup
	closeMu sync.Once
}

type outFrame struct {
	b    []byte
	done chan error // nil for fire-and-forget
}

// New starts a phone on conn. It does not send anything until Register.
func New(conn net.Conn, cfg Config) (*Phone, error) {
	if cfg.Model == "" {
		cfg.Model = "7960"
	}
	model, ok := msg.ModelByName(cfg.Model)
	if !ok {
		return nil, fmt.Errorf("sccptest: unknown model %q", cfg.Model)
	}
	if cfg.MAC == "" {
		cfg.MAC = fmt.Sprintf("0000%08X", macCounter.Add(1))
	}
	if cfg.DeviceName == "" {
		cfg.DeviceName = "SEP" + cfg.MAC
	}
	if cfg.Version == 0 {
		cfg.Version = model.FirmwareVersion
		if cfg.Version == 0 {
			cfg.Version = 11
		}
	}
	if !cfg.StationIP.IsValid() {
		cfg.StationIP = netip.MustParseAddr("127.0.0.1")
	}
	if !cfg.RTPAddr.IsValid() {
		cfg.RTPAddr = netip.MustParseAddrPort("127.0.0.1:16384")
	}
	if cfg.Capabilities == nil {
		cfg.Capabilities = []msg.MediaCapability{{Codec: msg.CodecG711Ulaw, MaxFramesPerPacket: 40},
			{Codec: msg.CodecG711Alaw, MaxFramesPerPacket: 40}, {Codec: msg.CodecG729, MaxFramesPerPacket: 60},
			{Codec: msg.CodecG729A, MaxFramesPerPacket: 60}}
	}
	if cfg.History <= 0 {
		cfg.History = 1024
	}
	p := &Phone{conn: conn, cfg: cfg, model: model, changed: make(chan struct{}),
		wakeW: make(chan struct{}, 1), closing: make(chan struct{})}
	p.state = State{Lines: map[uint32]Line{}, SpeedDials: map[uint32]msg.SpeedDialStatRes{},
		Lamps: map[LampKey]msg.LampMode{}, BLF: map[uint32]msg.BLFStatus{}, BLFLabel: map[uint32]string{},
		CallListBLF: map[uint32]msg.BLFStatus{}, Calls: map[uint32]*Call{}}
	p.wg.Add(2)
	go p.readLoop()
	go p.writeLoop()
	return p, nil
}

// Dial connects to addr over TCP and starts a phone on the connection.
func Dial(ctx context.Context, addr string, cfg Config) (*Phone, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	p, err := New(c, cfg)
	if err != nil {
		c.Close()
	}
	return p, err
}

// Model returns the emulated model.
func (p *Phone) Model() msg.Model { return p.model }

// DeviceName returns the SEP name used in Register.
func (p *Phone) DeviceName() string { return p.cfg.DeviceName }

// Close closes the connection and waits for the phone's goroutines.
func (p *Phone) Close() error {
	var err error
	p.closeMu.Do(func() {
		close(p.closing)
		err = p.conn.Close()
		p.wg.Wait()
	})
	return err
}

// Err returns the read error once the connection is gone, else nil.
func (p *Phone) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.readErr
}

// State returns a snapshot of the phone's state.
func (p *Phone) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state.clone()
}

// Messages returns the last received messages, oldest first.
func (p *Phone) Messages() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.log)
}

// headerVersion is what this model puts in the header of its own messages:
// 0 for a 7940/7960 even at v11, the negotiated version for newer loads
// (docs/sccp.md §Header-version, RS-FX).
func (p *Phone) headerVersion() uint32 {
	if p.model.Has(msg.LegacyFirmware) {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state.Version
}

func (p *Phone) version() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state.Version == 0 {
		return p.cfg.Version
	}
	return p.state.Version
}

// Send writes m as one frame and waits until it was written.
func (p *Phone) Send(m msg.Message) error {
	b, err := msg.AppendFrame(nil, p.headerVersion(), m)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	p.enqueue(outFrame{b: b, done: done})
	select {
	case err := <-done:
		return err
	case <-p.closing:
		return net.ErrClosed
	}
}

func (p *Phone) enqueue(f outFrame) {
	p.wmu.Lock()
	p.queue = append(p.queue, f)
	p.wmu.Unlock()
	select {
	case p.wakeW <- struct{}{}:
	default:
	}
}

func (p *Phone) writeLoop() {
	defer p.wg.Done()
	var err error
	for {
		p.wmu.Lock()
		q := p.queue
		p.queue = nil
		p.wmu.Unlock()
		for _, f := range q {
			if err == nil {
				_, err = p.conn.Write(f.b)
			}
			if f.done != nil {
				f.done <- err
			}
		}
		select {
		case <-p.wakeW:
		case <-p.closing:
			return
		}
	}
}

func (p *Phone) readLoop() {
	defer p.wg.Done()
	rd := msg.NewReader(p.conn)
	for {
		h, m, err := rd.ReadMessage(p.version())
		if errors.Is(err, msg.ErrMalformed) {
			// Keep going like a tolerant phone; the Unknown is still logged.
			err = nil
		}
		if err != nil {
			p.mu.Lock()
			p.readErr = err
			p.notifyLocked()
			p.mu.Unlock()
			return
		}
		p.handle(h, m)
	}
}

func (p *Phone) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// handle records m and answers what a phone answers by itself.
func (p *Phone) handle(h msg.Header, m msg.Message) {
	p.mu.Lock()
	p.seq++
	p.log = append(p.log, Received{Seq: p.seq, Header: h, Msg: m, At: time.Now()})
	if over := len(p.log) - p.cfg.History; over > 0 {
		p.log = slices.Delete(p.log, 0, over)
	}
	s := &p.state
	var reply msg.Message
	switch m := m.(type) {
	case *msg.RegisterAck:
		s.Registered, s.KeepAlive = true, m.KeepAliveInterval
		s.Version = uint32(m.MaxProtocolVersion)
		if s.Version == 0 || s.Version > p.cfg.Version {
			s.Version = p.cfg.Version
		}
	case *msg.RegisterReject:
		s.Rejected = m.Text
	case *msg.CapabilitiesReq:
		reply = &msg.CapabilitiesRes{Caps: p.cfg.Capabilities}
	case *msg.ButtonTemplateRes:
		s.Buttons = m.Buttons
	case *msg.SoftKeyTemplateRes:
		s.SoftKeys = m.Keys
	case *msg.SoftKeySetRes:
		s.SoftKeySets = m.Sets
	case *msg.SelectSoftKeys:
		s.SoftKeySet = m.SetIndex
	case *msg.LineStatRes:
		s.Lines[m.Line] = Line{DirNumber: m.DirNumber, FullName: m.FullName, Label: m.Label}
	case *msg.LineStatV2Res:
		s.Lines[m.Line] = Line{DirNumber: m.DirNumber, FullName: m.FullName, Label: m.Label}
	case *msg.SpeedDialStatRes:
		s.SpeedDials[m.Number] = *m
	case *msg.FeatureStatRes:
		s.BLF[m.Index], s.BLFLabel[m.Index] = msg.BLFStatus(m.Status), m.Label
	case *msg.FeatureStatV2Res:
		s.BLF[m.Index], s.BLFLabel[m.Index] = msg.BLFStatus(m.Status), m.Label
	case *msg.Notification:
		s.CallListBLF[m.TransactionID] = m.Status
	case *msg.SetLamp:
		s.Lamps[LampKey{m.Stimulus, m.Instance}] = m.Mode
	case *msg.SetRinger:
		s.Ringer = m.Mode
	case *msg.SetSpeakerMode:
		s.Speaker = m.Mode
	case *msg.StartTone:
		s.Tone = m.Tone
	case *msg.StopTone:
		s.Tone = 0
	case *msg.DisplayPromptStatus:
		s.Prompt = m.Text
	case *msg.DisplayPromptStatusV2:
		s.Prompt = m.Text
	case *msg.ClearPromptStatus:
		s.Prompt = ""
	case *msg.DisplayNotify:
		s.Notify = m.Text
	case *msg.DisplayNotifyV2:
		s.Notify = m.Text
	case *msg.ClearNotify:
		s.Notify = ""
	case *msg.DialedNumber:
		s.DialedNumber = m.Number
	case *msg.ActivateCallPlane:
		s.ActiveLine = m.Line
	case *msg.DefineTimeDate:
		s.TimeDate = m
	case *msg.Reset:
		s.ResetType = m.Type
	case *msg.UnregisterAck:
		s.UnregisterDone = m.Status == msg.UnregisterOK
	case *msg.CallStateMsg:
		c := s.call(m.CallReference)
		c.Line, c.State = m.Line, m.State
		switch m.State {
		case msg.CallOnHook, msg.CallIdle:
			if s.ActiveCall == m.CallReference {
				s.ActiveCall = 0
			}
		default:
			if m.CallReference != 0 {
				s.ActiveCall = m.CallReference
			}
		}
	case *msg.CallInfo:
		c := s.call(m.CallReference)
		c.Line, c.CallingParty, c.CalledParty = m.Line, m.CallingParty, m.CalledParty
	case *msg.CallInfoV2:
		c := s.call(m.CallReference)
		c.Line, c.CallingParty, c.CalledParty = m.Line, m.CallingParty, m.CalledParty
	case *msg.OpenReceiveChannel:
		s.OpenReceive = append(s.OpenReceive, *m)
		if !p.cfg.NoMediaAck {
			reply = &msg.OpenReceiveChannelAck{Version: s.Version, Addr: p.cfg.RTPAddr.Addr(),
				Port: uint32(p.cfg.RTPAddr.Port()), PassThruPartyID: m.PassThruPartyID, CallReference: m.CallReference}
		}
	case *msg.StartMediaTransmission:
		s.StartMedia = append(s.StartMedia, *m)
		// Only v17+ phones were seen acking (7961G v22, 6901 v20; docs/sccp.md §Media-messages).
		if s.Version >= 17 {
			reply = &msg.StartMediaTransmissionAck{Version: s.Version, ConferenceID: m.ConferenceID,
				PassThruPartyID: m.PassThruPartyID, CallReference: m.CallReference,
				Addr: p.cfg.RTPAddr.Addr(), Port: uint32(p.cfg.RTPAddr.Port())}
		}
	}
	if reply != nil {
		// Queued under p.mu, so a WaitFor that sees the request and then
		// sends something is ordered after this answer (the wire order of
		// docs/sccp.md §Registration-sequence: CapabilitiesRes before ButtonTemplateReq).
		hv := s.Version
		if p.model.Has(msg.LegacyFirmware) {
			hv = 0
		}
		if b, err := msg.AppendFrame(nil, hv, reply); err == nil {
			p.enqueue(outFrame{b: b})
		}
	}
	p.notifyLocked()
	p.mu.Unlock()
}

func (s *State) call(ref uint32) *Call {
	c := s.Calls[ref]
	if c == nil {
		c = &Call{CallReference: ref}
		s.Calls[ref] = c
	}
	return c
}

// WaitFor returns the first message received after the previous WaitFor's
// match (or since the start) for which match returns true, waiting for it if
// needed. Messages it passes over count as seen. It fails when ctx ends or the
// connection is gone.
func (p *Phone) WaitFor(ctx context.Context, match func(msg.Message) bool) (msg.Message, error) {
	for {
		p.mu.Lock()
		for _, r := range p.log {
			if r.Seq <= p.consumed {
				continue
			}
			p.consumed = r.Seq
			if match(r.Msg) {
				p.mu.Unlock()
				return r.Msg, nil
			}
		}
		ch, rerr := p.changed, p.readErr
		p.mu.Unlock()
		if rerr != nil {
			return nil, fmt.Errorf("sccptest: connection ended: %w", rerr)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Expect waits (like WaitFor) for the next message of type T.
func Expect[T msg.Message](ctx context.Context, p *Phone) (T, error) {
	m, err := p.WaitFor(ctx, func(m msg.Message) bool { _, ok := m.(T); return ok })
	if err != nil {
		var zero T
		return zero, err
	}
	return m.(T), nil
}

// WaitState waits until cond holds for the phone's state and returns that state.
func (p *Phone) WaitState(ctx context.Context, cond func(State) bool) (State, error) {
	for {
		p.mu.Lock()
		s := p.state.clone()
		ch, rerr := p.changed, p.readErr
		p.mu.Unlock()
		if cond(s) {
			return s, nil
		}
		if rerr != nil {
			return s, fmt.Errorf("sccptest: connection ended: %w", rerr)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}
}
