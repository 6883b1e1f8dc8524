package msg

import (
	"encoding/binary"
	"time"
)

// ButtonTemplateReq 0x000E, SoftKeyTemplateReq 0x0028, SoftKeySetReq 0x0025,
// ConfigStatReq 0x000C, TimeDateReq 0x000D, CapabilitiesReq 0x009B,
// KeepAlive 0x0000, KeepAliveAck 0x0100, ClearNotify 0x0115,
// DeactivateCallPlane 0x0117 and VersionReq 0x000F carry no payload; any bytes
// a phone appends (chan-sccp saw an optional u32 on ButtonTemplateReq) are ignored.
type (
	KeepAlive           struct{}
	KeepAliveAck        struct{}
	CapabilitiesReq     struct{}
	ButtonTemplateReq   struct{}
	SoftKeyTemplateReq  struct{}
	SoftKeySetReq       struct{}
	ConfigStatReq       struct{}
	TimeDateReq         struct{}
	VersionReq          struct{}
	ClearNotify         struct{}
	DeactivateCallPlane struct{}
)

// LineStatReq 0x000B → LineStatRes / LineStatV2Res.
type LineStatReq struct{ Line uint32 }

func (m *LineStatReq) encode(w *writer) { w.u32(m.Line) }
func (m *LineStatReq) Unmarshal(p []byte) error {
	return unmarshalU32s(IDLineStatReq, p, &m.Line)
}

// SpeedDialStatReq 0x000A → SpeedDialStatRes (always answer, docs/sccp.md §Status-responses).
type SpeedDialStatReq struct{ Number uint32 }

func (m *SpeedDialStatReq) encode(w *writer) { w.u32(m.Number) }
func (m *SpeedDialStatReq) Unmarshal(p []byte) error {
	return unmarshalU32s(IDSpeedDialStatReq, p, &m.Number)
}

// ForwardStatReq 0x0009 → ForwardStatRes.
type ForwardStatReq struct{ Line uint32 }

func (m *ForwardStatReq) encode(w *writer) { w.u32(m.Line) }
func (m *ForwardStatReq) Unmarshal(p []byte) error {
	return unmarshalU32s(IDForwardStatReq, p, &m.Line)
}

// ServiceURLStatReq 0x0033 → ServiceURLStatRes / V2.
type ServiceURLStatReq struct{ Index uint32 }

func (m *ServiceURLStatReq) encode(w *writer) { w.u32(m.Index) }
func (m *ServiceURLStatReq) Unmarshal(p []byte) error {
	return unmarshalU32s(IDServiceURLStatReq, p, &m.Index)
}

// FeatureStatReq 0x0034: 4 bytes from a 7960G at v11, 8 bytes (with
// capabilities) from a 7965G at v22 (docs/sccp.md §Phone-to-server). It must always be
// answered, or a 7960 stalls (docs/sccp.md §Native-BLF).
type FeatureStatReq struct {
	Index        uint32
	Capabilities uint32 // chan-sccp: 1 on v>=15 = BLF speed dial asking for its state
	// WireLen is 4 or 8; Unmarshal sets it, 0 encodes 8.
	WireLen int
}

func (m *FeatureStatReq) encode(w *writer) {
	w.u32(m.Index)
	if m.WireLen != 4 {
		w.u32(m.Capabilities)
	}
}

func (m *FeatureStatReq) Unmarshal(p []byte) error {
	if err := need(IDFeatureStatReq, p, 4); err != nil {
		return err
	}
	*m = FeatureStatReq{Index: binary.LittleEndian.Uint32(p), WireLen: 4}
	if len(p) >= 8 {
		m.Capabilities, m.WireLen = binary.LittleEndian.Uint32(p[4:]), 8
	}
	return nil
}

// Button is one ButtonTemplateRes slot. Instances count per type (docs/sccp.md §Button-template).
type Button struct {
	Instance uint8
	Type     ButtonType
}

// maxDecodedEntries bounds the entries decoded from template messages
// (phones have at most ~120 buttons with expansion modules; instances are
// u8), so a hostile count cannot make a decode allocate more than the frame.
const maxDecodedEntries = 256

// buttonSlots is the number of definitions CUCM always sends (docs/sccp.md §Button-template).
const buttonSlots = 42

// ButtonTemplateRes 0x0097: offset, count, total, then at least 42 slots,
// unused ones {0, 0xFF} as CUCM sends them — never short (docs/sccp.md §Checklist item 5).
type ButtonTemplateRes struct {
	Offset  uint32
	Total   uint32 // 0 encodes len(Buttons)
	Buttons []Button
}

func (m *ButtonTemplateRes) encode(w *writer) {
	w.u32(m.Offset)
	w.u32(uint32(len(m.Buttons)))
	total := m.Total
	if total == 0 {
		total = uint32(len(m.Buttons))
	}
	w.u32(total)
	for i := range max(buttonSlots, len(m.Buttons)) {
		if i < len(m.Buttons) {
			w.u8(m.Buttons[i].Instance)
			w.u8(uint8(m.Buttons[i].Type))
		} else {
			w.u8(0)
			w.u8(uint8(ButtonNone))
		}
	}
}

func (m *ButtonTemplateRes) Unmarshal(p []byte) error {
	if err := need(IDButtonTemplateRes, p, 12); err != nil {
		return err
	}
	r := reader{b: p}
	m.Offset = r.u32()
	n := int(min(r.u32(), uint32(r.left()-4)/2, maxDecodedEntries))
	m.Total = r.u32()
	m.Buttons = make([]Button, n)
	for i := range m.Buttons {
		m.Buttons[i] = Button{Instance: r.u8(), Type: ButtonType(r.u8())}
	}
	return nil
}

// SoftKey is one SoftKeyTemplateRes entry: label (often 0x80 NN, see Label)
// and the event number the phone echoes in SoftKeyEvent (docs/sccp.md §Softkeys).
type SoftKey struct {
	Label string // char[16]
	Event uint32
}

const softKeySlots = 32

// SoftKeyTemplateRes 0x0108: offset, count, total, then 32 slots (CUCM sends
// all 32 even with count 20).
type SoftKeyTemplateRes struct {
	Offset uint32
	Total  uint32 // 0 encodes len(Keys)
	Keys   []SoftKey
}

func (m *SoftKeyTemplateRes) encode(w *writer) {
	w.u32(m.Offset)
	w.u32(uint32(len(m.Keys)))
	total := m.Total
	if total == 0 {
		total = uint32(len(m.Keys))
	}
	w.u32(total)
	for i := range max(softKeySlots, len(m.Keys)) {
		var k SoftKey
		if i < len(m.Keys) {
			k = m.Keys[i]
		}
		w.fixed(k.Label, 16)
		w.u32(k.Event)
	}
}

func (m *SoftKeyTemplateRes) Unmarshal(p []byte) error {
	if err := need(IDSoftKeyTemplateRes, p, 12); err != nil {
		return err
	}
	r := reader{b: p}
	m.Offset = r.u32()
	n := int(min(r.u32(), uint32(r.left()-4)/20, maxDecodedEntries))
	m.Total = r.u32()
	m.Keys = make([]SoftKey, n)
	for i := range m.Keys {
		m.Keys[i] = SoftKey{Label: r.fixed(16), Event: r.u32()}
	}
	return nil
}

// SoftKeySet is one SoftKeySetRes entry: TemplateIndex is the 1-based position
// in the SoftKeyTemplate (0 = empty), InfoIndex is 300+event in CUCM and
// chan-sccp (docs/sccp.md §Softkeys).
type SoftKeySet struct {
	TemplateIndex [16]uint8
	InfoIndex     [16]uint16
}

const softKeySetSlots = 16

// SoftKeySetRes 0x0109: offset, count, total, then 16 sets (780 bytes).
type SoftKeySetRes struct {
	Offset uint32
	Total  uint32 // 0 encodes len(Sets)
	Sets   []SoftKeySet
}

func (m *SoftKeySetRes) encode(w *writer) {
	w.u32(m.Offset)
	w.u32(uint32(len(m.Sets)))
	total := m.Total
	if total == 0 {
		total = uint32(len(m.Sets))
	}
	w.u32(total)
	for i := range max(softKeySetSlots, len(m.Sets)) {
		var s SoftKeySet
		if i < len(m.Sets) {
			s = m.Sets[i]
		}
		w.raw(s.TemplateIndex[:])
		for _, v := range s.InfoIndex {
			w.u16(v)
		}
	}
}

func (m *SoftKeySetRes) Unmarshal(p []byte) error {
	if err := need(IDSoftKeySetRes, p, 12); err != nil {
		return err
	}
	r := reader{b: p}
	m.Offset = r.u32()
	n := int(min(r.u32(), uint32(r.left()-4)/48))
	m.Total = r.u32()
	m.Sets = make([]SoftKeySet, n)
	for i := range m.Sets {
		copy(m.Sets[i].TemplateIndex[:], r.take(16))
		for j := range m.Sets[i].InfoIndex {
			m.Sets[i].InfoIndex[j] = r.u16()
		}
	}
	return nil
}

// LineStatRes 0x0092 (112 bytes, docs/sccp.md §Status-responses).
type LineStatRes struct {
	Line           uint32
	DirNumber      string // char[24]
	FullName       string // char[40]; title bar text for the primary line
	Label          string // char[40]; text beside the button
	DisplayOptions uint32 // bits 1 orig dialled, 2 redirected, 4 calling number, 8 calling name
}

func (m *LineStatRes) encode(w *writer) {
	w.u32(m.Line)
	w.fixed(m.DirNumber, 24)
	w.fixed(m.FullName, 40)
	w.fixed(m.Label, 40)
	w.u32(m.DisplayOptions)
}

func (m *LineStatRes) Unmarshal(p []byte) error {
	if err := need(IDLineStatRes, p, 112); err != nil {
		return err
	}
	r := reader{b: p}
	*m = LineStatRes{Line: r.u32(), DirNumber: r.fixed(24), FullName: r.fixed(40), Label: r.fixed(40), DisplayOptions: r.u32()}
	return nil
}

// LineStatV2Res 0x0147 (dynamic): line, lineType bits, then three
// NUL-terminated strings. A 7961G showed the line only once the frame was
// padded, which AppendFrame does (docs/sccp.md §Framing).
type LineStatV2Res struct {
	Line      uint32
	LineType  uint32 // same bits as LineStatRes.DisplayOptions
	DirNumber string
	FullName  string
	Label     string
}

func (m *LineStatV2Res) encode(w *writer) {
	w.u32(m.Line)
	w.u32(m.LineType)
	w.cstr(m.DirNumber)
	w.cstr(m.FullName)
	w.cstr(m.Label)
}

func (m *LineStatV2Res) Unmarshal(p []byte) error {
	if err := need(IDLineStatV2Res, p, 8); err != nil {
		return err
	}
	r := reader{b: p}
	*m = LineStatV2Res{Line: r.u32(), LineType: r.u32(), DirNumber: r.cstr(), FullName: r.cstr(), Label: r.cstr()}
	return nil
}

// SpeedDialStatRes 0x0091 (68): send it even for unknown numbers, empty.
type SpeedDialStatRes struct {
	Number    uint32
	DirNumber string // char[24]
	Name      string // char[40]
}

func (m *SpeedDialStatRes) encode(w *writer) {
	w.u32(m.Number)
	w.fixed(m.DirNumber, 24)
	w.fixed(m.Name, 40)
}

func (m *SpeedDialStatRes) Unmarshal(p []byte) error {
	if err := need(IDSpeedDialStatRes, p, 68); err != nil {
		return err
	}
	r := reader{b: p}
	*m = SpeedDialStatRes{Number: r.u32(), DirNumber: r.fixed(24), Name: r.fixed(40)}
	return nil
}

// dirNumSize is the directory-number width: 24, and 25 packed from v18
// (docs/sccp.md §Version-changes, WS VariableDirnumSize).
func dirNumSize(version uint32) int {
	if version >= 18 {
		return 25
	}
	return 24
}

// ForwardStatRes 0x0090: 92 bytes, or 95 packed from v18 (docs/sccp.md §Status-responses).
type ForwardStatRes struct {
	Version          uint32
	ActiveForward    uint32
	Line             uint32
	ForwardAll       bool
	ForwardAllNumber string
	ForwardBusy      bool
	ForwardBusyNum   string
	ForwardNoAnswer  bool
	ForwardNoAnsNum  string
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func (m *ForwardStatRes) setVersion(v uint32) { m.Version = v }

func (m *ForwardStatRes) encode(w *writer) {
	n := dirNumSize(m.Version)
	w.u32(m.ActiveForward)
	w.u32(m.Line)
	w.u32(b2u(m.ForwardAll))
	w.fixed(m.ForwardAllNumber, n)
	w.u32(b2u(m.ForwardBusy))
	w.fixed(m.ForwardBusyNum, n)
	w.u32(b2u(m.ForwardNoAnswer))
	w.fixed(m.ForwardNoAnsNum, n)
}

func (m *ForwardStatRes) Unmarshal(p []byte) error {
	if err := need(IDForwardStatRes, p, 92); err != nil {
		return err
	}
	// 95 bytes is the packed v18 form; a padded frame (96) keeps the session's.
	v := packedVersion(m.Version, len(p) == 95 || m.Version >= 18 && len(p) >= 95)
	n := dirNumSize(v)
	r := reader{b: p}
	*m = ForwardStatRes{Version: v, ActiveForward: r.u32(), Line: r.u32()}
	m.ForwardAll = r.u32() != 0
	m.ForwardAllNumber = r.fixed(n)
	m.ForwardBusy = r.u32() != 0
	m.ForwardBusyNum = r.fixed(n)
	m.ForwardNoAnswer = r.u32() != 0
	m.ForwardNoAnsNum = r.fixed(n)
	return nil
}

// ConfigStatRes 0x0093 (112 bytes).
type ConfigStatRes struct {
	DeviceName      string // char[16]
	UserID          uint32
	Instance        uint32
	UserName        string // char[40]
	ServerName      string // char[40]
	NumberLines     uint32
	NumberSpeedDial uint32
}

func (m *ConfigStatRes) encode(w *writer) {
	w.fixed(m.DeviceName, 16)
	w.u32(m.UserID)
	w.u32(m.Instance)
	w.fixed(m.UserName, 40)
	w.fixed(m.ServerName, 40)
	w.u32(m.NumberLines)
	w.u32(m.NumberSpeedDial)
}

func (m *ConfigStatRes) Unmarshal(p []byte) error {
	if err := need(IDConfigStatRes, p, 112); err != nil {
		return err
	}
	r := reader{b: p}
	*m = ConfigStatRes{DeviceName: r.fixed(16), UserID: r.u32(), Instance: r.u32(), UserName: r.fixed(40),
		ServerName: r.fixed(40), NumberLines: r.u32(), NumberSpeedDial: r.u32()}
	return nil
}

// ConfigStatV2Res 0x0142 (dynamic): sid, counts, userName\0, serverName\0.
type ConfigStatV2Res struct {
	DeviceName      string // char[16]
	UserID          uint32
	Instance        uint32
	NumberLines     uint32
	NumberSpeedDial uint32
	UserName        string
	ServerName      string
}

func (m *ConfigStatV2Res) encode(w *writer) {
	w.fixed(m.DeviceName, 16)
	w.u32(m.UserID)
	w.u32(m.Instance)
	w.u32(m.NumberLines)
	w.u32(m.NumberSpeedDial)
	w.cstr(m.UserName)
	w.cstr(m.ServerName)
}

func (m *ConfigStatV2Res) Unmarshal(p []byte) error {
	if err := need(IDConfigStatV2Res, p, 32); err != nil {
		return err
	}
	r := reader{b: p}
	*m = ConfigStatV2Res{DeviceName: r.fixed(16), UserID: r.u32(), Instance: r.u32(), NumberLines: r.u32(),
		NumberSpeedDial: r.u32(), UserName: r.cstr(), ServerName: r.cstr()}
	return nil
}

// ServiceURLStatRes 0x012F (300): index, URL[256], label[40].
type ServiceURLStatRes struct {
	Index uint32
	URL   string
	Label string
}

func (m *ServiceURLStatRes) encode(w *writer) {
	w.u32(m.Index)
	w.fixed(m.URL, 256)
	w.fixed(m.Label, 40)
}

func (m *ServiceURLStatRes) Unmarshal(p []byte) error {
	if err := need(IDServiceURLStatRes, p, 300); err != nil {
		return err
	}
	r := reader{b: p}
	*m = ServiceURLStatRes{Index: r.u32(), URL: r.fixed(256), Label: r.fixed(40)}
	return nil
}

// ServiceURLStatV2Res 0x0148 (dynamic): index, URL\0, label\0.
type ServiceURLStatV2Res struct {
	Index uint32
	URL   string
	Label string
}

func (m *ServiceURLStatV2Res) encode(w *writer) {
	w.u32(m.Index)
	w.cstr(m.URL)
	w.cstr(m.Label)
}

func (m *ServiceURLStatV2Res) Unmarshal(p []byte) error {
	if err := need(IDServiceURLStatV2Res, p, 4); err != nil {
		return err
	}
	r := reader{b: p}
	*m = ServiceURLStatV2Res{Index: r.u32(), URL: r.cstr(), Label: r.cstr()}
	return nil
}

// FeatureStatRes 0x011F (52): index, featureId (button type), label[40], status.
type FeatureStatRes struct {
	Index   uint32
	Feature ButtonType
	Label   string
	Status  uint32
}

func (m *FeatureStatRes) encode(w *writer) {
	w.u32(m.Index)
	w.u32(uint32(m.Feature))
	w.fixed(m.Label, 40)
	w.u32(m.Status)
}

func (m *FeatureStatRes) Unmarshal(p []byte) error {
	if err := need(IDFeatureStatRes, p, 52); err != nil {
		return err
	}
	r := reader{b: p}
	*m = FeatureStatRes{Index: r.u32(), Feature: ButtonType(r.u32()), Label: r.fixed(40), Status: r.u32()}
	return nil
}

// FeatureStatV2Res 0x0146: the native BLF lamp (docs/sccp.md §Native-BLF): index,
// featureId (0x15 for BLF speed dial), status (BLFStatus for BLF), label.
//
// Sources disagree on the label width (WS: NUL-terminated; wazo: fixed 40;
// chan-sccp: 121). We write the text NUL-terminated and pad it to at least 40
// bytes, which reads correctly under all three; decoding stops at the NUL.
type FeatureStatV2Res struct {
	Index   uint32
	Feature ButtonType
	Status  uint32
	Label   string
}

const featureLabelMin = 40

func (m *FeatureStatV2Res) encode(w *writer) {
	w.u32(m.Index)
	w.u32(uint32(m.Feature))
	w.u32(m.Status)
	w.cstr(m.Label)
	w.zero(featureLabelMin - (len(m.Label) + 1))
}

func (m *FeatureStatV2Res) Unmarshal(p []byte) error {
	if err := need(IDFeatureStatV2Res, p, 12); err != nil {
		return err
	}
	r := reader{b: p}
	*m = FeatureStatV2Res{Index: r.u32(), Feature: ButtonType(r.u32()), Status: r.u32(), Label: r.cstr()}
	return nil
}

// DefineTimeDate 0x0094 (36): local wall-clock fields plus Unix seconds, as
// CUCM sends them (docs/sccp.md §Registration-messages).
type DefineTimeDate struct {
	Year, Month, DayOfWeek, Day, Hour, Minute, Second, Millisecond uint32
	SystemTime                                                     uint32 // Unix seconds
}

// NewDefineTimeDate fills DefineTimeDate from t (in t's location).
func NewDefineTimeDate(t time.Time) *DefineTimeDate {
	return &DefineTimeDate{
		Year: uint32(t.Year()), Month: uint32(t.Month()), DayOfWeek: uint32(t.Weekday()), Day: uint32(t.Day()),
		Hour: uint32(t.Hour()), Minute: uint32(t.Minute()), Second: uint32(t.Second()),
		Millisecond: uint32(t.Nanosecond() / 1e6), SystemTime: uint32(t.Unix()),
	}
}

func (m *DefineTimeDate) encode(w *writer) {
	for _, v := range []uint32{m.Year, m.Month, m.DayOfWeek, m.Day, m.Hour, m.Minute, m.Second, m.Millisecond, m.SystemTime} {
		w.u32(v)
	}
}

func (m *DefineTimeDate) Unmarshal(p []byte) error {
	return unmarshalU32s(IDDefineTimeDate, p, &m.Year, &m.Month, &m.DayOfWeek, &m.Day, &m.Hour, &m.Minute,
		&m.Second, &m.Millisecond, &m.SystemTime)
}

// VersionRes 0x0098: firmware load name char[16].
type VersionRes struct{ Load string }

func (m *VersionRes) encode(w *writer) { w.fixed(m.Load, 16) }
func (m *VersionRes) Unmarshal(p []byte) error {
	m.Load = cString(p[:min(len(p), 16)])
	return nil
}
