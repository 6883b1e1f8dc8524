package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/ctlsock"
	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/media"
	"github.com/cmed-project/cmed/pkg/metrics"
	"github.com/cmed-project/cmed/pkg/sccp"
	"github.com/cmed-project/cmed/pkg/sip"
	"github.com/cmed-project/cmed/pkg/store"
)

// Options say where state lives and which startup-config to use.
type Options struct {
	// StateDir holds the database and the control socket.
	StateDir string
	// DBPath overrides StateDir/cmed.db.
	DBPath string
	// SocketPath overrides StateDir/cli.sock. "-" disables the socket.
	SocketPath string
	// ConfigFile, when set, is the startup-config for this run (validated
	// first; `write memory` then saves the running config to the DB).
	ConfigFile string
	// ConfigText is like ConfigFile but given inline; tests use it.
	ConfigText []byte
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// LoopbackListeners binds every network listener the config names on
	// 127.0.0.1 port 0 instead, so tests can boot any config (even the
	// embedded default) without touching real ports.
	LoopbackListeners bool
	// Version is printed by `show version`.
	Version string
}

// Daemon is a running cmed.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	store   *store.Store
	started time.Time

	// running is the config in force: the core accepted it and every
	// adapter has been (or is being) handed it. Configure alone stores it.
	running atomic.Pointer[config.Config]
	// configMu orders config changes end to end (edit, core, running,
	// adapters; see Configure). It guards no field - running is atomic so
	// readers never wait - and nothing the components run takes it, so
	// holding it while they Apply cannot deadlock.
	configMu sync.Mutex
	// startupSource says where the running config came from, for logs and
	// `show startup-config` when nothing was saved yet.
	startupSource string

	mu        sync.Mutex // guards listeners and down; a leaf: nothing is called under it
	listeners map[string]net.Addr
	down      map[string]error // services whose serve loop failed (docs/security.md §Health)

	phoneFiles phoneFiles
	cli        *cliState

	sw        *dn.Switch
	blf       *blf.Engine
	observers observers
	upstream  upstream
	media     *media.Server
	metrics   *metrics.Metrics
	debug     *metrics.Debug
	history   *historyWriter
	sccp      *sccp.Server
	sip       *sip.Server
	trunk     sip.TrunkForwarder
	// sipLive is sip for goroutines that start before startSIP sets it
	// (the lamp board and /healthz handlers); nil until then.
	sipLive atomic.Pointer[sip.Server]

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
	done   chan struct{}
	once   sync.Once
}

// Start opens the store and every listener, then serves in the background
// until ctx is cancelled or Stop is called. Any error opening a listener the
// config asks for fails Start: a router that silently lacks a port is worse
// than one that refuses to boot with a clear message.
func Start(ctx context.Context, opts Options) (*Daemon, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.StateDir == "" && (opts.DBPath == "" || opts.SocketPath == "") {
		dir, err := StateDir()
		if err != nil {
			return nil, err
		}
		opts.StateDir = dir
	}
	if opts.DBPath == "" {
		opts.DBPath = DBPath(opts.StateDir)
	}
	if opts.SocketPath == "" {
		opts.SocketPath = SocketPath(opts.StateDir)
	}
	if opts.StateDir != "" {
		if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
			return nil, fmt.Errorf("cannot create state directory %s: %w", opts.StateDir, err)
		}
	}

	// Validate an explicit startup-config before touching the DB, so a bad
	// file can never reach the store.
	var explicit *config.Config
	switch {
	case opts.ConfigText != nil:
		c, err := parseAndValidate("config", opts.ConfigText)
		if err != nil {
			return nil, err
		}
		explicit = c
	case opts.ConfigFile != "":
		text, err := os.ReadFile(opts.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read startup-config: %w", err)
		}
		c, err := parseAndValidate(opts.ConfigFile, text)
		if err != nil {
			return nil, err
		}
		explicit = c
	}

	st, err := store.Open(opts.DBPath, store.Options{})
	if err != nil {
		return nil, err
	}
	debug := metrics.NewDebug()
	log = slog.New(debug.Handler(log.Handler()))
	d := &Daemon{
		opts:      opts,
		log:       log,
		debug:     debug,
		store:     st,
		started:   time.Now(),
		listeners: map[string]net.Addr{},
		errs:      make(chan error, 16),
		done:      make(chan struct{}),
	}
	d.cli = newCLIState(d)
	d.phoneFiles.init(log.With("service", "tftp"))
	log.Info("database open", "path", opts.DBPath)

	cfg, err := d.loadStartup(explicit)
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := d.checkCredentials(cfg); err != nil {
		st.Close()
		return nil, err
	}
	d.running.Store(cfg)

	ctx, d.cancel = context.WithCancel(ctx)
	if err := d.startServices(ctx); err != nil {
		d.cancel()
		d.wg.Wait()
		st.Close()
		return nil, err
	}
	go func() {
		<-ctx.Done()
		d.wg.Wait()
		if err := d.store.Close(); err != nil {
			d.log.Error("closing the database", "err", err)
		} else {
			d.log.Info("database closed", "path", opts.DBPath)
		}
		close(d.done)
	}()
	return d, nil
}

// loadStartup picks the startup-config: an explicit file, else the newest
// saved one, else (first boot) the embedded default, which is then saved so
// that the next boot comes back with the same config even after an upgrade
// changes the default.
func (d *Daemon) loadStartup(explicit *config.Config) (*config.Config, error) {
	c, err := d.readStartup(explicit)
	if err == nil {
		d.logKept(c)
	}
	return c, err
}

// logKept says, once at load, how much of a pasted router config cmed keeps
// without acting on it, and what it only warns about (docs/cme-cli.md
// §Unmodelled-lines): an administrator should know what does nothing here.
func (d *Daemon) logKept(c *config.Config) {
	if n := len(c.UnmodelledLines()); n > 0 {
		d.log.Info("startup-config: lines kept unmodelled (printed back, not acted on; see show cmed unmodelled)", "lines", n)
	}
	for _, w := range c.Warnings() {
		d.log.Warn("startup-config: " + w.Error())
	}
}

func (d *Daemon) readStartup(explicit *config.Config) (*config.Config, error) {
	if explicit != nil {
		d.startupSource = "file"
		if d.opts.ConfigFile != "" {
			d.startupSource = d.opts.ConfigFile
		}
		d.log.Info("startup-config loaded", "source", d.startupSource)
		return explicit, nil
	}
	saved, ok, err := d.store.StartupConfig()
	if err != nil {
		return nil, err
	}
	if ok {
		c, err := parseAndValidate("startup-config", []byte(saved.Text))
		if err != nil {
			// Never replace a saved config the operator may need: refuse
			// to boot and say how to recover.
			return nil, fmt.Errorf("the saved startup-config in %s does not load (%w); start with --config FILE to override it for this run, or move the database aside", d.store.Path(), err)
		}
		d.startupSource = "database"
		d.log.Info("startup-config loaded", "source", "database", "saved", saved.Saved.Format(time.RFC3339))
		return c, nil
	}
	c, err := parseAndValidate("default.cfg", configs.Default)
	if err != nil {
		return nil, fmt.Errorf("embedded default config is broken (a bug): %w", err)
	}
	if err := d.store.SaveStartupConfig(config.Render(c), time.Now()); err != nil {
		d.log.Error("could not save the default config as startup-config; running from memory", "err", err)
	}
	d.startupSource = "embedded default"
	d.log.Info("first boot: startup-config is the embedded default", "saved_to", d.store.Path())
	return c, nil
}

// parseAndValidate accepts a startup-config only if the core would accept
// it live too (dn.CheckConfig), so that a config that boots is a config
// Configure could have produced.
func parseAndValidate(name string, text []byte) (*config.Config, error) {
	c, err := config.Parse(name, text)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := dn.CheckConfig(c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// startServices opens each listener and starts its server.
func (d *Daemon) startServices(ctx context.Context) error {
	cfg := d.Running()
	if err := d.startCore(ctx, cfg); err != nil {
		return err
	}
	d.phoneFiles.address = primaryAddress()
	if d.opts.LoopbackListeners {
		d.phoneFiles.address = "127.0.0.1"
	}
	// SCCP first: the phone files must name the port its listener got
	// (phoneFiles.sccpPort), and TFTP serves them from its first request.
	if err := d.startSCCP(ctx, cfg); err != nil {
		return err
	}
	if err := d.phoneFiles.generate(cfg); err != nil {
		return fmt.Errorf("generating phone configuration files: %w", err)
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.phoneFiles.run(ctx)
	}()
	if err := d.startTFTP(ctx, cfg); err != nil {
		return err
	}
	if err := d.startHTTP(ctx, cfg); err != nil {
		return err
	}
	if err := d.startSIP(ctx, cfg); err != nil {
		return err
	}
	if err := d.startCLIListeners(ctx, cfg); err != nil {
		return err
	}
	// The control socket opens last, once everything it can reach exists.
	if d.opts.SocketPath != "-" {
		l, err := ctlsock.Listen(d.opts.SocketPath)
		if err != nil {
			return err
		}
		d.addListener("cli", "unix", l.Addr())
		srv := &ctlsock.Server{Handler: d.cliHandler(), Logger: d.log.With("service", "cli")}
		d.goServe("cli", func() error { return srv.Serve(ctx, l) })
	}
	return nil
}

func (d *Daemon) addListener(service, network string, a net.Addr) {
	d.mu.Lock()
	d.listeners[service] = a
	d.mu.Unlock()
	d.log.Info("listening", "service", service, "network", network, "addr", a.String())
}

// goServe runs one server; if it fails while the daemon runs, the daemon
// stops with that error.
func (d *Daemon) goServe(name string, serve func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := serve(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, context.Canceled) {
			d.log.Error("service failed", "service", name, "err", err)
			d.mu.Lock()
			if d.down == nil {
				d.down = map[string]error{}
			}
			d.down[name] = err
			d.mu.Unlock()
			d.metrics.ListenerEvent(name, "down")
			select {
			case d.errs <- fmt.Errorf("%s: %w", name, err):
			default:
			}
			d.cancel()
		}
	}()
}

// Addr is the address a service listens on ("cli", "sccp", "sip-udp",
// "sip-tcp", "tftp", "http", "ssh"), or nil.
func (d *Daemon) Addr(service string) net.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.listeners[service]
}

// Running is the current running-config snapshot. Never mutate it.
func (d *Daemon) Running() *config.Config { return d.running.Load() }

// Store is the open database.
func (d *Daemon) Store() *store.Store { return d.store }

// Stop shuts everything down and waits; it is idempotent.
func (d *Daemon) Stop() error {
	d.once.Do(func() { d.cancel() })
	<-d.done
	select {
	case err := <-d.errs:
		return err
	default:
		return nil
	}
}

// Wait blocks until the daemon has stopped (ctx cancelled or a service
// failed) and returns the failure, if any.
func (d *Daemon) Wait() error {
	<-d.done
	select {
	case err := <-d.errs:
		return err
	default:
		return nil
	}
}
