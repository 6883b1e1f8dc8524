package metrics_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cmed-project/cmed/pkg/metrics"
)

func newLogger(d *metrics.Debug) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	base := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})
	return slog.New(d.Handler(base)), &buf
}

func TestDebugCategoryFilter(t *testing.T) {
	d := metrics.NewDebug()
	log, buf := newLogger(d)
	blf := log.With(metrics.CategoryKey, "ephone blf")

	blf.Debug("lamp", "dn", 1001)                   // off: dropped
	log.Debug("inline", metrics.CategoryKey, "sip") // off: dropped
	log.Info("always")                              // at base level
	if err := d.Enable("ephone  BLF"); err != nil { // IOS words, any case/spacing
		t.Fatal(err)
	}
	blf.Debug("lamp", "dn", 1002)                   // on: passes
	log.Debug("inline", metrics.CategoryKey, "sip") // still off
	log.Debug("no category")                        // never
	if err := d.Enable("sip"); err != nil {
		t.Fatal(err)
	}
	log.Debug("inline", metrics.CategoryKey, "sip")
	d.DisableAll()
	blf.Debug("lamp", "dn", 1003)

	want := []string{
		`level=INFO msg=always`,
		`level=DEBUG msg=lamp category="ephone blf" dn=1002`,
		`level=DEBUG msg=inline category=sip`,
	}
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
	if err := d.Enable("bogus"); !errors.Is(err, metrics.ErrUnknownCategory) {
		t.Errorf("Enable(bogus) = %v, want ErrUnknownCategory", err)
	}
	if got := d.Active(); len(got) != 0 {
		t.Errorf("Active after DisableAll = %v", got)
	}
}

func TestDebugActiveAndKnown(t *testing.T) {
	d := metrics.NewDebug("tftp", "sip", "ephone")
	_ = d.Enable("sip")
	_ = d.Enable("tftp")
	_ = d.Disable("tftp")
	if diff := cmp.Diff([]string{"sip"}, d.Active()); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"ephone", "sip", "tftp"}, d.Known()); diff != "" {
		t.Error(diff)
	}
	if !d.Enabled("SIP") || d.Enabled("ephone") {
		t.Error("Enabled disagrees with Enable/Disable")
	}
}

func TestMonitorFanOutDropsOldest(t *testing.T) {
	d := metrics.NewDebug()
	log, _ := newLogger(d)
	a := d.Monitor(3)
	b := d.Monitor(100)
	for i := range 5 {
		log.Info("event", "n", i)
	}
	select {
	case <-a.C():
	default:
		t.Fatal("monitor not signalled")
	}
	got := a.Drain(nil)
	if len(got) != 3 || a.Dropped() != 2 {
		t.Fatalf("small monitor: %d lines, %d dropped; want 3, 2: %q", len(got), a.Dropped(), got)
	}
	for i, line := range got {
		if want := fmt.Sprintf("%%INFO: event n=%d", i+2); !strings.HasSuffix(line, want) {
			t.Errorf("line %d = %q, want suffix %q", i, line, want)
		}
	}
	if got := b.Drain(nil); len(got) != 5 || b.Dropped() != 0 {
		t.Errorf("big monitor: %d lines, %d dropped", len(got), b.Dropped())
	}
	a.Close()
	a.Close()
	log.Info("after close")
	if got := a.Drain(nil); len(got) != 0 {
		t.Errorf("closed monitor received %q", got)
	}
	if got := b.Drain(nil); len(got) != 1 {
		t.Errorf("open monitor got %d lines after close of the other", len(got))
	}
	b.Close()
}

func TestMonitorGroupsAndAttrs(t *testing.T) {
	d := metrics.NewDebug()
	log, _ := newLogger(d)
	m := d.Monitor(10)
	defer m.Close()
	log.With("component", "sccp").WithGroup("dev").Warn("keepalive lost", "name", "SEP00", slog.Group("addr", "ip", "10.0.0.5"))
	got := m.Drain(nil)
	want := `%WARN: keepalive lost component=sccp dev.name=SEP00 dev.addr.ip=10.0.0.5`
	if len(got) != 1 || !strings.HasSuffix(got[0], want) {
		t.Errorf("got %q, want suffix %q", got, want)
	}
}

func TestDebugConcurrent(t *testing.T) {
	d := metrics.NewDebug()
	log, _ := newLogger(d)
	m := d.Monitor(8)
	defer m.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				if g == 0 && i%10 == 0 {
					_ = d.Enable("sip")
					_ = d.Disable("sip")
				}
				log.Debug("x", metrics.CategoryKey, "sip")
				log.Info("y")
				m.Drain(nil)
			}
		})
	}
	wg.Wait()
}
