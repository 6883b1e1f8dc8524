package sip

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cmed-project/cmed/pkg/sip/subs"
)

const testPrefix = "z9hG4bKa1b2c3."

func TestAnswerOf(t *testing.T) {
	tail := "\r\nFrom: <sip:2001@127.0.0.1>;tag=a\r\nTo: <sip:w@127.0.0.1>;tag=b\r\nCall-ID: c\r\nCSeq: 2 NOTIFY\r\nContent-Length: 0\r\n\r\n"
	for _, c := range []struct {
		name   string
		msg    string
		id     uint64
		status int
		ok     bool
	}{
		{"canonical", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=" + testPrefix + "1z;rport=5060;received=127.0.0.1" + tail, 71, 200, true},
		{"compact and upper case", "SIP/2.0 481 Call/Transaction Does Not Exist\r\nV: SIP/2.0/UDP 127.0.0.1:5060;BRANCH=" + testPrefix + "9" + tail, 9, 481, true},
		{"name with space", "SIP/2.0 200 OK\r\nVia : SIP/2.0/UDP h;branch=" + testPrefix + "a" + tail, 10, 200, true},
		{"provisional", "SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP h;branch=" + testPrefix + "2" + tail, 2, 100, true},
		{"no reason phrase", "SIP/2.0 200\r\nVia: SIP/2.0/UDP h;branch=" + testPrefix + "3" + tail, 3, 200, true},
		{"top Via only", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p;branch=z9hG4bKproxy, SIP/2.0/UDP h;branch=" + testPrefix + "3" + tail, 0, 0, false},
		{"second Via line", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p;branch=z9hG4bKproxy\r\nVia: SIP/2.0/UDP h;branch=" + testPrefix + "3" + tail, 0, 0, false},
		{"other branch", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa1b2c4.3" + tail, 0, 0, false},
		{"prefix only", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=" + testPrefix + tail, 0, 0, false},
		{"leading zero", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=" + testPrefix + "01" + tail, 0, 0, false},
		{"zero", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=" + testPrefix + "0" + tail, 0, 0, false},
		{"not base 36", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=" + testPrefix + "A" + tail, 0, 0, false},
		{"too long", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=" + testPrefix + "11111111111111" + tail, 0, 0, false},
		{"no Via", "SIP/2.0 200 OK" + tail, 0, 0, false},
		{"a request", "NOTIFY sip:w@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=" + testPrefix + "3" + tail, 0, 0, false},
		{"bad code", "SIP/2.0 2x0 OK\r\nVia: SIP/2.0/UDP h;branch=" + testPrefix + "3" + tail, 0, 0, false},
		{"code below 100", "SIP/2.0 099 OK\r\nVia: SIP/2.0/UDP h;branch=" + testPrefix + "3" + tail, 0, 0, false},
		{"cut short", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=" + testPrefix + "3", 0, 0, false},
	} {
		id, status, ok := answerOf([]byte(c.msg), testPrefix)
		if id != c.id || status != c.status || ok != c.ok {
			t.Errorf("%s: answerOf = %d, %d, %v; want %d, %d, %v", c.name, id, status, ok, c.id, c.status, c.ok)
		}
	}
}

// TestAnswerOfAllocatesNothing: it runs on every response datagram.
func TestAnswerOfAllocatesNothing(t *testing.T) {
	data := []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=" + testPrefix + "1z;rport\r\nCSeq: 2 NOTIFY\r\n\r\n")
	if n := testing.AllocsPerRun(100, func() { answerOf(data, testPrefix) }); n != 0 {
		t.Errorf("answerOf allocates %v times", n)
	}
}

// FuzzAnswerOf holds the quick reading of answers to sipgo's parser:
// whenever both read a status and a top Via branch, they agree.
func FuzzAnswerOf(f *testing.F) {
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=" + testPrefix + "1z;rport\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("SIP/2.0 180 Ringing\r\nv: SIP/2.0/UDP h;branch=" + testPrefix + "2\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, status, ok := answerOf(data, testPrefix)
		if !ok {
			return
		}
		if status < 100 || status > 999 {
			t.Fatalf("status %d read from %q", status, data)
		}
		m, err := sip.ParseMessage(data)
		if err != nil {
			return // sipgo drops it; cmed reads no more than the Via
		}
		res, isRes := m.(*sip.Response)
		if !isRes {
			t.Fatalf("answerOf read a response sipgo reads as a request: %q", data)
		}
		if res.StatusCode != status {
			t.Fatalf("status %d, sipgo %d: %q", status, res.StatusCode, data)
		}
		via := res.Via()
		if via == nil {
			return
		}
		branch, _ := via.Params.Get("branch")
		if branch == "" {
			return
		}
		if want := testPrefix + strconv.FormatUint(id, 36); branch != want {
			t.Fatalf("branch %q read as %q by sipgo: %q", want, branch, data)
		}
	})
}

func TestUDPTarget(t *testing.T) {
	for _, c := range []struct {
		contact, transport string
		routes             []string
		want               string // "" for through sipgo
	}{
		{"sip:w@127.0.0.1:5070", "UDP", nil, "127.0.0.1:5070"},
		{"sip:w@127.0.0.1", "udp", nil, "127.0.0.1:5060"},
		{"sip:127.0.0.1:5070;transport=UDP;ob", "udp", nil, "127.0.0.1:5070"},
		{"sip:w;p=x@[::1]:5071;line=abc?Subject=x", "udp", nil, "[::1]:5071"},
		{"sip:w@[::1]", "udp", nil, "[::1]:5060"},
		{"sip:w@127.0.0.1:5070", "TCP", nil, ""},
		{"sip:w@127.0.0.1:5070;transport=tcp", "udp", nil, ""},
		{"sip:w@127.0.0.1:5070;maddr=239.1.1.1", "udp", nil, ""},
		{"sip:w@phone.example.com", "udp", nil, ""},
		{"sips:w@127.0.0.1", "udp", nil, ""},
		{"sip:w@127.0.0.1:5070", "udp", []string{"<sip:127.0.0.2;lr>"}, ""},
		{"sip:w@127.0.0.1:0", "udp", nil, ""},
	} {
		ap, ok := udpTarget(c.contact, c.transport, c.routes)
		got := ""
		if ok {
			got = ap.String()
		}
		if got != c.want {
			t.Errorf("udpTarget(%q, %q, %q) = %q, want %q", c.contact, c.transport, c.routes, got, c.want)
		}
	}
}

// TestRenderNotifyParses: the text cmed writes reads back, through
// sipgo's parser, as the NOTIFY the table asked for (RFC 6665 §8.1.2).
func TestRenderNotifyParses(t *testing.T) {
	local := sip.Uri{Scheme: "sip", User: "2001", Host: "127.0.0.1"}
	remote := sip.Uri{Scheme: "sip", User: "watcher", Host: "192.0.2.7", Port: 5062}
	w := newWatch(local, remote, "udp")
	body := []byte("<?xml version=\"1.0\"?>\n<dialog-info/>\n")
	nt := subs.Notify{Dialog: subs.DialogID{CallID: "cid@x", LocalTag: "lt", RemoteTag: "rt"}, CSeq: 7,
		Event: "dialog", SubscriptionState: "active;expires=3599", ContentType: "application/dialog-info+xml",
		Body: body, Contact: "sip:watcher@192.0.2.7:5062;transport=udp"}
	msg := renderNotify(nil, &nt, w, "127.0.0.1:5060", "<sip:127.0.0.1:5060;transport=udp>", testPrefix, 5)
	m, err := sip.ParseMessage(msg)
	if err != nil {
		t.Fatalf("%v\n%s", err, msg)
	}
	req, ok := m.(*sip.Request)
	if !ok || req.Method != sip.NOTIFY {
		t.Fatalf("not a NOTIFY:\n%s", msg)
	}
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("Request-URI", req.Recipient.String(), nt.Contact)
	branch, _ := req.Via().Params.Get("branch")
	check("branch", branch, testPrefix+"5")
	check("Via host", req.Via().Host, "127.0.0.1")
	check("From", req.From().Address.String(), "sip:2001@127.0.0.1")
	check("From tag", tagOf(req.From().Params), "lt")
	check("To", req.To().Address.String(), "sip:watcher@192.0.2.7:5062")
	check("To tag", tagOf(req.To().Params), "rt")
	check("Call-ID", req.CallID().Value(), "cid@x")
	check("CSeq", req.CSeq().Value(), "7 NOTIFY")
	check("Max-Forwards", hdr(req, "Max-Forwards"), "70")
	check("Contact", req.Contact().Address.String(), "sip:127.0.0.1:5060;transport=udp")
	check("Event", hdr(req, "Event"), "dialog")
	check("Subscription-State", hdr(req, "Subscription-State"), "active;expires=3599")
	check("Content-Type", hdr(req, "Content-Type"), "application/dialog-info+xml")
	check("body", string(req.Body()), string(body))
	check("Content-Length", hdr(req, "Content-Length"), strconv.Itoa(len(body)))
	if !bytes.HasSuffix(msg, []byte("\r\n\r\n"+string(body))) {
		t.Errorf("the body does not follow the blank line at the end:\n%q", msg)
	}
	// And conform.go's checks, which cmed applies to what it receives,
	// pass it unchanged.
	if !plainRequest(msg) {
		t.Errorf("cmed's own NOTIFY would not pass its plain-request check:\n%s", msg)
	}
}

// readNotify returns the next NOTIFY sent to u, unanswered.
func readNotify(t *testing.T, u *leanUA, within time.Duration) ([]byte, netip.AddrPort) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		u.conn.SetReadDeadline(deadline)
		n, from, err := u.conn.ReadFromUDPAddrPort(u.buf)
		if err != nil {
			t.Fatalf("no NOTIFY within %v: %v", within, err)
		}
		if bytes.HasPrefix(u.buf[:n], []byte("NOTIFY ")) {
			return bytes.Clone(u.buf[:n]), from
		}
	}
}

// answerWith sends status to the NOTIFY req with its Via, From, To,
// Call-ID and CSeq lines (RFC 3261 §8.2.6.2).
func answerWith(t *testing.T, u *leanUA, req []byte, to netip.AddrPort, status string) {
	t.Helper()
	b := []byte("SIP/2.0 " + status + "\r\n")
	for _, name := range []string{"\r\nVia:", "\r\nFrom:", "\r\nTo:", "\r\nCall-ID:", "\r\nCSeq:"} {
		i := bytes.Index(req, []byte(name))
		if i < 0 {
			t.Fatalf("NOTIFY without %s:\n%s", name[2:], req)
		}
		line := req[i+2:]
		b = append(b, line[:bytes.Index(line, []byte("\r\n"))+2]...)
	}
	b = append(b, "Content-Length: 0\r\n\r\n"...)
	if _, err := u.conn.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

// TestNotifyRetransmittedUntilAnswered: an unanswered NOTIFY over UDP is
// sent again, the same bytes, after T1 (Timer E, RFC 3261 §17.1.2.2); a
// provisional answer keeps the transaction; the final answer ends it, and
// the next state change is the next NOTIFY (one in flight per
// subscription).
func TestNotifyRetransmittedUntilAnswered(t *testing.T) {
	r := benchRig(t)
	u := newLeanUA(t, r.addr())
	u.subscribe("2001", "retx", 1, 3600, 1, nil)
	first, from := readNotify(t, u, 5*time.Second)
	start := time.Now()
	again, _ := readNotify(t, u, 3*time.Second)
	if d := time.Since(start); d < sip.T1/2 {
		t.Errorf("retransmitted after %v, before T1", d)
	}
	if !bytes.Equal(first, again) {
		t.Errorf("retransmission differs:\n%s\n---\n%s", first, again)
	}
	answerWith(t, u, again, from, "180 Ringing")
	time.Sleep(50 * time.Millisecond)
	if n := r.srv.pres.txs.inFlight(); n != 1 {
		t.Fatalf("after a provisional answer %d transactions in flight, want 1", n)
	}
	answerWith(t, u, again, from, "200 OK")
	eventually(t, 3*time.Second, "the transaction ends on 200", func() bool { return r.srv.pres.txs.inFlight() == 0 })
	if _, err := r.sw.Lines(); err != nil {
		t.Fatal(err)
	}
	list := r.srv.Subscriptions()
	if len(list) != 1 || list[0].InFlight {
		t.Fatalf("subscriptions after the answer: %+v", list)
	}
	id, _ := registerEphone(t, r, "0011.2233.4401")
	if _, err := r.sw.OffHook(id, 1); err != nil {
		t.Fatal(err)
	}
	next, _ := readNotify(t, u, 5*time.Second)
	if !bytes.Contains(next, []byte("\r\nCSeq: 2 NOTIFY\r\n")) {
		t.Errorf("the next NOTIFY is not CSeq 2:\n%s", next)
	}
}

// TestNotifyUnansweredTimesOut: a watcher that never answers gets the
// NOTIFY on Timer E until Timer F (here Options.NotifyTimeout, shorter),
// and then the subscription is over (RFC 6665 §4.2.2: a timed-out NOTIFY
// terminates it).
func TestNotifyUnansweredTimesOut(t *testing.T) {
	r := newRig(t, strings.Replace(registrarConfig, " authenticate presence\n", "", 1), func(o *Options) {
		o.NotifyTimeout = 2 * time.Second
	})
	u := newLeanUA(t, r.addr())
	u.subscribe("2001", "silent", 1, 3600, 1, nil)
	copies := 0
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		u.conn.SetReadDeadline(deadline)
		n, _, err := u.conn.ReadFromUDPAddrPort(u.buf)
		if err != nil {
			break
		}
		if bytes.HasPrefix(u.buf[:n], []byte("NOTIFY ")) && bytes.Contains(u.buf[:n], []byte("CSeq: 1 NOTIFY")) {
			copies++
		}
	}
	// Sent at 0, T1 and 3*T1 (Timer F at 2 s ends it before 7*T1).
	if copies != 3 {
		t.Errorf("the NOTIFY was sent %d times, want 3", copies)
	}
	eventually(t, 3*time.Second, "the subscription is gone", func() bool { return len(r.srv.Subscriptions()) == 0 })
	if n := r.srv.pres.txs.inFlight(); n != 0 {
		t.Errorf("%d transactions still in flight", n)
	}
}

// TestParsedAnswerEndsTransaction: an answer the quick reading passes to
// sipgo is still matched, through sipgo's unhandled-response hook.
func TestParsedAnswerEndsTransaction(t *testing.T) {
	r := benchRig(t)
	u := newLeanUA(t, r.addr())
	u.subscribe("2001", "parsed", 1, 3600, 1, nil)
	req, _ := readNotify(t, u, 5*time.Second)
	m, err := sip.ParseMessage(req)
	if err != nil {
		t.Fatal(err)
	}
	res := sip.NewResponseFromRequest(m.(*sip.Request), 200, "OK", nil)
	other := res.Clone()
	other.Via().Params.Add("branch", "z9hG4bKsomeoneelse")
	if r.srv.pres.onParsedAnswer(other) {
		t.Error("an answer with a foreign branch was taken")
	}
	// The same number written otherwise is another branch (RFC 3261 §17.1.3).
	branch, _ := res.Via().Params.Get("branch")
	alias := strings.Replace(branch, ".", ".0", 1) // a leading zero
	odd := res.Clone()
	odd.Via().Params.Add("branch", alias)
	if r.srv.pres.onParsedAnswer(odd) {
		t.Errorf("an answer with branch %q was taken for %q", alias, branch)
	}
	if !r.srv.pres.onParsedAnswer(res) {
		t.Fatal("the answer to cmed's NOTIFY was not taken")
	}
	eventually(t, 3*time.Second, "the transaction ends", func() bool { return r.srv.pres.txs.inFlight() == 0 })
	// The same answer again is a late copy: taken and dropped.
	if !r.srv.pres.onParsedAnswer(res) {
		t.Error("a late copy of the answer went on to sipgo")
	}
}

// TestNotifyOverTCPStillThroughSipgo: a watcher on TCP gets its NOTIFY
// (sipgo's transaction; cmed's own ones are for UDP only).
func TestNotifyOverTCPStillThroughSipgo(t *testing.T) {
	r := benchRig(t)
	c, err := net.Dial("tcp", r.tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	sub := "SUBSCRIBE sip:2001@" + r.tcp.Addr().String() + ";transport=tcp SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP " + local + ";branch=z9hG4bK-tcp1\r\nMax-Forwards: 70\r\n" +
		"From: <sip:w@127.0.0.1>;tag=tcpw\r\nTo: <sip:2001@127.0.0.1>\r\nCall-ID: tcp-notify\r\nCSeq: 1 SUBSCRIBE\r\n" +
		"Contact: <sip:w@" + local + ";transport=tcp>\r\nEvent: dialog\r\nAccept: application/dialog-info+xml\r\n" +
		"Expires: 60\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(sub)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 0, 8192)
	tmp := make([]byte, 4096)
	for !bytes.Contains(buf, []byte("NOTIFY sip:")) || !bytes.Contains(buf, []byte("</dialog-info>")) {
		n, err := c.Read(tmp)
		if err != nil {
			t.Fatalf("no NOTIFY over TCP: %v\n%s", err, buf)
		}
		buf = append(buf, tmp[:n]...)
	}
	if r.srv.pres.txs.inFlight() != 0 {
		t.Error("a TCP NOTIFY went into cmed's UDP transactions")
	}
	// The 200's Contact names the TCP listener (notifier.contactText).
	if want := "Contact: <sip:" + r.tcp.Addr().String() + ";transport=tcp>\r\n"; !bytes.Contains(buf, []byte(want)) {
		t.Errorf("no %q in what came back over TCP:\n%s", want, buf)
	}
}

// TestWriteBatch: a fan-out larger than one sendmmsg call reaches every
// watcher, each datagram whole and to its own address (notifybatch.go).
func TestWriteBatch(t *testing.T) {
	r := benchRig(t)
	<-r.srv.started // Serve has taken the UDP socket
	var socks [2]*net.UDPConn
	for i := range socks {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetReadBuffer(1 << 20)
		socks[i] = c
	}
	const count = maxBatch + 6
	var txs []*notifyTx
	for i := range count {
		to := socks[i%2].LocalAddr().(*net.UDPAddr).AddrPort()
		txs = append(txs, &notifyTx{to: to, msg: []byte("datagram " + strconv.Itoa(i) + " to " + to.String())})
	}
	var b batcher
	r.srv.pres.writeBatch(&b, txs)
	if b.pc == nil {
		t.Fatal("the IPv4 socket was written one datagram at a time")
	}
	buf := make([]byte, 256)
	got := map[string]bool{}
	for i := range socks {
		_ = socks[i].SetReadDeadline(time.Now().Add(3 * time.Second))
		for range count / 2 {
			n, err := socks[i].Read(buf)
			if err != nil {
				t.Fatalf("socket %d after %d datagrams: %v", i, len(got), err)
			}
			msg := string(buf[:n])
			if !strings.HasSuffix(msg, " to "+socks[i].LocalAddr().String()) {
				t.Errorf("socket %d got %q", i, msg)
			}
			got[msg] = true
		}
	}
	if len(got) != count {
		t.Errorf("%d distinct datagrams, want %d", len(got), count)
	}
	for _, m := range b.msgs {
		if m.Addr != nil || m.Buffers[0] != nil {
			t.Fatal("the scratch messages still hold the last batch")
		}
	}
}
