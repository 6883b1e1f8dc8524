package sip

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
)

// Media is what the B2BUA needs from an SDP body (RFC 4566, offer/answer
// RFC 3264): where the endpoint receives audio and in which direction.
type Media struct {
	Addr      netip.AddrPort // c= address and m=audio port; port 0: stream rejected
	Direction string         // sendrecv, sendonly, recvonly, inactive (RFC 3264 §6.1)
	Formats   []string       // payload types offered, in preference order
	DTMF      int            // telephone-event payload type (RFC 4733), -1 if none
}

// ErrNoAudio: the SDP has no audio stream.
var ErrNoAudio = errors.New("sip: SDP without audio")

// maxSDP bounds what ParseMedia accepts.
const maxSDP = 16 << 10

// ParseMedia extracts the first audio stream of an SDP body.
func ParseMedia(b []byte) (Media, error) {
	m := Media{Direction: "sendrecv", DTMF: -1}
	if len(b) > maxSDP {
		return m, errors.New("sip: SDP too large")
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(b); err != nil {
		return m, err
	}
	conn := sd.ConnectionInformation
	for _, k := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
		if _, ok := sd.Attribute(k); ok {
			m.Direction = k
		}
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		if md.ConnectionInformation != nil {
			conn = md.ConnectionInformation
		}
		if conn == nil || conn.Address == nil {
			return m, errors.New("sip: SDP without connection address")
		}
		ip, err := netip.ParseAddr(conn.Address.Address)
		if err != nil {
			return m, err
		}
		port := md.MediaName.Port.Value
		if port < 0 || port > 65535 {
			return m, errors.New("sip: SDP port out of range")
		}
		m.Addr = netip.AddrPortFrom(ip, uint16(port))
		m.Formats = md.MediaName.Formats
		for _, k := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
			if _, ok := md.Attribute(k); ok {
				m.Direction = k
			}
		}
		for _, a := range md.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			pt, enc, _ := strings.Cut(a.Value, " ")
			if strings.HasPrefix(strings.ToLower(enc), "telephone-event/") {
				if n, err := strconv.Atoi(pt); err == nil {
					m.DTMF = n
				}
			}
		}
		if ip.IsUnspecified() && m.Direction == "sendrecv" {
			m.Direction = "inactive" // RFC 2543-style hold: c=0.0.0.0
		}
		return m, nil
	}
	return m, ErrNoAudio
}

// OnHold reports whether the offer puts the sender's peer on hold (RFC
// 3264 §8.4: sendonly or inactive).
func (m Media) OnHold() bool { return m.Direction == "sendonly" || m.Direction == "inactive" }

// sdpSession numbers our SDP origin lines.
var sdpSession = uint64(time.Now().Unix())

// buildSDP makes our offer or answer: audio at addr (the other endpoint's
// RTP address: media flows directly between endpoints), G.711 µ-law
// (dn.MediaParams default) plus RFC 4733 telephone-event so DTMF passes
// end to end. An invalid addr gives c=0.0.0.0 port 9 (no media yet).
func buildSDP(addr netip.AddrPort, direction string, version uint64) []byte {
	ip, port := "0.0.0.0", 9
	if addr.IsValid() {
		ip, port = addr.Addr().Unmap().String(), int(addr.Port())
	}
	if direction == "" {
		direction = "sendrecv"
	}
	sd := sdp.SessionDescription{
		Origin: sdp.Origin{Username: "cmed", SessionID: sdpSession, SessionVersion: version,
			NetworkType: "IN", AddressType: "IP4", UnicastAddress: ip},
		SessionName:           "cmed",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: "IP4", Address: &sdp.Address{Address: ip}},
		TimeDescriptions:      []sdp.TimeDescription{{Timing: sdp.Timing{}}},
		MediaDescriptions: []*sdp.MediaDescription{{
			MediaName: sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: port}, Protos: []string{"RTP", "AVP"},
				Formats: []string{"0", "101"}},
			Attributes: []sdp.Attribute{
				{Key: "rtpmap", Value: "0 PCMU/8000"},
				{Key: "rtpmap", Value: "101 telephone-event/8000"},
				{Key: "fmtp", Value: "101 0-15"},
				{Key: "ptime", Value: "20"},
				{Key: direction},
			},
		}},
	}
	b, _ := sd.Marshal()
	return b
}
