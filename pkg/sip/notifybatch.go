package sip

import (
	"net"

	"golang.org/x/net/ipv4"
)

// Batched first transmissions of a NOTIFY fan-out.
//
// One line change can mean a NOTIFY to every watcher of the line; the
// drain loop starts them together and hands their first transmissions to
// the kernel in one sendmmsg(2) (x/net/ipv4's WriteBatch) instead of one
// sendto(2) each (BENCHMARKS.md, "NOTIFY fan-out"). Only for an IPv4
// socket; over IPv6, and for retransmissions and single NOTIFYs, each
// datagram is written on its own (notifytx.go).

// maxBatch bounds one sendmmsg call, as the kernel does (UIO_MAXIOV).
const maxBatch = 64

// batcher is the drain loop's scratch for writeBatch, owned by that one
// goroutine, so it needs no lock and allocates only when it grows.
type batcher struct {
	conn  net.PacketConn
	pc    *ipv4.PacketConn // nil: the socket is not IPv4, write one by one
	msgs  []ipv4.Message
	addrs []net.UDPAddr
	ips   [][4]byte
}

// writeBatch writes the first transmission of each of txs.
func (n *notifier) writeBatch(b *batcher, txs []*notifyTx) {
	if len(txs) == 0 {
		return
	}
	conn := n.s.udpConn()
	if conn != b.conn {
		b.conn, b.pc = conn, nil
		if uc, ok := conn.(*net.UDPConn); ok {
			if la, ok := uc.LocalAddr().(*net.UDPAddr); ok && la.IP.To4() != nil {
				b.pc = ipv4.NewPacketConn(uc)
			}
		}
	}
	if b.pc == nil || len(txs) == 1 || n.noBatch.Load() {
		for _, tx := range txs {
			n.write(tx)
		}
		return
	}
	for len(txs) > 0 {
		k := min(len(txs), maxBatch)
		chunk := txs[:k]
		txs = txs[k:]
		if cap(b.msgs) < k {
			b.msgs = make([]ipv4.Message, maxBatch)
			b.addrs = make([]net.UDPAddr, maxBatch)
			b.ips = make([][4]byte, maxBatch)
			for i := range b.msgs {
				b.msgs[i].Buffers = make([][]byte, 1)
			}
		}
		msgs := b.msgs[:0]
		var single []*notifyTx // an IPv6 watcher on an IPv4 socket: not batched
		for _, tx := range chunk {
			a := tx.to.Addr()
			if !a.Is4() && !a.Is4In6() {
				single = append(single, tx)
				continue
			}
			i := len(msgs)
			msgs = msgs[:i+1] // b.msgs' own slot i
			b.ips[i] = a.Unmap().As4()
			b.addrs[i] = net.UDPAddr{IP: b.ips[i][:], Port: int(tx.to.Port())}
			msgs[i].Buffers[0] = tx.msg
			msgs[i].Addr = &b.addrs[i]
		}
		for sent := 0; sent < len(msgs); {
			m, err := b.pc.WriteBatch(msgs[sent:], 0)
			if err != nil {
				// Left to the retransmissions, as a lost datagram would
				// be (RFC 3261 §17.1.2.2).
				n.s.log.Debug("sip: NOTIFY batch not sent", "count", len(msgs)-sent, "err", err)
				break
			}
			if m <= 0 {
				break
			}
			sent += m
		}
		for i := range msgs {
			msgs[i].Buffers[0], msgs[i].Addr = nil, nil
		}
		for _, tx := range single {
			n.write(tx)
		}
	}
}
