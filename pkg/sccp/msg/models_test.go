package msg

import "testing"

func TestModelLookup(t *testing.T) {
	for _, tc := range []struct {
		name string
		dt   uint32
	}{{"7960", 7}, {"7960G", 7}, {"CP-7960G", 7}, {"cp-7940g", 8}, {"7961", 30018}, {"7975", 437}, {"7911", 307}} {
		m, ok := ModelByName(tc.name)
		if !ok || uint32(m.DeviceType) != tc.dt {
			t.Errorf("ModelByName(%q) = %+v, %v", tc.name, m, ok)
		}
		m2, ok := ModelByDeviceType(tc.dt)
		if !ok || m2.Name != m.Name {
			t.Errorf("ModelByDeviceType(%d) = %+v", tc.dt, m2)
		}
	}
	if _, ok := ModelByName("9999"); ok {
		t.Error("unknown model found")
	}
	seen := map[DeviceType]bool{}
	for _, m := range Models {
		if seen[m.DeviceType] {
			t.Errorf("duplicate device type %d", m.DeviceType)
		}
		seen[m.DeviceType] = true
		if m.MaxVersion == 0 || m.Lines == 0 {
			t.Errorf("%s: incomplete entry", m.Name)
		}
	}
}

func TestModelQuirks(t *testing.T) {
	m7960, _ := ModelByName("7960")
	if !m7960.Has(NoAlertingBLF) || !m7960.Has(NoCallListBLF) || !m7960.Has(LegacyFirmware) {
		t.Errorf("7960 flags %b", m7960.Flags)
	}
	m7975, _ := ModelByName("7975")
	if m7975.MaySend(IDClearDisplay) || !m7975.MaySend(IDSetLamp) || m7975.Has(NoAlertingBLF) {
		t.Error("7975 quirks wrong")
	}
	m7911, _ := ModelByName("7911")
	if m7911.MaySend(0x57) {
		t.Error("0x57 allowed to 7911")
	}
	// Version negotiation: the smaller of the phone's and our cap, at least 3.
	for _, tc := range []struct {
		model string
		phone uint32
		want  uint32
	}{{"7960", 11, 11}, {"7960", 5, 5}, {"7961", 22, 11}, {"ATA186", 33, 3}, {"7936", 0, 3}} {
		m, _ := ModelByName(tc.model)
		if got := m.NegotiateVersion(tc.phone); got != tc.want {
			t.Errorf("%s phone v%d: %d, want %d", tc.model, tc.phone, got, tc.want)
		}
	}
}

func TestEnumStrings(t *testing.T) {
	if LampBlink.String() != "Blink" || BLFAlerting.String() != "Alerting" || CallConnected.String() != "Connected" ||
		CallState(99).String() != "CallState(99)" {
		t.Error("enum String")
	}
	if k, ok := KeypadKeyFor('#'); !ok || k != KeyPound {
		t.Error("KeypadKeyFor #")
	}
	if k, ok := KeypadKeyFor('7'); !ok || k != 7 {
		t.Error("KeypadKeyFor 7")
	}
	if _, ok := KeypadKeyFor('x'); ok {
		t.Error("KeypadKeyFor x")
	}
}
