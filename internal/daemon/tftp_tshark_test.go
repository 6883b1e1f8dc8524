package daemon_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/tftp"
)

// fetchOn reads name from the TFTP server at server over c with the given
// RFC 2347 options (none: a plain RFC 1350 transfer) and returns the file
// and the OACK's options (nil when the server sent none).
func fetchOn(c net.PacketConn, server *net.UDPAddr, name string, opts tftp.Options) ([]byte, tftp.Options, error) {
	blksize := 512
	req, err := (&tftp.Request{Filename: name, Mode: "octet", Options: opts}).Marshal()
	if err != nil {
		return nil, nil, err
	}
	if _, err := c.WriteTo(req, server); err != nil {
		return nil, nil, err
	}
	var out bytes.Buffer
	var oack tftp.Options
	var peer net.Addr
	buf := make([]byte, 65536)
	want := uint16(1)
	// Bounded: the largest default-config file is a few kB, so even at
	// blksize 8 a transfer is well under this many packets.
	for range 100000 {
		if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			return nil, nil, err
		}
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return nil, nil, err
		}
		if peer == nil {
			peer = from // RFC 1350 §4: the server's new TID
		}
		p, err := tftp.ParsePacket(buf[:n])
		if err != nil {
			return nil, nil, err
		}
		switch p := p.(type) {
		case *tftp.OptionAck:
			if want != 1 || oack != nil {
				return nil, nil, errors.New("OACK in the middle of a transfer")
			}
			oack = append(tftp.Options{}, p.Options...)
			if v, ok := oack.Get("blksize"); ok {
				if blksize, err = strconv.Atoi(v); err != nil {
					return nil, nil, fmt.Errorf("OACK blksize %q", v)
				}
			}
			ack, _ := (&tftp.Ack{Block: 0}).Marshal()
			c.WriteTo(ack, peer)
		case *tftp.Data:
			if p.Block == want {
				out.Write(p.Payload)
				want++
			}
			ack, _ := (&tftp.Ack{Block: p.Block}).Marshal()
			c.WriteTo(ack, peer)
			if len(p.Payload) < blksize {
				return out.Bytes(), oack, nil
			}
		case *tftp.Error:
			return nil, nil, p
		}
	}
	return nil, nil, errors.New("transfer did not end")
}

// transferRecord is one transfer the test ran and what tshark must see of it.
type transferRecord struct {
	file    string
	port    int // client port (TID)
	blksize int // negotiated; 0 when no options were asked for
	size    int
}

// TestInteropTsharkTFTP captures every transfer of the default config's
// generated files on loopback (curl with --tftp-blksize 1024, and our own
// client asking for blksize/tsize, and plainly without options) and has
// Wireshark's TFTP dissector check them: no malformed packet, no expert
// warning, every DATA block decoded, and an OACK per optioned transfer with
// the negotiated blksize and the file's tsize (RFC 2347-2349).
func TestInteropTsharkTFTP(t *testing.T) {
	tshark := interopTool(t, "tshark")
	curl := interopTool(t, "curl")
	inst := defaultInstance(t)
	server := inst.Addr("tftp").(*net.UDPAddr)
	names := expectedFiles(t, inst.Running())
	sizes := []int{512, 1428, 8, 65464}
	// Client ports: one per transfer plus the negative control.
	nPorts := len(names)*(2+len(sizes)) + 1
	base := portRange(t, nPorts)
	controlPort := base + nPorts - 1
	filter := fmt.Sprintf("udp and net 127.0.0.0/8 and (port %d or portrange %d-%d)", server.Port, base, base+nPorts-1)
	capture := startLoCapture(t, tshark, filter)

	// Each transfer comes from its own loopback address, as each phone has
	// its own: back-to-back transfers from one address could otherwise
	// meet the server's per-source limit while the previous transfer's
	// goroutine is still winding down.
	next := base
	source := func() string { return fmt.Sprintf("127.0.%d.%d", 1+(next-base)/250, 1+(next-base)%250) }
	clientOn := func() net.PacketConn {
		t.Helper()
		c, err := net.ListenPacket("udp", fmt.Sprintf("%s:%d", source(), next))
		if err != nil {
			t.Fatal(err)
		}
		next++
		return c
	}
	var records []transferRecord
	content := map[string][]byte{}

	// Plain RFC 1350 first: no options, so no OACK, 512-byte blocks.
	for _, name := range names {
		c := clientOn()
		data, oack, err := fetchOn(c, server, name, nil)
		port := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if err != nil {
			t.Fatalf("%s without options: %v", name, err)
		}
		if oack != nil {
			t.Errorf("%s: OACK %v to a request without options", name, oack)
		}
		content[name] = data
		records = append(records, transferRecord{file: name, port: port, size: len(data)})
	}
	// Negotiated transfers: every file at every block size, with tsize.
	for _, name := range names {
		for _, bs := range sizes {
			c := clientOn()
			opts := tftp.Options{{Name: "blksize", Value: strconv.Itoa(bs)}, {Name: "tsize", Value: "0"}}
			data, oack, err := fetchOn(c, server, name, opts)
			port := c.LocalAddr().(*net.UDPAddr).Port
			c.Close()
			if err != nil {
				t.Fatalf("%s blksize %d: %v", name, bs, err)
			}
			if !bytes.Equal(data, content[name]) {
				t.Errorf("%s blksize %d: content differs from the plain transfer", name, bs)
			}
			if v, _ := oack.Get("blksize"); v != strconv.Itoa(bs) {
				t.Errorf("%s: OACK blksize %q, want %d", name, v, bs)
			}
			if v, _ := oack.Get("tsize"); v != strconv.Itoa(len(data)) {
				t.Errorf("%s: OACK tsize %q, want %d", name, v, len(data))
			}
			records = append(records, transferRecord{file: name, port: port, blksize: bs, size: len(data)})
		}
	}
	// curl, as an independent client: it asks for tsize, blksize and
	// timeout by itself.
	dir := t.TempDir()
	for _, name := range names {
		port, src := next, source()
		next++
		out := filepath.Join(dir, name)
		cmd := exec.Command(curl, "-sS", "--max-time", "20", "--tftp-blksize", "1024", "--interface", src,
			"--local-port", strconv.Itoa(port), "-o", out, "tftp://"+server.String()+"/"+name)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("curl %s: %v %s", name, err, b)
		}
		got, err := os.ReadFile(out)
		if err != nil || !bytes.Equal(got, content[name]) {
			t.Errorf("curl %s: content differs (%v)", name, err)
		}
		records = append(records, transferRecord{file: name, port: port, blksize: 1024, size: len(got)})
	}
	// Negative control, in the same capture: an RRQ cut off in its file
	// name. Wireshark must flag it, which shows the check below can fail.
	ctl, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", controlPort))
	if err != nil {
		t.Fatal(err)
	}
	ctl.WriteTo([]byte{0, 1, 'X', 'M', 'L'}, server)
	ctl.SetReadDeadline(time.Now().Add(2 * time.Second))
	ctl.ReadFrom(make([]byte, 1500)) // the server's ERROR, if any
	ctl.Close()
	capture.stop(t)

	decodeAs := fmt.Sprintf("udp.port==%d,tftp", server.Port)

	// 1. Nothing malformed and no expert warning or error, except the control.
	bad := capture.read(t, "-d", decodeAs, "-Y", "_ws.malformed || _ws.expert.severity >= warning",
		"-T", "fields", "-e", "frame.number", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "_ws.expert.message")
	controlFlagged := false
	for line := range strings.Lines(bad) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(f) >= 3 && (f[1] == strconv.Itoa(controlPort) || f[2] == strconv.Itoa(controlPort)) {
			controlFlagged = true
			continue
		}
		t.Errorf("tshark flags a frame: %s", line)
	}
	if !controlFlagged {
		t.Errorf("the truncated control RRQ was not flagged; the check cannot fail:\n%s", bad)
	}

	// 2. Every transfer decoded in full: tshark followed each conversation
	// from its RRQ to the server's transfer port and saw every DATA block.
	dataByPort := map[int]int{}
	for line := range strings.Lines(capture.read(t, "-d", decodeAs, "-Y", "tftp.opcode==3",
		"-T", "fields", "-e", "udp.dstport")) {
		p, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("DATA frame line %q", line)
		}
		dataByPort[p]++
	}
	for _, r := range records {
		bs := r.blksize
		if bs == 0 {
			bs = 512
		}
		// The last block is the first one shorter than blksize (RFC 1350 §6).
		if want := r.size/bs + 1; dataByPort[r.port] != want {
			t.Errorf("%s (client port %d, blksize %d): tshark decoded %d DATA blocks, want %d",
				r.file, r.port, r.blksize, dataByPort[r.port], want)
		}
	}

	// 3. One OACK per negotiated transfer, carrying its blksize and tsize.
	type oackSeen struct{ names, values string }
	oacks := map[int]oackSeen{}
	for line := range strings.Lines(capture.read(t, "-d", decodeAs, "-Y", "tftp.opcode==6",
		"-T", "fields", "-E", "aggregator=,", "-e", "udp.dstport", "-e", "tftp.option.name", "-e", "tftp.option.value")) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		p, err := strconv.Atoi(f[0])
		if err != nil || len(f) != 3 {
			t.Fatalf("OACK frame line %q", line)
		}
		if _, dup := oacks[p]; dup {
			t.Errorf("two OACKs to client port %d", p)
		}
		oacks[p] = oackSeen{f[1], f[2]}
	}
	negotiated := 0
	for _, r := range records {
		o, ok := oacks[r.port]
		if r.blksize == 0 {
			if ok {
				t.Errorf("%s: OACK to a request without options: %+v", r.file, o)
			}
			continue
		}
		negotiated++
		if !ok {
			t.Errorf("%s (client port %d): no OACK in the capture", r.file, r.port)
			continue
		}
		got := map[string]string{}
		ns, vs := strings.Split(o.names, ","), strings.Split(o.values, ",")
		for i := range min(len(ns), len(vs)) {
			got[strings.ToLower(ns[i])] = vs[i]
		}
		if got["blksize"] != strconv.Itoa(r.blksize) || got["tsize"] != strconv.Itoa(r.size) {
			t.Errorf("%s (client port %d): OACK %v, want blksize %d tsize %d", r.file, r.port, got, r.blksize, r.size)
		}
	}
	if len(oacks) != negotiated {
		t.Errorf("%d OACKs in the capture, want %d", len(oacks), negotiated)
	}
	t.Logf("%d transfers (%d negotiated) decoded cleanly by tshark", len(records), negotiated)
}
