package store

// Crash and disk tests. The kill -9 tests re-run this test binary as a child
// in a helper mode that writes to a database in a loop and prints one line
// per acknowledged write (the call returned nil); the parent SIGKILLs the
// child at a random moment and then checks that everything acknowledged is
// on disk, in order, and that the file still opens. bbolt commits with an
// fsync of the data pages before the meta page (copy-on-write, two metas),
// which is what these tests hold the store to.

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const helperEnv = "CMED_STORE_CRASH_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(crashHelper(mode, os.Getenv("CMED_STORE_CRASH_DB"), os.Getenv("CMED_STORE_CRASH_FROM")))
	}
	os.Exit(m.Run())
}

// crashHelper is the child: it writes record from, from+1, … until killed
// (bounded at 100000 writes), printing "ack N" after each acknowledged one.
func crashHelper(mode, path, fromText string) int {
	from, err := strconv.Atoi(fromText)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad CMED_STORE_CRASH_FROM:", err)
		return 2
	}
	s, err := Open(path, Options{HistoryPerPhone: 50, ConfigVersions: 5})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("open")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := from; i < from+100000; i++ {
		switch mode {
		case "history":
			// Two phones in one transaction: a torn write would show up
			// as one list ahead of the other.
			err = s.AppendCallRecords(
				CallRecord{Phone: "SEP0000000000A1", Kind: Placed, Number: strconv.Itoa(i), Start: start.Add(time.Duration(i) * time.Second)},
				CallRecord{Phone: "SEP0000000000A2", Kind: Received, Number: strconv.Itoa(i), Start: start.Add(time.Duration(i) * time.Second)},
			)
		case "config":
			err = s.SaveStartupConfig(configText(i), start.Add(time.Duration(i)*time.Second))
		default:
			err = fmt.Errorf("unknown helper mode %q", mode)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("ack %d\n", i)
	}
	return 0
}

// configText is a config of realistic size (a few KiB) whose every line
// names i, so a mix of two versions cannot pass as either.
func configText(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostname crash-%d\n", i)
	for dn := range 60 {
		fmt.Fprintf(&b, "ephone-dn %d\n number %d\n label rev %d\n", dn+1, 1000+dn, i)
	}
	fmt.Fprintf(&b, "! rev %d\nend\n", i)
	return b.String()
}

// runUntilKilled starts the helper, lets it acknowledge for a random time
// and SIGKILLs it. It returns the last acknowledged number (from-1 if none).
func runUntilKilled(t *testing.T, mode, path string, from int, rng *rand.Rand) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "CMED_STORE_CRASH_DB="+path, "CMED_STORE_CRASH_FROM="+strconv.Itoa(from))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	last := from - 1
	opened := false
	deadline := time.After(10 * time.Second)
	var killAt <-chan time.Time
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				cmd.Wait()
				if opened && killAt == nil {
					t.Fatalf("helper exited before it was killed: %s", stderr.String())
				}
				return last
			}
			if l == "open" {
				opened = true
				// Kill somewhere in the next 20-220 ms of writing.
				killAt = time.After(time.Duration(20+rng.IntN(200)) * time.Millisecond)
				continue
			}
			n, err := strconv.Atoi(strings.TrimPrefix(l, "ack "))
			if err != nil || n != last+1 {
				t.Fatalf("helper printed %q after ack %d", l, last)
			}
			last = n
		case <-killAt:
			// Kill, then keep draining: lines already printed were
			// acknowledged before the kill.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatal(err)
			}
			killAt = make(chan time.Time) // never again
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("helper did not start or stop in time; stderr: %s", stderr.String())
		}
	}
}

// TestInteropKill9DuringCallHistoryWrites kills a writer of call history
// mid-stream several times: after each kill the file opens, both phones'
// lists end at the same record (one transaction), that record is the last
// acknowledged one or the one in flight, and the lists have no gaps.
func TestInteropKill9DuringCallHistoryWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cmed.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	next := 1
	for round := range 6 {
		acked := runUntilKilled(t, "history", path, next, rng)
		s, err := Open(path, Options{HistoryPerPhone: 50})
		if err != nil {
			t.Fatalf("round %d: database does not open after kill -9: %v", round, err)
		}
		placed, err1 := s.CallRecords("SEP0000000000A1", Placed)
		received, err2 := s.CallRecords("SEP0000000000A2", Received)
		s.Close()
		if err1 != nil || err2 != nil {
			t.Fatalf("round %d: reading history: %v %v", round, err1, err2)
		}
		if acked < next && len(placed) == 0 {
			continue // killed before the first write ever committed
		}
		if len(placed) == 0 || len(placed) != len(received) {
			t.Fatalf("round %d: placed %d records, received %d", round, len(placed), len(received))
		}
		newest, _ := strconv.Atoi(placed[0].Number)
		if newest != acked && newest != acked+1 {
			t.Fatalf("round %d: newest record %d, last acknowledged %d", round, newest, acked)
		}
		for i := range placed {
			want := strconv.Itoa(newest - i)
			if placed[i].Number != want || received[i].Number != want {
				t.Fatalf("round %d: record %d is %s/%s, want %s", round, i, placed[i].Number, received[i].Number, want)
			}
		}
		t.Logf("round %d: %d writes acknowledged, newest on disk %d", round, acked-next+1, newest)
		next = newest + 1
	}
}

// TestInteropKill9DuringConfigSaves does the same for `write memory`: the
// newest startup-config is the last acknowledged text (or the one in
// flight), whole, and the kept versions are consecutive.
func TestInteropKill9DuringConfigSaves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cmed.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 10))
	next := 1
	for round := range 6 {
		acked := runUntilKilled(t, "config", path, next, rng)
		s, err := Open(path, Options{ConfigVersions: 5})
		if err != nil {
			t.Fatalf("round %d: database does not open after kill -9: %v", round, err)
		}
		vs, err := s.StartupConfigVersions()
		s.Close()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if acked < next && len(vs) == 0 {
			continue
		}
		if len(vs) == 0 {
			t.Fatalf("round %d: no startup-config after %d acknowledged saves", round, acked)
		}
		var newest int
		if _, err := fmt.Sscanf(vs[0].Text, "hostname crash-%d\n", &newest); err != nil {
			t.Fatalf("round %d: newest config unreadable: %q", round, vs[0].Text[:min(80, len(vs[0].Text))])
		}
		if newest != acked && newest != acked+1 {
			t.Fatalf("round %d: newest config rev %d, last acknowledged %d", round, newest, acked)
		}
		for i, v := range vs {
			if v.Text != configText(newest-i) {
				t.Fatalf("round %d: version %d is not rev %d intact", round, i, newest-i)
			}
		}
		t.Logf("round %d: %d saves acknowledged, newest on disk %d", round, acked-next+1, newest)
		next = newest + 1
	}
}
