package config

// Source maps config objects to the line Parse read them from.
//
// Keys are section headers as show running-config spells them with single
// spaces ("ephone 3", "ephone-dn 5", "voice register pool 2",
// "telephony-service", "dial-peer voice 100"), and commands inside a section
// as "SECTION|KEYWORD" and "SECTION|KEYWORD FIRST-ARG" (for example
// "ephone 3|blf-speed-dial 4", "ephone 3|mac-address"). Global commands use
// "|KEYWORD" and "|KEYWORD FIRST-ARG".
type Source struct {
	File  string
	Lines map[string]int
}

// Line is the first recorded line among keys, or 0.
func (s *Source) Line(keys ...string) int {
	if s == nil {
		return 0
	}
	for _, k := range keys {
		if n, ok := s.Lines[k]; ok {
			return n
		}
	}
	return 0
}

func (s *Source) clone() *Source {
	if s == nil {
		return nil
	}
	c := &Source{File: s.File, Lines: make(map[string]int, len(s.Lines))}
	for k, v := range s.Lines {
		c.Lines[k] = v
	}
	return c
}
