package sccp_test

import (
	"encoding/binary"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// writeLog is the server's side of a phone connection, recording the
// message ids of every Write call (one Write is one syscall on TCP).
type writeLog struct {
	net.Conn
	mu     sync.Mutex // guards writes
	writes [][]msg.MessageID
}

func (w *writeLog) Write(p []byte) (int, error) {
	var ids []msg.MessageID
	for b := p; len(b) >= msg.HeaderSize; {
		n := 8 + int(binary.LittleEndian.Uint32(b))
		ids = append(ids, msg.MessageID(binary.LittleEndian.Uint32(b[8:])))
		b = b[min(n, len(b)):]
	}
	w.mu.Lock()
	w.writes = append(w.writes, ids)
	w.mu.Unlock()
	return w.Conn.Write(p)
}

func (w *writeLog) snapshot() [][]msg.MessageID {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.writes)
}

// TestRegistrationAnswersAreOneWriteEach: the session writes what it sends
// while handling one phone message in a single write (pkg/sccp/session.go
// dispatch), so a registration costs one write per request the phone
// makes (docs/sccp.md §Registration-sequence), not one per message: the
// answer to TimeDateReq carries DefineTimeDate and every BLF lamp push of
// step 15 together, SoftKeySetReq's carries SelectSoftKeys with it.
func TestRegistrationAnswersAreOneWriteEach(t *testing.T) {
	e := start(t, officeConfig, nil, sccpLimits())
	client, server := net.Pipe()
	wl := &writeLog{Conn: server}
	e.srv.ServeConn(wl)
	p, err := sccptest.New(client, sccptest.Config{Model: "7961", MAC: "000000000003"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Connect(e.ctxT(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// Both BLF lamps (ephone 3 watches 1002 and 1006) reached the phone.
	waitState(t, p, "two BLF lamps", func(s sccptest.State) bool { return len(s.BLF) >= 2 })

	writes := wl.snapshot()
	find := func(id msg.MessageID) []msg.MessageID {
		for _, w := range writes {
			if slices.Contains(w, id) {
				return w
			}
		}
		t.Fatalf("no write carried %v; writes: %v", id, writes)
		return nil
	}
	if w := find(msg.IDRegisterAck); !slices.Contains(w, msg.IDCapabilitiesReq) {
		t.Errorf("RegisterAck and CapabilitiesReq in different writes: %v", writes)
	}
	if w := find(msg.IDSoftKeySetRes); !slices.Contains(w, msg.IDSelectSoftKeys) {
		t.Errorf("SoftKeySetRes and SelectSoftKeys in different writes: %v", writes)
	}
	w := find(msg.IDDefineTimeDate)
	lamps := 0
	for _, id := range w {
		if id == msg.IDFeatureStatV2Res {
			lamps++
		}
	}
	if lamps != 2 {
		t.Errorf("the TimeDateReq answer carried %d BLF lamp pushes, want both: %v", lamps, w)
	}
	// One write per answered request: Register, ButtonTemplateReq,
	// SoftKeyTemplateReq, SoftKeySetReq, LineStatReq, ForwardStatReq, two
	// FeatureStatReq, two SpeedDialStatReq, ConfigStatReq, TimeDateReq.
	if len(writes) > 12 {
		t.Errorf("%d writes for one registration, want at most 12: %v", len(writes), writes)
	}
}
