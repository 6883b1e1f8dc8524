package dn_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
)

// TestNoStuckLampsProperty drives random sequences of calls, answers,
// hang-ups, hold/resume, transfers (consultative, blind, cancelled),
// forwarding changes, DND toggles, trunk calls (out through dial-peers
// and in from a fake trunk that progresses, answers, fails and hangs up
// at random), calls to a hunt-group pilot, HLog, call park (softkey, FAC,
// retrieval, recall), call pickup (local, group, directed, BLF) and ad hoc
// conferences (Confrn, dial and answer the third party, Confrn to join;
// parties and the initiator hanging up, with and without keep-conference;
// Confrn dropping the last party), then hangs everything up and lets every
// timer run out. At
// quiescence no phone may show anything: every ring, call state and media
// channel a phone was given must have been ended (docs/sccp.md §Field-reports stuck
// lamps), no call may remain, every DN must be idle, no MOH or echo stream
// may still run, no conference bridge may still mix and the trunk may hold
// no dialog.
func TestNoStuckLampsProperty(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	numbers := []string{"1001", "1002", "1003", "1004", "1005", "1006", "2001", "*43", "1099", "9",
		"95551234#", "51234", "7123#", "5000", "1008", "**3", "**420#", "**6"}
	causes := []dn.Cause{dn.CauseBusy, dn.CauseUnassigned, dn.CauseUnavailable, dn.CauseNoAnswer}
	// Bridges started over all seeds: the run must have joined conferences
	// for the property to say anything about them.
	bridges := 0
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			cfg := featConfig(func(d map[int]*config.EphoneDN, c *config.Config) {
				d[2].Mode = config.SingleLine
				d[2].CallForward.Busy = "1005"
				d[5].CallForward.NoAnswer, d[5].CallForward.NoAnswerTimeout = "1006", 8
				d[6].NoHuntstop = true
				d[7].Number = "1006"
				c.Ephones[5].Buttons[0].Mode = config.ButtonFeature
				c.Ephones[0].Username, c.VoiceRegisterPools[0].Username = "u1", "u1"
				// Hunt group, park slot, pickup groups (docs/cme-behaviour.md
				// §Hunt-groups, §Call-park, §Call-pickup).
				c.EphoneHunts = []config.HuntGroup{{Tag: 1, Kind: []string{"sequential", "peer", "longest-idle"}[seed%3],
					Pilot: "5000", List: []string{"1001", "1003", "1004"}, Final: "1006", Timeout: []int{5}}}
				d[8].ParkSlot = &config.ParkSlot{Timeout: 20, Limit: 2, Recall: seed%2 == 0}
				d[8].Mode = config.SingleLine
				c.Ephones = c.Ephones[:7]
				d[1].PickupGroup, d[3].PickupGroup, d[4].PickupGroup = "10", "10", "20"
				d[5].PickupGroup = "20"
				c.Telephony.FACStandard, c.Telephony.DirectedPickup = true, true
				if seed%2 == 1 {
					c.Telephony.TransferSystem = "blind"
				}
				// keep-conference on ephones 1-4 for half the seeds
				// (docs/cme-behaviour.md §Conference).
				if seed%4 >= 2 {
					c.EphoneTemplates = []config.PhoneTemplate{{Tag: 1, Extra: []string{"keep-conference"}}}
					for i := range 4 {
						c.Ephones[i].Template = 1
					}
				}
				addTrunks(c)
			})
			tr := &dntest.Trunk{}
			tags := []int{1, 2, 3, 4, 5, 6, 7, 101}
			var cm *confMedia
			wrap := func(m *dntest.Media) dn.MediaServer {
				cm = &confMedia{Media: m}
				return cm
			}
			runMedia(t, cfg, dn.Options{Trunk: tr}, wrap, func(h *harness) {
				r := rand.New(rand.NewPCG(uint64(seed), 7))
				h.register(tags...)
				pick := func() int { return tags[r.IntN(len(tags))] }
				callOf := func(tag int) dn.CallID {
					calls, _ := h.sw.Calls()
					var ids []dn.CallID
					for _, c := range calls {
						for _, l := range c.Legs {
							if l.Device == devName(tag) || (tag == 101 && l.Device == dn.DeviceName("0000.0000.0101")) {
								ids = append(ids, c.ID)
							}
						}
					}
					if len(ids) == 0 {
						return dn.CallID(r.IntN(5))
					}
					return ids[r.IntN(len(ids))]
				}
				// The members of the last conference joined (initiator
				// first): operation 24 hangs one of them up.
				var members []int
				for op := range 150 {
					tag := pick()
					id := h.id[tag]
					switch r.IntN(25) {
					case 0, 1:
						_, _ = h.sw.OffHook(id, 0)
						_, _ = h.sw.Digits(id, 0, numbers[r.IntN(len(numbers))])
					case 2, 3:
						_, _ = h.sw.Answer(id, 0, 0)
					case 4, 5:
						_, _ = h.sw.OnHook(id, 0)
					case 6:
						_, _ = h.sw.Hold(id, 0, 0)
					case 7:
						_, _ = h.sw.Resume(id, 0, 0)
					case 8:
						if c, err := h.sw.StartTransfer(id, 0, 0); err == nil && r.IntN(2) == 0 {
							_, _ = h.sw.Digits(id, 0, numbers[r.IntN(6)])
							_ = c
						}
					case 9:
						_ = h.sw.CompleteTransfer(id, callOf(tag), 0)
					case 10:
						_ = h.sw.BlindTransfer(id, callOf(tag), numbers[r.IntN(len(numbers))])
					case 11:
						_ = h.sw.SetDND(id, r.IntN(2) == 0)
					case 12:
						n := ""
						if r.IntN(2) == 0 {
							n = numbers[r.IntN(6)]
						}
						_ = h.sw.SetCallForwardAll(id, 0, n)
					case 13:
						time.Sleep(time.Duration(r.IntN(12)) * time.Second)
					case 14:
						called := numbers[r.IntN(len(numbers))]
						if r.IntN(3) == 0 {
							called = "5551" + called // through dial-peer 300's DID rule
						}
						_, _ = tr.Incoming(h.sw, dn.InboundCall{Calling: dn.Party{Number: "0612345"},
							Called: called, Remote: tr.RemoteAddr()})
					case 17:
						_, _ = h.sw.Park(id, 0, 0, []string{"", "1008", "1099"}[r.IntN(3)])
					case 18:
						kind := []dn.PickupKind{dn.PickupLocal, dn.PickupGroup, dn.PickupDirected}[r.IntN(3)]
						_, _ = h.sw.Pickup(id, 0, kind, []string{"", "10", "20", "1002", "1005"}[r.IntN(5)])
					case 19:
						_, _ = h.sw.PickupBLF(id, numbers[r.IntN(8)])
					case 20:
						_ = h.sw.SetHuntLogout(id, r.IntN(2) == 0)
					case 21, 22:
						// Confrn on the connected call (usually one set up
						// for it), dial a phone, it answers (usually),
						// Confrn again joins the three (usually): each
						// step may be refused.
						consult, err := h.sw.Conference(id, 0, 0)
						if err != nil && r.IntN(4) != 0 {
							// No call to confer from: make one first.
							peer := 1 + r.IntN(6)
							_, _ = h.sw.OffHook(id, 0)
							_, _ = h.sw.Digits(id, 0, fmt.Sprintf("100%d", peer))
							_, _ = h.sw.Answer(h.id[peer], 0, 0)
							consult, err = h.sw.Conference(id, 0, 0)
						}
						if err != nil || r.IntN(6) == 0 {
							break
						}
						third := 1 + r.IntN(6)
						_, _ = h.sw.Digits(id, 0, fmt.Sprintf("100%d", third))
						if r.IntN(4) != 0 {
							_, _ = h.sw.Answer(h.id[third], 0, 0)
						}
						if r.IntN(4) == 0 {
							break
						}
						if _, err := h.sw.Conference(id, 0, consult.ID); err == nil {
							members = []int{tag, third}
						}
					case 23:
						// Confrn on any call of the phone: joins a
						// pending conference, drops the last party, or
						// is refused (a party's key, a trunk peer).
						_, _ = h.sw.Conference(id, 0, callOf(tag))
					case 24:
						// A member of the last conference hangs up:
						// the initiator (ending it, or joining the other
						// two with keep-conference) or the third party.
						if len(members) > 0 {
							_, _ = h.sw.OnHook(h.id[members[r.IntN(len(members))]], 0)
						}
					case 15, 16:
						live := tr.Live()
						if len(live) == 0 {
							break
						}
						tid := live[r.IntN(len(live))]
						switch k := r.IntN(6); {
						case tr.Inbound(tid) && k < 4:
							_ = h.sw.TrunkMedia(tid, tr.RemoteAddr())
						case tr.Inbound(tid):
							_ = tr.HangupRemote(h.sw, tid)
						case k == 0:
							_ = h.sw.TrunkProgress(tid, r.IntN(2) == 0, netip.AddrPort{})
						case k == 1:
							_ = h.sw.TrunkProgress(tid, false, tr.RemoteAddr())
						case k == 2 || k == 3:
							_ = tr.Answer(h.sw, tid, tr.RemoteAddr())
						case k == 4:
							_ = tr.Fail(h.sw, tid, causes[r.IntN(len(causes))])
						default:
							_ = tr.HangupRemote(h.sw, tid)
						}
					}
					// The per-device call lookups must agree with a scan
					// of every call (index_internal_test.go).
					// A conference the Switch keeps is whole, and no
					// phone is left connected to nobody.
					if err := errors.Join(dn.CheckIndexes(h.sw), dn.CheckConferences(h.sw)); err != nil {
						t.Errorf("after operation %d: %v", op, err)
						return // with the Switch still running: no deadlock
					}
				}
				// Quiesce: DND and forwarding off, everybody hangs up,
				// held calls are resumed and hung up, timers run out.
				for _, tag := range tags {
					_ = h.sw.SetDND(h.id[tag], false)
					_ = h.sw.SetCallForwardAll(h.id[tag], 0, "")
				}
				for range 10 {
					for _, tag := range tags {
						_, _ = h.sw.OnHook(h.id[tag], 0)
						_, _ = h.sw.Resume(h.id[tag], 0, 0)
						_, _ = h.sw.OnHook(h.id[tag], 0)
					}
				}
				// A trunk caller on the echo test stays until it hangs up;
				// a trunk party parked without recall stays parked
				// (docs/cme-behaviour.md §Call-park) until a phone
				// retrieves it by dialling the slot, then hangs up.
				calls, _ := h.sw.Calls()
				for _, c := range calls {
					parked := false
					for _, l := range c.Legs {
						parked = parked || (l.DN == dn.DNKey{Kind: dn.EphoneDN, Tag: 8} && l.Device == "")
						if l.Trunk != 0 && c.Called.Number == "*43" {
							_ = tr.HangupRemote(h.sw, l.Trunk)
						}
					}
					if parked {
						_, _ = h.sw.OffHook(h.id[1], 0)
						_, _ = h.sw.Digits(h.id[1], 0, "1008")
						synctest.Wait()
						_, _ = h.sw.OnHook(h.id[1], 0)
					}
				}
				time.Sleep(10 * time.Minute)
				synctest.Wait()
				// CME DND cannot be switched off while a call rings on a
				// phone already in DND (docs/cme-behaviour.md §DND): again
				// now that the calls are gone.
				for _, tag := range tags {
					_ = h.sw.SetDND(h.id[tag], false)
				}
				synctest.Wait()
				h.wantNoStuck(tags...)
				started, running := cm.running()
				bridges += started
				if running != 0 {
					t.Errorf("%d of %d conference bridges still mixing at quiescence", running, started)
				}
				if live := tr.Live(); len(live) != 0 {
					t.Errorf("trunk calls left open: %v\n%s", live, tr.Dump())
				}
				for tag := 1; tag <= 8; tag++ {
					h.wantPresence(tag, dn.PresenceIdle) // 8: the park slot
				}
				for _, tag := range tags {
					_ = h.sw.SetHuntLogout(h.id[tag], false)
				}
				if p := h.presence(dn.EphoneHunt, 1); p != dn.PresenceIdle {
					t.Errorf("hunt pilot presence %v at quiescence, want idle", p)
				}
			})
		})
	}
	t.Logf("%d conference bridges started over %d seeds", bridges, seeds)
	if bridges == 0 {
		t.Error("no conference was ever joined: the random operations do not reach conferences")
	}
}
