package sip

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// MaxCredentialFile bounds a credential file (`authenticate credential TAG
// LOCATION`, docs/cme-cli.md §Presence-commands).
const MaxCredentialFile = 1 << 20

// ErrCredentialFile reports a credential file cmed cannot use.
var ErrCredentialFile = errors.New("sip: bad credential file")

// ParseCredentials parses a CME credential file: one `username,password`
// pair per line (CSV, docs/cme-cli.md §Presence-commands). Blank lines and lines starting with
// '#' are skipped; fields may be double-quoted; surrounding spaces are
// trimmed. A duplicate username is an error, as CME requires pairs to be
// unique.
func ParseCredentials(b []byte) (map[string]string, error) {
	if len(b) > MaxCredentialFile {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrCredentialFile, MaxCredentialFile)
	}
	out := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), MaxCredentialFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		user, pass, ok := strings.Cut(line, ",")
		if !ok {
			return nil, fmt.Errorf("%w: line %d: want username,password", ErrCredentialFile, n)
		}
		user, pass = unquoteField(user), unquoteField(pass)
		if user == "" {
			return nil, fmt.Errorf("%w: line %d: empty username", ErrCredentialFile, n)
		}
		if _, dup := out[user]; dup {
			return nil, fmt.Errorf("%w: line %d: duplicate username %q", ErrCredentialFile, n, user)
		}
		out[user] = pass
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCredentialFile, err)
	}
	return out, nil
}

func unquoteField(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}
