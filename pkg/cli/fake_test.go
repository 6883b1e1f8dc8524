package cli

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
)

// fakeBackend is an in-memory router for session tests.
type fakeBackend struct {
	mu      sync.Mutex
	running *config.Config
	startup string
	saves   int
	applied int
	resets  []config.DeviceAction
	devices []dn.DeviceStatus
	lines   []dn.LineStatus
	subs    []blf.SubscriptionInfo
	global  blf.GlobalInfo
	history []CallRecord
	debug   *fakeDebug
	address string // SystemInfo.Address
	regs    []Registration
	// archive holds the saved startup-config versions, newest first.
	archive []ArchivedConfig
	erased  int
}

func (f *fakeBackend) Registrations() []Registration { return f.regs }

func newFake(t testing.TB, cfgText string) *fakeBackend {
	t.Helper()
	c, err := config.Parse("test.cfg", []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	return &fakeBackend{running: c, debug: &fakeDebug{on: map[string]bool{}}}
}

func (f *fakeBackend) Running() *config.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running
}

func (f *fakeBackend) Configure(edit func(*config.Config) (*config.Config, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	next, err := edit(f.running)
	if err != nil {
		return err
	}
	if next != nil {
		f.running = next
		f.applied++
	}
	return nil
}

func (f *fakeBackend) SaveRunning() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.startup = config.Render(f.running)
	f.saves++
	f.archive = append([]ArchivedConfig{{Seq: uint64(f.saves + f.erased), Saved: goldenNow, Text: f.startup}}, f.archive...)
	return nil
}

func (f *fakeBackend) ArchivedConfigs() ([]ArchivedConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.archive), nil
}

func (f *fakeBackend) ArchiveMax() int { return 10 }

func (f *fakeBackend) EraseStartup() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.erased++
	f.startup = ""
	f.archive = append([]ArchivedConfig{{Seq: uint64(f.saves + f.erased), Saved: goldenNow}}, f.archive...)
	return nil
}

func (f *fakeBackend) StartupText() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.startup, nil
}

func (f *fakeBackend) Devices() ([]dn.DeviceStatus, error) { return f.devices, nil }
func (f *fakeBackend) Lines() ([]dn.LineStatus, error)     { return f.lines, nil }
func (f *fakeBackend) Calls() ([]dn.CallStatus, error)     { return nil, nil }
func (f *fakeBackend) PresenceGlobal() blf.GlobalInfo      { return f.global }
func (f *fakeBackend) PresenceSubscriptions() []blf.SubscriptionInfo {
	return f.subs
}
func (f *fakeBackend) CallHistory() ([]CallRecord, error) { return f.history, nil }
func (f *fakeBackend) Reset(a config.DeviceAction) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resets = append(f.resets, a)
	return nil
}
func (f *fakeBackend) Info() SystemInfo {
	return SystemInfo{Version: "1.2.3", Started: time.Now().Add(-(26*time.Hour + 3*time.Minute)), Address: f.address}
}
func (f *fakeBackend) Debug() Debugger {
	if f.debug == nil {
		return nil
	}
	return f.debug
}

type fakeDebug struct {
	mu   sync.Mutex
	on   map[string]bool
	subs []chan string
}

func (d *fakeDebug) Enable(c string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c == "bogus" {
		return errors.New("unknown debug category")
	}
	d.on[c] = true
	return nil
}
func (d *fakeDebug) Disable(c string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.on, c)
	return nil
}
func (d *fakeDebug) DisableAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	clear(d.on)
}
func (d *fakeDebug) Active() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for c := range d.on {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}
func (d *fakeDebug) Subscribe() (<-chan string, func()) {
	ch := make(chan string, 16)
	d.mu.Lock()
	d.subs = append(d.subs, ch)
	d.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			d.mu.Lock()
			d.subs = slices.DeleteFunc(d.subs, func(c chan string) bool { return c == ch })
			d.mu.Unlock()
		})
	}
}
func (d *fakeDebug) publish(line string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.subs {
		c <- line
	}
}

// transcript runs commands in an echoing batch session.
// goldenNow is the transcripts' clock.
var goldenNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func transcript(t testing.TB, b Backend, priv int, cmds ...string) string {
	t.Helper()
	var out strings.Builder
	srv := NewServer(b, nil)
	srv.now = func() time.Time { return goldenNow }
	// Commands that fail print their IOS error, which the goldens hold.
	var failed *BatchError
	if err := srv.Transcript(t.Context(), &out, priv, cmds); err != nil && !errors.As(err, &failed) {
		t.Fatal(err)
	}
	return out.String()
}
