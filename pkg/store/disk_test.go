package store

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of size bytes (root only, as on the CI box and
// this VM); the test is skipped where mounting is not allowed.
func mountTmpfs(t *testing.T, size string, opts ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	o := append([]string{"size=" + size}, opts...)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", strings.Join(o, ","), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a filler file until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for range 1 << 16 { // bounded: at most 256 MiB
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return name
			}
			t.Fatal(err)
		}
	}
	t.Fatal("file system never filled")
	return ""
}

// TestFullDiskGivesClearErrorAndRecovers saves on a full file system: the
// save fails with an error naming the file and the cause, the previous
// startup-config stays readable, and once space is freed saving works again.
func TestFullDiskGivesClearErrorAndRecovers(t *testing.T) {
	dir := mountTmpfs(t, "512k")
	path := filepath.Join(dir, "cmed.db")
	s, err := Open(path, Options{ConfigVersions: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SaveStartupConfig(configText(1), time.Now()); err != nil {
		t.Fatal(err)
	}
	filler := fill(t, dir)
	var saveErr error
	for i := 2; i < 200 && saveErr == nil; i++ {
		saveErr = s.SaveStartupConfig(configText(i), time.Now())
	}
	if saveErr == nil {
		t.Fatal("200 saves on a full file system all succeeded")
	}
	msg := saveErr.Error()
	if !strings.Contains(msg, path) || !strings.Contains(msg, "no space left") {
		t.Errorf("error should name the file and the cause: %v", saveErr)
	}
	v, ok, err := s.StartupConfig()
	if err != nil || !ok || !strings.HasPrefix(v.Text, "hostname crash-") {
		t.Fatalf("after a failed save the last config must still read: ok=%v err=%v", ok, err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveStartupConfig(configText(999), time.Now()); err != nil {
		t.Fatalf("save after freeing space: %v", err)
	}
	s.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after a full disk: %v", err)
	}
	defer s2.Close()
	if v, _, _ := s2.StartupConfig(); v.Text != configText(999) {
		t.Fatalf("newest config after recovery is not the last save")
	}
}

// TestReadOnlyFileSystemGivesClearError opens a database on a read-only
// mount: Open fails with a message naming the file and the cause.
func TestReadOnlyFileSystemGivesClearError(t *testing.T) {
	dir := mountTmpfs(t, "1m")
	path := filepath.Join(dir, "cmed.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveStartupConfig("hostname ro\n", time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("mount", "-o", "remount,rw", dir).Run() })
	_, err = Open(path, Options{})
	if err == nil {
		t.Fatal("opened a database for writing on a read-only file system")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "read-only file system") {
		t.Errorf("error should name the file and say read-only: %v", err)
	}
	// Inspection still works read-only.
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open on a read-only mount: %v", err)
	}
	defer ro.Close()
	if v, ok, _ := ro.StartupConfig(); !ok || v.Text != "hostname ro\n" {
		t.Fatalf("read-only open lost the config: %q", v.Text)
	}
}

// TestUnwritableDirectoryGivesClearError covers non-root users: a database
// in a directory without write permission is refused with a hint.
func TestUnwritableDirectoryGivesClearError(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions; TestReadOnlyFileSystemGivesClearError covers this as root")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	_, err := Open(filepath.Join(dir, "cmed.db"), Options{})
	if err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "--db") {
		t.Fatalf("err = %v", err)
	}
}
