package pidf

import "testing"

// FuzzParsePIDF: never panic; a successful decode re-encodes into a
// document that decodes to the same status (the encoder covers every status
// the decoder can produce).
func FuzzParsePIDF(f *testing.F) {
	for _, s := range []string{kamailioDummyPIDF, asteriskInUsePIDF, cucmInUsePIDF, cpimNamespacePIDF} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParsePIDF(b)
		if err != nil {
			return
		}
		again, err := ParsePIDF(s.AppendPIDF(nil, Options{}))
		if err != nil {
			t.Fatalf("re-encoded body does not parse: %v", err)
		}
		if again.Status != s.Status || (s.Status != StatusUnknown && again.DND != s.DND) {
			t.Fatalf("round trip %v dnd=%v -> %v dnd=%v", s.Status, s.DND, again.Status, again.DND)
		}
	})
}

// FuzzParseDialogInfo: never panic; a decoded document re-encodes (with its
// live calls) into one that folds to the same line status.
func FuzzParseDialogInfo(f *testing.F) {
	for _, s := range []string{kamailioDialogConfirmed, asteriskDialogRinging, prefixedDialogHold, emptyDialogInfo} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDialogInfo(b)
		if err != nil {
			return
		}
		if len(d.Dialogs) > maxDialogs {
			t.Fatalf("%d dialogs kept", len(d.Dialogs))
		}
		s := d.LineState()
		again, err := ParseDialogInfo(s.AppendDialogInfo(nil, d.Version))
		if err != nil {
			t.Fatalf("re-encoded body does not parse: %v", err)
		}
		if again.Version != d.Version {
			t.Fatalf("version %d -> %d", d.Version, again.Version)
		}
		if st := again.LineState().Status; st != s.Status {
			t.Fatalf("round trip %v -> %v", s.Status, st)
		}
	})
}
