package msg

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// tcpStream is the reassembled payload of one TCP direction.
type tcpStream struct {
	src, dst uint16
	data     []byte
	next     uint32 // next expected sequence number
	started  bool
}

// readPcapngTCP reads an Ethernet/IPv4 pcapng file and returns the TCP
// payload of each direction in order, skipping retransmitted bytes. It knows
// just enough of pcapng (section header, interface description, enhanced
// packet blocks) for the committed capture.
func readPcapngTCP(t testing.TB, path string) map[[2]uint16]*tcpStream {
	t.Helper()
	d, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	streams := map[[2]uint16]*tcpStream{}
	le := binary.LittleEndian
	for off := 0; off+12 <= len(d); {
		typ, blen := le.Uint32(d[off:]), int(le.Uint32(d[off+4:]))
		if blen < 12 || off+blen > len(d) {
			t.Fatalf("bad pcapng block at %d", off)
		}
		body := d[off+8 : off+blen-4]
		switch typ {
		case 0x0A0D0D0A: // section header
			if le.Uint32(body) != 0x1A2B3C4D {
				t.Fatal("big-endian pcapng not supported")
			}
		case 1: // interface description
			if lt := le.Uint16(body); lt != 1 {
				t.Fatalf("link type %d, want Ethernet", lt)
			}
		case 6: // enhanced packet
			caplen := int(le.Uint32(body[12:]))
			pkt := body[20 : 20+caplen]
			if len(pkt) < 14 || binary.BigEndian.Uint16(pkt[12:]) != 0x0800 {
				break
			}
			ip := pkt[14:]
			ihl := int(ip[0]&0x0F) * 4
			if ip[9] != 6 {
				break
			}
			tot := int(binary.BigEndian.Uint16(ip[2:]))
			tcp := ip[ihl:tot]
			sp, dp := binary.BigEndian.Uint16(tcp[0:]), binary.BigEndian.Uint16(tcp[2:])
			seq := binary.BigEndian.Uint32(tcp[4:])
			payload := tcp[int(tcp[12]>>4)*4:]
			if len(payload) == 0 {
				break
			}
			k := [2]uint16{sp, dp}
			s := streams[k]
			if s == nil {
				s = &tcpStream{src: sp, dst: dp}
				streams[k] = s
			}
			if s.started && seq != s.next {
				if int32(seq-s.next) < 0 { // retransmission
					break
				}
				t.Fatalf("gap in TCP stream %v", k)
			}
			s.data = append(s.data, payload...)
			s.next, s.started = seq+uint32(len(payload)), true
		}
		off += blen
	}
	return streams
}

type capturedFrame struct {
	fromServer bool
	raw        []byte // whole frame
	f          Frame
}

// cucmFrames splits the CUCM 4.1 capture into frames, client and server.
func cucmFrames(t testing.TB) []capturedFrame {
	t.Helper()
	var out []capturedFrame
	for k, s := range readPcapngTCP(t, filepath.Join("testdata", "pyskinny_cm_cap.pcapng")) {
		r := NewReader(bytes.NewReader(s.data))
		off := 0
		for {
			f, err := r.ReadFrame()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("stream %v: %v", k, err)
			}
			n := HeaderSize + f.Header.PayloadLen()
			out = append(out, capturedFrame{fromServer: k[0] == 2000, raw: s.data[off : off+n], f: f})
			off += n
		}
		if off != len(s.data) {
			t.Fatalf("stream %v: %d trailing bytes", k, len(s.data)-off)
		}
	}
	return out
}

// cucmVersion is the version CUCM 4.1 negotiated in the capture (RegisterAck byte 16).
const cucmVersion = 6

func TestCUCMCaptureDecodes(t *testing.T) {
	frames := cucmFrames(t)
	counts := map[MessageID]int{}
	for _, cf := range frames {
		counts[cf.f.Header.ID]++
		m, err := Decode(cucmVersion, cf.f.Header.ID, cf.f.Payload)
		if err != nil {
			t.Errorf("%v: %v", cf.f.Header.ID, err)
			continue
		}
		if _, ok := m.(*Unknown); ok {
			t.Errorf("%v not modelled", cf.f.Header.ID)
		}
	}
	// Message counts as listed in the capture README.
	want := "0:1 1:1 10:4 11:1 13:1 14:1 16:1 32:1 37:1 38:2 40:1 45:1 52:1 129:1 130:1 131:1 133:1 134:2 136:2 145:4 146:1 148:2 151:1 155:1 256:1 264:1 265:1 272:3 273:2 274:3 275:1 278:1 287:1"
	for _, kv := range strings.Fields(want) {
		var id, n int
		if _, err := fmt.Sscanf(kv, "%d:%d", &id, &n); err != nil {
			t.Fatal(err)
		}
		if counts[MessageID(id)] != n {
			t.Errorf("%v: %d frames, want %d", MessageID(id), counts[MessageID(id)], n)
		}
	}
}

// garbageAfterNUL lists captured messages whose senders left uninitialised
// memory after string terminators or in unused array slots (CM 3.1 did the
// same, docs/sccp.md §Status-responses): the Alarm text and CapabilitiesRes slots from
// pyskinny, the SpeedDialStatRes and FeatureStatRes strings from CUCM.
var garbageAfterNUL = map[MessageID]bool{
	IDAlarm: true, IDCapabilitiesRes: true, IDSpeedDialStatRes: true, IDFeatureStatRes: true,
}

// TestCUCMCaptureRoundTrip re-encodes every captured message and compares the
// frame bytes. For garbageAfterNUL messages it requires the same size, equal
// re-decoding, and that every byte we write differently is one we zeroed.
func TestCUCMCaptureRoundTrip(t *testing.T) {
	for _, cf := range cucmFrames(t) {
		id := cf.f.Header.ID
		m, err := Decode(cucmVersion, id, cf.f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendFrame(nil, cf.f.Header.Version, m)
		if err != nil {
			t.Fatal(err)
		}
		if !garbageAfterNUL[id] {
			if !bytes.Equal(got, cf.raw) {
				t.Errorf("%v round trip:\n got %s\nwant %s", id, hex.EncodeToString(got), hex.EncodeToString(cf.raw))
			}
			continue
		}
		if len(got) != len(cf.raw) {
			t.Errorf("%v size %d, want %d", id, len(got), len(cf.raw))
			continue
		}
		for i := range got {
			if got[i] != cf.raw[i] && got[i] != 0 {
				t.Errorf("%v byte %d: %#x, captured %#x", id, i, got[i], cf.raw[i])
			}
		}
		m2, err := Decode(cucmVersion, id, got[HeaderSize:])
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Errorf("%v re-decode: %+v vs %+v (%v)", id, m, m2, err)
		}
	}
}

func firstFrame(t *testing.T, id MessageID) capturedFrame {
	t.Helper()
	for _, cf := range cucmFrames(t) {
		if cf.f.Header.ID == id {
			return cf
		}
	}
	t.Fatalf("%v not in capture", id)
	return capturedFrame{}
}

// TestLayoutsMatchCUCM builds our own server messages from scratch, with the
// values CUCM used, and compares size and every byte with what CUCM 4.1 sent
// at v6. Equality of all bytes pins every field offset.
func TestLayoutsMatchCUCM(t *testing.T) {
	btn := []Button{{1, ButtonLine}, {1, ButtonSpeedDial}, {2, ButtonSpeedDial}, {3, ButtonSpeedDial},
		{4, ButtonSpeedDial}, {1, ButtonHold}, {1, ButtonSelect}}
	tests := []struct {
		name string
		m    Message
	}{
		{"RegisterAck", &RegisterAck{KeepAliveInterval: 30, DateTemplate: "M/D/Y", SecondaryKeepAliveInterval: 60,
			MaxProtocolVersion: 6, Features: [3]byte{0, 0, 0xFE}}},
		{"ButtonTemplateRes", &ButtonTemplateRes{Buttons: btn}},
		{"LineStatRes", &LineStatRes{Line: 1, DirNumber: "1012", FullName: "8165551012", Label: "1012", DisplayOptions: 9}},
		{"SelectSoftKeys", &SelectSoftKeys{SetIndex: KeySetOnHook, ValidKeyMask: 0xFFFFFFFF}},
		{"CallState", &CallStateMsg{State: CallOffHook, Line: 1, CallReference: 0x0100001A, PrecedenceLevel: 4}},
		{"StartTone", &StartTone{Tone: ToneInsideDial, Line: 1, CallReference: 0x0100001A}},
		{"StopTone", &StopTone{Version: cucmVersion, Line: 1, CallReference: 0x0100001A}},
		{"SetLamp", &SetLamp{Stimulus: ButtonLine, Instance: 1, Mode: LampOn}},
		{"DisplayPromptStatus", &DisplayPromptStatus{Text: Label(LabelYourOptions)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cf := firstFrame(t, tc.m.ID())
			got, err := AppendFrame(nil, 0, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(cf.raw) {
				t.Fatalf("size %d, CUCM sent %d", len(got), len(cf.raw))
			}
			if !bytes.Equal(got, cf.raw) {
				t.Errorf("\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(cf.raw))
			}
		})
	}
}

// TestSoftKeyLayoutsMatchCUCM checks sizes and the offsets of the first and
// last used entries of the two softkey messages; the contents are CUCM's own
// choice of keys, so they are re-built from its decoded values.
func TestSoftKeyLayoutsMatchCUCM(t *testing.T) {
	tmpl := firstFrame(t, IDSoftKeyTemplateRes)
	var tr SoftKeyTemplateRes
	if err := tr.Unmarshal(tmpl.f.Payload); err != nil {
		t.Fatal(err)
	}
	if len(tr.Keys) != 20 || tr.Keys[0] != (SoftKey{Label: Label(LabelRedial), Event: 1}) {
		t.Fatalf("template: %d keys, first %+v", len(tr.Keys), tr.Keys[0])
	}
	// Our encoding of a 20-key template: 32 slots, 652-byte payload as CUCM.
	ours := &SoftKeyTemplateRes{Keys: append([]SoftKey(nil), tr.Keys...)}
	if got := ours.MarshalSize(); got != len(tmpl.f.Payload) || got != 12+32*20 {
		t.Errorf("SoftKeyTemplateRes size %d, CUCM %d", got, len(tmpl.f.Payload))
	}
	b, _ := ours.Marshal()
	// Entry 19 (last used) label at 12+19*20, event at +16; unused slots zero.
	off := 12 + 19*20
	if !bytes.Equal(b[off:off+20], tmpl.f.Payload[off:off+20]) {
		t.Errorf("entry 19 differs: %x vs %x", b[off:off+20], tmpl.f.Payload[off:off+20])
	}
	if !bytes.Equal(b, tmpl.f.Payload) {
		t.Error("SoftKeyTemplateRes bytes differ from CUCM")
	}

	set := firstFrame(t, IDSoftKeySetRes)
	var sr SoftKeySetRes
	if err := sr.Unmarshal(set.f.Payload); err != nil {
		t.Fatal(err)
	}
	if len(sr.Sets) != 11 {
		t.Fatalf("%d sets", len(sr.Sets))
	}
	// OnHook = Redial, NewCall, CfwdAll (docs/sccp.md §Softkeys): template positions 1, 2, 5; info 301, 302, 305.
	if got := sr.Sets[0]; [3]uint8(got.TemplateIndex[:3]) != [3]uint8{1, 2, 5} || [3]uint16(got.InfoIndex[:3]) != [3]uint16{301, 302, 305} {
		t.Errorf("OnHook set %+v", got)
	}
	ours2 := &SoftKeySetRes{Sets: sr.Sets}
	if got := ours2.MarshalSize(); got != 780 || got != len(set.f.Payload) {
		t.Errorf("SoftKeySetRes size %d", got)
	}
	b2, _ := ours2.Marshal()
	if !bytes.Equal(b2, set.f.Payload) {
		t.Error("SoftKeySetRes bytes differ from CUCM")
	}
}
