package sip

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/sip/subs"
)

// Registrar defaults: `registrar server expires max 3600 min 60`
// (docs/cme-cli.md §Voice-register "defaults 3600 / 60").
const (
	defaultRegisterMax = 3600
	defaultRegisterMin = 60
)

// Binding is one registered contact of a voice register pool, for `show
// voice register pool|dn|all` (docs/cme-cli.md §Phone-show-commands).
type Binding struct {
	Pool       int    // voice register pool tag
	Device     string // SEP<MAC> or POOLn (dn device name)
	Number     string // the AoR user: the DN number registered
	Contact    string // Contact URI
	Source     string // signalling source address "ip:port"
	Transport  string // "UDP" / "TCP"
	UserAgent  string
	CallID     string
	CSeq       uint32
	Registered time.Time
	Expires    time.Time
	// MovedFrom is the source address a REGISTER took this pool's contact
	// away from, when one did (docs/security.md §Digest), at MovedAt.
	MovedFrom string
	MovedAt   time.Time
}

// phone is one registered pool: a dn.Device while it has bindings.
type phone struct {
	pool     int
	name     string
	id       dn.DeviceID
	bindings map[string]*Binding // by Number
	sink     *phoneDevice
}

type registrar struct {
	s      *Server
	mu     sync.Mutex      // guards phones and legs; never held while calling the Switch (doc.go, "Lock order")
	phones map[int]*phone  // by pool tag
	legs   map[string]*leg // call legs by SIP Call-ID
}

func newRegistrar(s *Server) *registrar {
	return &registrar{s: s, phones: map[int]*phone{}, legs: map[string]*leg{}}
}

// poolFor finds the pool that carries number: the lowest pool tag with a
// `number N dn T` whose voice register dn has that number (presence needs
// the dn form, docs/cme-cli.md §Voice-register).
func poolFor(cfg *config.Config, number string) *config.VoiceRegisterPool {
	for i := range cfg.VoiceRegisterPools {
		p := &cfg.VoiceRegisterPools[i]
		for _, n := range p.Numbers {
			if d := cfg.VoiceRegisterDNByTag(n.DN); d != nil && d.Number == number {
				return p
			}
		}
	}
	return nil
}

// deviceName is dn's name for a pool: SEP<MAC> with `id mac`, else POOLn.
func deviceName(p *config.VoiceRegisterPool) string {
	if p.MAC != "" {
		return dn.DeviceName(p.MAC)
	}
	return "POOL" + strconv.Itoa(p.Tag)
}

func registrarLimits(cfg *config.Config) (lo, hi int) {
	lo, hi = defaultRegisterMin, defaultRegisterMax
	if v := cfg.VoiceService; v != nil {
		if v.RegistrarExpiresMin > 0 {
			lo = v.RegistrarExpiresMin
		}
		if v.RegistrarExpiresMax > 0 {
			hi = v.RegistrarExpiresMax
		}
	}
	return lo, max(lo, hi)
}

// onRegister handles REGISTER (RFC 3261 §10.3): digest with the pool's
// username/password under `authenticate register`, Expires clamping,
// refresh, unregister (Expires 0, or Contact: * with Expires 0).
func (r *registrar) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	s := r.s
	cfg := s.cfg()
	to := req.To()
	if to == nil || req.CallID() == nil || req.CSeq() == nil {
		r.refused("bad-request")
		s.respond(tx, sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	number := to.Address.User
	pool := poolFor(cfg, number)
	if pool == nil {
		// Under `authenticate register` an unknown number is challenged
		// like a known one and gets 404 only from a caller holding some
		// pool's credentials, so a REGISTER scan (svwar) sees the same
		// 401 for every number.
		if authenticateRegister(cfg) {
			if _, ok := s.authenticate(req, tx, anyPoolLookup(cfg)); !ok {
				return
			}
		}
		r.refused("not-found")
		s.respond(tx, sip.NewResponseFromRequest(req, 404, "Not Found", nil))
		return
	}
	if authenticateRegister(cfg) {
		if _, ok := s.authenticate(req, tx, poolLookup(pool)); !ok {
			return
		}
	}

	lo, hi := registrarLimits(cfg)
	expires := defaultRegisterMax
	if v, ok := headerInt(req, "Expires"); ok {
		expires = v
	}
	contact := req.Contact()
	if contact != nil {
		if v, ok := contact.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				expires = n
			}
		}
	}
	now := time.Now()
	if contact == nil {
		// A query (RFC 3261 §10.3 step 8): answer with the bindings.
		r.reply(req, tx, pool.Tag, number, 0)
		return
	}
	if contact.Address.Wildcard || expires == 0 {
		if contact.Address.Wildcard && expires != 0 {
			r.refused("bad-request")
			s.respond(tx, sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
			return
		}
		r.remove(pool.Tag, number)
		r.reply(req, tx, pool.Tag, number, 0)
		return
	}
	if expires < lo {
		res := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
		res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(lo)))
		r.refused("interval-too-brief")
		s.respond(tx, res)
		return
	}
	expires = min(expires, hi)
	b := &Binding{
		Pool: pool.Tag, Device: deviceName(pool), Number: number, Contact: contact.Address.String(),
		Source: req.Source(), Transport: req.Transport(), CallID: req.CallID().Value(), CSeq: req.CSeq().SeqNo,
		Registered: now, Expires: now.Add(time.Duration(expires) * time.Second),
	}
	if ua := req.GetHeader("User-Agent"); ua != nil {
		b.UserAgent = ua.Value()
	}
	if err := r.add(pool, b); err != nil {
		s.log.Warn("sip: registration refused by the line core", "pool", pool.Tag, "number", number, "err", err)
		r.refused("refused")
		s.respond(tx, sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
		return
	}
	r.reply(req, tx, pool.Tag, number, expires)
}

// refused counts a REGISTER answered with a final error (not a 401
// challenge, which AuthFailure counts when credentials were wrong).
func (r *registrar) refused(reason string) {
	if m := r.s.opts.Metrics; m != nil {
		m.RegistrationRefused(reason)
	}
}

func (r *registrar) reply(req *sip.Request, tx sip.ServerTransaction, pool int, number string, expires int) {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	r.mu.Lock()
	if p := r.phones[pool]; p != nil {
		if b := p.bindings[number]; b != nil {
			var c sip.ContactHeader
			if err := sip.ParseUri(b.Contact, &c.Address); err == nil {
				c.Params = sip.HeaderParams{}
				c.Params.Add("expires", strconv.Itoa(max(0, int(time.Until(b.Expires).Round(time.Second)/time.Second))))
				res.AppendHeader(&c)
			}
		}
	}
	r.mu.Unlock()
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	res.AppendHeader(sip.NewHeader("Allow-Events", subs.AllowEvents))
	res.AppendHeader(sip.NewHeader("Date", time.Now().UTC().Format(time.RFC1123)))
	r.s.respond(tx, res)
}

// add stores a binding and registers the pool with the line core on its
// first binding. RegisterDevice runs outside r.mu: the core calls the
// device back on its own goroutine.
func (r *registrar) add(pool *config.VoiceRegisterPool, b *Binding) error {
	r.mu.Lock()
	p := r.phones[pool.Tag]
	moved := ""
	if p != nil && p.name == b.Device {
		for _, old := range p.bindings {
			if hostOf(old.Source) != hostOf(b.Source) {
				moved = old.Source
			} else if old.MovedFrom != "" {
				b.MovedFrom, b.MovedAt = old.MovedFrom, old.MovedAt
			}
		}
		if moved == "" {
			if old := p.bindings[b.Number]; old != nil {
				b.Registered = old.Registered
			}
			p.bindings[b.Number] = b
			r.mu.Unlock()
			return nil
		}
	}
	r.mu.Unlock()
	if moved != "" {
		// A REGISTER moved a live pool to another address: legitimate
		// for a phone that got a new address, the mark of a hijack
		// otherwise. Logged, kept on the binding for `show voice
		// register pool`, and the device is registered anew so the
		// line core sees the new address (docs/security.md §Digest).
		b.MovedFrom, b.MovedAt = moved, b.Registered
		r.s.log.Warn("sip: REGISTER moved a pool's contact to a new address", "pool", pool.Tag,
			"number", b.Number, "from", moved, "to", b.Source, "contact", b.Contact)
	}
	if p != nil { // the pool's MAC or address changed under a live registration
		r.drop(pool.Tag)
	}
	sink := newPhoneDevice(r, pool.Tag)
	extra := map[string]string{"contact": b.Contact, "transport": b.Transport, "user-agent": b.UserAgent}
	if b.MovedFrom != "" {
		extra["moved-from"] = b.MovedFrom + " at " + b.MovedAt.UTC().Format(time.RFC3339)
	}
	info := dn.DeviceInfo{Name: b.Device, Protocol: dn.SIP, Model: pool.Type, Addr: b.Source, Extra: extra}
	id, err := r.s.opts.Switch.RegisterDevice(info, sink)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if cur := r.phones[pool.Tag]; cur != nil {
		// A concurrent REGISTER won the race: keep its device, add ours.
		cur.bindings[b.Number] = b
		r.mu.Unlock()
		_ = r.s.opts.Switch.UnregisterDevice(id)
		return nil
	}
	r.phones[pool.Tag] = &phone{pool: pool.Tag, name: b.Device, id: id, sink: sink, bindings: map[string]*Binding{b.Number: b}}
	r.mu.Unlock()
	if m := r.s.opts.Metrics; m != nil {
		m.Registration(true)
	}
	r.s.log.Info("sip: pool registered", "pool", pool.Tag, "device", b.Device, "contact", b.Contact)
	return nil
}

// remove drops one binding; the last one unregisters the phone.
func (r *registrar) remove(pool int, number string) {
	r.mu.Lock()
	p := r.phones[pool]
	if p == nil {
		r.mu.Unlock()
		return
	}
	delete(p.bindings, number)
	last := len(p.bindings) == 0
	r.mu.Unlock()
	if last {
		r.drop(pool)
	}
}

func (r *registrar) drop(pool int) {
	r.mu.Lock()
	p := r.phones[pool]
	delete(r.phones, pool)
	r.mu.Unlock()
	if p == nil {
		return
	}
	if err := r.s.opts.Switch.UnregisterDevice(p.id); err != nil {
		r.s.log.Debug("sip: unregister", "pool", pool, "err", err)
	}
	if m := r.s.opts.Metrics; m != nil {
		m.Registration(false)
	}
	r.s.log.Info("sip: pool unregistered", "pool", pool, "device", p.name)
}

// tick expires bindings whose time is up.
func (r *registrar) tick(now time.Time) {
	type gone struct {
		pool   int
		number string
	}
	var expired []gone
	r.mu.Lock()
	for tag, p := range r.phones {
		for n, b := range p.bindings {
			if !now.Before(b.Expires) {
				expired = append(expired, gone{tag, n})
			}
		}
	}
	r.mu.Unlock()
	for _, g := range expired {
		r.remove(g.pool, g.number)
	}
}

// apply drops registrations of pools removed from (or renamed in) cfg.
func (r *registrar) apply(cfg *config.Config) {
	var stale []int
	r.mu.Lock()
	for tag, p := range r.phones {
		i := slices.IndexFunc(cfg.VoiceRegisterPools, func(x config.VoiceRegisterPool) bool { return x.Tag == tag })
		if i < 0 || deviceName(&cfg.VoiceRegisterPools[i]) != p.name {
			stale = append(stale, tag)
		}
	}
	r.mu.Unlock()
	for _, tag := range stale {
		r.drop(tag)
	}
}

func (r *registrar) unregisterAll() {
	r.mu.Lock()
	tags := make([]int, 0, len(r.phones))
	for t := range r.phones {
		tags = append(tags, t)
	}
	r.mu.Unlock()
	for _, t := range tags {
		r.drop(t)
	}
}

// Bindings lists every registered contact, by pool then number.
func (s *Server) Bindings() []Binding {
	r := s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Binding
	for _, p := range r.phones {
		for _, b := range p.bindings {
			out = append(out, *b)
		}
	}
	slices.SortFunc(out, func(a, b Binding) int { return cmp.Or(cmp.Compare(a.Pool, b.Pool), cmp.Compare(a.Number, b.Number)) })
	return out
}

// localWatcher finds the registered phone a request comes from: its
// source or Contact host:port matches a binding (subscriptions from local
// phones are authorised by their registration, docs/cme-behaviour.md §Presence-rules rule 3).
func (r *registrar) localWatcher(req *sip.Request) (*Binding, bool) {
	src := req.Source()
	var contactHP string
	if c := req.Contact(); c != nil {
		contactHP = c.Address.HostPort()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.phones {
		for _, b := range p.bindings {
			if b.Source == src {
				cp := *b
				return &cp, true
			}
			var u sip.Uri
			if contactHP != "" && sip.ParseUri(b.Contact, &u) == nil && u.HostPort() == contactHP {
				cp := *b
				return &cp, true
			}
		}
	}
	return nil, false
}

// phoneDevice is the dn.Device of a registered SIP pool: it hands the
// core's effects to the call legs (calls.go) without blocking.
type phoneDevice struct {
	r    *registrar
	pool int

	mu   sync.Mutex // guards dnd and legs; taken before a leg's mu, never held while calling out
	dnd  bool
	legs map[dn.CallID]*leg
}

func newPhoneDevice(r *registrar, pool int) *phoneDevice {
	return &phoneDevice{r: r, pool: pool, legs: map[dn.CallID]*leg{}}
}

func (d *phoneDevice) Ring(line int, info dn.CallInfo) {
	l := newLeg(d, line)
	l.id = info.ID
	d.mu.Lock()
	if d.legs[info.ID] != nil {
		d.mu.Unlock()
		return
	}
	d.legs[info.ID] = l
	d.mu.Unlock()
	go func() {
		if ph := d.r.phone(d.pool); ph != nil {
			d.r.s.ring(ph, l, info)
		} else {
			d.forget(l)
		}
	}()
}

func (d *phoneDevice) StopRing(line int, id dn.CallID) {
	d.dispatch(line, id, legEvent{kind: evStopRing})
}

func (d *phoneDevice) CallState(line int, id dn.CallID, st dn.LineState) {
	switch st {
	case dn.LineDialing:
		d.dispatch(line, id, legEvent{kind: evDialing})
	case dn.LineRingback:
		d.dispatch(line, id, legEvent{kind: evRingback})
	case dn.LineConnected:
		d.dispatch(line, id, legEvent{kind: evConnected})
	}
}

func (d *phoneDevice) CallInfo(line int, info dn.CallInfo) {}

// Tone: a SIP phone plays its own tones; a failed call gets its final
// response from CallFailed instead.
func (d *phoneDevice) Tone(line int, id dn.CallID, t dn.Tone) {}

// CallFailed implements dn.FailureReporter: a call the phone placed
// failed (busy or refused callee, unassigned number, ...).
func (d *phoneDevice) CallFailed(line int, id dn.CallID, c dn.Cause) {
	d.dispatch(line, id, legEvent{kind: evFailed, cause: c})
}

func (d *phoneDevice) Released(line int, id dn.CallID, c dn.Cause) {
	d.dispatch(line, id, legEvent{kind: evReleased, cause: c})
}

func (d *phoneDevice) DND(on bool) {
	d.mu.Lock()
	d.dnd = on
	d.mu.Unlock()
}

func (d *phoneDevice) Reset() {}

func (d *phoneDevice) OpenMedia(line int, id dn.CallID, p dn.MediaParams) {
	d.dispatch(line, id, legEvent{kind: evOpen})
}

func (d *phoneDevice) StartMedia(line int, id dn.CallID, remote netip.AddrPort, p dn.MediaParams) {
	d.dispatch(line, id, legEvent{kind: evStart, remote: remote})
}

func (d *phoneDevice) StopMedia(line int, id dn.CallID)    {}
func (d *phoneDevice) CallForward(line int, number string) {}

// forget drops a finished leg.
func (d *phoneDevice) forget(l *leg) {
	d.mu.Lock()
	if d.legs[l.id] == l {
		delete(d.legs, l.id)
	}
	d.mu.Unlock()
	d.r.unindexLeg(l)
}

var _ dn.FailureReporter = (*phoneDevice)(nil)

func (d *phoneDevice) String() string { return fmt.Sprintf("sip pool %d", d.pool) }

func (b Binding) String() string { return b.Number + " " + b.Contact }

// hostOf is the host of "host:port" (IPv6 in brackets too).
func hostOf(hp string) string {
	if h, _, err := net.SplitHostPort(hp); err == nil {
		return h
	}
	return hp
}

// phone returns the registered pool, or nil.
func (r *registrar) phone(pool int) *phone {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phones[pool]
}

// bindingForLine is the binding of the DN on a pool line.
func (r *registrar) bindingForLine(pool, line int) *Binding {
	cfg := r.s.cfg()
	var number string
	for _, p := range cfg.VoiceRegisterPools {
		if p.Tag != pool {
			continue
		}
		for _, n := range p.Numbers {
			if n.Tag == line {
				if d := cfg.VoiceRegisterDNByTag(n.DN); d != nil {
					number = d.Number
				}
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.phones[pool]
	if p == nil {
		return nil
	}
	if b := p.bindings[number]; b != nil {
		cp := *b
		return &cp
	}
	for _, b := range p.bindings { // a phone registered with one AoR only
		cp := *b
		return &cp
	}
	return nil
}

func (r *registrar) indexLeg(l *leg, callID string) {
	r.mu.Lock()
	r.legs[callID] = l
	l.callID = callID
	r.mu.Unlock()
}

func (r *registrar) unindexLeg(l *leg) {
	r.mu.Lock()
	if l.callID != "" && r.legs[l.callID] == l {
		delete(r.legs, l.callID)
	}
	r.mu.Unlock()
}

// legByCallID finds a phone's call leg by the SIP Call-ID.
func (r *registrar) legByCallID(callID string) (*leg, *phone) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.legs[callID]
	if l == nil {
		return nil, nil
	}
	return l, r.phones[l.dev.pool]
}
