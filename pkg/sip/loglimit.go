package sip

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Log hygiene for input an attacker controls (docs/security.md §Logging):
// every string attribute is cut to maxLogValue bytes, and records at
// WARN and above are rate-limited per message to one per logEvery, the
// next one saying how many were suppressed. Debug and info records pass
// unlimited: they are off unless asked for.

const (
	maxLogValue = 300
	logEvery    = time.Second
)

// limitHandler wraps the handler sipgo and the SIP server log through.
type limitHandler struct {
	next   slog.Handler
	state  *limitState
	onDrop func(msg string) // sees every record before limiting (metrics)
}

// limitState is shared by a handler and those WithAttrs/WithGroup derive.
type limitState struct {
	mu   sync.Mutex // guards last and held; a leaf
	last map[string]time.Time
	held map[string]int
}

func newLimitHandler(next slog.Handler, onDrop func(string)) *limitHandler {
	return &limitHandler{next: next, onDrop: onDrop, state: &limitState{last: map[string]time.Time{}, held: map[string]int{}}}
}

func (h *limitHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l) || (h.onDrop != nil && l >= slog.LevelWarn)
}

func (h *limitHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.onDrop != nil {
		h.onDrop(r.Message)
	}
	if r.Message == "failed to parse" {
		// sipgo logs a message it could not parse at ERROR; it is bad
		// input, not a fault of ours: WARN, still rate-limited.
		r.Level = slog.LevelWarn
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	if r.Level >= slog.LevelWarn {
		st := h.state
		st.mu.Lock()
		if r.Time.Sub(st.last[r.Message]) < logEvery {
			st.held[r.Message]++
			st.mu.Unlock()
			return nil
		}
		if len(st.last) > 1000 { // messages are constants; bound it anyway
			clear(st.last)
			clear(st.held)
		}
		st.last[r.Message] = r.Time
		n := st.held[r.Message]
		delete(st.held, r.Message)
		st.mu.Unlock()
		if n > 0 {
			r.AddAttrs(slog.Int("suppressed", n))
		}
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(truncAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *limitHandler) WithAttrs(as []slog.Attr) slog.Handler {
	cut := make([]slog.Attr, len(as))
	for i, a := range as {
		cut[i] = truncAttr(a)
	}
	return &limitHandler{next: h.next.WithAttrs(cut), state: h.state, onDrop: h.onDrop}
}

func (h *limitHandler) WithGroup(name string) slog.Handler {
	return &limitHandler{next: h.next.WithGroup(name), state: h.state, onDrop: h.onDrop}
}

// truncAttr cuts string and error values (a parse error may quote the
// message) to maxLogValue bytes.
func truncAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(trunc(v.String()))
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			a.Value = slog.StringValue(trunc(x.Error()))
		case fmt.Stringer:
			a.Value = slog.StringValue(trunc(x.String()))
		case []byte:
			a.Value = slog.StringValue(trunc(string(x)))
		}
	}
	return a
}

func trunc(s string) string {
	if len(s) <= maxLogValue {
		return s
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:maxLogValue], len(s))
}
