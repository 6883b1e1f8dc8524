package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// Fleet is N fake phones of an Office, registered to one SCCP address.
type Fleet struct {
	office Office
	phones []*sccptest.Phone
	regLat []time.Duration // Register+Provision time per phone
	regErr atomic.Int64
	// failMu guards fails, every phone that did not register, with why.
	failMu sync.Mutex
	fails  []phoneFailure
	wall   time.Duration
	// lastOK is when the last successful registration finished, from the
	// start: failed phones wait out their dial timeout and would stretch
	// wall far past the storm.
	lastOK atomic.Int64
	lamps  *lampTracker
	// churnLimit, when > 0, keeps the BLF churn on phones below it (the
	// rest place calls in `mixed`).
	churnLimit int
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// ConnectFleet dials and provisions office.N phones with at most conc in
// flight and, when rate > 0, at most rate new phones per second. Phones that
// fail are counted, not fatal; the run reports them.
func ConnectFleet(ctx context.Context, addr string, office Office, conc int, rate float64) *Fleet {
	f := &Fleet{office: office, phones: make([]*sccptest.Phone, office.N), regLat: make([]time.Duration, office.N),
		lamps: newLampTracker(office)}
	sem := make(chan struct{}, max(conc, 1))
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer t.Stop()
		tick = t.C
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range office.N {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			p, err := dialPhone(ctx, addr, office, i)
			if err != nil {
				f.regErr.Add(1)
				f.failMu.Lock()
				f.fails = append(f.fails, phoneFailure{phone: i, err: err})
				f.failMu.Unlock()
				return
			}
			f.phones[i] = p
			f.regLat[i] = time.Since(t0)
			done := int64(time.Since(start))
			for range 1000 { // raise to done; a lost race retries, bounded
				old := f.lastOK.Load()
				if done <= old || f.lastOK.CompareAndSwap(old, done) {
					break
				}
			}
		}()
	}
	wg.Wait()
	f.wall = time.Since(start)
	return f
}

func dialPhone(ctx context.Context, addr string, office Office, i int) (*sccptest.Phone, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: sourceAddr(i).AsSlice()}}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	p, err := sccptest.New(c, sccptest.Config{Model: office.PhoneModel(i), MAC: office.MAC(i), History: 32,
		StationIP: sourceAddr(i)})
	if err != nil {
		c.Close()
		return nil, err
	}
	if err := p.Register(ctx); err != nil {
		rejected := p.State().Rejected
		p.Close()
		if errors.Is(err, sccptest.ErrRejected) {
			// The daemon's own words (docs/sccp.md §Registration-messages: RegisterReject carries
			// a text for the phone's display).
			return nil, &rejectError{text: rejected}
		}
		return nil, fmt.Errorf("register: %w", err)
	}
	if err := p.Provision(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("provisioning after RegisterAck: %w", err)
	}
	return p, nil
}

// rejectError is a RegisterReject from the daemon.
type rejectError struct{ text string }

func (e *rejectError) Error() string { return fmt.Sprintf("RegisterReject %q", e.text) }

// phoneFailure is a phone that did not register, and why.
type phoneFailure struct {
	phone int
	err   error
}

// maxFailureLines is how many failed phones a report names one by one.
const maxFailureLines = 10

// failures describes every failed phone, at most maxFailureLines of them
// by name, with a hint when the reason says the office is not the
// daemon's.
func (f *Fleet) failures() []string {
	f.failMu.Lock()
	fails := slices.Clone(f.fails)
	f.failMu.Unlock()
	slices.SortFunc(fails, func(a, b phoneFailure) int { return a.phone - b.phone })
	var lines []string
	unknown := false
	for n, fl := range fails {
		var rj *rejectError
		if errors.As(fl.err, &rj) && strings.HasPrefix(rj.text, "Unknown device") {
			unknown = true
		}
		if n < maxFailureLines {
			lines = append(lines, fmt.Sprintf("failed phone=%d SEP%s number=%s: %v", fl.phone, f.office.MAC(fl.phone), f.office.Number(fl.phone), fl.err))
		}
	}
	if len(fails) > maxFailureLines {
		lines = append(lines, fmt.Sprintf("... and %d more failed phones", len(fails)-maxFailureLines))
	}
	if unknown {
		lines = append(lines, fmt.Sprintf("hint: the daemon does not know these MACs: its config is not office %s; "+
			"pass the daemon's config with --office FILE, or run the daemon on `cmed-load genconfig` output and use --office gen", f.office.Name))
	}
	return lines
}

// Registered is how many phones are up.
func (f *Fleet) Registered() int {
	n := 0
	for _, p := range f.phones {
		if p != nil {
			n++
		}
	}
	return n
}

// WatchLamps starts one goroutine per phone that reports every BLF lamp
// update to the tracker with its arrival time.
func (f *Fleet) WatchLamps(ctx context.Context) {
	ctx, f.cancel = context.WithCancel(ctx)
	for i, p := range f.phones {
		if p == nil {
			continue
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for {
				m, err := p.WaitFor(ctx, func(m msg.Message) bool {
					switch m.(type) {
					case *msg.FeatureStatV2Res, *msg.FeatureStatRes:
						return true
					}
					return false
				})
				if err != nil {
					return
				}
				now := time.Now()
				switch m := m.(type) {
				case *msg.FeatureStatV2Res:
					f.lamps.seen(i, int(m.Index), msg.BLFStatus(m.Status), now)
				case *msg.FeatureStatRes:
					f.lamps.seen(i, int(m.Index), msg.BLFStatus(m.Status), now)
				}
			}
		}()
	}
}

// Close hangs up every phone.
func (f *Fleet) Close() {
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
	var wg sync.WaitGroup
	for _, p := range f.phones {
		if p != nil {
			wg.Add(1)
			go func() { defer wg.Done(); p.Close() }()
		}
	}
	wg.Wait()
}

// lampTracker matches watcher lamp updates to the line change that caused
// them: latency is from just before the owner's OffHook/OnHook was written
// to the moment the watcher's FeatureStatV2 was decoded.
type lampTracker struct {
	office Office
	mu     sync.Mutex          // guards cur and the counters below; a leaf
	cur    map[int]*lineChange // by owner phone
	lat    []time.Duration
	stray  int // updates that match no change in flight
	// refresh counts updates the churn did not cause: repeats of the
	// lamp's shown state, and changes before the owner's first change.
	refresh int
	shown   map[watcherButton]msg.BLFStatus // last status per watcher lamp
	lost    int                             // watcher updates still missing when a change was retired
}

type lineChange struct {
	t0      time.Time
	want    msg.BLFStatus
	pending map[watcherButton]bool // watcher lamps still to show it
}

func newLampTracker(o Office) *lampTracker {
	return &lampTracker{office: o, cur: map[int]*lineChange{}, shown: map[watcherButton]msg.BLFStatus{}}
}

// busy reports whether owner has a change whose watchers are not all
// updated yet (and it is younger than timeout; older ones are retired).
func (t *lampTracker) busy(owner int, timeout time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.cur[owner]
	if c == nil || len(c.pending) == 0 {
		return false
	}
	if time.Since(c.t0) > timeout {
		t.lost += len(c.pending)
		delete(t.cur, owner)
		return false
	}
	return true
}

func (t *lampTracker) started(owner int, want msg.BLFStatus, watchers []watcherButton, t0 time.Time) {
	c := &lineChange{t0: t0, want: want, pending: map[watcherButton]bool{}}
	for _, w := range watchers {
		c.pending[w] = true
	}
	t.mu.Lock()
	t.cur[owner] = c
	t.mu.Unlock()
}

func (t *lampTracker) seen(watcher, button int, st msg.BLFStatus, at time.Time) {
	owner := t.office.Watched(watcher, button)
	if owner < 0 {
		return
	}
	wb := watcherButton{phone: watcher, button: button}
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.cur[owner]
	prev, known := t.shown[wb]
	t.shown[wb] = st
	if c == nil || c.want != st || !c.pending[wb] {
		if c == nil || st == prev || (!known && st == msg.BLFIdle) {
			// Not the churn's doing: the daemon repeating what the lamp
			// shows (the demo office's phones get a lamp refresh after
			// provisioning), or a lamp settling from Unknown to Idle as
			// the phones around it finished registering, before the
			// owner's line was ever changed.
			t.refresh++
			return
		}
		t.stray++
		return
	}
	delete(c.pending, wb)
	t.lat = append(t.lat, at.Sub(c.t0))
}

// finish retires every change, counting missing updates as lost.
func (t *lampTracker) finish() (lat []time.Duration, stray, lost, refresh int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.cur {
		t.lost += len(c.pending)
	}
	clear(t.cur)
	return t.lat, t.stray, t.lost, t.refresh
}

// churnLines toggles random lines between off hook and on hook at rate
// changes per second for d, never touching a line whose previous change
// is still on its way to a watcher.
func (f *Fleet) churnLines(ctx context.Context, rate float64, d time.Duration, rng *rand.Rand) (changes int) {
	offHook := make([]bool, len(f.phones))
	const slot = 10 * time.Millisecond
	perSlot := rate * slot.Seconds()
	credit := 0.0
	t := time.NewTicker(slot)
	defer t.Stop()
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		<-t.C
		credit += perSlot
		for ; credit >= 1; credit-- {
			i := -1
			for range 20 { // a few tries to find an idle-enough line
				n := len(f.phones)
				if f.churnLimit > 0 {
					n = f.churnLimit
				}
				j := rng.IntN(n)
				if f.phones[j] != nil && !f.lamps.busy(j, 5*time.Second) {
					i = j
					break
				}
			}
			if i < 0 {
				continue
			}
			watchers, buttons := f.office.Watchers(i)
			var live []watcherButton
			for k, w := range watchers {
				if f.phones[w] != nil {
					live = append(live, watcherButton{phone: w, button: buttons[k]})
				}
			}
			want := msg.BLFInUse // docs/sccp.md §BLF-status
			if offHook[i] {
				want = msg.BLFIdle
			}
			f.lamps.started(i, want, live, time.Now())
			var err error
			if offHook[i] {
				err = f.phones[i].OnHook()
			} else {
				err = f.phones[i].OffHook()
			}
			if err == nil {
				offHook[i] = !offHook[i]
				changes++
			}
		}
	}
	return changes
}
