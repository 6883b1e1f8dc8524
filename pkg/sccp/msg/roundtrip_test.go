package msg

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
)

// allIDs lists every id Decode models.
func allIDs() []MessageID {
	var ids []MessageID
	for id := range idNames {
		if Known(id) {
			ids = append(ids, id)
		}
	}
	return ids
}

var versions = []uint32{0, 3, 5, 6, 10, 11, 12, 15, 16, 17, 18, 20, 21, 22}

// fill sets every exported field of v to a distinct non-zero value.
func fill(v reflect.Value, seed *int) {
	*seed++
	n := *seed
	switch v.Kind() {
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n % 200))
	case reflect.Int:
		// WireLen/FieldLen: left 0 (the default form).
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), seed)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // Extra / Raw stay empty
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), seed)
		}
		v.Set(s)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[netip.Addr]() {
			v.Set(reflect.ValueOf(netip.AddrFrom4([4]byte{192, 0, 2, byte(n)})))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed)
			}
		}
	}
}

func sample(id MessageID, version uint32) Message {
	m := newMessage(id)
	seed := int(id)
	fill(reflect.ValueOf(m).Elem(), &seed)
	if f := reflect.ValueOf(m).Elem().FieldByName("Version"); f.IsValid() {
		f.SetUint(uint64(version))
	}
	switch m := m.(type) {
	case *RegisterAck:
		m.Short = false
	case *OpenReceiveChannelAck:
		m.NoCallReference = false
	case *Register:
		m.WireLen = registerFull
	}
	return m
}

// normalise clears the fields that record the received form.
func normalise(m Message) {
	v := reflect.ValueOf(m).Elem()
	for _, name := range []string{"WireLen", "FieldLen"} {
		if f := v.FieldByName(name); f.IsValid() {
			f.SetInt(0)
		}
	}
}

// TestRoundTripAllVersions: for every modelled message at every version, a
// full frame decodes and re-encodes to the same bytes.
func TestRoundTripAllVersions(t *testing.T) {
	for _, id := range allIDs() {
		for _, v := range versions {
			m := sample(id, v)
			f1, err := AppendFrame(nil, HeaderVersion(v, id), m)
			if err != nil {
				t.Fatalf("%v v%d: %v", id, v, err)
			}
			if len(f1)%4 != 0 {
				t.Errorf("%v v%d: frame %d bytes, not padded", id, v, len(f1))
			}
			m2, err := Decode(v, id, f1[HeaderSize:])
			if err != nil {
				t.Errorf("%v v%d: %v", id, v, err)
				continue
			}
			f2, _ := AppendFrame(nil, HeaderVersion(v, id), m2)
			if !bytes.Equal(f1, f2) {
				t.Errorf("%v v%d:\n%x\n%x", id, v, f1, f2)
			}
		}
	}
}

// TestRoundTripFieldsV22: at v22 (the richest layouts) every field survives.
func TestRoundTripFieldsV22(t *testing.T) {
	for _, id := range allIDs() {
		if id == IDUpdateCapabilities { // Audio is derived from Raw
			continue
		}
		m := sample(id, 22)
		p, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != m.MarshalSize() {
			t.Errorf("%v: MarshalSize %d, Marshal %d", id, m.MarshalSize(), len(p))
		}
		buf := make([]byte, len(p)+3)
		if n, err := m.MarshalTo(buf); err != nil || n != len(p) || !bytes.Equal(buf[:n], p) {
			t.Errorf("%v: MarshalTo %d %v", id, n, err)
		}
		if len(p) > 0 {
			if _, err := m.MarshalTo(buf[:len(p)-1]); err == nil {
				t.Errorf("%v: MarshalTo into a short buffer succeeded", id)
			}
		}
		m2, err := Decode(22, id, p)
		if err != nil {
			t.Errorf("%v: %v", id, err)
			continue
		}
		normalise(m)
		normalise(m2)
		if !reflect.DeepEqual(m, m2) {
			t.Errorf("%v:\n %+v\n %+v", id, m, m2)
		}
	}
}

// TestVersionSizes pins the payload sizes chosen per version (docs/sccp.md §Server-to-phone, §Media-messages).
func TestVersionSizes(t *testing.T) {
	for _, tc := range []struct {
		m    Message
		want int
	}{
		{&OpenReceiveChannel{Version: 6}, 68},
		{&OpenReceiveChannel{Version: 11}, 108},
		{&OpenReceiveChannel{Version: 16}, 112},
		{&OpenReceiveChannel{Version: 17}, 128},
		{&OpenReceiveChannel{Version: 22}, 168},
		{&StartMediaTransmission{Version: 6}, 84},
		{&StartMediaTransmission{Version: 11}, 112},
		{&StartMediaTransmission{Version: 15}, 116},
		{&StartMediaTransmission{Version: 17}, 132},
		{&StartMediaTransmission{Version: 22}, 168},
		{&OpenReceiveChannelAck{Version: 11}, 20},
		{&OpenReceiveChannelAck{Version: 17}, 36},
		{&StartMediaTransmissionAck{Version: 11}, 24},
		{&StartMediaTransmissionAck{Version: 22}, 40},
		{&StopTone{Version: 6}, 8},
		{&StopTone{Version: 11}, 12},
		{&DialedNumber{Version: 17}, 32},
		{&DialedNumber{Version: 18}, 33},
		{&ForwardStatRes{Version: 11}, 92},
		{&ForwardStatRes{Version: 18}, 95},
		{&ButtonTemplateRes{}, 12 + 2*42},
		{&SoftKeyTemplateRes{}, 12 + 20*32},
		{&SoftKeySetRes{}, 780},
		{&CapabilitiesRes{}, 4 + 16*18},
		{&RegisterAck{}, 20},
		{&Register{ProtocolVersion: 11}, 68},
		{&Register{ProtocolVersion: 17}, 124},
		{&Stimulus{}, 16},
		{&Stimulus{WireLen: 12}, 12},
		{&FeatureStatReq{WireLen: 4}, 4},
		{&FeatureStatV2Res{Label: "x"}, 12 + 40},
		{&Notification{}, 109},
		{&CallInfo{}, 384},
		{&LineStatRes{}, 112},
		{&ConfigStatRes{}, 112},
		{&ServiceURLStatRes{}, 300},
		{&FeatureStatRes{}, 52},
		{&SpeedDialStatRes{}, 68},
		{&DefineTimeDate{}, 36},
		{&CallInfoV2{Version: 11}, 32 + 12},
		{&CallInfoV2{Version: 16}, 32 + 15},
	} {
		if got := tc.m.MarshalSize(); got != tc.want {
			t.Errorf("%T%+v: %d bytes, want %d", tc.m, tc.m, got, tc.want)
		}
	}
}
