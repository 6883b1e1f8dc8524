package msg

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readHexFrame reads a space-separated hex fixture (sccp-rs golden frames).
func readHexFrame(t testing.TB, name string) []byte {
	t.Helper()
	d, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(d)), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	doc1 = netip.MustParseAddr("192.0.2.1")
	zero = netip.AddrFrom4([4]byte{})
)

// realPhoneFixtures are frames from real Cisco handsets (captures README):
// the negotiated version, the header version the frame carries and the
// message it must decode to.
var realPhoneFixtures = []struct {
	file          string
	version       uint32
	headerVersion uint32
	want          Message
}{
	{"feature_request_7960_v11.hex", 11, 0, &FeatureStatReq{Index: 1, WireLen: 4}},
	{"feature_request_7965_v22.hex", 22, 22, &FeatureStatReq{Index: 1, WireLen: 8}},
	{"stimulus_7960_v11.hex", 11, 0, &Stimulus{Stimulus: ButtonFeature, Instance: 1, WireLen: 12}},
	{"line_status_7961_v22_sanitized.hex", 22, 22, &LineStatV2Res{Line: 1, LineType: 0x0F, DirNumber: "1001", FullName: "1001", Label: "1001"}},
	{"open_receive_7961_v22_wildcard.hex", 22, 22, &OpenReceiveChannel{Version: 22, ConferenceID: 1, PassThruPartyID: 1,
		PacketSizeMs: 20, Codec: CodecG711Alaw, CallReference: 1, RFC2833PayloadType: 101, DTMFType: 10,
		PartyDirection: 1, SourceAddr: zero}},
	{"open_receive_7961_v22_concrete_no_ack_sanitized.hex", 22, 22, &OpenReceiveChannel{Version: 22, ConferenceID: 1,
		PassThruPartyID: 1, PacketSizeMs: 20, Codec: CodecG711Alaw, CallReference: 1, RFC2833PayloadType: 101,
		DTMFType: 10, PartyDirection: 1, SourceAddr: doc1, SourcePort: 4000}},
	{"open_receive_ack_7961_v22_sanitized.hex", 22, 22, &OpenReceiveChannelAck{Version: 22, Addr: doc1, Port: 4000,
		PassThruPartyID: 1, CallReference: 1}},
	{"start_media_7961_v22_sanitized.hex", 22, 22, &StartMediaTransmission{Version: 22, ConferenceID: 1, PassThruPartyID: 1,
		RemoteAddr: doc1, RemotePort: 4000, PacketSizeMs: 20, Codec: CodecG711Alaw, MaxFramesPerPacket: 40,
		CallReference: 1, RFC2833PayloadType: 101, DTMFType: 10, PartyDirection: 1}},
	{"start_media_ack_7961_v22_sanitized.hex", 22, 22, &StartMediaTransmissionAck{Version: 22, ConferenceID: 1,
		PassThruPartyID: 1, CallReference: 1, Addr: doc1, Port: 4000}},
	{"start_media_transmission_ack_6901_v20.hex", 20, 20, &StartMediaTransmissionAck{Version: 20, CallReference: 18,
		Addr: netip.MustParseAddr("10.1.2.44"), Port: 12276, Extra: make([]byte, 8)}},
}

func TestRealPhoneFrames(t *testing.T) {
	for _, tc := range realPhoneFixtures {
		t.Run(tc.file, func(t *testing.T) {
			raw := readHexFrame(t, tc.file)
			f, err := ReadFrame(bytes.NewReader(raw), 0)
			if err != nil {
				t.Fatal(err)
			}
			if f.Header.Version != tc.headerVersion || f.Header.ID != tc.want.ID() {
				t.Fatalf("header %+v", f.Header)
			}
			got, err := Decode(tc.version, f.Header.ID, f.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decoded\n %+v\nwant\n %+v", got, tc.want)
			}
			// Round trip: the same frame, padding included.
			enc, err := AppendFrame(nil, f.Header.Version, got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, raw) {
				t.Errorf("re-encoded\n %x\nwant\n %x", enc, raw)
			}
		})
	}
}

// TestUpdateCapabilities7961 reads the audio caps from the fixed-array layout
// a real 7961G sent (which Wireshark 4.0 misreads, docs/sccp.md §Phone-to-server).
func TestUpdateCapabilities7961(t *testing.T) {
	raw := readHexFrame(t, "update_capabilities_7961_v22_legacy.hex")
	f, err := ReadFrame(bytes.NewReader(raw), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Payload) != 1840 {
		t.Fatalf("payload %d", len(f.Payload))
	}
	m, err := Decode(22, f.Header.ID, f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	uc := m.(*UpdateCapabilities)
	var codecs []Codec
	var frames []uint32
	for _, c := range uc.Audio {
		codecs = append(codecs, c.Codec)
		frames = append(frames, c.MaxFramesPerPacket)
	}
	if want := []Codec{25, 4, 2, 15, 16, 11, 12, 257}; !reflect.DeepEqual(codecs, want) {
		t.Errorf("codecs %v, want %v", codecs, want)
	}
	if want := []uint32{40, 40, 40, 60, 60, 60, 60}; !reflect.DeepEqual(frames[:7], want) {
		t.Errorf("frames %v", frames)
	}
	enc, _ := AppendFrame(nil, f.Header.Version, m)
	if !bytes.Equal(enc, raw) {
		t.Error("round trip differs")
	}
}

// TestOldLayoutsAcceptedAtNewVersion: the 7960 sends header version 0 at v11,
// and lengths (not versions) pick layouts, so a v22 session still decodes the
// short forms and a v6 session the long ones.
func TestLayoutByLengthNotVersion(t *testing.T) {
	ack16 := &OpenReceiveChannelAck{Version: 11, Addr: doc1, Port: 4000, PassThruPartyID: 7, CallReference: 9}
	p, _ := ack16.Marshal()
	if len(p) != 20 {
		t.Fatalf("v11 ack %d bytes", len(p))
	}
	m, err := Decode(22, IDOpenReceiveChannelAck, p)
	if err != nil {
		t.Fatal(err)
	}
	if a := m.(*OpenReceiveChannelAck); a.Addr != doc1 || a.Port != 4000 || a.PassThruPartyID != 7 || a.CallReference != 9 {
		t.Errorf("decoded %+v", a)
	}
	long := &StartMediaTransmission{Version: 22, RemoteAddr: doc1, RemotePort: 5000, PassThruPartyID: 3}
	p, _ = long.Marshal()
	m, err = Decode(6, IDStartMediaTransmission, p)
	if err != nil {
		t.Fatal(err)
	}
	if s := m.(*StartMediaTransmission); s.RemoteAddr != doc1 || s.RemotePort != 5000 || s.PassThruPartyID != 3 {
		t.Errorf("decoded %+v", s)
	}
}
