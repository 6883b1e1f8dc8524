package daemon_test

import (
	"testing"
	"time"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
	"github.com/cmed-project/cmed/pkg/store"
)

// TestCallHistorySurvivesARestart places a call between two phones of the
// default office through the core, stops the daemon, and checks the placed,
// received and missed lists in the database of a fresh boot.
func TestCallHistorySurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	inst := cmedtest.StartIn(t, dir, configs.Default)
	sw := inst.Switch()
	a, b := &dntest.Device{}, &dntest.Device{}
	ida, err := sw.RegisterDevice(dn.DeviceInfo{Name: "SEP001122334401", Protocol: dn.SCCP, Model: "7960"}, a)
	if err != nil {
		t.Fatal(err)
	}
	idb, err := sw.RegisterDevice(dn.DeviceInfo{Name: "SEP001122334402", Protocol: dn.SCCP, Model: "7961"}, b)
	if err != nil {
		t.Fatal(err)
	}
	// Phone 1 calls 1002 (phone 2's line), phone 2 answers, then hangs up.
	must(t, errOf(sw.OffHook(ida, 0)))
	must(t, errOf(sw.Digits(ida, 0, "1002")))
	waitFor(t, func() bool { _, ok := b.Last("Ring"); return ok })
	must(t, errOf(sw.OffHook(idb, 0)))
	waitFor(t, func() bool {
		calls, _ := sw.Calls()
		if len(calls) != 1 {
			return false
		}
		for _, l := range calls[0].Legs {
			if l.State != dn.LineConnected {
				return false
			}
		}
		return true
	})
	must(t, errOf(sw.OnHook(idb, 0)))
	// Then 1002 calls 1001 and gives up before an answer: a missed call.
	must(t, errOf(sw.OnHook(ida, 0)))
	must(t, errOf(sw.OffHook(idb, 0)))
	must(t, errOf(sw.Digits(idb, 0, "1001")))
	waitFor(t, func() bool { _, ok := a.Last("Ring"); return ok })
	must(t, errOf(sw.OnHook(idb, 0)))
	time.Sleep(100 * time.Millisecond) // let the history writer drain
	if err := inst.Stop(); err != nil {
		t.Fatal(err)
	}

	st, err := store.Open(dir+"/cmed.db", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check := func(phone string, kind store.CallKind, number string) {
		t.Helper()
		recs, err := st.CallRecords(phone, kind)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 || recs[0].Number != number {
			t.Errorf("%s %s list = %+v, want a call with %s", phone, kind, recs, number)
		}
	}
	check("SEP001122334401", store.Placed, "1002")
	check("SEP001122334402", store.Received, "1001")
	check("SEP001122334402", store.Placed, "1001")
	check("SEP001122334401", store.Missed, "1002")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// errOf drops the call a phone command returns.
func errOf(_ dn.CallRef, err error) error { return err }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
