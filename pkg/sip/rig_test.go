package sip

import (
	"context"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/blf"
	"github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/dn"
	"github.com/cmed-project/cmed/pkg/dn/dntest"
	"github.com/cmed-project/cmed/pkg/netx/throttle"
)

// rig is one cmed core (dn.Switch + blf.Engine) with a SIP Server on
// loopback ports chosen by the kernel.
type rig struct {
	t     testing.TB
	cfg   atomic.Pointer[config.Config]
	sw    *dn.Switch
	eng   *blf.Engine
	media *dntest.Media // music on hold and echo streams the core started
	srv   *Server
	udp   net.PacketConn
	tcp   net.Listener
	stop  context.CancelFunc
	done  chan error
}

type fanout []dn.Observer

func (f fanout) LineChanged(ev dn.LineEvent) {
	for _, o := range f {
		o.LineChanged(ev)
	}
}
func (f fanout) DeviceChanged(ev dn.DeviceEvent) {
	for _, o := range f {
		o.DeviceChanged(ev)
	}
}

func parseConfig(t testing.TB, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.cfg", []byte(text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// upstreamProxy lets the engine be built before the server exists.
type upstreamProxy struct{ srv atomic.Pointer[Server] }

func (u *upstreamProxy) Watch(n string) {
	if s := u.srv.Load(); s != nil {
		s.Watch(n)
	}
}
func (u *upstreamProxy) Unwatch(n string) {
	if s := u.srv.Load(); s != nil {
		s.Unwatch(n)
	}
}

func newRig(t testing.TB, cfgText string, tweak func(*Options)) *rig {
	t.Helper()
	r := &rig{t: t, done: make(chan error, 1)}
	cfg := parseConfig(t, cfgText)
	r.cfg.Store(cfg)
	up := &upstreamProxy{}
	r.eng = blf.New(cfg, up)
	trunk := &TrunkForwarder{}
	r.media = &dntest.Media{}
	r.sw = dn.NewWithOptions(cfg, dn.Options{Observer: fanout{r.eng}, Trunk: trunk, Media: r.media})
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	swDone := make(chan struct{})
	go func() { _ = r.sw.Run(ctx); close(swDone) }()
	// A first command returns once Run has published its initial snapshot
	// to the engine.
	if _, err := r.sw.Lines(); err != nil {
		t.Fatal(err)
	}

	var err error
	r.udp, err = net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.tcp, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	level := slog.LevelWarn
	if os.Getenv("CMED_SIP_DEBUG") != "" {
		level = slog.LevelDebug
	}
	opts := Options{Switch: r.sw, Presence: r.eng, Config: cfg,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		TickInterval: 50 * time.Millisecond, NotifyTimeout: 5 * time.Second,
		// Tests try a wrong password and then the right one at once: no
		// delays here; throttle_test.go tests the throttle.
		AuthThrottle: throttle.New(throttle.Policy{})}
	if tweak != nil {
		tweak(&opts)
	}
	r.srv, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	up.srv.Store(r.srv)
	trunk.Set(r.srv)
	go func() { r.done <- r.srv.Serve(ctx, r.udp, r.tcp) }()
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 3*time.Second)
		_ = r.srv.Shutdown(sctx)
		c()
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return")
		}
		<-swDone
	})
	return r
}

func (r *rig) addr() string { return r.udp.LocalAddr().String() }

func (r *rig) port() string {
	_, p, _ := net.SplitHostPort(r.addr())
	return p
}

// apply swaps in a new configuration.
func (r *rig) apply(text string) {
	cfg := parseConfig(r.t, text)
	r.cfg.Store(cfg)
	if err := r.sw.Apply(cfg); err != nil {
		r.t.Fatal(err)
	}
	r.eng.Apply(cfg)
	r.srv.Apply(cfg)
}

// eventually polls cond every 10 ms for up to d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
