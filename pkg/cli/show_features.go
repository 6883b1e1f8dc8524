package cli

import (
	"fmt"
	"strings"

	"github.com/cmed-project/cmed/pkg/cmdtree"
	"github.com/cmed-project/cmed/pkg/dn"
)

// Hunt groups and call park in show output (docs/cme-behaviour.md
// §Hunt-groups, §Call-park).

// Features is the optional Backend capability behind `show ephone-hunt`,
// `show voice hunt-group` and `show ephone-dn park`.
type Features interface {
	Hunts() ([]dn.HuntStatus, error)
	ParkSlots() ([]dn.ParkSlotStatus, error)
}

func (c *execCtx) features() (Features, error) {
	f, ok := c.s.b.(Features)
	if !ok {
		return nil, fmt.Errorf("%% Hunt groups and call park are not available")
	}
	return f, nil
}

func cmdShowEphoneHunt(c *execCtx, m *cmdtree.Match) error {
	return showHunts(c, dn.EphoneHunt, m.Int(0))
}

func cmdShowVoiceHuntGroup(c *execCtx, m *cmdtree.Match) error {
	return showHunts(c, dn.VoiceHuntGroup, m.Int(0))
}

// showHunts prints the groups of one kind (tag 0: all): configuration,
// members with their line state and login, and the call counters.
func showHunts(c *execCtx, kind dn.DNKind, tag int) error {
	f, err := c.features()
	if err != nil {
		return err
	}
	hs, err := f.Hunts()
	if err != nil {
		return fmt.Errorf("%% %v", err)
	}
	for _, h := range hs {
		if h.Key.Kind != kind || (tag != 0 && h.Key.Tag != tag) {
			continue
		}
		c.printf("Group %d\n", h.Key.Tag)
		c.printf("    type: %s\n", h.Kind)
		pilot := h.Pilot
		if h.Secondary != "" {
			pilot += ", secondary " + h.Secondary
		}
		c.printf("    Pilot number: %s\n", pilot)
		if h.Name != "" {
			c.printf("    Name: %s\n", h.Name)
		}
		var list []string
		for _, m := range h.Members {
			list = append(list, m.Number)
		}
		c.printf("    List of numbers: %s\n", strings.Join(list, ", "))
		if h.Final != "" {
			c.printf("    Final number: %s\n", h.Final)
		}
		if h.Hops > 0 {
			c.printf("    Hops: %d\n", h.Hops)
		}
		if len(h.Timeouts) > 0 {
			var ts []string
			for _, t := range h.Timeouts {
				ts = append(ts, itoa(t))
			}
			c.printf("    Timeout: %s\n", strings.Join(ts, ", "))
		} else {
			c.printf("    Timeout: timeouts ringing\n")
		}
		c.printf("    Pilot state: %s, %d call(s) hunting\n", h.Presence, h.Hunting)
		c.printf("    Members:\n")
		for _, m := range h.Members {
			dnTag, login := "-", "logged out"
			if m.DN != (dn.DNKey{}) {
				dnTag = itoa(m.DN.Tag)
			}
			if m.LoggedIn {
				login = "logged in"
			}
			c.printf("      %-10s dn %-5s %-13s %-10s offered %d answered %d\n", m.Number, dnTag, m.State, login,
				m.Offered, m.Answered)
		}
		st := h.Stats
		c.printf("    Statistics: calls %d answered %d abandoned %d to final %d busy %d\n",
			st.Calls, st.Answered, st.Abandoned, st.Final, st.Failed)
		c.printf("\n")
	}
	return nil
}

// cmdShowParkSlots is `show ephone-dn park`: every park slot and the call
// parked there.
func cmdShowParkSlots(c *execCtx) error {
	f, err := c.features()
	if err != nil {
		return err
	}
	slots, err := f.ParkSlots()
	if err != nil {
		return fmt.Errorf("%% %v", err)
	}
	c.printf("%-6s %-10s %-8s %-20s %-10s %s\n", "DN", "Slot", "Call", "Parked party", "Parked by", "Reminders")
	for _, s := range slots {
		if s.Call == 0 {
			c.printf("%-6d %-10s %-8s\n", s.DN.Tag, s.Number, "idle")
			continue
		}
		c.printf("%-6d %-10s %-8d %-20s %-10s %d\n", s.DN.Tag, s.Number, s.Call,
			strings.TrimSpace(s.Parked.Number+" "+s.Parked.Name), s.Parker, s.Reminders)
	}
	return nil
}
