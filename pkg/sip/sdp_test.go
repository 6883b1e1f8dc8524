package sip

import (
	"net/netip"
	"testing"
)

func TestParseMedia(t *testing.T) {
	m, err := ParseMedia([]byte(sdpAt(40000)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Addr != netip.MustParseAddrPort("127.0.0.1:40000") || m.Direction != "sendrecv" || m.DTMF != 101 || m.OnHold() {
		t.Fatalf("%+v", m)
	}
	hold := "v=0\r\no=x 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 5004 RTP/AVP 8\r\n"
	if m, err := ParseMedia([]byte(hold)); err != nil || !m.OnHold() || m.Direction != "inactive" {
		t.Fatalf("c=0.0.0.0 hold: %+v %v", m, err)
	}
	video := "v=0\r\no=x 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=video 5006 RTP/AVP 96\r\n"
	if _, err := ParseMedia([]byte(video)); err != ErrNoAudio {
		t.Fatalf("video only: %v", err)
	}
	// Our own SDP round-trips.
	b := buildSDP(netip.MustParseAddrPort("192.0.2.7:17000"), "sendonly", 3)
	if m, err := ParseMedia(b); err != nil || m.Addr != netip.MustParseAddrPort("192.0.2.7:17000") || m.Direction != "sendonly" || m.DTMF != 101 {
		t.Fatalf("buildSDP round trip: %+v %v\n%s", m, err, b)
	}
}

func FuzzParseMedia(f *testing.F) {
	f.Add([]byte(sdpAt(40000)))
	f.Add(buildSDP(netip.AddrPort{}, "inactive", 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMedia(b)
		if err != nil {
			return
		}
		if !m.Addr.Addr().IsValid() {
			t.Fatalf("accepted without an address: %+v", m)
		}
		// Whatever we parsed we can answer.
		if _, err := ParseMedia(buildSDP(m.Addr, m.Direction, 1)); err != nil && m.Addr.Addr().Is4() {
			t.Fatalf("own SDP for %+v rejected: %v", m, err)
		}
	})
}
