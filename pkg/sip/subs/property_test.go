package subs

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/sip/pidf"
)

// model is the test's view of the network and of the truth.
type model struct {
	t        *testing.T
	tab      *Table
	now      time.Time
	truth    map[string]pidf.LineState // latest state given for each presentity
	inflight map[SubID]Notify          // NOTIFY sent, response not yet delivered
	last     map[SubID]Notify          // last NOTIFY delivered per subscription
	final    map[SubID]bool            // a terminated NOTIFY was seen
	dialogs  map[SubID]SubscribeInfo   // for refreshes
	pres     map[SubID]string
	sentAt   map[SubID]time.Time // when the in-flight NOTIFY was sent
}

var presentities = []string{"2001", "2002", "2003"}

func (m *model) accept(n Notify, from string) {
	m.t.Helper()
	if _, busy := m.inflight[n.Sub]; busy {
		m.t.Fatalf("%s: second NOTIFY in flight for sub %d", from, n.Sub)
	}
	if m.final[n.Sub] {
		m.t.Fatalf("%s: NOTIFY after terminated for sub %d", from, n.Sub)
	}
	if prev, ok := m.last[n.Sub]; ok {
		if n.Version <= prev.Version || n.CSeq <= prev.CSeq {
			m.t.Fatalf("%s: sub %d version %d->%d cseq %d->%d", from, n.Sub, prev.Version, n.Version, prev.CSeq, n.CSeq)
		}
	}
	m.inflight[n.Sub] = n
	m.sentAt[n.Sub] = m.now
	m.last[n.Sub] = n
	if n.Terminated {
		m.final[n.Sub] = true
	}
}

func (m *model) acceptAll(ns []Notify, from string) {
	for _, n := range ns {
		m.accept(n, from)
	}
}

func (m *model) pick(r *rand.Rand, ids []SubID) SubID {
	slices.Sort(ids)
	return ids[r.IntN(len(ids))]
}

func (m *model) randomState(r *rand.Rand, dn string) pidf.LineState {
	st := pidf.LineState{Entity: "sip:" + dn + "@h", Number: dn, Status: pidf.Status(r.IntN(6)), DND: r.IntN(4) == 0}
	if st.Status == pidf.StatusRinging && r.IntN(2) == 0 {
		st.Calls = []pidf.Call{{CallID: strconv.Itoa(r.IntN(1000)), State: pidf.DialogEarly, Direction: pidf.DirectionRecipient}}
	}
	return st
}

func (m *model) step(r *rand.Rand, i int) {
	switch op := r.IntN(100); {
	case op < 12: // new subscription
		dn := presentities[r.IntN(len(presentities))]
		req := presenceSub("c"+strconv.Itoa(i), dn)
		if r.IntN(2) == 0 {
			req.Event, req.Accept = "dialog", nil
		}
		req.Expires = 60 + r.IntN(600)
		if r.IntN(10) == 0 {
			req.Expires = 0
		}
		req.State = m.truth[dn]
		d := m.tab.OnSubscribe(req, m.now)
		if d.Status != 200 {
			m.t.Fatalf("subscribe refused: %+v", d)
		}
		req.ToTag = d.LocalTag
		m.dialogs[d.Sub] = req
		m.pres[d.Sub] = dn
		if d.Notify != nil {
			m.accept(*d.Notify, "subscribe")
		} else {
			m.t.Fatalf("new subscription without immediate NOTIFY")
		}
	case op < 20 && len(m.dialogs) > 0: // refresh or unsubscribe
		id := m.pick(r, mapKeys(m.dialogs))
		req := m.dialogs[id]
		req.Expires = 60 + r.IntN(600)
		if r.IntN(3) == 0 {
			req.Expires = 0
		}
		d := m.tab.OnSubscribe(req, m.now)
		info, ok := m.tab.Get(id)
		alive := ok && !info.Terminated
		if d.Status == 481 {
			if alive && !m.final[id] {
				m.t.Fatalf("481 for live sub %d", id)
			}
			delete(m.dialogs, id)
			return
		}
		if d.Status != 200 {
			m.t.Fatalf("refresh: %+v", d)
		}
		if d.Notify != nil {
			m.accept(*d.Notify, "refresh")
		} else if _, busy := m.inflight[id]; !busy {
			m.t.Fatalf("refresh of idle sub %d without NOTIFY", id)
		}
	case op < 55: // state change
		dn := presentities[r.IntN(len(presentities))]
		st := m.randomState(r, dn)
		m.truth[dn] = st
		m.acceptAll(m.tab.OnStateChange(dn, st, m.now), "change")
	case op < 90 && len(m.inflight) > 0: // deliver a response
		id := m.pick(r, mapKeys(m.inflight))
		n := m.inflight[id]
		delete(m.inflight, id)
		status := 200
		switch x := r.IntN(20); {
		case x == 0:
			status = 481
		case x == 1:
			status = StatusTimeout
		case x == 2:
			status = 500
		}
		if next := m.tab.OnNotifyResponse(id, n.CSeq, status, m.now); next != nil {
			if status != 200 {
				m.t.Fatalf("NOTIFY after failure %d", status)
			}
			m.accept(*next, "response")
		}
		if status != 200 {
			if _, ok := m.tab.Get(id); ok {
				m.t.Fatalf("sub %d kept after %d", id, status)
			}
		}
	default: // time passes
		m.now = m.now.Add(time.Duration(r.IntN(40)) * time.Second)
		// Responses lost in the network: Tick times them out.
		for id := range m.inflight {
			if m.now.Sub(m.sentAt[id]) >= 32*time.Second {
				delete(m.inflight, id)
			}
		}
		m.acceptAll(m.tab.Tick(m.now), "tick")
	}
}

func mapKeys[V any](mp map[SubID]V) []SubID {
	out := make([]SubID, 0, len(mp))
	for k := range mp {
		out = append(out, k)
	}
	return out
}

// quiesce answers every NOTIFY with 200 until none is in flight.
func (m *model) quiesce() {
	for range 10000 {
		if len(m.inflight) == 0 {
			return
		}
		for _, id := range mapKeys(m.inflight) {
			n := m.inflight[id]
			delete(m.inflight, id)
			if next := m.tab.OnNotifyResponse(id, n.CSeq, 200, m.now); next != nil {
				m.accept(*next, "quiesce")
			}
		}
	}
	m.t.Fatal("no quiescence")
}

func TestPropertyRandomSequences(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0xc3ed))
			m := &model{
				t: t, tab: NewTable(testConfig()), now: t0,
				truth:    map[string]pidf.LineState{},
				inflight: map[SubID]Notify{}, last: map[SubID]Notify{}, final: map[SubID]bool{},
				dialogs: map[SubID]SubscribeInfo{}, pres: map[SubID]string{}, sentAt: map[SubID]time.Time{},
			}
			for _, dn := range presentities {
				m.truth[dn] = idleState(dn)
			}
			for i := range 600 {
				m.step(r, i)
			}
			m.quiesce()
			m.checkFinalStates()
			if len(m.last) < 20 {
				t.Fatalf("only %d subscriptions notified: the sequence exercised too little", len(m.last))
			}
		})
	}
}

// checkFinalStates: after quiescence every live subscription's last NOTIFY
// is exactly the body of the presentity's true last state.
func (m *model) checkFinalStates() {
	live := 0
	for _, info := range m.tab.List() {
		if info.Terminated {
			m.t.Fatalf("terminated sub %d left after quiescence", info.ID)
		}
		live++
		n, ok := m.last[info.ID]
		if !ok {
			m.t.Fatalf("live sub %d never notified", info.ID)
		}
		st := m.truth[m.pres[info.ID]]
		want, err := st.AppendBody(nil, n.ContentType, n.Version, pidf.Options{})
		if err != nil {
			m.t.Fatal(err)
		}
		if !bytes.Equal(n.Body, want) {
			m.t.Fatalf("sub %d (%s) last NOTIFY is stale:\n got %s\nwant %s", info.ID, m.pres[info.ID], n.Body, want)
		}
	}
	if live != m.tab.Len() {
		m.t.Fatalf("List shows %d live, Len %d", live, m.tab.Len())
	}
}
