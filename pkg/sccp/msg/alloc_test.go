//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// counts only hold without it.

package msg

import "testing"

// TestAppendFrameAllocs: a lamp update appended to a buffer with room
// allocates nothing; 10,000 lamps per second at 20,000 phones made the
// per-frame garbage a visible part of the server's RSS.
func TestAppendFrameAllocs(t *testing.T) {
	m := &FeatureStatV2Res{Index: 3, Feature: ButtonBLFSpeedDial, Status: uint32(BLFInUse), Label: "L3"}
	buf := make([]byte, 0, 4*FrameSize(m))
	allocs := testing.AllocsPerRun(200, func() {
		b, err := AppendFrame(buf[:0], 0, m)
		if err != nil || len(b) != FrameSize(m) {
			t.Fatalf("AppendFrame: %d bytes, %v", len(b), err)
		}
	})
	if allocs != 0 {
		t.Errorf("AppendFrame allocates %.1f times per frame, want 0", allocs)
	}
}
