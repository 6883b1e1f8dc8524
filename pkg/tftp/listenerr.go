package tftp

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// ListenError explains a failure to bind the TFTP socket at addr. Binding
// UDP port 69 needs privileges on Linux, and Cisco phones always use port 69
// (the DHCP options 150/66 carry only the server address, docs/sccp.md §Boot-order), so
// the message lists every way out. Other errors are returned unchanged
// except for a hint on "address already in use".
// FallbackPort is where the daemon serves TFTP when it lacks the privilege
// to bind port 69 (README "Listeners"). 6969 is the customary unprivileged
// TFTP port (tftpd-hpa's and atftpd's documentation use it in examples),
// so iptables REDIRECT recipes for it are easy to find.
const FallbackPort = 6969

// IsPermission reports whether a bind failed for lack of privilege (a port
// below net.ipv4.ip_unprivileged_port_start, without CAP_NET_BIND_SERVICE).
func IsPermission(err error) bool {
	return errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || errors.Is(err, fs.ErrPermission)
}

func ListenError(err error, addr string) error {
	if err == nil {
		return nil
	}
	switch {
	case IsPermission(err):
		return fmt.Errorf("tftp: cannot bind %s: %w\n"+
			"  ports below 1024 need privileges; phones always fetch their files from UDP port 69. Fix with one of:\n"+
			"  - run cmed as root, or\n"+
			"  - grant the capability once: sudo setcap cap_net_bind_service=+ep $(which cmed)\n"+
			"  - allow unprivileged low ports: sudo sysctl net.ipv4.ip_unprivileged_port_start=69\n"+
			"  - or configure `tftp-server address A port P` with P > 1023 and redirect port 69 to it, since phones\n"+
			"    (DHCP option 150 or 66 names only the server address) cannot be told another port:\n"+
			"    sudo iptables -t nat -A PREROUTING -p udp --dport 69 -j REDIRECT --to-ports P",
			addr, err)
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("tftp: cannot bind %s: %w (another TFTP server such as tftpd-hpa or dnsmasq "+
			"may be running; stop it or set `tftp-server address A port P`)", addr, err)
	}
	return fmt.Errorf("tftp: cannot bind %s: %w", addr, err)
}
