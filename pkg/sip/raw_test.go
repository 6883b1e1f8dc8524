package sip

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// rawUA is a minimal SIP endpoint over one UDP socket: the test writes the
// requests by hand and sees every message, so it can check the wire.
type rawUA struct {
	t          testing.TB
	conn       net.PacketConn
	to         net.Addr
	seq        int
	lastBranch string

	mu       sync.Mutex
	inbox    []sip.Message
	notifyOK int // status to answer NOTIFYs with; 0 = don't answer
	notifies []*sip.Request
	wake     chan struct{}
}

func newRawUA(t testing.TB, server string) *rawUA {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	to, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUA{t: t, conn: conn, to: to, notifyOK: 200, wake: make(chan struct{}, 1)}
	done := make(chan struct{})
	go u.read(done)
	t.Cleanup(func() { conn.Close(); <-done })
	return u
}

func (u *rawUA) addr() string { return u.conn.LocalAddr().String() }

func (u *rawUA) read(done chan struct{}) {
	defer close(done)
	buf := make([]byte, 65535)
	for {
		n, from, err := u.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue
		}
		u.mu.Lock()
		if req, ok := msg.(*sip.Request); ok && req.Method == sip.NOTIFY {
			u.notifies = append(u.notifies, req)
			if u.notifyOK != 0 {
				res := sip.NewResponseFromRequest(req, u.notifyOK, "X", nil)
				_, _ = u.conn.WriteTo([]byte(res.String()), from)
			}
		} else {
			if res, ok := msg.(*sip.Response); ok && res.StatusCode >= 300 && res.CSeq() != nil && res.CSeq().MethodName == sip.INVITE {
				// RFC 3261 §17.1.1.3: the UAC ACKs a non-2xx final response.
				ack := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nContent-Length: 0\r\n\r\n",
					"sip:"+u.to.String(), res.Via().Value(), res.From().Value(), res.To().Value(), res.CallID().Value(), res.CSeq().SeqNo)
				_, _ = u.conn.WriteTo([]byte(ack), from)
			}
			u.inbox = append(u.inbox, msg)
		}
		u.mu.Unlock()
		select {
		case u.wake <- struct{}{}:
		default:
		}
	}
}

// send writes a request; headers are "Name: value" lines, CRLF added.
func (u *rawUA) send(method, ruri, from, to, callID string, cseq int, headers ...string) {
	u.t.Helper()
	u.seq++
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	u.lastBranch = fmt.Sprintf("z9hG4bK-raw%d-%d", u.seq, time.Now().UnixNano())
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", u.addr(), u.lastBranch)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n", from, to, callID, cseq, method)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	if _, err := u.conn.WriteTo([]byte(b.String()), u.to); err != nil {
		u.t.Fatal(err)
	}
}

// response waits for the final response to cseq/method.
func (u *rawUA) response(method string, cseq int) *sip.Response {
	u.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		u.mu.Lock()
		for i, m := range u.inbox {
			if r, ok := m.(*sip.Response); ok && r.StatusCode >= 200 && r.CSeq() != nil &&
				int(r.CSeq().SeqNo) == cseq && string(r.CSeq().MethodName) == method {
				u.inbox = append(u.inbox[:i], u.inbox[i+1:]...)
				u.mu.Unlock()
				return r
			}
		}
		u.mu.Unlock()
		select {
		case <-u.wake:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			u.t.Fatalf("no final response to %s %d", method, cseq)
		}
	}
}

// waitNotify waits until n NOTIFYs arrived and returns them.
func (u *rawUA) waitNotify(n int) []*sip.Request {
	u.t.Helper()
	var out []*sip.Request
	eventually(u.t, 5*time.Second, fmt.Sprintf("%d NOTIFYs", n), func() bool {
		u.mu.Lock()
		defer u.mu.Unlock()
		out = append(out[:0], u.notifies...)
		return len(out) >= n
	})
	return out
}

func (u *rawUA) setNotifyAnswer(code int) {
	u.mu.Lock()
	u.notifyOK = code
	u.mu.Unlock()
}

func hdr(m interface{ GetHeader(string) sip.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// authorize answers a 401 challenge for user/password with uri.
func authorize(t testing.TB, res *sip.Response, method, uri, user, pass string) string {
	t.Helper()
	ch, err := ParseAuthorization(strings.Replace(hdr(res, "WWW-Authenticate"), "Digest ", `Digest username="x", uri="x", response="x", `, 1))
	if err != nil {
		t.Fatalf("challenge %q: %v", hdr(res, "WWW-Authenticate"), err)
	}
	c := DigestCredentials{Username: user, Realm: ch.Realm, Nonce: ch.Nonce, URI: uri, QOP: "auth", NC: "00000001", CNonce: "f00d"}
	c.Response = DigestResponse(c, method, pass)
	return fmt.Sprintf(`Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=%s, cnonce="%s"`,
		c.Username, c.Realm, c.Nonce, c.URI, c.Response, c.NC, c.CNonce)
}

// waitRequest waits for a request of method from the server.
func (u *rawUA) waitRequest(method string) *sip.Request {
	u.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		u.mu.Lock()
		for i, m := range u.inbox {
			if r, ok := m.(*sip.Request); ok && string(r.Method) == method {
				u.inbox = append(u.inbox[:i], u.inbox[i+1:]...)
				u.mu.Unlock()
				return r
			}
		}
		u.mu.Unlock()
		select {
		case <-u.wake:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			u.t.Fatalf("no %s from the server", method)
		}
	}
}

// reply answers req (sent by the server) with code; tag is our To-tag.
func (u *rawUA) reply(req *sip.Request, code int, tag string, body string, headers ...string) {
	u.t.Helper()
	res := sip.NewResponseFromRequest(req, code, "R", nil)
	if tag != "" {
		res.To().Params.Add("tag", tag)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		res.AppendHeader(sip.NewHeader(k, v))
	}
	if body != "" {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res.SetBody([]byte(body))
	}
	if _, err := u.conn.WriteTo([]byte(res.String()), u.to); err != nil {
		u.t.Fatal(err)
	}
}

// sendBody is send with a body (SDP).
func (u *rawUA) sendBody(method, ruri, from, to, callID string, cseq int, body string, headers ...string) {
	u.t.Helper()
	u.seq++
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	u.lastBranch = fmt.Sprintf("z9hG4bK-raw%d-%d", u.seq, time.Now().UnixNano())
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", u.addr(), u.lastBranch)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n", from, to, callID, cseq, method)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	if _, err := u.conn.WriteTo([]byte(b.String()), u.to); err != nil {
		u.t.Fatal(err)
	}
}

func sdpAt(port int) string {
	return fmt.Sprintf("v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", port)
}

// cancelLast CANCELs the last request sent (same branch, RFC 3261 §9.1).
func (u *rawUA) cancelLast(t testing.TB, ruri, from, to, callID string, cseq int) {
	t.Helper()
	msg := fmt.Sprintf("CANCEL %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d CANCEL\r\nContent-Length: 0\r\n\r\n",
		ruri, u.addr(), u.lastBranch, from, to, callID, cseq)
	if _, err := u.conn.WriteTo([]byte(msg), u.to); err != nil {
		t.Fatal(err)
	}
}
