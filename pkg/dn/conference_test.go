package dn_test

import (
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// fakeMixer records what the core asks of a conference bridge.
type fakeMixer struct {
	mu      sync.Mutex // guards remotes and stopped
	base    uint16
	remotes [3]netip.AddrPort
	stopped bool
}

func (m *fakeMixer) Local(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.9"), m.base+uint16(i))
}

func (m *fakeMixer) SetRemote(i int, a netip.AddrPort) {
	m.mu.Lock()
	m.remotes[i] = a
	m.mu.Unlock()
}

func (m *fakeMixer) Stop() {
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
}

func (m *fakeMixer) state() ([3]netip.AddrPort, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.remotes, m.stopped
}

// confMedia is dntest.Media with a bridge.
type confMedia struct {
	*dntest.Media
	mu     sync.Mutex // guards mixers
	mixers []*fakeMixer
}

func (c *confMedia) StartMixer(_ dn.MediaParams, n int) (dn.Mixer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := &fakeMixer{base: uint16(30000 + 10*len(c.mixers))}
	c.mixers = append(c.mixers, m)
	return m, nil
}

func (c *confMedia) last() *fakeMixer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.mixers) == 0 {
		return nil
	}
	return c.mixers[len(c.mixers)-1]
}

// runConf is run with a MediaServer that bridges conferences.
func runConf(t *testing.T, cfg *config.Config, body func(h *harness, cm *confMedia)) {
	t.Helper()
	var cm *confMedia
	wrap := func(m *dntest.Media) dn.MediaServer {
		cm = &confMedia{Media: m}
		return cm
	}
	runMedia(t, cfg, dn.Options{}, wrap, func(h *harness) { body(h, cm) })
}

// running counts the bridges started and those still running.
func (c *confMedia) running() (started, running int) {
	c.mu.Lock()
	ms := append([]*fakeMixer(nil), c.mixers...)
	c.mu.Unlock()
	for _, m := range ms {
		if _, stopped := m.state(); !stopped {
			running++
		}
	}
	return len(ms), running
}

// conference: 1 calls 2, Confrn, dials 3, 3 answers, Confrn. Returns the
// call ids: 1-2 as 2 knows it, 1-3 as 1 and 3 know it.
func (h *harness) conference() (c12, c13 dn.CallID) {
	h.t.Helper()
	c12 = h.connect(1, 2)
	consult := h.mustRef(h.sw.Conference(h.id[1], 0, c12))
	synctest.Wait()
	if consult.ID == c12 {
		h.t.Fatalf("first Confrn opened no new call")
	}
	h.mustRef(h.sw.Digits(h.id[1], 0, "1003"))
	r := h.wantLast(3, "Ring", nil)
	h.mustRef(h.sw.Answer(h.id[3], 0, r.Call))
	synctest.Wait()
	h.mustRef(h.sw.Conference(h.id[1], 0, consult.ID))
	synctest.Wait()
	return c12, consult.ID
}

// wantBridged: every member sends to its own bridge port, and the bridge
// sends to every member's receive address.
func (h *harness) wantBridged(m *fakeMixer, members map[int]dn.CallID) {
	h.t.Helper()
	remotes, stopped := m.state()
	if stopped {
		h.t.Fatal("bridge stopped")
	}
	seen := map[netip.AddrPort]bool{}
	for tag, call := range members {
		tx, ok := h.dev[tag].Last("StartMedia")
		if !ok || tx.Call != call {
			h.t.Fatalf("%d: last StartMedia %+v, want one for call %d", tag, tx, call)
		}
		if tx.Addr.Addr() != netip.MustParseAddr("127.0.0.9") || seen[tx.Addr] {
			h.t.Errorf("%d sends to %v, not a bridge port of its own", tag, tx.Addr)
		}
		seen[tx.Addr] = true
		i := int(tx.Addr.Port() - m.Local(0).Port())
		if rx := h.dev[tag].RxAddr(call); remotes[i] != rx {
			h.t.Errorf("%d: bridge sends to %v, its receive address is %v", tag, remotes[i], rx)
		}
	}
}

func TestConferenceJoinsThreeAndInitiatorEndsIt(t *testing.T) {
	runConf(t, featConfig(nil), func(h *harness, cm *confMedia) {
		h.register(1, 2, 3)
		c12, c13 := h.conference()
		m := cm.last()
		if m == nil {
			t.Fatal("no bridge started")
		}
		h.wantBridged(m, map[int]dn.CallID{1: c13, 2: c12, 3: c13})
		if got := h.appState(1, 1); got != dn.LineConnected {
			t.Errorf("initiator %v, want connected", got)
		}
		if len(h.media.Active("MOH")) != 0 {
			t.Error("music on hold still plays in the conference")
		}
		h.wantPresence(1, dn.PresenceInUse)
		h.wantPresence(2, dn.PresenceInUse)
		h.wantPresence(3, dn.PresenceInUse)
		// Only the initiator controls it.
		if _, err := h.sw.Conference(h.id[2], 0, c12); err == nil {
			t.Error("a party's Confrn was accepted")
		}
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		synctest.Wait()
		if _, stopped := m.state(); !stopped {
			t.Error("bridge not stopped")
		}
		h.wantNoStuck(1, 2, 3)
		for _, tag := range []int{1, 2, 3} {
			h.wantPresence(tag, dn.PresenceIdle)
		}
	})
}

func TestConferencePartyLeavesAndDropLast(t *testing.T) {
	for _, leaver := range []int{2, 3, 0} { // 0: the initiator's Confrn drops the last party (3)
		runConf(t, featConfig(nil), func(h *harness, cm *confMedia) {
			h.register(1, 2, 3)
			c12, c13 := h.conference()
			m := cm.last()
			if leaver == 0 {
				h.mustRef(h.sw.Conference(h.id[1], 0, c13))
			} else {
				h.mustRef(h.sw.OnHook(h.id[leaver], 0))
			}
			synctest.Wait()
			if _, stopped := m.state(); !stopped {
				t.Errorf("leaver %d: bridge not stopped", leaver)
			}
			stay, stayCall := 2, c12
			if leaver == 2 {
				stay, stayCall = 3, c13
			}
			gone := 5 - stay
			// The other two talk directly again.
			h.wantMediaTo(1, c13, stay, stayCall)
			h.wantMediaTo(stay, stayCall, 1, c13)
			h.wantPresence(gone, dn.PresenceIdle)
			h.wantPresence(stay, dn.PresenceInUse)
			h.mustRef(h.sw.OnHook(h.id[stay], 0))
			synctest.Wait()
			h.wantNoStuck(1, 2, 3)
			for _, tag := range []int{1, 2, 3} {
				h.wantPresence(tag, dn.PresenceIdle)
			}
		})
	}
}

func TestKeepConferenceJoinsTheOthers(t *testing.T) {
	cfg := featConfig(func(_ map[int]*config.EphoneDN, c *config.Config) {
		c.EphoneTemplates = []config.PhoneTemplate{{Tag: 1, Extra: []string{"keep-conference"}}}
		c.Ephones[0].Template = 1
	})
	runConf(t, cfg, func(h *harness, cm *confMedia) {
		h.register(1, 2, 3)
		c12, c13 := h.conference()
		h.mustRef(h.sw.OnHook(h.id[1], 0))
		synctest.Wait()
		h.wantMediaTo(2, c12, 3, c13)
		h.wantMediaTo(3, c13, 2, c12)
		h.wantPresence(1, dn.PresenceIdle)
		h.wantPresence(2, dn.PresenceInUse)
		h.mustRef(h.sw.OnHook(h.id[2], 0))
		synctest.Wait()
		h.wantNoStuck(1, 2, 3)
		h.wantPresence(3, dn.PresenceIdle)
	})
}

func TestConferenceNeedsABridge(t *testing.T) {
	run(t, featConfig(nil), func(h *harness) {
		h.register(1, 2)
		c := h.connect(1, 2)
		if _, err := h.sw.Conference(h.id[1], 0, c); err == nil {
			t.Error("Confrn without a bridge was accepted")
		}
		synctest.Wait()
		if got := h.appState(1, 1); got != dn.LineConnected {
			t.Errorf("call %v after a refused Confrn, want still connected", got)
		}
	})
}
