package daemon

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/media"
	"github.com/cmed-project/cmed/pkg/media/moh"
	"github.com/cmed-project/cmed/pkg/media/tone"
	"github.com/cmed-project/cmed/pkg/store"
)

// mediaAdapter implements dn.MediaServer on pkg/media. media is a leaf and
// cannot name dn's types, so this small translation lives in the wiring
// (docs/architecture.md §Import-rules).
type mediaAdapter struct{ srv *media.Server }

func codecOf(p dn.MediaParams) media.Codec {
	if p.Codec == dn.PCMA {
		return media.PCMA
	}
	return media.PCMU
}

func (m mediaAdapter) StartMOH(dest netip.AddrPort, p dn.MediaParams) (dn.MediaHandle, error) {
	s, err := m.srv.AttachMOH(dest, codecOf(p))
	if err != nil {
		return nil, err
	}
	return stopper{s}, nil
}

func (m mediaAdapter) StartEcho(p dn.MediaParams) (netip.AddrPort, dn.MediaHandle, error) {
	local, s, err := m.srv.AttachEcho(codecOf(p))
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	return local, stopper{s}, nil
}

func (m mediaAdapter) StartTone(dest netip.AddrPort, p dn.MediaParams, t dn.Tone) (dn.MediaHandle, error) {
	var tt tone.Tone
	switch t {
	case dn.ToneBusy:
		tt = tone.Busy
	case dn.ToneRingback:
		tt = tone.Ringback
	case dn.ToneDial:
		tt = tone.Dial
	default:
		tt = tone.Reorder
	}
	s, err := m.srv.AttachTone(dest, codecOf(p), tt)
	if err != nil {
		return nil, err
	}
	return stopper{s}, nil
}

// StartMixer implements dn.ConferenceMixer: the software bridge serves
// ad hoc conferences, `conference hardware` included (docs/cme-behaviour.md §Conference).
func (m mediaAdapter) StartMixer(p dn.MediaParams, n int) (dn.Mixer, error) {
	codecs := make([]media.Codec, n)
	for i := range codecs {
		codecs[i] = codecOf(p)
	}
	ms, err := m.srv.AttachMixer(codecs)
	if err != nil {
		return nil, err
	}
	return mixer{ms}, nil
}

// mixer adapts a media.MixerSession to dn.Mixer; Stop closes off the switch
// goroutine, as stopper does.
type mixer struct{ *media.MixerSession }

func (m mixer) Stop() { go m.MixerSession.Close() }

// stopper closes a media session off the switch goroutine: Close waits for
// the sender goroutine, and the core must never wait.
type stopper struct{ s media.Session }

func (s stopper) Stop() { go s.s.Close() }

// mediaAddress is the address RTP is sent from and phones send to: the
// SCCP source address when it is a real one, else the primary address.
func (d *Daemon) mediaAddress(cfg *config.Config) netip.Addr {
	if d.opts.LoopbackListeners {
		return netip.MustParseAddr("127.0.0.1")
	}
	if cfg.Telephony != nil {
		if a, err := netip.ParseAddr(cfg.Telephony.SourceAddress); err == nil && !a.IsUnspecified() {
			return a
		}
	}
	a, err := netip.ParseAddr(primaryAddress())
	if err != nil {
		return netip.MustParseAddr("127.0.0.1")
	}
	return a
}

// mohFile is the `moh FILE` line of telephony-service (CME's music-on-hold
// file), resolved against the TFTP directory as CME resolves flash:.
func mohFile(cfg *config.Config) string {
	if cfg.Telephony == nil {
		return ""
	}
	for _, line := range cfg.Telephony.Extra {
		if f, ok := strings.CutPrefix(line, "moh "); ok {
			f = strings.TrimPrefix(strings.TrimSpace(f), "flash:")
			if !filepath.IsAbs(f) && cfg.Services.TFTPRoot != "" {
				f = filepath.Join(cfg.Services.TFTPRoot, f)
			}
			return f
		}
	}
	return ""
}

func (d *Daemon) startMedia(ctx context.Context, cfg *config.Config) (dn.MediaServer, error) {
	ports, err := media.NewPortAllocator(d.mediaAddress(cfg), 0, 0)
	if err != nil {
		return nil, err
	}
	var clip *moh.Clip
	if f := mohFile(cfg); f != "" {
		if clip, err = moh.Load(f); err != nil {
			// A bad music file must not keep phones from working.
			d.log.Error("music on hold file not usable; using the built-in music", "file", f, "err", err)
			clip = nil
		} else {
			d.log.Info("music on hold loaded", "file", f)
		}
	}
	srv, err := media.NewServer(ctx, media.Config{Ports: ports, MOH: clip, Logger: d.log.With("service", "media")})
	if err != nil {
		return nil, err
	}
	d.media = srv
	context.AfterFunc(ctx, func() { srv.Close() })
	return mediaAdapter{srv}, nil
}

// historyWriter persists call records off the switch goroutine: the core
// hands records over without blocking, and a writer batches them into one
// bbolt transaction each. A full queue drops records with a log line rather
// than stalling calls.
type historyWriter struct {
	d  *Daemon
	ch chan dn.CallRecord
}

func (h *historyWriter) CallRecord(r dn.CallRecord) {
	select {
	case h.ch <- r:
	default:
		h.d.log.Warn("call history queue full; record dropped", "phone", r.Phone, "kind", string(r.Kind))
	}
}

func (h *historyWriter) run(ctx context.Context) {
	defer h.d.wg.Done()
	batch := make([]store.CallRecord, 0, 64)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := h.d.store.AppendCallRecords(batch...); err != nil {
			h.d.log.Error("saving call history", "err", err, "records", len(batch))
		}
		batch = batch[:0]
	}
	add := func(r dn.CallRecord) {
		batch = append(batch, store.CallRecord{
			Phone: r.Phone, Kind: store.CallKind(r.Kind), Number: r.Number, Name: r.Name,
			Line: r.Line, Start: r.Start, Duration: r.Duration,
		})
	}
	for {
		select {
		case r := <-h.ch:
			add(r)
			// Take whatever else is queued into the same transaction.
			for more := true; more && len(batch) < cap(batch); {
				select {
				case r := <-h.ch:
					add(r)
				default:
					more = false
				}
			}
			flush()
		case <-ctx.Done():
			for {
				select {
				case r := <-h.ch:
					add(r)
				default:
					flush()
					return
				}
			}
		}
	}
}
