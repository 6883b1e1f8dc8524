package sccptest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cmed-project/cmed/pkg/sccp/msg"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scriptServer is a tiny call manager for one phone over net.Pipe: it answers
// the registration requests of docs/sccp.md §Registration and records everything it gets.
type scriptServer struct {
	t       *testing.T
	conn    net.Conn
	version uint32
	wmu     sync.Mutex

	mu       sync.Mutex
	received []msg.Message
	changed  chan struct{}
	reject   string
	done     chan struct{}
}

func startServer(t *testing.T, conn net.Conn) *scriptServer {
	s := &scriptServer{t: t, conn: conn, changed: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *scriptServer) send(m msg.Message) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := msg.WriteMessage(s.conn, msg.HeaderVersion(s.version, m.ID()), m); err != nil {
		s.t.Errorf("server write %v: %v", m.ID(), err)
	}
}

var template = []msg.Button{{Instance: 1, Type: msg.ButtonLine}, {Instance: 2, Type: msg.ButtonLine}, {Instance: 1, Type: msg.ButtonSpeedDial},
	{Instance: 2, Type: msg.ButtonBLFSpeedDial}, {Instance: 1, Type: msg.ButtonServiceURL}}

func (s *scriptServer) loop() {
	defer close(s.done)
	rd := msg.NewReader(s.conn)
	for range 10000 {
		_, m, err := rd.ReadMessage(s.version)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.received = append(s.received, m)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		switch m := m.(type) {
		case *msg.Register:
			if s.reject != "" {
				s.send(&msg.RegisterReject{Text: s.reject})
				continue
			}
			model, _ := msg.ModelByDeviceType(uint32(m.DeviceType))
			s.version = model.NegotiateVersion(uint32(m.ProtocolVersion))
			s.send(&msg.RegisterAck{KeepAliveInterval: 30, DateTemplate: "M/D/Y", SecondaryKeepAliveInterval: 60,
				MaxProtocolVersion: uint8(s.version), Features: msg.RegisterAckFeatures(s.version)})
			s.send(&msg.CapabilitiesReq{})
		case *msg.ButtonTemplateReq:
			s.send(&msg.ButtonTemplateRes{Buttons: template})
		case *msg.SoftKeyTemplateReq:
			s.send(&msg.SoftKeyTemplateRes{Keys: []msg.SoftKey{{Label: msg.Label(msg.LabelRedial), Event: 1},
				{Label: msg.Label(msg.LabelNewCall), Event: 2}, {Label: msg.Label(msg.LabelEndCall), Event: 9},
				{Label: msg.Label(msg.LabelAnswer), Event: 11}}})
		case *msg.SoftKeySetReq:
			s.send(&msg.SoftKeySetRes{Sets: make([]msg.SoftKeySet, 11)})
			s.send(&msg.SelectSoftKeys{SetIndex: msg.KeySetOnHook, ValidKeyMask: 0xFFFFFFFF})
			s.send(&msg.DisplayPromptStatus{Text: msg.Label(msg.LabelYourOptions)})
		case *msg.LineStatReq:
			s.send(&msg.LineStatRes{Line: m.Line, DirNumber: "10" + string(rune('0'+m.Line)), Label: "L"})
		case *msg.ForwardStatReq:
			s.send(&msg.ForwardStatRes{Version: s.version, Line: m.Line})
		case *msg.FeatureStatReq:
			s.send(&msg.FeatureStatV2Res{Index: m.Index, Feature: msg.ButtonBLFSpeedDial, Status: uint32(msg.BLFIdle), Label: "Bob"})
		case *msg.SpeedDialStatReq:
			s.send(&msg.SpeedDialStatRes{Number: m.Number, DirNumber: "200", Name: "Bob"})
		case *msg.ServiceURLStatReq:
			s.send(&msg.ServiceURLStatRes{Index: m.Index, URL: "http://x/", Label: "Svc"})
		case *msg.ConfigStatReq:
			s.send(&msg.ConfigStatRes{DeviceName: "SEP", NumberLines: 2, NumberSpeedDial: 2})
		case *msg.TimeDateReq:
			s.send(msg.NewDefineTimeDate(time.Date(2026, 6, 3, 19, 10, 18, 0, time.UTC)))
		case *msg.KeepAlive:
			s.send(&msg.KeepAliveAck{})
		case *msg.Unregister:
			s.send(&msg.UnregisterAck{Status: msg.UnregisterOK})
		case *msg.OffHook:
			s.send(&msg.SetLamp{Stimulus: msg.ButtonLine, Instance: 1, Mode: msg.LampOn})
			s.send(&msg.CallStateMsg{State: msg.CallOffHook, Line: 1, CallReference: 77, PrecedenceLevel: 4})
			s.send(&msg.DisplayPromptStatus{Text: msg.Label(msg.LabelEnterNumber), Line: 1, CallReference: 77})
			s.send(&msg.StartTone{Tone: msg.ToneInsideDial, Line: 1, CallReference: 77})
		case *msg.OnHook:
			s.send(&msg.SetLamp{Stimulus: msg.ButtonLine, Instance: 1, Mode: msg.LampOff})
			s.send(&msg.CallStateMsg{State: msg.CallOnHook, Line: 1, CallReference: 77})
			s.send(&msg.ClearPromptStatus{Line: 1, CallReference: 77})
		}
	}
}

// waitReceived waits until the server has a message matching match.
func (s *scriptServer) waitReceived(ctx context.Context, match func(msg.Message) bool) (msg.Message, error) {
	for {
		s.mu.Lock()
		for _, m := range s.received {
			if match(m) {
				s.mu.Unlock()
				return m, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// waitAll waits until cond holds for everything the server received so far.
func (s *scriptServer) waitAll(ctx context.Context, cond func([]msg.Message) bool) error {
	for {
		s.mu.Lock()
		all := slices.Clone(s.received)
		ch := s.changed
		s.mu.Unlock()
		if cond(all) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *scriptServer) ids() []msg.MessageID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []msg.MessageID
	for _, m := range s.received {
		out = append(out, m.ID())
	}
	return out
}

func newPair(t *testing.T, cfg Config) (*Phone, *scriptServer) {
	t.Helper()
	pc, sc := net.Pipe()
	srv := startServer(t, sc)
	p, err := New(pc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		sc.Close()
		<-srv.done
	})
	return p, srv
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRegistrationSequence7960(t *testing.T) {
	ctx := ctxT(t)
	p, srv := newPair(t, Config{Model: "7960", MAC: "001122334455"})
	if err := p.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	want := []msg.MessageID{msg.IDAlarm, msg.IDRegister, msg.IDCapabilitiesRes, msg.IDButtonTemplateReq,
		msg.IDSoftKeyTemplateReq, msg.IDSoftKeySetReq, msg.IDLineStatReq, msg.IDForwardStatReq,
		msg.IDLineStatReq, msg.IDForwardStatReq, msg.IDFeatureStatReq, msg.IDSpeedDialStatReq,
		msg.IDSpeedDialStatReq, msg.IDServiceURLStatReq, msg.IDConfigStatReq, msg.IDRegisterAvailableLines,
		msg.IDTimeDateReq}
	if got := srv.ids(); !slices.Equal(got, want) {
		t.Fatalf("server got\n %v\nwant\n %v", got, want)
	}
	reg, _ := srv.waitReceived(ctx, func(m msg.Message) bool { return m.ID() == msg.IDRegister })
	r := reg.(*msg.Register)
	if r.DeviceName != "SEP001122334455" || r.DeviceType != 7 || r.ProtocolVersion != 11 || r.WireLen != 68 {
		t.Errorf("Register %+v", r)
	}
	fs, _ := srv.waitReceived(ctx, func(m msg.Message) bool { return m.ID() == msg.IDFeatureStatReq })
	if f := fs.(*msg.FeatureStatReq); f.WireLen != 4 || f.Index != 2 {
		t.Errorf("7960 FeatureStatReq %+v", f)
	}
	caps, _ := srv.waitReceived(ctx, func(m msg.Message) bool { return m.ID() == msg.IDCapabilitiesRes })
	if c := caps.(*msg.CapabilitiesRes); len(c.Caps) != 4 || c.Caps[0].Codec != msg.CodecG711Ulaw {
		t.Errorf("caps %+v", c)
	}
	s := p.State()
	if !s.Registered || s.Version != 11 || s.KeepAlive != 30 || len(s.Buttons) != len(template) ||
		s.Lines[2].DirNumber != "102" || s.BLF[2] != msg.BLFIdle || s.BLFLabel[2] != "Bob" ||
		s.SpeedDials[1].DirNumber != "200" || s.TimeDate == nil || s.TimeDate.Year != 2026 ||
		s.Prompt != msg.Label(msg.LabelYourOptions) || len(s.SoftKeys) != 4 {
		t.Errorf("state %+v", s)
	}
	if err := p.KeepAlive(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRegistration7961UsesLongForms(t *testing.T) {
	ctx := ctxT(t)
	p, srv := newPair(t, Config{Model: "7961"})
	if err := p.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	reg, _ := srv.waitReceived(ctx, func(m msg.Message) bool { return m.ID() == msg.IDRegister })
	if r := reg.(*msg.Register); r.ProtocolVersion != 22 || r.WireLen != 124 || r.DeviceType != 30018 {
		t.Errorf("Register %+v", r)
	}
	fs, _ := srv.waitReceived(ctx, func(m msg.Message) bool { return m.ID() == msg.IDFeatureStatReq })
	if f := fs.(*msg.FeatureStatReq); f.WireLen != 8 {
		t.Errorf("7961 FeatureStatReq %+v", f)
	}
	if v := p.State().Version; v != 11 {
		t.Errorf("negotiated %d, want the v11 cap", v)
	}
	if err := p.Press(msg.ButtonBLFSpeedDial, 2); err != nil {
		t.Fatal(err)
	}
	st, err := srv.waitReceived(ctx, func(m msg.Message) bool { return m.ID() == msg.IDStimulus })
	if err != nil {
		t.Fatal(err)
	}
	if s := st.(*msg.Stimulus); s.WireLen != 16 || s.Stimulus != msg.ButtonBLFSpeedDial || s.Instance != 2 {
		t.Errorf("stimulus %+v", s)
	}
}

func TestRejected(t *testing.T) {
	ctx := ctxT(t)
	pc, sc := net.Pipe()
	srv := &scriptServer{t: t, conn: sc, changed: make(chan struct{}), done: make(chan struct{}), reject: "Unknown device"}
	go srv.loop()
	p, err := New(pc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { p.Close(); sc.Close(); <-srv.done }()
	if err := p.Register(ctx); !errors.Is(err, ErrRejected) {
		t.Fatalf("err %v", err)
	}
	if s := p.State(); s.Rejected != "Unknown device" || s.Registered {
		t.Errorf("state %+v", s)
	}
}

func TestCallAndBLF(t *testing.T) {
	ctx := ctxT(t)
	rtp := netip.MustParseAddrPort("127.0.0.1:20000")
	p, srv := newPair(t, Config{Model: "7960", RTPAddr: rtp})
	if err := p.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	// Unsolicited BLF change, as the server pushes on a watched DN's state change.
	srv.send(&msg.FeatureStatV2Res{Index: 2, Feature: msg.ButtonBLFSpeedDial, Status: uint32(msg.BLFInUse), Label: "Bob"})
	if _, err := p.WaitState(ctx, func(s State) bool { return s.BLF[2] == msg.BLFInUse }); err != nil {
		t.Fatal(err)
	}
	// Off hook: the server's answer sets lamp, call state, prompt and tone.
	if err := p.OffHook(); err != nil {
		t.Fatal(err)
	}
	cs, err := Expect[*msg.CallStateMsg](ctx, p)
	if err != nil || cs.State != msg.CallOffHook || cs.CallReference != 77 {
		t.Fatalf("call state %+v %v", cs, err)
	}
	s, err := p.WaitState(ctx, func(s State) bool { return s.Tone == msg.ToneInsideDial })
	if err != nil {
		t.Fatal(err)
	}
	if s.Lamps[LampKey{msg.ButtonLine, 1}] != msg.LampOn || s.ActiveCall != 77 || s.Prompt != msg.Label(msg.LabelEnterNumber) {
		t.Errorf("state after off hook %+v", s)
	}
	if err := p.Dial("12#"); err != nil {
		t.Fatal(err)
	}
	var keys []msg.KeypadKey
	if err := srv.waitAll(ctx, func(all []msg.Message) bool {
		keys = nil
		for _, m := range all {
			if k, ok := m.(*msg.KeypadButton); ok {
				if k.Line != 1 || k.CallReference != 77 || k.WireLen != 12 {
					t.Errorf("keypad %+v", k)
				}
				keys = append(keys, k.Button)
			}
		}
		return len(keys) >= 3
	}); err != nil {
		t.Fatal(err, keys)
	}
	if !slices.Equal(keys, []msg.KeypadKey{1, 2, msg.KeyPound}) {
		t.Errorf("keys %v", keys)
	}
	// Media: the phone acks OpenReceiveChannel with its RTP address.
	srv.send(&msg.OpenReceiveChannel{Version: 11, ConferenceID: 77, PassThruPartyID: 501, PacketSizeMs: 20,
		Codec: msg.CodecG711Ulaw, CallReference: 77})
	ackm, err := srv.waitReceived(ctx, func(m msg.Message) bool { return m.ID() == msg.IDOpenReceiveChannelAck })
	if err != nil {
		t.Fatal(err)
	}
	if a := ackm.(*msg.OpenReceiveChannelAck); a.Addr != rtp.Addr() || a.Port != uint32(rtp.Port()) ||
		a.PassThruPartyID != 501 || a.CallReference != 77 {
		t.Errorf("ack %+v", a)
	}
	// 7960: 12-byte Stimulus, as the real one sends.
	if err := p.Press(msg.ButtonBLFSpeedDial, 2); err != nil {
		t.Fatal(err)
	}
	st, _ := srv.waitReceived(ctx, func(m msg.Message) bool { return m.ID() == msg.IDStimulus })
	if s := st.(*msg.Stimulus); s.WireLen != 12 || s.CallReference != 77 {
		t.Errorf("stimulus %+v", s)
	}
	if err := p.PressSoftKey(msg.LabelEndCall); err != nil {
		t.Fatal(err)
	}
	ev, _ := srv.waitReceived(ctx, func(m msg.Message) bool { return m.ID() == msg.IDSoftKeyEvent })
	if e := ev.(*msg.SoftKeyEvent); e.Event != 9 || e.Line != 1 || e.CallReference != 77 {
		t.Errorf("softkey %+v", e)
	}
	if err := p.OnHook(); err != nil {
		t.Fatal(err)
	}
	s, err = p.WaitState(ctx, func(s State) bool { return s.ActiveCall == 0 && s.Prompt == "" })
	if err != nil {
		t.Fatal(err)
	}
	if s.Lamps[LampKey{msg.ButtonLine, 1}] != msg.LampOff || s.Calls[77].State != msg.CallOnHook {
		t.Errorf("state after on hook %+v", s)
	}
	ua, err := p.Unregister(ctx)
	if err != nil || ua.Status != msg.UnregisterOK {
		t.Fatalf("unregister %+v %v", ua, err)
	}
}

func TestWaitForEndsWithConnection(t *testing.T) {
	pc, sc := net.Pipe()
	p, err := New(pc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sc.Close()
	ctx := ctxT(t)
	if _, err := p.WaitFor(ctx, func(msg.Message) bool { return true }); err == nil {
		t.Fatal("WaitFor succeeded on a closed connection")
	}
}

func TestManyPhones(t *testing.T) {
	ctx := ctxT(t)
	var wg sync.WaitGroup
	models := []string{"7940", "7960", "7941", "7961", "7975", "7911"}
	errs := make(chan error, len(models))
	for _, m := range models {
		p, _ := newPair(t, Config{Model: m})
		wg.Go(func() { errs <- p.Connect(ctx) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestDialTCP(t *testing.T) {
	ctx := ctxT(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan *scriptServer, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- startServer(t, c)
	}()
	p, err := Dial(ctx, ln.Addr().String(), Config{Model: "7965"})
	if err != nil {
		t.Fatal(err)
	}
	srv := <-accepted
	defer func() { p.Close(); srv.conn.Close(); <-srv.done }()
	if err := p.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if s := p.State(); !s.Registered || s.TimeDate == nil {
		t.Errorf("state %+v", s)
	}
}
