package daemon

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"

	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/phonecfg"
	"github.com/cmed-project/cmed/pkg/tftp"
)

// phoneFiles holds the generated configuration files (`create cnf-files`,
// `create profile`), rebuilt from every new running config and swapped
// atomically so that a transfer in progress keeps the bytes it started with.
type phoneFiles struct {
	files atomic.Pointer[phonecfg.Files]
	// address replaces 0.0.0.0 in the files (phones cannot use it).
	address string
	// sccpPort is the port phones must use, for when the listener was
	// moved (tests bind port 0).
	sccpPort int
}

func (p *phoneFiles) regenerate(cfg *config.Config) error {
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
	p.files.Store(f)
	return nil
}

func (p *phoneFiles) lookup(name string) ([]byte, bool) {
	f := p.files.Load()
	if f == nil {
		return nil, false
	}
	return f.Lookup(name)
}

func (d *Daemon) startTFTP(ctx context.Context, cfg *config.Config) error {
	s := cfg.Services
	if !s.TFTP.Enabled {
		return nil
	}
	addr := d.listenerAddr(s.TFTP, 69)
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
	// is what a non-secure phone expects (sccp.md §9.1): never a timeout.
	handlers := []tftp.Handler{tftp.LookupHandler(d.phoneFiles.lookup)}
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
	}
	d.goServe("tftp", func() error { return srv.Serve(ctx, pc) })
	return nil
}
