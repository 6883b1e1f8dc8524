package daemon_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// featureRouter: four SCCP phones (1001-1004); 1002 and 1003 in pickup
// group 10; park slot 1008; hunt pilot 5000 over 1002, 1003, 1004 with
// final 1001. Ephone 3 watches the park slot (BLF 1), 1002 (BLF 2) and
// the pilot (BLF 3). docs/cme-behaviour.md §Hunt-groups, §Call-park,
// §Call-pickup.
const featureRouter = `hostname features
presence
telephony-service
 max-ephones 6
 max-dn 12
 ip source-address 127.0.0.1 port 0
 service directed-pickup
 fac standard
ephone-dn 1
 number 1001
 allow watch
ephone-dn 2
 number 1002
 allow watch
 pickup-group 10
ephone-dn 3
 number 1003
 allow watch
 pickup-group 10
ephone-dn 4
 number 1004
 allow watch
ephone-dn 8
 number 1008
 allow watch
 park-slot
ephone-hunt 1 sequential
 pilot 5000
 list 1002, 1003, 1004
 final 1001
 timeout 3
ephone 1
 mac-address 0011.2233.4401
 type 7965
 button 1:1
ephone 2
 mac-address 0011.2233.4402
 type 7965
 button 1:2
ephone 3
 mac-address 0011.2233.4403
 type 7965
 button 1:3
 blf-speed-dial 1 1008 label "Park"
 blf-speed-dial 2 1002 label "Two"
 blf-speed-dial 3 5000 label "Hunt"
ephone 4
 mac-address 0011.2233.4404
 type 7965
 button 1:4
`

// featurePhones starts cmed with featureRouter, a tshark capture of its
// SCCP port (nil without tshark, sccpCapture) and the four phones; the test
// ends with checkSCCPCapture on the capture.
func featurePhones(t *testing.T) (*cmedtest.Instance, [5]*sccptest.Phone, *loCapture) {
	t.Helper()
	inst := cmedtest.Start(t, featureRouter)
	capture := sccpCapture(t, sccpPort(inst))
	var p [5]*sccptest.Phone
	for i := 1; i <= 4; i++ {
		p[i] = fakePhone(t, inst, "7965", "00112233440"+string(rune('0'+i)), netip.AddrPort{})
	}
	return inst, p, capture
}

func sccpPort(inst *cmedtest.Instance) int { return inst.Addr("sccp").(*net.TCPAddr).Port }

func fRinging(s sccptest.State) bool {
	for _, c := range s.Calls {
		if c.State == msg.CallRingIn {
			return true
		}
	}
	return false
}

func fConnected(s sccptest.State) bool {
	for _, c := range s.Calls {
		if c.State == msg.CallConnected {
			return true
		}
	}
	return false
}

func fIdle(s sccptest.State) bool { return !fRinging(s) && !fConnected(s) }

// A call to the pilot rings 1002, 1003 and 1004 in turn, 3 s each, and
// then the final number 1001; the pilot's BLF lamp shows the hunt; `show
// ephone-hunt` lists the members and counts the call.
func TestHuntGroupSequentialWholeDaemon(t *testing.T) {
	inst, p, capture := featurePhones(t)
	wait(t, p[3], "pilot idle", func(s sccptest.State) bool { return s.BLF[3] == msg.BLFIdle })
	// 1003 busy: the hunt skips it.
	if err := p[3].OffHook(); err != nil {
		t.Fatal(err)
	}
	if err := p[4].OffHook(); err != nil {
		t.Fatal(err)
	}
	if err := p[4].Dial("5000"); err != nil {
		t.Fatal(err)
	}
	wait(t, p[2], "1002 rings first", fRinging)
	wait(t, p[3], "pilot lamp alerting", func(s sccptest.State) bool { return s.BLF[3] == msg.BLFAlerting })
	wait(t, p[2], "1002 stops after its timeout", fIdle)
	// 1003 is off-hook and 1004 is the caller: on to the final number.
	wait(t, p[1], "final 1001 rings", fRinging)
	if fRinging(p[3].State()) {
		t.Fatal("the busy member 1003 was rung")
	}
	if err := p[1].Answer(); err != nil {
		t.Fatal(err)
	}
	wait(t, p[4], "caller connected to the final number", fConnected)
	out := inst.CLI(t, "show ephone-hunt")
	for _, want := range []string{"Group 1", "sequential", "Pilot number: 5000", "1002", "1003", "1004",
		"Final number: 1001", "calls 1", "to final 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("show ephone-hunt lacks %q:\n%s", want, out)
		}
	}
	_ = p[4].OnHook()
	_ = p[3].OnHook()
	wait(t, p[3], "pilot idle again", func(s sccptest.State) bool { return s.BLF[3] == msg.BLFIdle })
	wait(t, p[4], "caller idle", fIdle)
	checkSCCPCapture(t, capture, sccpPort(inst), 30)
}

// Phone 1 talks to 1002; 1002 parks the call with the Park softkey; phone
// 3's BLF key for the slot goes in use; pressing it retrieves the call
// and the lamp goes idle.
func TestCallParkRetrievedByBLFKey(t *testing.T) {
	inst, p, capture := featurePhones(t)
	wait(t, p[3], "slot idle", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFIdle })
	if err := p[1].OffHook(); err != nil {
		t.Fatal(err)
	}
	if err := p[1].Dial("1002"); err != nil {
		t.Fatal(err)
	}
	wait(t, p[2], "1002 rings", fRinging)
	if err := p[2].Answer(); err != nil {
		t.Fatal(err)
	}
	wait(t, p[1], "connected", fConnected)
	wait(t, p[2], "connected", fConnected)
	if err := p[2].PressSoftKey(msg.LabelPark); err != nil {
		t.Fatal(err)
	}
	wait(t, p[2], "parker released", fIdle)
	wait(t, p[2], "parker told the slot", func(s sccptest.State) bool { return strings.Contains(s.Prompt, "1008") })
	wait(t, p[3], "slot lamp in use", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFInUse })
	if out := inst.CLI(t, "show ephone-dn park"); !strings.Contains(out, "1008") || !strings.Contains(out, "1001") {
		t.Errorf("show ephone-dn park:\n%s", out)
	}
	if err := p[3].Press(msg.ButtonBLFSpeedDial, 1); err != nil {
		t.Fatal(err)
	}
	wait(t, p[3], "retriever connected", fConnected)
	wait(t, p[1], "parked party connected", fConnected)
	wait(t, p[3], "slot lamp idle", func(s sccptest.State) bool { return s.BLF[1] == msg.BLFIdle })
	_ = p[1].OnHook()
	wait(t, p[3], "call ended", fIdle)
	checkSCCPCapture(t, capture, sccpPort(inst), 30)
}

// A call ringing on 1002 is picked up by 1003 with PickUp... by group
// (GPickUp *), and a second one by phone 3's BLF key on 1002 under
// `service directed-pickup`.
func TestCallPickupByGroupAndBLFKey(t *testing.T) {
	inst, p, capture := featurePhones(t)
	for _, how := range []string{"group", "blf"} {
		if err := p[1].OffHook(); err != nil {
			t.Fatal(err)
		}
		if err := p[1].Dial("1002"); err != nil {
			t.Fatal(err)
		}
		wait(t, p[2], how+": 1002 rings", fRinging)
		wait(t, p[3], how+": BLF shows 1002 alerting", func(s sccptest.State) bool { return s.BLF[2] == msg.BLFAlerting })
		switch how {
		case "group":
			if err := p[3].PressSoftKey(18); err != nil { // GPickUp
				t.Fatal(err)
			}
			if err := p[3].Dial("*"); err != nil {
				t.Fatal(err)
			}
		case "blf":
			if err := p[3].Press(msg.ButtonBLFSpeedDial, 2); err != nil {
				t.Fatal(err)
			}
		}
		wait(t, p[3], how+": picker connected", fConnected)
		wait(t, p[2], how+": 1002 stops ringing", fIdle)
		wait(t, p[1], how+": caller connected", fConnected)
		_ = p[1].OnHook()
		wait(t, p[3], how+": call over", fIdle)
	}
	checkSCCPCapture(t, capture, sccpPort(inst), 30)
}
