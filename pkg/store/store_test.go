package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T, opts Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "cmed.db")
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestStartupConfigVersionsAreKeptAndTrimmed(t *testing.T) {
	s, path := openTemp(t, Options{ConfigVersions: 3})
	if _, ok, err := s.StartupConfig(); err != nil || ok {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 5 {
		if err := s.SaveStartupConfig(fmt.Sprintf("hostname r%d\n", i), base.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := s.StartupConfigVersions()
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 {
		t.Fatalf("kept %d versions, want 3", len(vs))
	}
	for i, want := range []string{"hostname r4\n", "hostname r3\n", "hostname r2\n"} {
		if vs[i].Text != want {
			t.Errorf("version %d = %q, want %q", i, vs[i].Text, want)
		}
	}
	if !vs[0].Saved.Equal(base.Add(4 * time.Minute)) {
		t.Errorf("timestamp %v", vs[0].Saved)
	}
	// Reopen: the newest version survives a close.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	v, ok, err := s2.StartupConfig()
	if err != nil || !ok || v.Text != "hostname r4\n" {
		t.Fatalf("after reopen: %+v ok=%v err=%v", v, ok, err)
	}
}

func TestCallHistoryIsBoundedPerPhoneAndKind(t *testing.T) {
	s, _ := openTemp(t, Options{HistoryPerPhone: 4})
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		err := s.AppendCallRecords(
			CallRecord{Phone: "SEP001122334401", Kind: Missed, Number: fmt.Sprint(1000 + i), Start: start.Add(time.Duration(i) * time.Second)},
			CallRecord{Phone: "SEP001122334402", Kind: Placed, Number: "1001", Start: start},
		)
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.CallRecords("SEP001122334401", Missed)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].Number != "1009" || got[3].Number != "1006" {
		t.Fatalf("missed list = %+v", got)
	}
	if other, _ := s.CallRecords("SEP001122334401", Placed); len(other) != 0 {
		t.Fatalf("placed list should be empty, got %d", len(other))
	}
	all, err := s.AllCallRecords()
	if err != nil || len(all) != 8 {
		t.Fatalf("all = %d records, err %v", len(all), err)
	}
	if err := s.AppendCallRecords(CallRecord{Number: "x"}); err == nil {
		t.Fatal("a record without phone and kind must be refused")
	}
}

func TestLockedDatabaseGivesClearError(t *testing.T) {
	_, path := openTemp(t, Options{})
	_, err := Open(path, Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "another cmed") {
		t.Errorf("error should tell what to do: %v", err)
	}
}

func TestCorruptOrForeignFilesAreRefusedWithoutPanic(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]byte{
		"garbage": bytes.Repeat([]byte("not a bbolt file "), 1024),
		"zeros":   make([]byte, 64*1024),
		"short":   []byte("x"),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".db")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("opened a corrupt file")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error should name the file: %v", err)
			}
		})
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	s, path := openTemp(t, Options{})
	err := s.db.Update(func(tx *boltTx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, []byte{0, 0, 0, 99})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "newer cmed") {
		t.Fatalf("err = %v", err)
	}
}
