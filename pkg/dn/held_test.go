package dn_test

import (
	"testing"
	"testing/synctest"

	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// held is the latest LineEvent of ephone-dn tag: its presence and hold flag.
func (h *harness) held(tag int) (dn.Presence, bool) {
	h.t.Helper()
	synctest.Wait()
	ev, ok := h.rec.Line(dn.DNKey{Kind: dn.EphoneDN, Tag: tag})
	if !ok {
		h.t.Fatalf("no event for dn %d", tag)
	}
	return ev.Presence, ev.Held
}

func (h *harness) wantHeld(tag int, wantP dn.Presence, wantHeld bool) {
	h.t.Helper()
	if p, held := h.held(tag); p != wantP || held != wantHeld {
		h.t.Errorf("ephone-dn %d: presence %v held %v, want %v held %v", tag, p, held, wantP, wantHeld)
	}
}

// TestLineEventHeld: a DN whose only call is held by this side is in use
// with Held set (docs/sip-presence.md §State-mapping), its peer's DN is
// not; a second call ringing or talking on the same DN clears Held; the
// flag follows hold and resume.
func TestLineEventHeld(t *testing.T) {
	run(t, testConfig(), func(h *harness) {
		h.register(1, 2, 3)
		h.call(1, "1002")
		ring := h.wantLast(2, "Ring", nil)
		first := h.mustRef(h.sw.Answer(h.id[2], 1, ring.Call))
		h.wantHeld(2, dn.PresenceInUse, false)

		h.mustRef(h.sw.Hold(h.id[2], 1, first.ID))
		h.wantHeld(2, dn.PresenceInUse, true)
		h.wantHeld(1, dn.PresenceInUse, false) // the held party is not holding

		// A second call alerts on the dual-line DN: ringing wins.
		h.call(3, "1002")
		ring2 := h.wantLast(2, "Ring", func(e dntest.Effect) bool { return e.Call != first.ID })
		h.wantHeld(2, dn.PresenceRinging, false)
		// Talking on the second call while the first is held: in use, not held.
		h.mustRef(h.sw.Answer(h.id[2], 1, ring2.Call))
		h.wantHeld(2, dn.PresenceInUse, false)
		// The second caller hangs up: only the held call is left.
		h.mustRef(h.sw.OnHook(h.id[3], 0))
		h.wantHeld(2, dn.PresenceInUse, true)

		h.mustRef(h.sw.Resume(h.id[2], 1, first.ID))
		h.wantHeld(2, dn.PresenceInUse, false)
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		h.wantHeld(2, dn.PresenceIdle, false)
	})
}
