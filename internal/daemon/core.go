package daemon

import (
	"context"
	"fmt"
	"sync"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/metrics"
	"github.com/cmed-project/cmed/pkg/web"
)

// observers fans the switch's presence snapshots out to every consumer (the
// BLF engine, the lamp board, metrics). Each consumer promises not to block.
type observers struct {
	mu   sync.RWMutex // guards list; a leaf: observers are called after it is released
	list []dn.Observer
}

func (o *observers) add(obs dn.Observer) {
	o.mu.Lock()
	o.list = append(o.list, obs)
	o.mu.Unlock()
}

// snapshot is the current list. Calls go out on the copy so no observer
// runs under o.mu (one that called add would otherwise deadlock).
func (o *observers) snapshot() []dn.Observer {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.list[:len(o.list):len(o.list)] // add appends to a new array
}

func (o *observers) LineChanged(ev dn.LineEvent) {
	for _, x := range o.snapshot() {
		x.LineChanged(ev)
	}
}

func (o *observers) DeviceChanged(ev dn.DeviceEvent) {
	for _, x := range o.snapshot() {
		x.DeviceChanged(ev)
	}
}

// upstream forwards the BLF engine's requests to watch external presentities
// to the SIP adapter once it is wired; until then they are remembered.
type upstream struct {
	mu     sync.Mutex // guards target; a leaf: the target is called after it is released
	target blf.Upstream
}

func (u *upstream) Watch(number string) {
	u.mu.Lock()
	t := u.target
	u.mu.Unlock()
	if t != nil {
		t.Watch(number)
	}
}

func (u *upstream) Unwatch(number string) {
	u.mu.Lock()
	t := u.target
	u.mu.Unlock()
	if t != nil {
		t.Unwatch(number)
	}
}

// startCore builds the line-state switch and the presence engine and runs
// the switch's owner goroutine until ctx ends.
func (d *Daemon) startCore(ctx context.Context, cfg *config.Config) error {
	d.metrics = metrics.New(metrics.Options{Version: d.opts.Version})
	d.blf = blf.New(cfg, &d.upstream)
	// `debug presence` shows subscription events: records carry the
	// presence category and pass the debug filter only when it is on.
	d.blf.SetLogger(d.log.With(metrics.CategoryKey, "presence"))
	d.observers.add(d.blf)
	ms, err := d.startMedia(ctx, cfg)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	d.history = &historyWriter{d: d, ch: make(chan dn.CallRecord, 4096)}
	d.wg.Add(1)
	go d.history.run(ctx)
	opts := dn.Options{Observer: &d.observers, Media: ms, Records: d.history}
	if cfg.VoiceRegisterGlobal != nil {
		// Dial-peers reach SIP trunks only when the SIP side runs;
		// otherwise they give reorder, as an unroutable number does.
		opts.Trunk = &d.trunk
	}
	d.sw = dn.NewWithOptions(cfg, opts)
	d.metrics.SetSnapshotFunc(web.SnapshotFunc(d.sw, d.blf))
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := d.sw.Run(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("line-state switch stopped", "err", err)
		}
	}()
	// A first command returns once Run has published every line to the
	// BLF engine. Until then the engine knows no number, and a peer
	// router's SUBSCRIBE arriving the moment SIP listens was answered 404
	// (seen in CI: TestCredentialFlashIsStateDir): "no such user" (RFC
	// 3261 §21.4.5), after which a peer may not retry for long. The
	// listeners start after this.
	if _, err := d.sw.Lines(); err != nil {
		return fmt.Errorf("line-state switch: %w", err)
	}
	return nil
}

// Switch is the line-state core (for adapters and tests).
func (d *Daemon) Switch() *dn.Switch { return d.sw }

// Presence is the BLF engine (for adapters and tests).
func (d *Daemon) Presence() *blf.Engine { return d.blf }
