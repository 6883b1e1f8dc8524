package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// PortAllocator hands out UDP sockets for RTP on even ports of a configured range on one IP
// address. RTP uses the even port and RTCP the next odd one (RFC 3550 §11, RFC 3551 §3:
// "RTP ... SHOULD use an even destination port number, and the corresponding RTCP stream SHOULD
// use the next higher (odd) destination port number"); the odd port is kept free but not bound,
// since cmed sends no RTCP. Ports are chosen round-robin, so a port just released is not reused
// at once and late packets of an old call do not land in a new one.
type PortAllocator struct {
	ip       netip.Addr
	min, max int // even RTP ports, inclusive; both 0 for OS-chosen ports

	mu    sync.Mutex   // guards inUse and next
	inUse map[int]bool // RTP ports currently handed out
	next  int          // where the next search starts
}

// NewPortAllocator returns an allocator for even ports from min to max (inclusive) on ip.
// An odd min is rounded up, an odd max down. min = max = 0 lets the OS pick any free port,
// which is what tests use.
func NewPortAllocator(ip netip.Addr, min, max int) (*PortAllocator, error) {
	if !ip.IsValid() {
		return nil, fmt.Errorf("media: RTP address %v is not valid", ip)
	}
	if min == 0 && max == 0 {
		return &PortAllocator{ip: ip, inUse: map[int]bool{}}, nil
	}
	min += min & 1
	max -= max & 1
	if min < 1024 || max > 65534 || min > max {
		return nil, fmt.Errorf("media: RTP port range %d-%d must hold an even port within 1024-65534", min, max)
	}
	return &PortAllocator{ip: ip, min: min, max: max, inUse: map[int]bool{}, next: min}, nil
}

// Size is the number of RTP ports the range holds (0 when the OS picks ports).
func (a *PortAllocator) Size() int {
	if a.min == 0 {
		return 0
	}
	return (a.max-a.min)/2 + 1
}

// InUse is the number of ports currently handed out.
func (a *PortAllocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.inUse)
}

// Listen binds the next free even port of the range. Closing the returned conn releases the
// port. Ports that another process holds are skipped. It returns ErrNoPorts when the range is
// exhausted.
func (a *PortAllocator) Listen() (*PortConn, error) {
	if a.min == 0 {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.ip, 0)))
		if err != nil {
			return nil, err
		}
		return a.track(c), nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for range a.Size() {
		port := a.next
		a.next += 2
		if a.next > a.max {
			a.next = a.min
		}
		if a.inUse[port] {
			continue
		}
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.ip, uint16(port))))
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		a.inUse[port] = true
		return &PortConn{UDPConn: c, alloc: a, port: port}, nil
	}
	return nil, fmt.Errorf("%w: %d-%d on %v (%d in use)", ErrNoPorts, a.min, a.max, a.ip, len(a.inUse))
}

// track records an OS-chosen port.
func (a *PortAllocator) track(c *net.UDPConn) *PortConn {
	port := int(c.LocalAddr().(*net.UDPAddr).Port)
	a.mu.Lock()
	a.inUse[port] = true
	a.mu.Unlock()
	return &PortConn{UDPConn: c, alloc: a, port: port}
}

func (a *PortAllocator) release(port int) {
	a.mu.Lock()
	delete(a.inUse, port)
	a.mu.Unlock()
}

// PortConn is a UDP socket on an allocated RTP port. It embeds *net.UDPConn, so it is a
// net.PacketConn with the allocation-free WriteToUDPAddrPort/ReadFromUDPAddrPort. Close releases
// the port.
type PortConn struct {
	*net.UDPConn
	alloc *PortAllocator
	port  int
	once  sync.Once
}

// AddrPort is the local address the socket is bound to.
func (c *PortConn) AddrPort() netip.AddrPort {
	return netip.AddrPortFrom(c.alloc.ip, uint16(c.port))
}

// Close closes the socket and returns the port to the allocator. It is idempotent.
func (c *PortConn) Close() error {
	var err error
	c.once.Do(func() {
		err = c.UDPConn.Close()
		c.alloc.release(c.port)
	})
	return err
}
