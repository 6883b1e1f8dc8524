package web_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
	"github.com/cmed-project/cmed/pkg/web"
)

// tee fans dn events out to several observers (the daemon's wiring does the
// same for blf and web).
type tee []dn.Observer

func (t *tee) LineChanged(ev dn.LineEvent) {
	for _, o := range *t {
		o.LineChanged(ev)
	}
}

func (t *tee) DeviceChanged(ev dn.DeviceEvent) {
	for _, o := range *t {
		o.DeviceChanged(ev)
	}
}

func mac(tag int) string { return "0000.0000.000" + string(rune('0'+tag)) }

// boardConfig: ephone N (7965) has ephone-dn N on button 1; ephone 2 also
// shares ephone-dn 3 on button 2; ephone-dn 4 is on no phone. Ephone 2
// has a BLF speed dial on 1001, ephone 3 one on 1002.
func boardConfig() *config.Config {
	btn := func(i int, dns ...int) config.Button {
		return config.Button{Index: i, Mode: config.ButtonNormal, DNs: dns}
	}
	return &config.Config{
		Hostname:  "CME-LAB",
		Users:     []config.User{{Name: "admin", Privilege: 15, Secret: "s3cret"}},
		Telephony: &config.Telephony{TimeoutsInterdigit: 5, TimeoutsRinging: 30},
		Presence:  &config.Presence{},
		SIPUA:     &config.SIPUA{PresenceEnable: true},
		EphoneDNs: []config.EphoneDN{
			{Tag: 1, Number: "1001", Label: "Reception and Front Desk", AllowWatch: true},
			{Tag: 2, Number: "1002", Name: "Sales", AllowWatch: true},
			{Tag: 3, Number: "1003", AllowWatch: true},
			{Tag: 4, Number: "1004", AllowWatch: true},
		},
		Ephones: []config.Ephone{
			{Tag: 1, MAC: mac(1), Type: "7965", Buttons: []config.Button{btn(1, 1)}},
			{Tag: 2, MAC: mac(2), Type: "7965", Buttons: []config.Button{btn(1, 2), btn(2, 3)},
				BLFSpeedDials: []config.BLFSpeedDial{{Tag: 1, Number: "1001", Label: "Front Desk Supervisor"}}},
			{Tag: 3, MAC: mac(3), Type: "7965", Buttons: []config.Button{btn(1, 3)},
				BLFSpeedDials: []config.BLFSpeedDial{{Tag: 1, Number: "1002", Label: "Sales"}}},
		},
	}
}

type env struct {
	t      testing.TB
	cfg    *config.Config
	sw     *dn.Switch
	engine *blf.Engine
	web    *web.Server
	dev    map[int]*dntest.Device
	id     map[int]dn.DeviceID
}

// newEnv runs a real dn.Switch and blf.Engine with the board observing
// them; opts.Source and opts.Presence are filled in.
func newEnv(t testing.TB, opts web.Options) *env {
	t.Helper()
	e := &env{t: t, cfg: boardConfig(), dev: map[int]*dntest.Device{}, id: map[int]dn.DeviceID{}}
	obs := &tee{}
	e.sw = dn.New(e.cfg, obs)
	e.engine = blf.New(e.cfg, nil)
	opts.Source, opts.Presence = e.sw, e.engine
	if opts.Config == nil {
		opts.Config = func() *config.Config { return e.cfg }
	}
	if opts.Users == nil {
		opts.Users = func() []config.User { return e.cfg.Users }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Hostname == nil {
		opts.Hostname = func() string { return e.cfg.Hostname }
	}
	e.web = web.New(opts)
	*obs = tee{e.engine, e.web}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = e.sw.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return e
}

func (e *env) register(tags ...int) {
	e.t.Helper()
	for _, tag := range tags {
		d := &dntest.Device{}
		id, err := e.sw.RegisterDevice(dn.DeviceInfo{Name: dn.DeviceName(mac(tag)), Protocol: dn.SCCP, Model: "7965",
			Addr: "127.0.0.1:2000" + string(rune('0'+tag))}, d)
		if err != nil {
			e.t.Fatalf("register ephone %d: %v", tag, err)
		}
		e.dev[tag], e.id[tag] = d, id
	}
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// mustRef is must for the phone commands that return the call they acted on.
func (e *env) mustRef(_ dn.CallRef, err error) {
	e.t.Helper()
	e.must(err)
}

// call: ephone from goes off-hook and dials; ephone to answers.
func (e *env) call(from, to int, digits string) {
	e.t.Helper()
	e.mustRef(e.sw.OffHook(e.id[from], 0))
	e.mustRef(e.sw.Digits(e.id[from], 0, digits))
	ring, ok := e.dev[to].Last("Ring")
	if !ok {
		e.t.Fatalf("ephone %d did not ring:\n%s", to, e.dev[to].Dump())
	}
	e.mustRef(e.sw.Answer(e.id[to], ring.Line, ring.Call))
}
