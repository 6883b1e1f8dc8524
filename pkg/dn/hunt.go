package dn

import (
	"cmp"
	"slices"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
)

// Hunt groups: `ephone-hunt N sequential|peer|longest-idle` and `voice
// hunt-group N ...` (docs/cme-behaviour.md §Hunt-groups). The pilot is a
// routable number of its own: route hands a call to it to startHunt, which
// offers the call to one member DN at a time for that member's timeout,
// then to the next, then to the final number.

// huntConf is one hunt group of the snapshot.
type huntConf struct {
	key              DNKey
	kind             string // sequential, peer, longest-idle, parallel
	pilot, secondary string
	name             string
	list             []string // member numbers; "*" (login agents) is skipped
	final            string
	hops             int
	timeouts         []time.Duration
}

// huntCall is a call hunting through a group.
type huntCall struct {
	key   DNKey
	order []int // indexes into huntConf.list, in the order to try
	pos   int   // next entry of order
	tried int   // members offered the call so far
	idx   int   // list index of the member ringing now
}

// HuntStats are a hunt group's counters since the daemon started (`show
// ephone-hunt`, `show voice hunt-group`).
type HuntStats struct {
	Calls     uint64 // calls to the pilot
	Answered  uint64 // answered by a member
	Abandoned uint64 // the caller left while the call hunted
	Final     uint64 // sent on to the final number
	Failed    uint64 // no member free and no final number: busy
}

// HuntMemberStatus is one `list` entry of a hunt group.
type HuntMemberStatus struct {
	Number   string
	DN       DNKey // zero when no DN has the number
	State    LineState
	LoggedIn bool // false when every phone with the DN pressed HLog
	Offered  uint64
	Answered uint64
}

// HuntStatus is a hunt group (`show ephone-hunt`, `show voice hunt-group`).
type HuntStatus struct {
	Key       DNKey
	Kind      string
	Pilot     string
	Secondary string
	Name      string
	Final     string
	Hops      int
	Timeouts  []int // seconds per member as configured; empty: `timeouts ringing`
	Presence  Presence
	Hunting   int // calls hunting through the group now
	Stats     HuntStats
	Members   []HuntMemberStatus
}

type huntCounters struct {
	HuntStats
	offered, answered map[string]uint64 // by member number
}

func buildHunts(cfg *config.Config) map[DNKey]*huntConf {
	out := map[DNKey]*huntConf{}
	add := func(kind DNKind, hs []config.HuntGroup) {
		for _, h := range hs {
			if h.Pilot == "" {
				continue // not routable (Validate reports it)
			}
			g := &huntConf{key: DNKey{kind, h.Tag}, kind: cmp.Or(h.Kind, "sequential"), pilot: h.Pilot,
				secondary: h.PilotSecondary, name: h.Name, list: slices.Clone(h.List), final: h.Final, hops: h.Hops}
			for _, t := range h.Timeout {
				g.timeouts = append(g.timeouts, time.Duration(t)*time.Second)
			}
			out[g.key] = g
		}
	}
	add(EphoneHunt, cfg.EphoneHunts)
	add(VoiceHuntGroup, cfg.VoiceHuntGroups)
	return out
}

func isHuntKey(k DNKey) bool { return k.Kind == EphoneHunt || k.Kind == VoiceHuntGroup }

// huntPilot is the group whose pilot or secondary pilot is number.
// Ephone-hunts come before voice hunt-groups, lower tags first.
func (s *Switch) huntPilot(number string) *huntConf {
	if number == "" {
		return nil
	}
	for _, k := range sortedDNKeys(s.hunts) {
		if g := s.hunts[k]; g.pilot == number || g.secondary == number {
			return g
		}
	}
	return nil
}

func (s *Switch) huntCounters(k DNKey) *huntCounters {
	hc := s.huntStats[k]
	if hc == nil {
		hc = &huntCounters{offered: map[string]uint64{}, answered: map[string]uint64{}}
		s.huntStats[k] = hc
	}
	return hc
}

// startHunt takes call c (caller side c.a, no callee leg) to group g.
func (s *Switch) startHunt(c *call, g *huntConf) (Cause, bool) {
	if c.hunt != nil {
		s.endHunt(c) // the final number of one group is another group's pilot
	}
	s.huntCounters(g.key).Calls++
	c.hunt = &huntCall{key: g.key, order: s.huntOrder(g), idx: -1}
	s.hunting[g.key]++
	s.markDN(g.key)
	pilot := Party{Number: g.pilot, Name: g.name}
	if c.original == (Party{}) {
		c.original = pilot // members see that the call came through the pilot
	}
	return s.huntNext(c)
}

// endHunt: call c stops hunting (answered, sent to the final number,
// failed or released).
func (s *Switch) endHunt(c *call) {
	h := c.hunt
	if h == nil {
		return
	}
	c.hunt = nil
	if s.hunting[h.key]--; s.hunting[h.key] <= 0 {
		delete(s.hunting, h.key)
	}
	s.markDN(h.key)
}

// huntOrder is the order in which a new call tries the members
// (docs/cme-behaviour.md §Hunt-groups): sequential from the first,
// peer from the member after the one that rang last, longest-idle by the
// time each member's DN last went idle. parallel is tried like
// sequential (see the doc section: cmed rings one member at a time).
func (s *Switch) huntOrder(g *huntConf) []int {
	var idx []int
	for i, n := range g.list {
		if n != "*" {
			idx = append(idx, i)
		}
	}
	switch g.kind {
	case "peer":
		last, ok := s.huntLast[g.key]
		if !ok {
			return idx
		}
		start := slices.IndexFunc(idx, func(i int) bool { return i > last })
		if start < 0 {
			return idx
		}
		return append(idx[start:], idx[:start]...)
	case "longest-idle":
		idle := func(i int) time.Time {
			if cs := s.candidates(g.list[i]); len(cs) > 0 {
				return s.idleSince[cs[0].key]
			}
			return time.Time{}
		}
		slices.SortStableFunc(idx, func(a, b int) int { return idle(a).Compare(idle(b)) })
	}
	return idx
}

// huntMember is the DN that takes a hunt call for member number and the
// appearances to ring, or nil when the member cannot take it: a member is
// offered a call only while its DN is idle, on phones that are registered,
// not in DND (as for any call, see alert) and not logged out with HLog.
// Members' own call forwarding does not apply: the group's timeout and
// final number decide (docs/cme-behaviour.md §Hunt-groups).
func (s *Switch) huntMember(number string) (*dnConf, []appearance) {
	for _, d := range s.candidates(number) {
		if d.park != nil || len(s.legs[d.key]) > 0 {
			if d.huntstop {
				return nil, nil
			}
			continue
		}
		var ringable []appearance
		for _, a := range s.registeredApps(d.key) {
			if s.huntOut[a.device] {
				continue
			}
			if _, ok := s.alert(a); ok {
				ringable = append(ringable, a)
			}
		}
		if len(ringable) > 0 {
			return d, ringable
		}
		if d.huntstop {
			return nil, nil
		}
	}
	return nil, nil
}

// huntNext offers hunt call c to the next member that can take it; after
// the last member, or `hops` members, the call goes to the final number.
// Without one the caller hears busy.
func (s *Switch) huntNext(c *call) (Cause, bool) {
	h := c.hunt
	g := s.hunts[h.key]
	if g == nil { // the group left the configuration
		s.endHunt(c)
		return CauseUnavailable, false
	}
	hc := s.huntCounters(g.key)
	limit := len(h.order)
	if g.hops > 0 && g.hops < limit {
		limit = g.hops
	}
	for h.pos < len(h.order) && h.tried < limit {
		i := h.order[h.pos]
		h.pos++
		d, ringable := s.huntMember(g.list[i])
		if d == nil {
			continue
		}
		h.tried++
		h.idx = i
		s.huntLast[g.key] = i
		hc.offered[g.list[i]]++
		s.offer(c, d, ringable)
		return 0, true
	}
	s.endHunt(c)
	if g.final == "" {
		hc.Failed++
		return CauseBusy, false
	}
	hc.Final++
	if c.hops >= s.maxHops {
		return CauseLoop, false
	}
	c.hops++
	c.redirecting = Party{Number: g.pilot, Name: g.name}
	if s.forwardOut(c, g.final) {
		return 0, true
	}
	return s.route(c, g.final)
}

// huntTimeout is how long the member ringing now rings: its `timeout`
// value (one value is every member's), else `timeouts ringing`.
func (s *Switch) huntTimeout(c *call) time.Duration {
	g := s.hunts[c.hunt.key]
	if g == nil || len(g.timeouts) == 0 {
		return s.ringTimeout
	}
	pos := max(c.hunt.idx, 0)
	if pos < len(g.timeouts) {
		return g.timeouts[pos]
	}
	return g.timeouts[len(g.timeouts)-1]
}

// huntAdvance ends the offer of hunt call c to the current member (no
// answer, refused, the phone went away) and hunts on.
func (s *Switch) huntAdvance(c *call, cause Cause) {
	if b := c.b; b != nil {
		s.dropLeg(b, cause, "")
		c.b = nil
	}
	if fc, ok := s.huntNext(c); !ok {
		s.failCaller(c, fc)
	}
}

// huntAnswered counts an answer of hunt call c by the member ringing.
func (s *Switch) huntAnswered(c *call) {
	h := c.hunt
	if h == nil {
		return
	}
	if g := s.hunts[h.key]; g != nil && h.idx >= 0 {
		hc := s.huntCounters(h.key)
		hc.Answered++
		hc.answered[g.list[h.idx]]++
	}
	s.endHunt(c)
}

// failCaller ends call c whose callee side is gone: a phone caller hears
// busy or reorder until it hangs up, a trunk caller is released.
func (s *Switch) failCaller(c *call, cause Cause) {
	a := c.a
	if a == nil || a.trunk != nil || a.state != LineRingback {
		s.releaseCall(c, cause, "")
		return
	}
	tone := ToneReorder
	if cause == CauseBusy || cause == CauseDND || cause == CauseLoop {
		tone = ToneBusy
	}
	s.fail(a, InCalleeBusy, tone, cause)
}

// huntPresence is the pilot's presentity state (docs/cme-behaviour.md
// §Hunt-groups): ringing while a call hunts through the group, in use
// when no member could take a call, idle when one could, unregistered
// when no member DN is on a registered phone.
func (s *Switch) huntPresence(g *huntConf) Presence {
	registered, free := false, false
	for _, n := range g.list {
		for _, d := range s.candidates(n) {
			if len(s.registeredApps(d.key)) == 0 {
				continue
			}
			registered = true
			if m, _ := s.huntMember(n); m != nil {
				free = true
			}
		}
	}
	switch {
	case !registered:
		return PresenceUnregistered
	case s.hunting[g.key] > 0:
		return PresenceRinging
	case !free:
		return PresenceInUse
	}
	return PresenceIdle
}

func (s *Switch) huntLineEvent(k DNKey) LineEvent {
	g := s.hunts[k]
	if g == nil {
		old := s.pubDN[k]
		return LineEvent{Key: k, Number: old.Number, Secondary: old.Secondary, Name: old.Name,
			Presence: PresenceUnregistered, Removed: true}
	}
	// The pilot has no `allow watch` of its own: a pilot is there to be
	// called and watched (docs/cme-behaviour.md §Hunt-groups).
	return LineEvent{Key: k, Number: g.pilot, Secondary: g.secondary, Name: g.name, AllowWatch: true,
		Presence: s.huntPresence(g)}
}

// SetHuntLogout logs a phone out of (true) or back into (false) every
// hunt group its DNs are members of, as the HLog softkey does
// (docs/cme-behaviour.md §Hunt-groups). The phone's lines still take
// calls to their own numbers.
func (s *Switch) SetHuntLogout(id DeviceID, out bool) error {
	return s.do(func() error {
		d, err := s.lookup(id)
		if err != nil {
			return err
		}
		if out {
			s.huntOut[d.id.Name] = true
		} else {
			delete(s.huntOut, d.id.Name)
		}
		for k := range s.hunts {
			s.markDN(k)
		}
		return nil
	})
}

// HuntLoggedOut reports whether a phone is logged out of its hunt groups.
func (s *Switch) HuntLoggedOut(name string) (bool, error) {
	var out bool
	err := s.do(func() error { out = s.huntOut[name]; return nil })
	return out, err
}

// Hunts returns every hunt group, ephone-hunts first, by tag.
func (s *Switch) Hunts() ([]HuntStatus, error) {
	var out []HuntStatus
	err := s.do(func() error {
		for _, k := range sortedDNKeys(s.hunts) {
			g := s.hunts[k]
			hc := s.huntCounters(k)
			st := HuntStatus{Key: k, Kind: g.kind, Pilot: g.pilot, Secondary: g.secondary, Name: g.name,
				Final: g.final, Hops: g.hops, Presence: s.huntPresence(g), Hunting: s.hunting[k], Stats: hc.HuntStats}
			for _, t := range g.timeouts {
				st.Timeouts = append(st.Timeouts, int(t/time.Second))
			}
			for _, n := range g.list {
				m := HuntMemberStatus{Number: n, Offered: hc.offered[n], Answered: hc.answered[n]}
				if cs := s.candidates(n); len(cs) > 0 {
					m.DN = cs[0].key
					m.State = LineIdle
					if len(s.legs[m.DN]) > 0 {
						m.State = s.legs[m.DN][0].state
					}
					apps := s.registeredApps(m.DN)
					if len(apps) == 0 {
						m.State = LineUnregistered
					}
					for _, a := range apps {
						if !s.huntOut[a.device] {
							m.LoggedIn = true
						}
					}
				}
				st.Members = append(st.Members, m)
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// applyHuntConfig takes the hunt groups of a new snapshot. Calls hunting
// through a group that is gone ring out their current member and then
// end (huntNext); peer positions and counters of groups that stay are
// kept.
func (s *Switch) applyHuntConfig(cfg *config.Config) {
	s.hunts = buildHunts(cfg)
	s.huntOfMember = map[string][]DNKey{}
	for _, k := range sortedDNKeys(s.hunts) {
		for _, n := range s.hunts[k].list {
			if !slices.Contains(s.huntOfMember[n], k) {
				s.huntOfMember[n] = append(s.huntOfMember[n], k)
			}
		}
	}
	for k := range s.huntStats {
		if s.hunts[k] == nil {
			delete(s.huntStats, k)
			delete(s.huntLast, k)
		}
	}
}
