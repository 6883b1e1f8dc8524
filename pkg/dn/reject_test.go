package dn_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// Reject: a phone refuses an offered call (a SIP phone's 486/603). Ephone-dn
// 3 (1003) rings on ephone 3 button 1 and ephone 4 button 2 (shared).

func (h *harness) rejectOn(tag, button int, cause dn.Cause, everywhere bool) {
	h.t.Helper()
	r := h.wantLast(tag, "Ring", nil)
	h.must(h.sw.Reject(h.id[tag], button, r.Call, cause, everywhere))
	synctest.Wait()
}

// wantCallerFailed: the SCCP caller stays off-hook with a failed call and
// the tone (place: like a call to a busy number).
func (h *harness) wantCallerFailed(tag int, tone dn.Tone) {
	h.t.Helper()
	h.wantLast(tag, "CallState", func(e dntest.Effect) bool { return e.State == dn.LineBusy })
	h.wantLast(tag, "Tone", func(e dntest.Effect) bool { return e.Tone == tone })
	if _, released := h.dev[tag].Last("Released"); released {
		h.t.Errorf("ephone %d: caller released instead of failed:\n%s", tag, h.dev[tag].Dump())
	}
}

func TestRejectSingleBusy(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 2)
		h.call(1, "1002")
		h.rejectOn(2, 1, dn.CauseBusy, false)
		h.wantCallerFailed(1, dn.ToneBusy)
		h.wantLast(2, "Released", func(e dntest.Effect) bool { return e.Cause == dn.CauseBusy })
		h.wantPresence(2, dn.PresenceIdle)
		h.wantPresence(1, dn.PresenceInUse) // busy tone until on-hook
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantPresence(1, dn.PresenceIdle)
		h.wantNoStuck(1, 2)
	})
}

func TestRejectUnassignedReorder(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 2)
		h.call(1, "1002")
		h.rejectOn(2, 1, dn.CauseUnassigned, false)
		h.wantCallerFailed(1, dn.ToneReorder)
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantNoStuck(1, 2)
	})
}

// TestRejectSharedBestWins: the offer goes on while another appearance
// rings; when the last one refuses, the best refusal (busy over
// no-response) reaches the caller (RFC 3261 §16.7).
func TestRejectSharedBestWins(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 3, 4)
		h.call(1, "1003")
		h.wantLast(4, "Ring", func(e dntest.Effect) bool { return e.Line == 2 })
		h.rejectOn(3, 1, dn.CauseBusy, false)
		if got := h.appState(1, 1); got != dn.LineRingback {
			t.Fatalf("caller %v after one refusal, want ringback while ephone 4 rings", got)
		}
		h.wantPresence(3, dn.PresenceRinging)
		if _, ok := h.dev[4].Last("StopRing"); ok {
			t.Fatalf("ephone 4 stopped ringing:\n%s", h.dev[4].Dump())
		}
		h.rejectOn(4, 2, dn.CauseNoResponse, false)
		h.wantCallerFailed(1, dn.ToneBusy)
		h.wantPresence(3, dn.PresenceIdle)
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantNoStuck(1, 3, 4)
	})
}

// TestRejectEverywhere: a 6xx ends the offer at once; the other
// appearance stops ringing.
func TestRejectEverywhere(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 3, 4)
		h.call(1, "1003")
		h.rejectOn(3, 1, dn.CauseRejected, true)
		h.wantLast(4, "StopRing", func(e dntest.Effect) bool { return e.Line == 2 })
		h.wantLast(4, "Released", func(e dntest.Effect) bool { return e.Cause == dn.CauseRejected })
		h.wantCallerFailed(1, dn.ToneBusy)
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantNoStuck(1, 3, 4)
	})
}

// TestRejectThenTimeout: one appearance refused busy, the other never
// answers: at `timeouts ringing` the refusal wins over no-answer.
func TestRejectThenTimeout(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 3, 4)
		h.call(1, "1003")
		h.rejectOn(3, 1, dn.CauseBusy, false)
		time.Sleep(31 * time.Second)
		synctest.Wait()
		h.wantCallerFailed(1, dn.ToneBusy)
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantNoStuck(1, 3, 4)
	})
}

// TestRejectForwardsBusy: a refused call goes to the DN's CFB target.
func TestRejectForwardsBusy(t *testing.T) {
	cfg := testConfig()
	cfg.EphoneDNs[1].CallForward.Busy = "1004"
	run(t, cfg, func(h *harness) {
		h.register(1, 2, 4)
		h.call(1, "1002")
		h.rejectOn(2, 1, dn.CauseBusy, false)
		r := h.wantLast(4, "Ring", func(e dntest.Effect) bool { return e.Line == 1 })
		if r.Info.Redirecting.Number != "1002" {
			t.Errorf("redirecting %+v, want 1002", r.Info.Redirecting)
		}
		if got := h.appState(1, 1); got != dn.LineRingback {
			t.Errorf("caller %v, want ringback", got)
		}
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantNoStuck(1, 2, 4)
	})
}

func TestRejectNotRinging(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 2)
		if err := h.sw.Reject(h.id[2], 1, 99, dn.CauseBusy, false); err != dn.ErrNoCall {
			t.Errorf("Reject without a call: %v, want ErrNoCall", err)
		}
	})
}
