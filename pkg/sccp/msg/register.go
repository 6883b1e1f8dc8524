package msg

import (
	"encoding/binary"
	"net/netip"
)

// Register is RegisterReq 0x0001 (docs/sccp.md §Register-layout). Its payload grows with the
// firmware (36/44, 52 pyskinny, 68 7960 8.x, 124 7941 8.5, up to 172), so
// fields are read only as far as the payload reaches.
type Register struct {
	DeviceName        string // "SEP" + 12 upper-case hex MAC digits
	UserID            uint32
	Instance          uint32
	StationIP         netip.Addr
	DeviceType        DeviceType
	MaxStreams        uint32
	ActiveStreams     uint32
	ProtocolVersion   uint8 // the phone's maximum (byte 40)
	Unknown41         uint8
	PhoneFeatures     uint16 // bits disputed except PhoneFeatureUTF8, the only one read (docs/sccp.md §Register-layout, §Charset)
	MaxConferences    uint32
	ActiveConferences uint32
	MAC               [12]byte // 6 binary bytes + 6 zero on a 7941
	IPv4AddressScope  uint32
	MaxLines          uint32
	StationIPv6       [16]byte
	IPv6AddressScope  uint32
	FirmwareLoadName  string // char[32]
	ConfigVersion     string // char[48], newer loads
	// WireLen is the payload length to emit; Unmarshal sets it. 0 selects 68
	// (7960 8.x) when ProtocolVersion <= 11, else 124 (7941 8.5).
	WireLen int
	Extra   []byte // bytes beyond the 172-byte layout, kept verbatim
}

const registerFull = 172

func (m *Register) wireLen() int {
	switch {
	case m.WireLen > 0:
		return m.WireLen
	case m.ProtocolVersion <= 11:
		return 68
	default:
		return 124
	}
}

func (m *Register) encode(w *writer) {
	var fw writer
	fw.b = make([]byte, 0, registerFull)
	fw.fixed(m.DeviceName, 16)
	fw.u32(m.UserID)
	fw.u32(m.Instance)
	fw.ipv4(m.StationIP)
	fw.u32(uint32(m.DeviceType))
	fw.u32(m.MaxStreams)
	fw.u32(m.ActiveStreams)
	fw.u8(m.ProtocolVersion)
	fw.u8(m.Unknown41)
	fw.u16(m.PhoneFeatures)
	fw.u32(m.MaxConferences)
	fw.u32(m.ActiveConferences)
	fw.raw(m.MAC[:])
	fw.u32(m.IPv4AddressScope)
	fw.u32(m.MaxLines)
	fw.raw(m.StationIPv6[:])
	fw.u32(m.IPv6AddressScope)
	fw.fixed(m.FirmwareLoadName, 32)
	fw.fixed(m.ConfigVersion, 48)
	n := min(m.wireLen(), registerFull)
	w.raw(fw.b[:n])
	w.zero(m.wireLen() - n)
	w.raw(m.Extra)
}

func (m *Register) Unmarshal(p []byte) error {
	if err := need(IDRegister, p, 36); err != nil {
		return err
	}
	var full [registerFull]byte
	copy(full[:], p)
	r := reader{b: full[:]}
	*m = Register{
		DeviceName:        r.fixed(16),
		UserID:            r.u32(),
		Instance:          r.u32(),
		StationIP:         r.ipv4(),
		DeviceType:        DeviceType(r.u32()),
		MaxStreams:        r.u32(),
		ActiveStreams:     r.u32(),
		ProtocolVersion:   r.u8(),
		Unknown41:         r.u8(),
		PhoneFeatures:     r.u16(),
		MaxConferences:    r.u32(),
		ActiveConferences: r.u32(),
		MAC:               [12]byte(r.take(12)),
		IPv4AddressScope:  r.u32(),
		MaxLines:          r.u32(),
		StationIPv6:       [16]byte(r.take(16)),
		IPv6AddressScope:  r.u32(),
		FirmwareLoadName:  r.fixed(32),
		ConfigVersion:     r.fixed(48),
		WireLen:           min(len(p), registerFull),
	}
	if len(p) > registerFull {
		m.Extra = append([]byte(nil), p[registerFull:]...)
	}
	return nil
}

// RegisterAck 0x0081 (docs/sccp.md §Registration-messages): 20 bytes; CM 2.x sent the 12-byte form
// without version and features.
type RegisterAck struct {
	KeepAliveInterval          uint32 // seconds
	DateTemplate               string // char[6], e.g. "M/D/Y"
	SecondaryKeepAliveInterval uint32
	MaxProtocolVersion         uint8   // the version both sides now use
	Features                   [3]byte // see RegisterAckFeatures
	Short                      bool    // 12-byte CM 2.x form (decode only)
}

// RegisterAckFeatures returns the three feature bytes after the version in
// RegisterAck that chan-sccp sends for that version (docs/sccp.md §Negotiation).
func RegisterAckFeatures(version uint32) [3]byte {
	switch {
	case version <= 3:
		return [3]byte{0, 0, 0}
	case version <= 10:
		return [3]byte{0x20, 0xF1, 0xFE}
	default:
		return [3]byte{0x20, 0xF1, 0xFF}
	}
}

func (m *RegisterAck) encode(w *writer) {
	w.u32(m.KeepAliveInterval)
	w.fixed(m.DateTemplate, 6)
	w.u16(0)
	if m.Short {
		return
	}
	w.u32(m.SecondaryKeepAliveInterval)
	w.u8(m.MaxProtocolVersion)
	w.raw(m.Features[:])
}

func (m *RegisterAck) Unmarshal(p []byte) error {
	if err := need(IDRegisterAck, p, 12); err != nil {
		return err
	}
	r := reader{b: p}
	*m = RegisterAck{KeepAliveInterval: r.u32(), DateTemplate: r.fixed(6)}
	r.u16()
	if len(p) < 20 {
		m.Short = true
		return nil
	}
	m.SecondaryKeepAliveInterval = r.u32()
	m.MaxProtocolVersion = r.u8()
	copy(m.Features[:], r.take(3))
	return nil
}

// RegisterReject 0x009D: text[32] shown on the phone.
type RegisterReject struct{ Text string }

func (m *RegisterReject) encode(w *writer) { w.fixed(m.Text, 32) }
func (m *RegisterReject) Unmarshal(p []byte) error {
	m.Text = cString(p[:min(len(p), 32)])
	return nil
}

// Unregister 0x0027: optional reason (0 unknown, 1 power save).
type Unregister struct {
	Reason    uint32
	HasReason bool
}

func (m *Unregister) encode(w *writer) {
	if m.HasReason {
		w.u32(m.Reason)
	}
}

func (m *Unregister) Unmarshal(p []byte) error {
	*m = Unregister{}
	if len(p) >= 4 {
		m.Reason, m.HasReason = binary.LittleEndian.Uint32(p), true
	}
	return nil
}

// UnregisterAck 0x0118: status 0 OK, 1 error, 2 NAK (call active).
type UnregisterAck struct{ Status uint32 }

func (m *UnregisterAck) encode(w *writer) { w.u32(m.Status) }
func (m *UnregisterAck) Unmarshal(p []byte) error {
	return unmarshalU32s(IDUnregisterAck, p, &m.Status)
}

// Reset 0x009F: 1 reboot, 2 restart (re-register), 3 apply config.
type Reset struct{ Type uint32 }

func (m *Reset) encode(w *writer)         { w.u32(m.Type) }
func (m *Reset) Unmarshal(p []byte) error { return unmarshalU32s(IDReset, p, &m.Type) }

// IpPort 0x0002: the phone's RTP port (older loads, right after Register).
type IpPort struct{ Port uint32 }

func (m *IpPort) encode(w *writer)         { w.u32(m.Port) }
func (m *IpPort) Unmarshal(p []byte) error { return unmarshalU32s(IDIpPort, p, &m.Port) }

// MediaCapability is one CapabilitiesRes entry (docs/sccp.md §Registration-messages).
type MediaCapability struct {
	Codec              Codec
	MaxFramesPerPacket uint32
	Params             [8]byte // G.723 bit rate, or codecMode/dynamicPayload/param1/param2
}

// capabilitySlots is the fixed array phones send (docs/sccp.md §Phone-to-server: 4 + 16×18).
const capabilitySlots = 18

// CapabilitiesRes 0x0010: count then 18 fixed 16-byte slots.
type CapabilitiesRes struct{ Caps []MediaCapability }

func (m *CapabilitiesRes) encode(w *writer) {
	w.u32(uint32(len(m.Caps)))
	for i := range max(capabilitySlots, len(m.Caps)) {
		var c MediaCapability
		if i < len(m.Caps) {
			c = m.Caps[i]
		}
		w.u32(uint32(c.Codec))
		w.u32(c.MaxFramesPerPacket)
		w.raw(c.Params[:])
	}
}

func (m *CapabilitiesRes) Unmarshal(p []byte) error {
	if err := need(IDCapabilitiesRes, p, 4); err != nil {
		return err
	}
	r := reader{b: p}
	n := int(min(r.u32(), uint32(r.left()/16)))
	m.Caps = make([]MediaCapability, n)
	for i := range m.Caps {
		m.Caps[i] = MediaCapability{Codec: Codec(r.u32()), MaxFramesPerPacket: r.u32(), Params: [8]byte(r.take(8))}
	}
	return nil
}

// UpdateCapabilities 0x0030 (79x1/797x, ~1840 bytes). Kept raw; the audio
// capabilities are exposed from the fixed-array layout a real 7961G sent: the
// count at offset 0 and 16-byte entries at offset 312 (docs/sccp.md §Phone-to-server).
type UpdateCapabilities struct {
	Raw   []byte
	Audio []MediaCapability // derived on Unmarshal, not encoded
}

const updateCapsAudioOffset = 312

func (m *UpdateCapabilities) encode(w *writer) { w.raw(m.Raw) }
func (m *UpdateCapabilities) Unmarshal(p []byte) error {
	m.Raw = append([]byte(nil), p...)
	m.Audio = nil
	if len(p) < updateCapsAudioOffset {
		return nil
	}
	n := int(min(binary.LittleEndian.Uint32(p), capabilitySlots, uint32((len(p)-updateCapsAudioOffset)/16)))
	r := reader{b: p, off: updateCapsAudioOffset}
	for range n {
		m.Audio = append(m.Audio, MediaCapability{Codec: Codec(r.u32()), MaxFramesPerPacket: r.u32(), Params: [8]byte(r.take(8))})
	}
	return nil
}

// Alarm 0x0020 (92 bytes). The text tells why the last session ended, e.g.
// "Name=SEP… Load=… Last=CM-aborted-TCP" (docs/sccp.md §Phone-to-server).
type Alarm struct {
	Severity uint32
	Text     string // char[80]
	Param1   uint32
	Param2   uint32
}

func (m *Alarm) encode(w *writer) {
	w.u32(m.Severity)
	w.fixed(m.Text, 80)
	w.u32(m.Param1)
	w.u32(m.Param2)
}

func (m *Alarm) Unmarshal(p []byte) error {
	if err := need(IDAlarm, p, 84); err != nil {
		return err
	}
	var full [92]byte
	copy(full[:], p)
	r := reader{b: full[:]}
	*m = Alarm{Severity: r.u32(), Text: r.fixed(80), Param1: r.u32(), Param2: r.u32()}
	return nil
}

// HeadsetStatus 0x002B: 1 on, 2 off.
type HeadsetStatus struct{ Mode uint32 }

func (m *HeadsetStatus) encode(w *writer) { w.u32(m.Mode) }
func (m *HeadsetStatus) Unmarshal(p []byte) error {
	return unmarshalU32s(IDHeadsetStatus, p, &m.Mode)
}

// AccessoryStatus 0x0049 (WS MediaPathEvent): accessory 1 headset, 2 handset,
// 3 speaker; state 1 on, 2 off.
type AccessoryStatus struct{ Accessory, State uint32 }

func (m *AccessoryStatus) encode(w *writer) { w.u32(m.Accessory); w.u32(m.State) }
func (m *AccessoryStatus) Unmarshal(p []byte) error {
	return unmarshalU32s(IDAccessoryStatus, p, &m.Accessory, &m.State)
}

// RegisterAvailableLines 0x002D: informational line count.
type RegisterAvailableLines struct{ MaxLines uint32 }

func (m *RegisterAvailableLines) encode(w *writer) { w.u32(m.MaxLines) }
func (m *RegisterAvailableLines) Unmarshal(p []byte) error {
	return unmarshalU32s(IDRegisterAvailableLines, p, &m.MaxLines)
}

// unmarshalU32s decodes a payload of consecutive u32 fields; every field is
// required and trailing bytes are ignored (phones ignore them too, docs/sccp.md §Version-changes).
func unmarshalU32s(id MessageID, p []byte, fields ...*uint32) error {
	if err := need(id, p, 4*len(fields)); err != nil {
		return err
	}
	for i, f := range fields {
		*f = binary.LittleEndian.Uint32(p[4*i:])
	}
	return nil
}
