package daemon

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/metrics"
	"github.com/cmed-project/cmed/pkg/phonecfg"
	"github.com/cmed-project/cmed/pkg/tftp"
)

// phoneFiles holds the generated configuration files (`create cnf-files`,
// `create profile`). After startup they are rebuilt by one background
// goroutine (run), never on the path of a config change: schedule only
// hands it the newest config, so a burst of CLI lines costs at most one
// rebuild in flight and one after it, and a change that touches no input
// of the files (phonecfg.SameInputs) costs none. The set is swapped
// atomically, so a transfer in progress keeps the bytes it started with.
type phoneFiles struct {
	files atomic.Pointer[phonecfg.Files]
	// address replaces 0.0.0.0 in the files (phones cannot use it).
	// sccpPort, when not 0, is the port of the SCCP listener, written
	// into the files because it differs from the config's (port 0, or
	// Options.LoopbackListeners). Both are set before the first generate
	// and only read afterwards.
	address  string
	sccpPort int
	log      *slog.Logger

	kick chan struct{} // cap 1: a config waits in next

	mu      sync.Mutex     // guards next, built, pending and settled
	next    *config.Config // newest config not yet looked at by run
	built   *config.Config // the config the current files were built from
	pending int            // schedule calls run has not finished
	settled *sync.Cond     // signalled when pending drops to 0 (tests)
	rebuilt int            // how many times run rebuilt the files (tests)
}

func (p *phoneFiles) init(log *slog.Logger) {
	p.log = log
	p.kick = make(chan struct{}, 1)
	p.settled = sync.NewCond(&p.mu)
}

// generate builds the files for cfg now (startup).
func (p *phoneFiles) generate(cfg *config.Config) error {
	if err := p.build(cfg); err != nil {
		return err
	}
	p.mu.Lock()
	p.built = cfg
	p.mu.Unlock()
	return nil
}

func (p *phoneFiles) build(cfg *config.Config) error {
	if p.sccpPort != 0 && cfg.Telephony != nil {
		c := cfg.Clone()
		c.Telephony.Port = p.sccpPort
		if c.Telephony.SourceAddress == "" || c.Telephony.SourceAddress == "0.0.0.0" || p.address == "127.0.0.1" {
			c.Telephony.SourceAddress = p.address
		}
		cfg = c
	}
	f, err := phonecfg.Generate(cfg, phonecfg.Options{Address: p.address})
	if err != nil {
		return err
	}
	if names := f.SIPPasswordFiles(); len(names) > 0 && p.log != nil {
		// The phones need them there, but TFTP has no access control:
		// say so at every load that serves them (docs/security.md
		// §Phone-files).
		p.log.Warn("phone files carry SIP passwords in clear text; anyone who reaches the TFTP server can read them",
			"files", names)
	}
	p.files.Store(f)
	return nil
}

// schedule asks run to bring the files up to cfg; it never blocks.
func (p *phoneFiles) schedule(cfg *config.Config) {
	p.mu.Lock()
	p.next = cfg
	p.pending++
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default: // run has not taken the previous kick yet; it will see next
	}
}

// run rebuilds the files from the newest scheduled config until ctx ends.
func (p *phoneFiles) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		}
		p.mu.Lock()
		cfg, built, n := p.next, p.built, p.pending
		p.next = nil
		p.mu.Unlock()
		rebuilt := false
		if cfg != nil && !phonecfg.SameInputs(cfg, built) {
			if err := p.build(cfg); err != nil {
				// The config was validated; a failure here is a
				// generator bug. Phones keep the previous files.
				p.log.Error("regenerating phone files", "err", err)
			} else {
				rebuilt = true
			}
		}
		p.mu.Lock()
		if rebuilt {
			p.built = cfg
			p.rebuilt++
		}
		p.pending -= n
		if p.pending == 0 {
			p.settled.Broadcast()
		}
		p.mu.Unlock()
	}
}

func (p *phoneFiles) lookup(name string) ([]byte, bool) {
	f := p.files.Load()
	if f == nil {
		return nil, false
	}
	return f.Lookup(name)
}

// tftpMetrics maps TFTP outcomes onto the Prometheus counters.
type tftpMetrics struct{ m *metrics.Metrics }

func (t tftpMetrics) Transferred()                { t.m.TFTPTransfer() }
func (t tftpMetrics) TransferError(reason string) { t.m.TFTPError(reason) }

func (d *Daemon) startTFTP(ctx context.Context, cfg *config.Config) error {
	s := cfg.Services
	if !tftpWanted(cfg) {
		return nil
	}
	ln := s.TFTP
	if !ln.Enabled {
		// On CME the router's own TFTP server hands out what `create
		// cnf-files` builds; no other line is needed (docs/cme-behaviour.md
		// §TFTP). Without `tftp-server address` that is every address, 69.
		ln = config.Listener{Enabled: true, Address: "0.0.0.0", Port: 69}
	}
	addr := d.listenerAddr(ln, 69)
	pc, err := tftp.Listen(addr)
	if err != nil && tftp.IsPermission(err) {
		// A non-root user running the embedded default must still get a
		// working daemon (README "Listeners"): serve TFTP on the fallback
		// port and say, once, how to give phones port 69 back.
		host, _, _ := net.SplitHostPort(addr)
		alt := net.JoinHostPort(host, strconv.Itoa(tftp.FallbackPort))
		pc, err = tftp.Listen(alt)
		if err != nil {
			d.log.Warn("tftp: no permission to bind "+addr+" and the fallback "+alt+" failed too; "+
				"TFTP is off, everything else runs. Phones need UDP 69: run as root, or "+
				"`setcap cap_net_bind_service=+ep cmed`, or `sysctl net.ipv4.ip_unprivileged_port_start=69`",
				"err", err)
			return nil
		}
		d.log.Warn("tftp: no permission to bind "+addr+"; serving TFTP on "+alt+" instead. "+
			"Phones fetch from UDP 69: run as root, or `setcap cap_net_bind_service=+ep cmed`, or "+
			"`sysctl net.ipv4.ip_unprivileged_port_start=69`, or redirect UDP 69 to "+strconv.Itoa(tftp.FallbackPort),
			"service", "tftp")
	}
	if err != nil {
		return err
	}
	d.addListener("tftp", "udp", pc.LocalAddr())
	// Generated files first, then the firmware directory. Probes for
	// CTL/ITL trust lists fall through to a quick file-not-found, which
	// is what a non-secure phone expects (docs/sccp.md §Boot-order): never a timeout.
	handlers := []tftp.Handler{tftp.LookupHandler(d.phoneFiles.lookup), d.flashFiles()}
	if s.TFTPRoot != "" {
		dh, err := tftp.NewDirHandler(s.TFTPRoot)
		if err != nil {
			pc.Close()
			return err
		}
		handlers = append(handlers, dh)
		context.AfterFunc(ctx, func() { dh.Close() })
	}
	srv := &tftp.Server{
		Handler:      tftp.Chain(handlers...),
		Logger:       d.log.With("service", "tftp"),
		MaxPerSource: s.Limits.TFTPTransfersPerSource,
		MaxTransfers: s.Limits.TFTPTransfers,
		Metrics:      tftpMetrics{d.metrics},
	}
	d.goServe("tftp", func() error { return srv.Serve(ctx, pc) })
	return nil
}

// tftpWanted: CME serves TFTP whenever it builds phone files (`create
// cnf-files`, `create profile`) or publishes flash files (`tftp-server
// flash:FILE`); `tftp-server address` only chooses where.
func tftpWanted(cfg *config.Config) bool {
	return cfg.Services.TFTP.Enabled ||
		len(cfg.Services.TFTPFiles) > 0 ||
		(cfg.Telephony != nil && cfg.Telephony.CreateCnfFiles) ||
		(cfg.VoiceRegisterGlobal != nil && cfg.VoiceRegisterGlobal.CreateProfile)
}

// flashFiles serves `tftp-server flash:FILE` lines: FILE from the state
// directory, which stands in for the router's flash (docs/peering.md), and
// only while the running config still publishes it, as on IOS.
func (d *Daemon) flashFiles() tftp.Handler {
	return tftp.HandlerFunc(func(_ context.Context, name string, _ netip.AddrPort) (io.ReaderAt, int64, error) {
		clean, err := tftp.CleanName(name)
		if err != nil {
			return nil, 0, err
		}
		cfg := d.Running()
		if cfg == nil || d.opts.StateDir == "" {
			return nil, 0, tftp.ErrNotFound
		}
		file, ok := publishedFlashFile(cfg.Services, clean)
		if !ok {
			return nil, 0, tftp.ErrNotFound
		}
		b, err := os.ReadFile(filepath.Join(d.opts.StateDir, file))
		if err != nil {
			d.log.Warn("tftp: published flash file is missing", "file", "flash:"+clean, "err", err)
			return nil, 0, tftp.ErrNotFound
		}
		return bytes.NewReader(b), int64(len(b)), nil
	})
}

// publishedFlashFile maps the name a phone asks for to the flash file a
// `tftp-server flash:FILE [alias NAME]` line publishes: a file with an
// alias is served under the alias only, as IOS does.
func publishedFlashFile(s config.Services, name string) (string, bool) {
	for _, f := range s.TFTPFiles {
		served := f
		for _, a := range s.TFTPAliases {
			if a.File == f {
				served = a.Alias
			}
		}
		if served == name {
			return f, true
		}
	}
	return "", false
}
