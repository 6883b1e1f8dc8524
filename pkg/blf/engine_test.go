package blf_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
)

func baseConfig() *config.Config {
	return &config.Config{
		Presence: &config.Presence{},
		SIPUA:    &config.SIPUA{PresenceEnable: true},
		EphoneDNs: []config.EphoneDN{
			{Tag: 1, Number: "1001", AllowWatch: true}, {Tag: 2, Number: "1002", AllowWatch: true},
			{Tag: 3, Number: "1003"},
		},
		Ephones: []config.Ephone{
			{Tag: 1, MAC: "0000.0000.0001", Buttons: []config.Button{{Index: 1, Mode: ':', DNs: []int{1}}, {Index: 2, Mode: ':', DNs: []int{2}}}},
		},
	}
}

func line(tag int, number string, watch bool, p dn.Presence) dn.LineEvent {
	return dn.LineEvent{Key: dn.DNKey{Kind: dn.EphoneDN, Tag: tag}, Number: number, AllowWatch: watch, Presence: p}
}

func last(t *testing.T, m *blf.Mailbox, id blf.SubID) blf.State {
	t.Helper()
	var got *blf.Update
	for _, u := range m.Drain(nil) {
		if u.Sub == id {
			got = &u
		}
	}
	if got == nil {
		t.Fatalf("no update for sub %d", id)
	}
	return got.State
}

func TestSubscribeRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*config.Config)
		req    blf.SubscribeRequest
		want   error
	}{
		{"local ok", nil, blf.SubscribeRequest{Kind: blf.KindSCCPSpeedDial, Presentity: "1001"}, nil},
		{"no allow watch still subscribes", nil, blf.SubscribeRequest{Kind: blf.KindSIPPhone, Presentity: "1003"}, nil},
		{"presence off", func(c *config.Config) { c.Presence = nil }, blf.SubscribeRequest{Kind: blf.KindSCCPSpeedDial, Presentity: "1001"}, blf.ErrPresenceDisabled},
		{"sip presence enable off", func(c *config.Config) { c.SIPUA = nil }, blf.SubscribeRequest{Kind: blf.KindSIPPhone, Presentity: "1001"}, blf.ErrPresenceDisabled},
		{"sccp ignores sip-ua", func(c *config.Config) { c.SIPUA = nil }, blf.SubscribeRequest{Kind: blf.KindSCCPSpeedDial, Presentity: "1001"}, nil},
		{"trunk without watcher all", nil, blf.SubscribeRequest{Kind: blf.KindSIPTrunk, Presentity: "1001"}, blf.ErrExternalNotAllowed},
		{"trunk with watcher all", func(c *config.Config) { c.Presence.WatcherAll = true }, blf.SubscribeRequest{Kind: blf.KindSIPTrunk, Presentity: "1001"}, nil},
		{"trunk to unknown", func(c *config.Config) { c.Presence.WatcherAll = true }, blf.SubscribeRequest{Kind: blf.KindSIPTrunk, Presentity: "7001"}, blf.ErrUnknownPresentity},
		{"external without allow subscribe", func(c *config.Config) { c.Presence.Server = "10.0.0.9" }, blf.SubscribeRequest{Kind: blf.KindSCCPSpeedDial, Presentity: "7001"}, blf.ErrExternalNotAllowed},
		{"external without server", func(c *config.Config) { c.Presence.AllowSubscribe = true }, blf.SubscribeRequest{Kind: blf.KindSCCPSpeedDial, Presentity: "7001"}, blf.ErrUnknownPresentity},
		{"external ok", func(c *config.Config) { c.Presence.AllowSubscribe, c.Presence.Server = true, "10.0.0.9" }, blf.SubscribeRequest{Kind: blf.KindSCCPSpeedDial, Presentity: "7001"}, nil},
		{"device ok", nil, blf.SubscribeRequest{Kind: blf.KindSCCPSpeedDial, Presentity: "1001", Device: true}, nil},
		{"device for non-primary", nil, blf.SubscribeRequest{Kind: blf.KindSCCPSpeedDial, Presentity: "1002", Device: true}, blf.ErrUnknownPresentity},
		{"device for call list", nil, blf.SubscribeRequest{Kind: blf.KindSCCPCallList, Presentity: "1001", Device: true}, blf.ErrNotWatchable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.mutate != nil {
				tt.mutate(cfg)
			}
			e := blf.New(cfg, nil)
			e.LineChanged(line(1, "1001", true, dn.PresenceIdle))
			e.LineChanged(line(2, "1002", true, dn.PresenceIdle))
			e.LineChanged(line(3, "1003", false, dn.PresenceIdle))
			tt.req.Watcher = blf.NewMailbox()
			_, err := e.Subscribe(tt.req)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				var re *blf.RefusedError
				errors.As(err, &re)
				if got := e.Global().Refused[re.Reason]; got != 1 {
					t.Errorf("refused counter = %d, want 1", got)
				}
			}
		})
	}
}

func TestLampStates(t *testing.T) {
	e := blf.New(baseConfig(), nil)
	e.LineChanged(line(1, "1001", true, dn.PresenceIdle))
	m := blf.NewMailbox()
	old, _ := e.Subscribe(blf.SubscribeRequest{Watcher: m, Kind: blf.KindSCCPSpeedDial, Presentity: "1001"})
	ring, _ := e.Subscribe(blf.SubscribeRequest{Watcher: m, Kind: blf.KindSCCPSpeedDial, Presentity: "1001", CanShowAlerting: true})
	if last(t, m, old) != blf.StateIdle {
		t.Fatal("initial state not idle")
	}
	steps := []struct {
		ev        dn.LineEvent
		old, ring blf.State
	}{
		{line(1, "1001", true, dn.PresenceRinging), blf.StateInUse, blf.StateAlerting},
		{line(1, "1001", true, dn.PresenceInUse), blf.StateInUse, blf.StateInUse},
		{line(1, "1001", true, dn.PresenceDND), blf.StateDND, blf.StateDND},
		{line(1, "1001", true, dn.PresenceUnregistered), blf.StateUnknown, blf.StateUnknown},
		{line(1, "1001", false, dn.PresenceIdle), blf.StateUnknown, blf.StateUnknown},
		{line(1, "1001", true, dn.PresenceIdle), blf.StateIdle, blf.StateIdle},
		// A second DN with the same number: in use if any is (docs/cme-behaviour.md §Lines).
		{line(9, "1001", true, dn.PresenceInUse), blf.StateInUse, blf.StateInUse},
		{line(9, "1001", true, dn.PresenceIdle), blf.StateIdle, blf.StateIdle},
	}
	got := map[blf.SubID]blf.State{old: blf.StateIdle, ring: blf.StateIdle}
	for i, st := range steps {
		e.LineChanged(st.ev)
		ups := m.Drain(nil)
		for _, u := range ups {
			got[u.Sub] = u.State
		}
		if got[old] != st.old || got[ring] != st.ring {
			t.Errorf("step %d: got %v, want old=%v ring=%v", i, ups, st.old, st.ring)
		}
	}
	// no presence -> unknown; presence again -> real state.
	cfg := baseConfig()
	cfg.Presence = nil
	e.Apply(cfg)
	if s := last(t, m, old); s != blf.StateUnknown {
		t.Errorf("after no presence: %v", s)
	}
	e.Apply(baseConfig())
	if s := last(t, m, old); s != blf.StateIdle {
		t.Errorf("after presence: %v", s)
	}
}

func TestDeviceMonitoring(t *testing.T) {
	e := blf.New(baseConfig(), nil)
	m := blf.NewMailbox()
	id, err := e.Subscribe(blf.SubscribeRequest{Watcher: m, Kind: blf.KindSIPPhone, Presentity: "1001", Device: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := last(t, m, id); s != blf.StateUnknown {
		t.Errorf("unregistered device: %v", s)
	}
	name := dn.DeviceName("0000.0000.0001")
	e.DeviceChanged(dn.DeviceEvent{Name: name, Registered: true, Presence: dn.PresenceIdle})
	if s := last(t, m, id); s != blf.StateIdle {
		t.Errorf("idle device: %v", s)
	}
	e.DeviceChanged(dn.DeviceEvent{Name: name, Registered: true, Presence: dn.PresenceInUse})
	if s := last(t, m, id); s != blf.StateInUse {
		t.Errorf("busy device: %v", s)
	}
	if rows := e.Subscriptions(); len(rows) != 1 || !rows[0].Device || rows[0].State != blf.StateInUse {
		t.Errorf("Subscriptions = %+v", rows)
	}
}

func TestMaxSubscriptions(t *testing.T) {
	cfg := baseConfig()
	e := blf.New(cfg, nil)
	e.LineChanged(line(1, "1001", true, dn.PresenceIdle))
	m := blf.NewMailbox()
	var ids []blf.SubID
	for range config.DefaultMaxSubscription {
		id, err := e.Subscribe(blf.SubscribeRequest{Watcher: m, Kind: blf.KindSIPPhone, Presentity: "1001"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := e.Subscribe(blf.SubscribeRequest{Watcher: m, Kind: blf.KindSIPTrunk, Presentity: "1001"}); !errors.Is(err, blf.ErrExternalNotAllowed) {
		t.Errorf("trunk: %v", err)
	}
	if _, err := e.Subscribe(blf.SubscribeRequest{Watcher: m, Kind: blf.KindSCCPSpeedDial, Presentity: "1001"}); !errors.Is(err, blf.ErrMaxSubscriptions) {
		t.Errorf("101st: %v", err)
	}
	if _, err := e.Subscribe(blf.SubscribeRequest{Watcher: m, Kind: blf.KindWeb, Presentity: "1001"}); err != nil {
		t.Errorf("web watcher refused: %v", err)
	}
	g := e.Global()
	if g.Subscriptions != 100 || g.Refused[blf.ReasonMaxSubscriptions] != 1 || g.MaxSubscriptions != 100 || g.ServerIP != "0.0.0.0" {
		t.Errorf("Global = %+v", g)
	}
	if err := e.Unsubscribe(ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := e.Unsubscribe(ids[0]); !errors.Is(err, blf.ErrNoSubscription) {
		t.Errorf("double unsubscribe: %v", err)
	}
	if _, err := e.Subscribe(blf.SubscribeRequest{Watcher: m, Kind: blf.KindSCCPCallList, Presentity: "1001"}); err != nil {
		t.Errorf("after unsubscribe: %v", err)
	}
}

// upstream records Watch/Unwatch, which the engine makes from its own
// goroutine after the Subscribe or Unsubscribe that decided them.
type upstream struct {
	mu      sync.Mutex // guards watched; a leaf
	watched map[string]int
}

func (u *upstream) Watch(n string)   { u.mu.Lock(); u.watched[n]++; u.mu.Unlock() }
func (u *upstream) Unwatch(n string) { u.mu.Lock(); u.watched[n]--; u.mu.Unlock() }

// settles waits a bounded while for number's watch count to become want.
func (u *upstream) settles(number string, want int) bool {
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		u.mu.Lock()
		got := u.watched[number]
		u.mu.Unlock()
		if got == want {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

func TestExternalPresentity(t *testing.T) {
	cfg := baseConfig()
	cfg.Presence.AllowSubscribe, cfg.Presence.Server = true, "10.0.0.9"
	up := &upstream{watched: map[string]int{}}
	e := blf.New(cfg, up)
	m := blf.NewMailbox()
	a, _ := e.Subscribe(blf.SubscribeRequest{Watcher: m, WatcherName: "1001@10.0.0.1", Kind: blf.KindSCCPSpeedDial, Presentity: "7001"})
	b, _ := e.Subscribe(blf.SubscribeRequest{Watcher: m, WatcherName: "1002@10.0.0.1", Kind: blf.KindSCCPSpeedDial, Presentity: "7001"})
	if !up.settles("7001", 1) {
		t.Fatalf("upstream not watched exactly once")
	}
	e.SetExternalState("7001", blf.StateInUse)
	if s := last(t, m, b); s != blf.StateInUse {
		t.Errorf("relayed state %v", s)
	}
	rows := e.SubscriptionsFor("7001")
	if len(rows) != 3 || rows[0].Type != "Outgoing Request" || rows[1].SibID != rows[0].ID || rows[1].PresentityType != "remote" {
		t.Errorf("rows = %+v", rows)
	}
	_ = e.Unsubscribe(a)
	_ = e.Unsubscribe(b)
	if !up.settles("7001", 0) {
		t.Errorf("upstream not released")
	}
}

func TestMailboxCoalesces(t *testing.T) {
	m := blf.NewMailbox()
	for i := range 5 {
		m.Deliver(blf.Update{Sub: 1, State: blf.State(i % 3)})
		m.Deliver(blf.Update{Sub: 2, State: blf.StateIdle})
	}
	select {
	case <-m.C():
	default:
		t.Fatal("no wake-up")
	}
	ups := m.Drain(nil)
	if len(ups) != 2 || ups[0].Sub != 1 || ups[0].State != blf.State(4%3) {
		t.Errorf("Drain = %v", ups)
	}
	if len(m.Drain(nil)) != 0 {
		t.Error("Drain did not clear")
	}
}
