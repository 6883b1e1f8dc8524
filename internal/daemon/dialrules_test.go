package daemon_test

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
	"github.com/cmed-project/cmed/pkg/store"
)

// dialRulesRouter: ephone 1 (1001, call-list BLF) and ephone 2 (23139); a
// trusted SIP peer on 127.0.0.1 for 408 numbers; a directory lookup rule
// that turns 408902xxxxx into the 5-digit extension
// (docs/cme-behaviour.md §Dialing-rules).
const dialRulesRouter = `hostname dialrules
dial-rule directory-lookup 1 begins-with 408902 num-digits 10 remove 5
dial-rule application 1 num-digits 7 prefix 9
dial-rule application 2 begins-with 408902 num-digits 10 remove 5
voice service voip
 allow-connections sip to sip
 sip
  registrar server
voice register global
 mode cme
 source-address 127.0.0.1 port 0
presence
 presence call-list
dial-peer voice 100 voip
 destination-pattern 408T
 session protocol sipv2
 session target ipv4:127.0.0.1
telephony-service
 max-ephones 4
 max-dn 8
 ip source-address 127.0.0.1 port 0
ephone-dn 1
 number 1001
 allow watch
ephone-dn 2
 number 23139
 allow watch
ephone 1
 mac-address 0011.2233.4401
 type 7965
 button 1:1
ephone 2
 mac-address 0011.2233.4402
 type 7965
 button 1:2
`

// TestTrunkCallerLookedUpToInternalDN: a call from 4089023139 over the SIP
// trunk rings ephone 1 as 23139; the phone's call-list BLF lamp for that
// entry follows DN 23139, and the received-calls list has 23139. `show
// dial-rules` lists the rules.
func TestTrunkCallerLookedUpToInternalDN(t *testing.T) {
	dir := t.TempDir()
	inst := cmedtest.StartIn(t, dir, []byte(dialRulesRouter))
	p1 := fakePhone(t, inst, "7965", "001122334401", netip.MustParseAddrPort("127.0.0.1:41010"))
	p2 := fakePhone(t, inst, "7965", "001122334402", netip.AddrPort{})

	out := inst.CLI(t, "show dial-rules")
	for _, want := range []string{"begins-with 408902 num-digits 10 remove 5", "num-digits 7 prefix 9",
		"Application dialing rules", "Directory lookup rules"} {
		if !strings.Contains(out, want) {
			t.Errorf("show dial-rules lacks %q:\n%s", want, out)
		}
	}

	peer, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	sipAddr := inst.Addr("sip-udp").String()
	local := peer.LocalAddr().String()
	send := func(m string) {
		t.Helper()
		to, _ := net.ResolveUDPAddr("udp", sipAddr)
		if _, err := peer.WriteTo([]byte(m), to); err != nil {
			t.Fatal(err)
		}
	}
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41020 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	hdr := func(method string, cseq int, to string) string {
		return fmt.Sprintf("%s sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-dr-%d;rport\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:4089023139@127.0.0.1>;tag=peer1\r\nTo: <sip:1001@%s>%s\r\n"+
			"Call-ID: dialrules-1@127.0.0.1\r\nCSeq: %d %s\r\nContact: <sip:4089023139@%s>\r\n",
			method, sipAddr, local, cseq, sipAddr, to, cseq, method, local)
	}
	send(hdr("INVITE", 1, "") + fmt.Sprintf("Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(sdp), sdp))

	wait(t, p1, "ephone 1 to ring with the looked-up caller", func(s sccptest.State) bool {
		for _, c := range s.Calls {
			if c.State == msg.CallRingIn && c.CallingParty == "23139" {
				return true
			}
		}
		return false
	})
	if err := p1.Answer(); err != nil {
		t.Fatal(err)
	}
	toTag := readResponse(t, peer, "200")
	send(hdr("ACK", 1, ";tag="+toTag) + "Content-Length: 0\r\n\r\n")
	if err := p1.OnHook(); err != nil {
		t.Fatal(err)
	}

	// The phone's received-calls entry is the number CallInfo showed; its
	// call-list BLF lamp follows DN 23139 on ephone 2.
	if err := p1.SubscribeCallListBLF(7, "23139"); err != nil {
		t.Fatal(err)
	}
	wait(t, p1, "call-list lamp for 23139 idle", func(s sccptest.State) bool { return s.CallListBLF[7] == msg.BLFIdle })
	if err := p2.OffHook(); err != nil {
		t.Fatal(err)
	}
	wait(t, p1, "call-list lamp for 23139 in use", func(s sccptest.State) bool { return s.CallListBLF[7] == msg.BLFInUse })
	if err := p2.OnHook(); err != nil {
		t.Fatal(err)
	}
	wait(t, p1, "call-list lamp for 23139 idle again", func(s sccptest.State) bool { return s.CallListBLF[7] == msg.BLFIdle })

	// Redialling the entry's original number from a list (the phone
	// sends it whole, EnblocCall) goes through the application dialing
	// rules: 408-902-3139 dials 23139 and ephone 2 rings.
	if err := p1.Send(&msg.EnblocCall{CalledParty: "4089023139"}); err != nil {
		t.Fatal(err)
	}
	wait(t, p2, "ephone 2 to ring for the redialled number", func(s sccptest.State) bool {
		for _, c := range s.Calls {
			if c.State == msg.CallRingIn && c.CallingParty == "1001" {
				return true
			}
		}
		return false
	})
	if err := p1.OnHook(); err != nil {
		t.Fatal(err)
	}

	time.Sleep(100 * time.Millisecond) // let the history writer drain
	if err := inst.Stop(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir+"/cmed.db", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.CallRecords("SEP001122334401", store.Received)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Number != "23139" {
		t.Errorf("received list = %+v, want one call from 23139", recs)
	}
}

// readResponse waits for a SIP response with the status code and returns
// its To tag. Bounded: 10 s and 50 messages.
func readResponse(t *testing.T, c net.PacketConn, code string) string {
	t.Helper()
	buf := make([]byte, 8192)
	deadline := time.Now().Add(10 * time.Second)
	for range 50 {
		_ = c.SetReadDeadline(deadline)
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no SIP %s: %v", code, err)
		}
		m := string(buf[:n])
		if !strings.HasPrefix(m, "SIP/2.0 "+code) {
			continue
		}
		for _, l := range strings.Split(m, "\r\n") {
			if low := strings.ToLower(l); strings.HasPrefix(low, "to:") || strings.HasPrefix(low, "t:") {
				if i := strings.Index(l, ";tag="); i >= 0 {
					return strings.TrimSpace(strings.SplitN(l[i+5:], ";", 2)[0])
				}
			}
		}
		return ""
	}
	t.Fatalf("no SIP %s in 50 messages", code)
	return ""
}
