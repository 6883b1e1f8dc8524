package sccp_test

import (
	"slices"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/sccp"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// softkeyConfig: ephone 1 uses template 1 (idle Redial Newcall, connected
// keys reordered, Trnsfer and Park blocked), ephone 2 template 2 (ringing
// with an unknown key name), ephone 3 none.
const softkeyConfig = `telephony-service
 max-ephones 10
 max-dn 20
 ip source-address 127.0.0.1 port 2000
ephone-template 1
 softkeys idle Redial Newcall
 softkeys connected Endcall Hold Trnsfer Confrn Park
 softkeys seized Endcall Redial Pickup
 features blocked Trnsfer Park
ephone-template 2
 softkeys ringing Dnd Answer Bogus iDivert
 softkeys hold Newcall Resume
 softkeys alerting Endcall
 softkeys remote-in-use cBarge Newcall
ephone-dn 1
 number 1001
ephone-dn 2
 number 1002
ephone-dn 3
 number 1003
ephone 1
 mac-address 0000.0000.0001
 type 7960
 ephone-template 1
 button 1:1
ephone 2
 mac-address 0000.0000.0002
 type 7960
 ephone-template 2
 button 1:2
ephone 3
 mac-address 0000.0000.0003
 type 7960
 button 1:3
`

// setKeys names the keys of set i of a phone's SoftKeySetRes through the
// template it received, slot by slot ("" = empty slot), trailing empties cut.
func setKeys(t *testing.T, s sccptest.State, i msg.SoftKeySetIndex) []string {
	t.Helper()
	if int(i) >= len(s.SoftKeySets) {
		t.Fatalf("set %d missing (%d sets)", i, len(s.SoftKeySets))
	}
	set := s.SoftKeySets[i]
	var out []string
	for slot, pos := range set.TemplateIndex {
		if pos == 0 {
			out = append(out, "")
			continue
		}
		if int(pos) > len(s.SoftKeys) {
			t.Fatalf("set %d slot %d: template index %d beyond %d keys", i, slot, pos, len(s.SoftKeys))
		}
		k := s.SoftKeys[pos-1]
		if set.InfoIndex[slot] != uint16(300+k.Event) {
			t.Errorf("set %d slot %d: info index %d, want %d", i, slot, set.InfoIndex[slot], 300+k.Event)
		}
		out = append(out, keyName(k))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// keyName turns a template label into a readable name: the label number's
// name for `0x80 NN`, else the plain text.
func keyName(k msg.SoftKey) string {
	names := map[byte]string{1: "Redial", 2: "NewCall", 3: "Hold", 4: "Transfer", 5: "CFwdAll", 8: "BackSpace",
		9: "EndCall", 10: "Resume", 11: "Answer", 13: "Confrn", 14: "Park", 15: "Join", 16: "MeetMe", 17: "PickUp",
		18: "GPickUp", 67: "Barge", 77: "DirTrfr", 78: "Select", 79: "ConfList", 88: "VidMode"}
	if len(k.Label) == 2 && k.Label[0] == 0x80 {
		if n, ok := names[k.Label[1]]; ok {
			return n
		}
	}
	return k.Label
}

func TestSoftkeyTemplatePerEphone(t *testing.T) {
	e := start(t, softkeyConfig, nil, sccp.Limits{})
	p1 := e.phone(sccptest.Config{Model: "7960", MAC: "000000000001", Version: 11}, true)
	p2 := e.phone(sccptest.Config{Model: "7960", MAC: "000000000002", Version: 11}, true)
	p3 := e.phone(sccptest.Config{Model: "7960", MAC: "000000000003", Version: 11}, true)
	s1, s2, s3 := p1.State(), p2.State(), p3.State()

	for _, c := range []struct {
		s    sccptest.State
		set  msg.SoftKeySetIndex
		want []string
	}{
		// The acceptance case: exactly the configured keys, in order.
		{s1, msg.KeySetOnHook, []string{"Redial", "NewCall"}},
		// Trnsfer and Park are blocked: gone from the connected set.
		{s1, msg.KeySetConnected, []string{"EndCall", "Hold", "Confrn"}},
		{s1, msg.KeySetOffHook, []string{"EndCall", "Redial", "PickUp"}},
		{s1, msg.KeySetOffHookWithFeatures, []string{"EndCall", "Redial", "PickUp"}},
		// Blocked keys leave the default sets too.
		{s1, msg.KeySetConnectedTransferable, []string{"", "EndCall"}},
		{s1, msg.KeySetOnHold, []string{"Resume", "NewCall", "DirTrfr", "Select", "Join"}},
		{s2, msg.KeySetRingIn, []string{"DND", "Answer", "iDivert"}},
		{s2, msg.KeySetOnHold, []string{"NewCall", "Resume"}},
		{s2, msg.KeySetRingOut, []string{"EndCall"}},
		{s2, msg.KeySetInUseHint, []string{"cBarge", "NewCall"}},
		{s2, msg.KeySetOnHook, []string{"Redial", "NewCall", "CFwdAll", "DND"}},
		{s3, msg.KeySetOnHook, []string{"Redial", "NewCall", "CFwdAll", "DND"}},
		{s3, msg.KeySetConnected, []string{"Hold", "EndCall", "Transfer", "Park", "Confrn", "ConfList", "Select", "Join", "DirTrfr", "VidMode"}},
	} {
		if got := setKeys(t, c.s, c.set); !slices.Equal(got, c.want) {
			t.Errorf("set %d: %q, want %q", c.set, got, c.want)
		}
	}
	if !slices.Equal(s1.SoftKeys, s3.SoftKeys) {
		t.Error("the template differs between phones; only the sets should")
	}

	// A blocked feature's key does nothing even when sent: Transfer on a
	// connected call gives BeepBonk and no transfer.
	if err := p1.OffHook(); err != nil {
		t.Fatal(err)
	}
	waitState(t, p1, "dial tone", func(s sccptest.State) bool { return s.SoftKeySet == msg.KeySetOffHook })
	n := len(p1.Messages())
	if err := p1.SoftKey(msg.LabelTransfer, 1, 0); err != nil {
		t.Fatal(err)
	}
	ctx := e.ctxT(10 * time.Second)
	if _, err := p1.WaitFor(ctx, func(m msg.Message) bool {
		st, ok := m.(*msg.StartTone)
		return ok && st.Tone == msg.ToneBeepBonk
	}); err != nil {
		t.Fatalf("no BeepBonk for a blocked key: %v", err)
	}
	for _, r := range p1.Messages()[n:] {
		if cs, ok := r.Msg.(*msg.CallStateMsg); ok && cs.State == msg.CallHold {
			t.Errorf("blocked Transfer held the call: %+v", cs)
		}
	}
}

// TestSoftkeyTemplateAsCUCM: the first 20 template keys are CUCM 4.1's, byte
// for byte, and the default sets are CUCM's with DND added (idle, ring-in)
// and set 11 of our own.
func TestSoftkeyTemplateAsCUCM(t *testing.T) {
	cf := cucmFrames(t)
	ct := cf["softkey-template"][0].(*msg.SoftKeyTemplateRes)
	cs := cf["softkey-sets"][0].(*msg.SoftKeySetRes)
	ours := sccp.SoftKeyTemplate()
	if len(ct.Keys) != 20 || len(ours.Keys) < 20 || len(ours.Keys) > 32 {
		t.Fatalf("CUCM %d keys, ours %d", len(ct.Keys), len(ours.Keys))
	}
	if !slices.Equal(ours.Keys[:20], ct.Keys) {
		t.Errorf("first 20 keys\n ours %+v\n CUCM %+v", ours.Keys[:20], ct.Keys)
	}
	sets := sccp.SoftKeySets()
	if len(sets.Sets) < len(cs.Sets) {
		t.Fatalf("%d sets, CUCM %d", len(sets.Sets), len(cs.Sets))
	}
	dnd := slices.IndexFunc(ours.Keys, func(k msg.SoftKey) bool { return k.Label == "DND" }) + 1
	for i, c := range cs.Sets {
		o := sets.Sets[i]
		for slot := range o.TemplateIndex {
			if o.TemplateIndex[slot] == uint8(dnd) && c.TemplateIndex[slot] == 0 &&
				(i == int(msg.KeySetOnHook) || i == int(msg.KeySetRingIn)) {
				continue
			}
			if o.TemplateIndex[slot] != c.TemplateIndex[slot] || o.InfoIndex[slot] != c.InfoIndex[slot] {
				t.Errorf("set %d slot %d: ours %d/%d, CUCM %d/%d", i, slot, o.TemplateIndex[slot], o.InfoIndex[slot],
					c.TemplateIndex[slot], c.InfoIndex[slot])
			}
		}
	}
	// Frame sizes as CUCM: 32 template slots, 16 sets.
	if a, b := ours.MarshalSize(), ct.MarshalSize(); a != b {
		t.Errorf("template size %d, CUCM %d", a, b)
	}
	if a, b := sets.MarshalSize(), cs.MarshalSize(); a != b {
		t.Errorf("sets size %d, CUCM %d", a, b)
	}
}
