package blf_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// propConfig: 5 ephones and 2 SIP pools; ephone-dn 3 is shared by
// ephones 3 and 4; dn 5 is dual-line; two DNs share number 1006. The knobs
// vary allow watch, presence and the shared button for config changes.
func propConfig(noWatch map[int]bool, presence, shared bool) *config.Config {
	cfg := &config.Config{
		Telephony: &config.Telephony{TimeoutsInterdigit: 3, TimeoutsRinging: 20},
		SIPUA:     &config.SIPUA{PresenceEnable: true},
	}
	if presence {
		cfg.Presence = &config.Presence{MaxSubscription: 500}
	}
	for tag := 1; tag <= 6; tag++ {
		d := config.EphoneDN{Tag: tag, Number: fmt.Sprintf("100%d", tag), AllowWatch: !noWatch[tag]}
		if tag == 5 {
			d.Mode = config.DualLine
		}
		cfg.EphoneDNs = append(cfg.EphoneDNs, d)
	}
	cfg.EphoneDNs = append(cfg.EphoneDNs, config.EphoneDN{Tag: 7, Number: "1006", AllowWatch: !noWatch[7]})
	for tag := 1; tag <= 5; tag++ {
		bs := []config.Button{{Index: 1, Mode: ':', DNs: []int{tag}}}
		if tag == 4 && shared {
			bs = append(bs, config.Button{Index: 2, Mode: ':', DNs: []int{3}})
		}
		if tag == 5 {
			bs = append(bs, config.Button{Index: 2, Mode: ':', DNs: []int{6}}, config.Button{Index: 3, Mode: ':', DNs: []int{7}})
		}
		cfg.Ephones = append(cfg.Ephones, config.Ephone{Tag: tag, MAC: fmt.Sprintf("0000.0000.000%d", tag), Buttons: bs})
	}
	for tag := 1; tag <= 2; tag++ {
		cfg.VoiceRegisterDNs = append(cfg.VoiceRegisterDNs, config.VoiceRegisterDN{Tag: tag, Number: fmt.Sprintf("200%d", tag), AllowWatch: true})
		cfg.VoiceRegisterPools = append(cfg.VoiceRegisterPools, config.VoiceRegisterPool{Tag: tag,
			MAC: fmt.Sprintf("0000.0000.010%d", tag), Numbers: []config.PoolNumber{{Tag: 1, DN: tag}}})
	}
	return cfg
}

var propNumbers = []string{"1001", "1002", "1003", "1004", "1005", "1006", "2001", "2002"}

type propWatch struct {
	id    blf.SubID
	req   blf.SubscribeRequest
	mb    *blf.Mailbox
	state blf.State
}

// oracle computes every presentity's true state from the switch's
// snapshots (Calls, Lines, Devices), independently of the event path.
func oracle(t *testing.T, sw *dn.Switch, presence bool, primary map[string]string) map[string]blf.State {
	devs, err := sw.Devices()
	if err != nil {
		t.Fatal(err)
	}
	lines, _ := sw.Lines()
	calls, _ := sw.Calls()
	devByName := map[string]dn.DeviceStatus{}
	for _, d := range devs {
		devByName[d.Name] = d
	}
	legsOn := map[dn.DNKey][]dn.LegStatus{}
	devActive := map[string]bool{}
	for _, c := range calls {
		for _, l := range c.Legs {
			legsOn[l.DN] = append(legsOn[l.DN], l)
			if l.Device != "" {
				devActive[l.Device] = true
			}
		}
	}
	rank := map[blf.State]int{blf.StateUnknown: 0, blf.StateIdle: 1, blf.StateDND: 2, blf.StateInUse: 3, blf.StateAlerting: 4}
	out := map[string]blf.State{}
	for _, n := range propNumbers {
		best := blf.StateUnknown
		for _, l := range lines {
			if l.Number != n || !l.AllowWatch {
				continue
			}
			st := blf.StateUnknown
			reg, allDND := false, true
			for _, a := range l.Appearances {
				if !a.Registered {
					continue
				}
				reg = true
				d := devByName[a.Device]
				if !d.DND || d.Protocol != dn.SCCP {
					allDND = false
				}
			}
			ringing := false
			for _, lg := range legsOn[l.Key] {
				if lg.State == dn.LineRinging {
					ringing = true
				}
			}
			switch {
			case !reg:
			case allDND:
				st = blf.StateDND
			case ringing:
				st = blf.StateAlerting
			case len(legsOn[l.Key]) > 0:
				st = blf.StateInUse
			default:
				st = blf.StateIdle
			}
			if rank[st] > rank[best] {
				best = st
			}
		}
		if !presence {
			best = blf.StateUnknown
		}
		out[n] = best
		// device-based
		dst := blf.StateUnknown
		if d, ok := devByName[primary[n]]; ok && d.Registered && presence {
			ringing := false
			for _, a := range d.Lines {
				if a.State == dn.LineRinging {
					ringing = true
				}
			}
			switch {
			case d.DND && d.Protocol == dn.SCCP:
				dst = blf.StateDND
			case devActive[d.Name]:
				dst = blf.StateInUse
			case ringing:
				dst = blf.StateAlerting
			default:
				dst = blf.StateIdle
			}
		}
		out["device:"+n] = dst
	}
	return out
}

// TestPropertyNoStuckLamps drives random device events, subscriptions and
// config changes; whenever the system is quiescent every watcher's last
// delivered lamp must equal the presentity's true state.
func TestPropertyNoStuckLamps(t *testing.T) {
	seeds := 40
	steps := 250
	if testing.Short() {
		seeds = 5
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { propRun(t, uint64(seed), steps) })
	}
}

func propRun(t *testing.T, seed uint64, steps int) {
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		noWatch, presence, shared := map[int]bool{}, true, true
		cfg := propConfig(noWatch, presence, shared)
		eng := blf.New(cfg, nil)
		sw := dn.New(cfg, eng)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = sw.Run(ctx) })
		defer func() { cancel(); wg.Wait() }()

		names := []string{}
		for i := 1; i <= 5; i++ {
			names = append(names, dn.DeviceName(fmt.Sprintf("0000.0000.000%d", i)))
		}
		for i := 1; i <= 2; i++ {
			names = append(names, dn.DeviceName(fmt.Sprintf("0000.0000.010%d", i)))
		}
		ids := map[string]dn.DeviceID{}
		var watches []*propWatch
		var log []string

		for step := range steps {
			name := names[rng.IntN(len(names))]
			id, registered := ids[name]
			var op string
			switch r := rng.IntN(112); {
			case r < 10:
				op = "register " + name
				proto := dn.SCCP
				if name[len(name)-3] == '1' {
					proto = dn.SIP
				}
				nid, err := sw.RegisterDevice(dn.DeviceInfo{Name: name, Protocol: proto}, &dntest.Device{})
				if err == nil {
					ids[name] = nid
				}
			case r < 14 && registered:
				op = "unregister " + name
				_ = sw.UnregisterDevice(id)
				delete(ids, name)
			case r < 28:
				op = "offhook " + name
				_, _ = sw.OffHook(id, rng.IntN(3))
			case r < 42:
				n := propNumbers[rng.IntN(len(propNumbers))]
				if rng.IntN(4) == 0 {
					n = n[:rng.IntN(len(n))]
				}
				op = "digits " + name + " " + n
				_, _ = sw.Digits(id, 0, n)
			case r < 55:
				op = "answer " + name
				_, _ = sw.Answer(id, 0, 0)
			case r < 65:
				op = "onhook " + name
				_, _ = sw.OnHook(id, 0)
			case r < 70:
				op = "hold " + name
				_, _ = sw.Hold(id, 0, 0)
			case r < 75:
				op = "resume " + name
				_, _ = sw.Resume(id, rng.IntN(3), 0)
			case r < 80:
				on := rng.IntN(2) == 0
				op = fmt.Sprint("dnd ", name, on)
				_ = sw.SetDND(id, on)
			case r < 84:
				switch rng.IntN(3) {
				case 0:
					tag := 1 + rng.IntN(7)
					noWatch[tag] = !noWatch[tag]
				case 1:
					presence = !presence
				case 2:
					shared = !shared
				}
				op = fmt.Sprint("config nowatch=", noWatch, " presence=", presence, " shared=", shared)
				cfg = propConfig(noWatch, presence, shared)
				_ = sw.Apply(cfg)
				eng.Apply(cfg)
			case r < 92:
				req := blf.SubscribeRequest{Watcher: blf.NewMailbox(), Kind: blf.KindSIPPhone,
					Presentity: propNumbers[rng.IntN(len(propNumbers))], CanShowAlerting: rng.IntN(2) == 0,
					Device: rng.IntN(4) == 0}
				op = fmt.Sprint("subscribe ", req.Presentity, " device=", req.Device)
				if sid, err := eng.Subscribe(req); err == nil {
					watches = append(watches, &propWatch{id: sid, req: req, mb: req.Watcher.(*blf.Mailbox)})
				}
			case r < 95 && len(watches) > 0:
				i := rng.IntN(len(watches))
				op = "unsubscribe"
				_ = eng.Unsubscribe(watches[i].id)
				watches = append(watches[:i], watches[i+1:]...)
			case r >= 100 && r < 104:
				n := propNumbers[rng.IntN(len(propNumbers))]
				op = "transfer " + name + " to " + n
				if _, err := sw.StartTransfer(id, 0, 0); err == nil {
					_, _ = sw.Digits(id, 0, n)
				}
			case r >= 104 && r < 107:
				op = "complete transfer " + name
				if calls, _ := sw.Calls(); len(calls) > 0 {
					_ = sw.CompleteTransfer(id, calls[rng.IntN(len(calls))].ID, 0)
				}
			case r >= 107 && r < 109:
				n := propNumbers[rng.IntN(len(propNumbers))]
				op = "blind transfer " + name + " to " + n
				if calls, _ := sw.Calls(); len(calls) > 0 {
					_ = sw.BlindTransfer(id, calls[rng.IntN(len(calls))].ID, n)
				}
			case r >= 109:
				n := ""
				if rng.IntN(2) == 0 {
					n = propNumbers[rng.IntN(len(propNumbers))]
				}
				op = "cfwdall " + name + " " + n
				_ = sw.SetCallForwardAll(id, 0, n)
			default:
				d := time.Duration(rng.IntN(25)) * time.Second
				op = fmt.Sprint("sleep ", d)
				time.Sleep(d)
			}
			log = append(log, op)
			synctest.Wait() // quiescent: timers and deliveries done

			truth := oracle(t, sw, presence, dn.PrimaryDevices(cfg))
			for _, w := range watches {
				for _, u := range w.mb.Drain(nil) {
					w.state = u.State
				}
				key := w.req.Presentity
				if w.req.Device {
					key = "device:" + key
				}
				want := truth[key]
				if want == blf.StateAlerting && !w.req.CanShowAlerting {
					want = blf.StateInUse
				}
				if w.state != want {
					start := max(0, len(log)-15)
					t.Fatalf("seed %d step %d: watcher of %s shows %v, true state %v\nlast ops:\n%v",
						seed, step, key, w.state, want, log[start:])
				}
			}
		}
	})
}
