package daemon

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"github.com/cmed-project/cmed/pkg/config"
)

// hostPort builds the bind address for a configured listener, applying
// the CME default port when none was given and, for tests, moving every
// listener to 127.0.0.1 port 0.
func (d *Daemon) hostPort(addr string, port, defaultPort int, portSet bool) string {
	if d.opts.LoopbackListeners {
		return "127.0.0.1:0"
	}
	if !portSet {
		port = defaultPort
	}
	return net.JoinHostPort(addr, strconv.Itoa(port))
}

func (d *Daemon) listenerAddr(l config.Listener, defaultPort int) string {
	// A Listener's zero port is meaningful (kernel-chosen), so an enabled
	// listener always uses its Port as configured.
	return d.hostPort(l.Address, l.Port, defaultPort, true)
}

// primaryAddress is the address written into phone files when the config
// says 0.0.0.0: the first global unicast IPv4 address of an up interface,
// else loopback.
func primaryAddress() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "127.0.0.1"
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			if ip := p.Addr(); ip.Is4() && ip.IsGlobalUnicast() {
				return ip.String()
			}
		}
	}
	return "127.0.0.1"
}

// listenUDPTCP binds UDP and TCP on the same port, as SIP expects (RFC 3261
// §18). When the port is kernel-chosen (0), the TCP port matching the UDP
// one may already be taken by someone else's connection; that is not the
// user's error, so another UDP port is tried, a bounded number of times.
// A configured port that is busy is reported as is.
func listenUDPTCP(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	attempts := 1
	if port == "0" {
		attempts = 16
	}
	for i := 0; ; i++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		tcp, err := net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if i+1 >= attempts || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, err
		}
	}
}
