package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CategoryKey is the slog attribute that names a record's debug category:
// logger.With(metrics.CategoryKey, "ephone blf").Debug(...).
const CategoryKey = "category"

// Categories are the debug categories cmed knows, named as the IOS `debug`
// command words that switch them on (`debug ephone blf`, `debug ccsip
// messages`, ...).
var Categories = []string{
	"ephone", "ephone register", "ephone keepalive", "ephone blf", "ephone message",
	"voice register", "ccsip messages", "ccsip events", "sip", "presence",
	"dn", "tftp", "web",
}

// ErrUnknownCategory is returned by Enable and Disable for a name that was
// not declared to NewDebug.
var ErrUnknownCategory = errors.New("metrics: unknown debug category")

// Debug is the runtime switchboard behind the CLI's `debug` / `undebug`
// and `terminal monitor` commands. Its Handler wraps the daemon's slog
// handler: records at the wrapped handler's level always pass; DEBUG
// records below it pass only when their category is switched on. Every
// record that passes is also copied to each Monitor.
type Debug struct {
	mu      sync.RWMutex    // guards enabled; a leaf
	enabled map[string]bool // declared categories -> on
	any     atomic.Int32    // number switched on: a cheap Enabled fast path

	monMu    sync.Mutex // guards monitors; taken before Monitor.mu (publish), never held while calling out
	monitors map[*Monitor]struct{}
	nmon     atomic.Int32

	now func() time.Time
}

// NewDebug declares the known categories (Categories when none given), all
// off.
func NewDebug(categories ...string) *Debug {
	if len(categories) == 0 {
		categories = Categories
	}
	d := &Debug{enabled: map[string]bool{}, monitors: map[*Monitor]struct{}{}, now: time.Now}
	for _, c := range categories {
		d.enabled[normalize(c)] = false
	}
	return d
}

func normalize(c string) string { return strings.Join(strings.Fields(strings.ToLower(c)), " ") }

func (d *Debug) set(cat string, on bool) error {
	cat = normalize(cat)
	d.mu.Lock()
	defer d.mu.Unlock()
	was, ok := d.enabled[cat]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownCategory, cat)
	}
	switch {
	case on && !was:
		d.any.Add(1)
	case !on && was:
		d.any.Add(-1)
	}
	d.enabled[cat] = on
	return nil
}

// Enable is `debug CATEGORY`.
func (d *Debug) Enable(cat string) error { return d.set(cat, true) }

// Disable is `no debug CATEGORY` / `undebug CATEGORY`.
func (d *Debug) Disable(cat string) error { return d.set(cat, false) }

// DisableAll is `undebug all`.
func (d *Debug) DisableAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for c := range d.enabled {
		d.enabled[c] = false
	}
	d.any.Store(0)
}

// Enabled reports whether cat is switched on.
func (d *Debug) Enabled(cat string) bool {
	if d.any.Load() == 0 {
		return false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.enabled[normalize(cat)]
}

// Known returns every declared category, sorted.
func (d *Debug) Known() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]string, 0, len(d.enabled))
	for c := range d.enabled {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Active returns the categories switched on, sorted (`show debugging`).
func (d *Debug) Active() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []string
	for c, on := range d.enabled {
		if on {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// Handler wraps next with the category filter and the monitor fan-out.
func (d *Debug) Handler(next slog.Handler) slog.Handler {
	return &debugHandler{d: d, next: next}
}

// debugHandler is the slog.Handler returned by Debug.Handler.
type debugHandler struct {
	d     *Debug
	next  slog.Handler
	cat   string // category from WithAttrs (top level only)
	attrs string // pre-rendered WithAttrs for monitors
	group string // open group prefix "g1.g2."
}

func (h *debugHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if h.next.Enabled(ctx, l) {
		return true
	}
	// A record below the base level may still pass if its category is on;
	// Handle decides once the attributes are known.
	return l < slog.LevelInfo && h.d.any.Load() > 0
}

func (h *debugHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.next.Enabled(ctx, r.Level) {
		cat := h.cat
		if cat == "" {
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == CategoryKey {
					cat = a.Value.String()
					return false
				}
				return true
			})
		}
		if cat == "" || !h.d.Enabled(cat) {
			return nil
		}
	}
	if h.d.nmon.Load() > 0 {
		h.d.publish(h.format(r))
	}
	return h.next.Handle(ctx, r)
}

func (h *debugHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		if a.Key == CategoryKey && h.group == "" {
			c.cat = a.Value.String()
		}
		appendAttr(&b, h.group, a)
	}
	c.attrs = b.String()
	return &c
}

func (h *debugHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.group = h.group + name + "."
	return &c
}

// format renders a record as one IOS-looking console line:
// "*Nov  2 10:00:00.123: %DEBUG: msg key=value ...".
func (h *debugHandler) format(r slog.Record) string {
	var b strings.Builder
	t := r.Time
	if t.IsZero() {
		t = h.d.now()
	}
	b.WriteString("*")
	b.WriteString(t.Format("Jan _2 15:04:05.000"))
	b.WriteString(": %")
	b.WriteString(r.Level.String())
	b.WriteString(": ")
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.group, a)
		return true
	})
	return b.String()
}

func appendAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			appendAttr(b, p, g)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix)
	b.WriteString(a.Key)
	b.WriteByte('=')
	v := a.Value.String()
	if v == "" || strings.ContainsAny(v, " \t\r\n\"=") {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
}

// Monitor is one `terminal monitor` session's feed: a bounded buffer of
// formatted lines that drops the oldest when full, so a stalled SSH session
// never slows logging for the daemon.
type Monitor struct {
	d       *Debug
	mu      sync.Mutex // guards lines, head, n and dropped; a leaf, taken after Debug.monMu
	lines   []string   // ring
	head, n int
	dropped uint64
	notify  chan struct{}
}

// Monitor subscribes a new feed holding at most size lines (min 1).
// Close it when the session ends or turns `terminal no monitor`.
func (d *Debug) Monitor(size int) *Monitor {
	m := &Monitor{d: d, lines: make([]string, max(size, 1)), notify: make(chan struct{}, 1)}
	d.monMu.Lock()
	d.monitors[m] = struct{}{}
	d.nmon.Store(int32(len(d.monitors)))
	d.monMu.Unlock()
	return m
}

func (d *Debug) publish(line string) {
	d.monMu.Lock()
	defer d.monMu.Unlock()
	for m := range d.monitors {
		m.push(line)
	}
}

func (m *Monitor) push(line string) {
	m.mu.Lock()
	if m.n == len(m.lines) {
		m.head = (m.head + 1) % len(m.lines)
		m.n--
		m.dropped++
	}
	m.lines[(m.head+m.n)%len(m.lines)] = line
	m.n++
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// C is signalled (one pending token at most) when lines are waiting.
func (m *Monitor) C() <-chan struct{} { return m.notify }

// Drain appends the waiting lines to dst, oldest first, and clears them.
func (m *Monitor) Drain(dst []string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.n {
		j := (m.head + i) % len(m.lines)
		dst = append(dst, m.lines[j])
		m.lines[j] = ""
	}
	m.head, m.n = 0, 0
	return dst
}

// Dropped is how many lines were discarded because the buffer was full.
func (m *Monitor) Dropped() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped
}

// Close unsubscribes the feed. It is idempotent.
func (m *Monitor) Close() {
	m.d.monMu.Lock()
	delete(m.d.monitors, m)
	m.d.nmon.Store(int32(len(m.d.monitors)))
	m.d.monMu.Unlock()
}
