package cli

import (
	"bytes"
	"github.com/cmed-project/cmed/pkg/cmdtree"
	"strings"
	"testing"
)

// FuzzSession feeds random command lines to a batch session (EXEC and
// configuration mode, help, pipes) and checks that nothing panics and the
// session still answers a command afterwards.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"show running-config | section ephone-dn 1",
		"conf t\nephone-dn 40\nnumber 1040\nallow watch\nend\nwr",
		"conf t\nephone 1\nbutton 1:1 2:2\nreset\ndo show ephone\nend",
		"sh pres sub sum\nshow presence subscription subid 23\nshow ephone-dn 1",
		"conf t\nvoice register pool 1\nnumber 1 dn 1\nno number 1\nexit\nno ephone-dn 1\nend",
		"show run | include (\nshow run | begin [\nsh ?\nconf t\n?\nephone-dn ?\ndo sh run | sec ephone",
		"debug ephone blf\nundebug all\nterminal length 5\nterminal monitor\ndisable\nenable\nexit",
		"conf t\nusername x secret 8 $8$\nenable secret 9 $9$a$b\nhostname \"a b\"\nend",
	} {
		f.Add(seed)
	}
	backend := labBackend(f)
	base := backend.Running()
	f.Fuzz(func(t *testing.T, input string) {
		backend.mu.Lock()
		backend.running = base
		backend.mu.Unlock()
		srv := NewServer(backend, nil)
		var out bytes.Buffer
		s := srv.newSession(&out, SessionOptions{Privilege: PrivMax})
		s.batch = true
		lines := strings.Split(input, "\n")
		if len(lines) > 30 {
			lines = lines[:30]
		}
		for _, l := range lines {
			s.Line(l)
			if s.done {
				break
			}
		}
		if s.done {
			return // exit is a legitimate way to end
		}
		if s.ed != nil {
			s.Line("end")
		}
		if s.ed != nil {
			t.Fatalf("`end` did not leave configuration mode (prompt %q)", s.Prompt())
		}
		out.Reset()
		s.Line("show clock")
		if !strings.Contains(out.String(), ":") || strings.Contains(out.String(), "%") {
			t.Fatalf("session unusable after %q: show clock printed %q", input, out.String())
		}
		s.close()
	})
}

// FuzzExecParse runs the EXEC grammars' Parse, Help and Complete on random
// lines: no panic, and errors carry an offset inside the line.
func FuzzExecParse(f *testing.F) {
	for _, seed := range []string{"show run | inc x", "sh pres sub subid 5", "co r s", "debug ephone blf mac-address 0011.2233.4401", "show ephone-dn 99999", `show "x`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, tr := range []*struct{ name string }{{"user"}, {"priv"}} {
			tree := userTree
			if tr.name == "priv" {
				tree = privTree
			}
			cmd, _, _, _ := splitPipe(line)
			if _, err := tree.Parse(cmd); err != nil {
				if e, ok := asCmdErr(err); ok && (e.Offset < 0 || e.Offset > len(cmd)) {
					t.Fatalf("%s: offset %d outside %q", tr.name, e.Offset, cmd)
				}
			}
			tree.Help(cmd)
			tree.Complete(cmd)
		}
	})
}

func asCmdErr(err error) (*cmdtreeError, bool) {
	e, ok := err.(*cmdtreeError)
	return e, ok
}

type cmdtreeError = cmdtree.Error
