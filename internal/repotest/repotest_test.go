package repotest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRootAndPeers(t *testing.T) {
	root := Root(t)
	if !declaresModule(filepath.Join(root, "go.mod")) {
		t.Fatalf("Root() = %s: its go.mod does not declare %s", root, Module)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "repotest", "repotest.go")); err != nil {
		t.Fatalf("Root() = %s is not this repository: %v", root, err)
	}
	// Every file the interop tests name exists.
	for _, f := range [][]string{
		{"sipp", "subscribe_dialog.xml"}, {"sipp", "subscribe_presence.xml"}, {"sipp", "subscribe_bad_event.xml"},
		{"sipp", "subscribe_too_brief.xml"}, {"sipp", "publish_dialog.xml"}, {"sipp", "gen-csv.sh"},
		{"kamailio", "presence.cfg"}, {"kamailio", "run.sh"}, {"bench", "subscribe.sh"}, {"bench", "fanout.sh"},
	} {
		if p := Peers(t, f...); !filepath.IsAbs(p) {
			t.Errorf("Peers(%v) = %s, not absolute", f, p)
		}
	}
}

func TestFindRootNeedsThisModule(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if r, ok := findRoot(sub); ok {
		t.Fatalf("findRoot without any go.mod = %s", r)
	}
	// Another module's go.mod is not this repository.
	if err := os.WriteFile(filepath.Join(dir, "a", "go.mod"), []byte("module example.com/other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r, ok := findRoot(sub); ok {
		t.Fatalf("findRoot stopped at another module: %s", r)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("// x\nmodule "+Module+"\n\ngo 1.26\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r, ok := findRoot(sub); !ok || r != dir {
		t.Fatalf("findRoot = %q, %v; want %s", r, ok, dir)
	}
}
