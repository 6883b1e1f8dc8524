package daemon

import (
	"errors"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/cli"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/metrics"
	"github.com/cmed-project/cmed/pkg/store"
)

// cliState is the daemon's CLI: the server every session runs in and what
// the adapters registered with it. Start creates it before any adapter.
type cliState struct {
	server *cli.Server

	mu        sync.Mutex // guards resetters and debug; a leaf: resetters are called on a copy
	resetters []func(config.DeviceAction) error
	debug     cli.Debugger
}

func newCLIState(d *Daemon) *cliState {
	st := &cliState{}
	st.server = cli.NewServer(cliBackend{d, st}, d.log.With("service", "cli"))
	return st
}

// CLIServer is the CLI server (SSH, control socket and telnet share it).
func (d *Daemon) CLIServer() *cli.Server { return d.cli.server }

// AddResetter registers a phone adapter's handler for `reset`/`restart`
// typed in configuration mode (kind "ephone" or "pool", tag 0 = all). An
// adapter returns nil for a kind it does not serve.
func (d *Daemon) AddResetter(fn func(config.DeviceAction) error) {
	st := d.cli
	st.mu.Lock()
	st.resetters = append(st.resetters, fn)
	st.mu.Unlock()
}

// SetDebug connects `debug`, `undebug` and `terminal monitor` to another
// debug switchboard than the daemon's own (d.debug, the default).
func (d *Daemon) SetDebug(md *metrics.Debug) {
	st := d.cli
	st.mu.Lock()
	if md == nil {
		st.debug = nil
	} else {
		st.debug = metricsDebugger{md}
	}
	st.mu.Unlock()
}

// cliBackend implements cli.Backend on the daemon.
type cliBackend struct {
	d  *Daemon
	st *cliState
}

func (b cliBackend) Running() *config.Config { return b.d.Running() }

// Configure is the daemon's one config-apply path; a change the core
// refuses comes back as a *RefusedError, printed at the prompt.
func (b cliBackend) Configure(edit func(*config.Config) (*config.Config, error)) error {
	return b.d.Configure(edit)
}

func (b cliBackend) SaveRunning() error              { return b.d.SaveRunning() }
func (b cliBackend) StartupText() (string, error)    { return b.d.StartupText() }
func (b cliBackend) Lines() ([]dn.LineStatus, error) { return b.d.Switch().Lines() }
func (b cliBackend) Calls() ([]dn.CallStatus, error) { return b.d.Switch().Calls() }

// Hunts and ParkSlots implement cli.Features.
func (b cliBackend) Hunts() ([]dn.HuntStatus, error)         { return b.d.Switch().Hunts() }
func (b cliBackend) ParkSlots() ([]dn.ParkSlotStatus, error) { return b.d.Switch().ParkSlots() }
func (b cliBackend) PresenceGlobal() blf.GlobalInfo          { return b.d.Presence().Global() }
func (b cliBackend) PresenceSubscriptions() []blf.SubscriptionInfo {
	return b.d.withPresenceStatus(b.d.Presence().Subscriptions())
}

func (b cliBackend) CallHistory() ([]cli.CallRecord, error) {
	recs, err := b.d.store.AllCallRecords()
	if err != nil {
		return nil, err
	}
	out := make([]cli.CallRecord, len(recs))
	for i, r := range recs {
		out[i] = cli.CallRecord{Phone: r.Phone, Kind: string(r.Kind), Number: r.Number, Name: r.Name, Line: r.Line,
			Start: r.Start, Duration: r.Duration}
	}
	return out, nil
}

// Devices adds to each registered ephone the number of keepalives its
// session received ("sccp.keepalives"), which `show ephone` prints as
// `keepalive N` (docs/cme-cli.md §Show-layouts-sources). The Extra map is
// copied, never changed in place: the core owns it.
func (b cliBackend) Devices() ([]dn.DeviceStatus, error) {
	devs, err := b.d.Switch().Devices()
	if err != nil || b.d.sccp == nil {
		return devs, err
	}
	counts := map[string]uint64{}
	for _, si := range b.d.sccp.Sessions() {
		counts[si.DeviceName] = si.KeepAlives
	}
	for i, dv := range devs {
		n, ok := counts[dv.Info.Name]
		if !ok {
			continue
		}
		extra := maps.Clone(dv.Info.Extra)
		if extra == nil {
			extra = map[string]string{}
		}
		extra["sccp.keepalives"] = strconv.FormatUint(n, 10)
		devs[i].Info.Extra = extra
	}
	return devs, nil
}

// Registrations lists the SIP registrar's bindings (cli.Registrar).
func (b cliBackend) Registrations() []cli.Registration {
	if b.d.sip == nil {
		return nil
	}
	var out []cli.Registration
	for _, r := range b.d.sip.Bindings() {
		out = append(out, cli.Registration{Pool: r.Pool, Number: r.Number, Contact: r.Contact, Source: r.Source,
			Transport: r.Transport, CallID: r.CallID, Registered: r.Registered, Expires: r.Expires})
	}
	return out
}

// ArchivedConfigs lists the store's saved startup-config versions, newest
// first (cli.ConfigArchive, docs/cme-cli.md §Archive-and-reload).
func (b cliBackend) ArchivedConfigs() ([]cli.ArchivedConfig, error) {
	vs, err := b.d.store.StartupConfigVersions()
	if err != nil {
		return nil, err
	}
	out := make([]cli.ArchivedConfig, len(vs))
	for i, v := range vs {
		out[i] = cli.ArchivedConfig{Seq: v.Seq, Saved: v.Saved, Text: v.Text}
	}
	return out, nil
}

// ArchiveMax is how many versions the store keeps.
func (b cliBackend) ArchiveMax() int { return store.DefaultConfigVersions }

// EraseStartup saves an empty startup-config (`write erase`): the next
// start, or `reload`, comes up with no configuration, as an IOS router
// does, and the earlier versions stay restorable with `configure replace`.
func (b cliBackend) EraseStartup() error {
	return b.d.store.SaveStartupConfig("", time.Now())
}

var (
	_ cli.Registrar     = cliBackend{}
	_ cli.ConfigArchive = cliBackend{}
)

func (b cliBackend) Reset(a config.DeviceAction) error {
	b.st.mu.Lock()
	rs := append([]func(config.DeviceAction) error(nil), b.st.resetters...)
	b.st.mu.Unlock()
	if len(rs) == 0 {
		return errors.New("% No phone adapter is running to reset phones")
	}
	var errs []error
	for _, fn := range rs {
		if err := fn(a); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (b cliBackend) Info() cli.SystemInfo {
	return cli.SystemInfo{Version: b.d.opts.Version, Started: b.d.started, Address: b.d.phoneFiles.address}
}

func (b cliBackend) Debug() cli.Debugger {
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	if b.st.debug == nil && b.d.debug != nil {
		return metricsDebugger{b.d.debug}
	}
	return b.st.debug
}

// metricsDebugger adapts pkg/metrics' switchboard to cli.Debugger.
type metricsDebugger struct{ md *metrics.Debug }

func (m metricsDebugger) Enable(c string) error  { return m.md.Enable(c) }
func (m metricsDebugger) Disable(c string) error { return m.md.Disable(c) }
func (m metricsDebugger) DisableAll()            { m.md.DisableAll() }
func (m metricsDebugger) Active() []string       { return m.md.Active() }

// Subscribe turns a Monitor (a bounded buffer that drops the oldest lines)
// into a channel for one session.
func (m metricsDebugger) Subscribe() (<-chan string, func()) {
	mon := m.md.Monitor(256)
	out := make(chan string, 64)
	stop := make(chan struct{})
	var once sync.Once
	go func() {
		defer close(out)
		var buf []string
		for {
			select {
			case <-stop:
				return
			case <-mon.C():
				buf = mon.Drain(buf[:0])
				for _, l := range buf {
					select {
					case out <- l:
					case <-stop:
						return
					}
				}
			}
		}
	}()
	return out, func() {
		once.Do(func() {
			mon.Close()
			close(stop)
		})
	}
}

// withPresenceStatus adds to SIP watchers' subscriptions the composed
// status the SIP adapter tells them (docs/sip-presence.md
// §Rich-presence); SCCP lamps show the line state only.
func (d *Daemon) withPresenceStatus(subs []blf.SubscriptionInfo) []blf.SubscriptionInfo {
	if d.sip == nil {
		return subs
	}
	for i := range subs {
		if k := subs[i].Kind; k == blf.KindSIPPhone || k == blf.KindSIPTrunk {
			subs[i].Status = d.sip.PresenceStatus(subs[i].Presentity)
		}
	}
	return subs
}

// AuthFailure and AuthRejected count failed CLI logins (cli.AuthReporter).
func (b cliBackend) AuthFailure(proto string)          { b.d.metrics.AuthFailure(proto) }
func (b cliBackend) AuthRejected(proto, reason string) { b.d.metrics.AuthRejected(proto, reason) }
