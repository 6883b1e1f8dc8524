package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
	"github.com/cmed-project/cmed/pkg/tftp"
)

// metricLines scrapes /metrics and returns the sample lines of the named
// families, sorted.
func metricLines(t *testing.T, base string, names ...string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(get(t, base+"/metrics"), "\n") {
		for _, n := range names {
			if strings.HasPrefix(line, n+" ") || strings.HasPrefix(line, n+"{") {
				out = append(out, line)
			}
		}
	}
	slices.Sort(out)
	return out
}

// sipRequest sends one SIP request over UDP from a fresh loopback socket
// and returns the status code of the first response.
func sipRequest(t *testing.T, server net.Addr, method, user string, extra ...string) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg := strings.Join(append([]string{
		fmt.Sprintf("%s sip:%s@%s SIP/2.0", method, user, server),
		fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s-%d", local, strings.ToLower(method), time.Now().UnixNano()),
		"Max-Forwards: 70",
		fmt.Sprintf("From: <sip:%s@127.0.0.1>;tag=m1", user),
		fmt.Sprintf("To: <sip:%s@127.0.0.1>", user),
		fmt.Sprintf("Call-ID: metrics-%d@127.0.0.1", time.Now().UnixNano()),
		"CSeq: 1 " + method,
		fmt.Sprintf("Contact: <sip:%s@%s>", user, local),
	}, extra...), "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.WriteTo([]byte(msg), server); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("%s: no response: %v", method, err)
	}
	var code int
	if _, err := fmt.Sscanf(string(buf[:n]), "SIP/2.0 %d", &code); err != nil {
		t.Fatalf("%s: bad response %q", method, buf[:n])
	}
	return code
}

// TestMetricsFollowRealProtocolEvents boots the default office and causes
// each event the dashboard (deploy/grafana-cmed.json) plots through the real
// listeners: a TFTP fetch and a miss, an unknown SCCP phone, a known phone
// whose speed-dials subscribe, SIP requests answered 2xx/4xx and a refused
// SIP registration. Each metric is checked after its event.
func TestMetricsFollowRealProtocolEvents(t *testing.T) {
	inst := defaultInstance(t)
	base := "http://" + inst.Addr("http").String()

	if got, want := metricLines(t, base, "cmed_build_info"),
		[]string{`cmed_build_info{goversion="` + runtime.Version() + `",version="test"} 1`}; !slices.Equal(got, want) {
		t.Errorf("build info: %q, want %q", got, want)
	}

	// TFTP: one whole file, one miss.
	tftpAddr := inst.Addr("tftp").String()
	if _, err := fetch(tftpAddr, "XMLDefault.cnf.xml", 512); err != nil {
		t.Fatalf("fetch XMLDefault.cnf.xml: %v", err)
	}
	var terr *tftp.Error
	if _, err := fetch(tftpAddr, "CTLSEP001122334401.tlv", 512); !errors.As(err, &terr) || terr.Code != tftp.ErrCodeNotFound {
		t.Fatalf("fetch of a missing file: %v, want TFTP error 1", err)
	}
	waitFor(t, func() bool {
		return slices.Equal(metricLines(t, base, "cmed_tftp_transfers_total", "cmed_tftp_errors_total"), []string{
			`cmed_tftp_errors_total{reason="not-found"} 1`,
			`cmed_tftp_transfers_total 1`,
		})
	})

	// SCCP: an unknown MAC is refused; ephone 1 registers and its three
	// blf-speed-dials (1002, 1003 as a device, 2001) become subscriptions.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	sccpAddr := inst.Addr("sccp").String()
	stranger, err := sccptest.Dial(ctx, sccpAddr, sccptest.Config{Model: "7961", MAC: "00AABBCCDDEE"})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	if err := stranger.Register(ctx); !errors.Is(err, sccptest.ErrRejected) {
		t.Fatalf("unknown phone: %v, want rejected", err)
	}
	subsBefore := metricLines(t, base, "cmed_blf_subscriptions")
	phone, err := sccptest.Dial(ctx, sccpAddr, sccptest.Config{Model: "7965", MAC: "001122334401"})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	if err := phone.Register(ctx); err != nil {
		t.Fatalf("ephone 1: %v", err)
	}
	if !slices.Contains(subsBefore, `cmed_blf_subscriptions{kind="sccp-speed-dial"} 0`) {
		t.Errorf("before ephone 1: %q, want sccp-speed-dial at 0", subsBefore)
	}
	waitFor(t, func() bool {
		return slices.Contains(metricLines(t, base, "cmed_blf_subscriptions"), `cmed_blf_subscriptions{kind="sccp-speed-dial"} 3`)
	})
	if got := metricLines(t, base, "cmed_registrations_refused_total"); !slices.Equal(got,
		[]string{`cmed_registrations_refused_total{protocol="sccp",reason="unknown-device"} 1`}) {
		t.Errorf("refused registrations: %q", got)
	}

	// SIP: every response counts in its class. Under `authenticate
	// register` a REGISTER without credentials is challenged (401, not a
	// refusal); without it, a number no pool has is refused with 404.
	sipAddr := inst.Addr("sip-udp")
	counts := map[int]int{}
	for _, code := range []int{
		sipRequest(t, sipAddr, "OPTIONS", "2001"),
		sipRequest(t, sipAddr, "REGISTER", "2001"),
	} {
		counts[code/100]++
	}
	if out := inst.CLI(t, "configure terminal", "voice register global", "no authenticate register", "end"); strings.Contains(out, "%") {
		t.Fatalf("no authenticate register: %s", out)
	}
	if code := sipRequest(t, sipAddr, "REGISTER", "9999"); code != 404 {
		t.Fatalf("REGISTER for an unknown number: %d, want 404", code)
	}
	counts[4]++
	var want []string
	for c := 1; c <= 6; c++ {
		want = append(want, fmt.Sprintf(`cmed_sip_responses_sent_total{class="%dxx"} %d`, c, counts[c]))
	}
	if got := metricLines(t, base, "cmed_sip_responses_sent_total"); !slices.Equal(got, want) {
		t.Errorf("SIP responses: %q, want %q", got, want)
	}
	if got := metricLines(t, base, "cmed_registrations_refused_total"); !slices.Equal(got, []string{
		`cmed_registrations_refused_total{protocol="sccp",reason="unknown-device"} 1`,
		`cmed_registrations_refused_total{protocol="sip",reason="not-found"} 1`,
	}) {
		t.Errorf("refused registrations after the SIP REGISTER: %q", got)
	}
}

// TestHTTPListenerIsBounded: one source cannot hold more than the HTTP
// listener's per-source cap of connections; the next is closed at once and
// the board still answers once the others go.
func TestHTTPListenerIsBounded(t *testing.T) {
	inst := cmedtest.StartIn(t, t.TempDir(), configs.Default)
	addr := inst.Addr("http").String()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 32 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("33rd connection from one source: read %v, want it closed (EOF)", err)
	}
	for _, c := range held {
		c.Close()
	}
	held = nil
	var res *http.Response
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		res, err = http.Get("http://" + addr + "/healthz")
		if err == nil || time.Now().After(end) {
			break
		}
	}
	if err != nil {
		t.Fatalf("board after the others closed: %v", err)
	}
	res.Body.Close()
}
