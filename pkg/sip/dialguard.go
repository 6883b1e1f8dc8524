package sip

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// RFC 3261 §18.2.2: a response over TCP goes back on the connection the
// request came in on. sipgo, when that connection has already closed as
// the server transaction is created, resolves the top Via's sent-by and
// dials it - an address the client chose, so an attacker could make cmed
// connect wherever it liked (docs/security.md §Response-routing). cmed
// only dials for requests it sends itself: every such request's context
// derives from the server's, which carries outboundKey; sipgo's server
// transactions dial with a context of their own, without it, and are
// refused, so the response is dropped as the closed connection already
// dropped the client.

type outboundKey struct{}

// outbound marks ctx as the context of requests cmed originates.
func outbound(ctx context.Context) context.Context {
	return context.WithValue(ctx, outboundKey{}, true)
}

var errResponseDial = errors.New("sip: no new TCP connection for a response (RFC 3261 §18.2.2)")

// outboundOnlyDialer is sipgo's TCP DialerCreate: a dialer whose
// ControlContext lets only cmed's own requests connect.
func outboundOnlyDialer(laddr net.Addr) net.Dialer {
	return net.Dialer{
		Timeout:   time.Minute,
		LocalAddr: laddr,
		ControlContext: func(ctx context.Context, _, _ string, _ syscall.RawConn) error {
			if ctx.Value(outboundKey{}) == nil {
				return errResponseDial
			}
			return nil
		},
	}
}
