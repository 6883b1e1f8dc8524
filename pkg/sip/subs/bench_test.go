package subs

import (
	"strconv"
	"testing"

	"github.com/cmed-project/cmed/pkg/sip/pidf"
)

// benchFanout subscribes n watchers (half presence, half dialog) to one DN,
// then measures one state change fanned out to all of them plus the 200s.
func benchFanout(b *testing.B, n int) {
	tab := NewTable(testConfig())
	for i := range n {
		req := presenceSub("c"+strconv.Itoa(i), "2001")
		if i%2 == 1 {
			req.Event, req.Accept = "dialog", nil
		}
		d := tab.OnSubscribe(req, t0)
		tab.OnNotifyResponse(d.Sub, d.Notify.CSeq, 200, t0)
	}
	states := [2]pidf.LineState{idleState("2001"), idleState("2001")}
	states[1].Status = pidf.StatusRinging
	b.ReportAllocs()
	b.ResetTimer()
	notifies := 0
	i := 0
	for b.Loop() {
		i++
		ns := tab.OnStateChange("2001", states[i%2], t0)
		notifies += len(ns)
		for _, nt := range ns {
			tab.OnNotifyResponse(nt.Sub, nt.CSeq, 200, t0)
		}
	}
	if notifies != i*n {
		b.Fatalf("%d NOTIFYs for %d changes x %d subscriptions", notifies, i, n)
	}
	b.ReportMetric(float64(notifies)/b.Elapsed().Seconds(), "notifies/s")
	b.ReportMetric(float64(notifies)/float64(i)/float64(n), "notifies/sub")
}

func BenchmarkFanout1000(b *testing.B) { benchFanout(b, 1000) }

// BenchmarkNotifyBuild is the per-NOTIFY cost (allocs/op = allocs per NOTIFY).
func BenchmarkNotifyBuild(b *testing.B) {
	tab := NewTable(testConfig())
	d := tab.OnSubscribe(presenceSub("c", "2001"), t0)
	cseq := d.Notify.CSeq
	states := [2]pidf.LineState{idleState("2001"), idleState("2001")}
	states[1].Status = pidf.StatusInUse
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		tab.OnNotifyResponse(d.Sub, cseq, 200, t0)
		ns := tab.OnStateChange("2001", states[i%2], t0)
		cseq = ns[0].CSeq
	}
}

// BenchmarkRecordFlushManyLines is one line change recorded and flushed
// in an office of 1,000 lines that have all been recorded once (what the
// SIP notifier's drain loop does per delivery, docs/sip-presence.md
// §Notify-discipline): the cost must not grow with the office.
func BenchmarkRecordFlushManyLines(b *testing.B) {
	tab := NewTable(testConfig())
	for i := range 1000 {
		tab.Record(strconv.Itoa(2000+i), idleState(strconv.Itoa(2000+i)), t0)
	}
	tab.Flush(nil, t0)
	d := tab.OnSubscribe(presenceSub("c", "2001"), t0)
	cseq := d.Notify.CSeq
	states := [2]pidf.LineState{idleState("2001"), idleState("2001")}
	states[1].Status = pidf.StatusInUse
	var out []Notify
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		tab.OnNotifyResponse(d.Sub, cseq, 200, t0)
		tab.Record("2001", states[i%2], t0)
		out = tab.Flush(out[:0], t0)
		if len(out) != 1 {
			b.Fatalf("change %d: %d NOTIFYs", i, len(out))
		}
		cseq = out[0].CSeq
	}
}
