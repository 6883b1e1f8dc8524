package tftp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer runs s on 127.0.0.1:0 until the test ends and returns the
// request address.
func startServer(t testing.TB, s *Server) *net.UDPAddr {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
		pc.Close()
	})
	return pc.LocalAddr().(*net.UDPAddr)
}

func mapHandler(files map[string][]byte) Handler {
	return LookupHandler(func(name string) ([]byte, bool) {
		b, ok := files[name]
		return b, ok
	})
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// testClient is a minimal RFC 1350/2347 read client.
type testClient struct {
	// dropAck, when set, is asked before each ACK is sent; true skips it
	// (simulating a lost ACK).
	dropAck func(block uint16) bool
	// timeout is how long the client waits for any packet.
	timeout time.Duration
}

type getResult struct {
	data    []byte
	oack    Options // nil: server sent no OACK
	packets int     // DATA packets received, duplicates included
	dups    int     // DATA packets that repeated the previous block
}

func (c *testClient) get(server *net.UDPAddr, name string, opts Options) (getResult, error) {
	var res getResult
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return res, err
	}
	defer conn.Close()
	rrq, err := (&Request{Filename: name, Mode: "octet", Options: opts}).Marshal()
	if err != nil {
		return res, err
	}
	if _, err := conn.WriteTo(rrq, server); err != nil {
		return res, err
	}
	timeout := c.timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	blockSize := DefaultBlockSize
	var tid *net.UDPAddr
	var next uint64 = 1 // next block index expected (64-bit, wraps on the wire)
	buf := make([]byte, MaxPacketSize+1)
	ack := func(block uint16) error {
		if c.dropAck != nil && c.dropAck(block) {
			return nil
		}
		b, _ := (&Ack{Block: block}).Marshal()
		_, err := conn.WriteTo(b, tid)
		return err
	}
	for range 10_000_000 { // bounded
		_ = conn.SetReadDeadline(time.Now().Add(timeout))
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			return res, fmt.Errorf("after %d bytes: %w", len(res.data), err)
		}
		if tid == nil {
			tid = from
		} else if from.Port != tid.Port {
			return res, fmt.Errorf("packet from unexpected TID %v", from)
		}
		p, err := ParsePacket(buf[:n])
		if err != nil {
			return res, err
		}
		switch p := p.(type) {
		case *Error:
			return res, p
		case *OptionAck:
			res.oack = p.Options
			if v, ok := p.Options.Get("blksize"); ok {
				blockSize, _ = strconv.Atoi(v)
			}
			if err := ack(0); err != nil {
				return res, err
			}
		case *Data:
			res.packets++
			if p.Block == uint16(next-1) && next > 1 {
				res.dups++
				if err := ack(p.Block); err != nil { // re-ACK a duplicate (RFC 1350 §6)
					return res, err
				}
				continue
			}
			if p.Block != uint16(next) {
				return res, fmt.Errorf("got block %d, want %d", p.Block, uint16(next))
			}
			res.data = append(res.data, p.Payload...)
			next++
			if err := ack(p.Block); err != nil {
				return res, err
			}
			if len(p.Payload) < blockSize {
				return res, nil
			}
		default:
			return res, fmt.Errorf("unexpected %v", p.Opcode())
		}
	}
	return res, errors.New("client loop bound reached")
}

func wantTFTPError(t *testing.T, err error, code ErrorCode) {
	t.Helper()
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("error = %v, want TFTP error %d", err, code)
	}
	if te.Code != code {
		t.Fatalf("TFTP error code %d (%q), want %d", te.Code, te.Message, code)
	}
}

func TestServeSizes(t *testing.T) {
	files := map[string][]byte{
		"empty":  {},
		"small":  []byte("<device></device>\n"),
		"512":    randomBytes(512, 1),
		"1024":   randomBytes(1024, 2),
		"big":    randomBytes(100_000, 3),
		"511":    randomBytes(511, 4),
		"5x1468": randomBytes(5*1468, 5),
	}
	addr := startServer(t, &Server{Handler: mapHandler(files)})
	for _, opts := range []Options{nil, {{"blksize", "1468"}}} {
		for name, want := range files {
			t.Run(fmt.Sprintf("%s/%v", name, opts), func(t *testing.T) {
				c := &testClient{}
				res, err := c.get(addr, name, opts)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(res.data, want) {
					t.Fatalf("got %d bytes, want %d (content differs)", len(res.data), len(want))
				}
				bs := DefaultBlockSize
				if opts != nil {
					bs = 1468
				}
				if wantPackets := len(want)/bs + 1; res.packets != wantPackets {
					t.Errorf("received %d DATA packets, want %d", res.packets, wantPackets)
				}
			})
		}
	}
}

func TestServeNotFound(t *testing.T) {
	addr := startServer(t, &Server{Handler: mapHandler(nil)})
	_, err := (&testClient{}).get(addr, "CTLSEP001122334455.tlv", nil)
	wantTFTPError(t, err, ErrCodeNotFound)
}

func TestServeWriteRefused(t *testing.T) {
	addr := startServer(t, &Server{Handler: mapHandler(nil)})
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wrq, _ := (&Request{Write: true, Filename: "upload.bin", Mode: "octet"}).Marshal()
	if _, err := conn.WriteTo(wrq, addr); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 600)
	n, _, err := conn.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePacket(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	wantTFTPError(t, p.(error), ErrCodeAccessViolation)
}

func TestOptionNegotiation(t *testing.T) {
	file := randomBytes(3000, 7)
	tests := []struct {
		name     string
		maxBlock int
		opts     Options
		wantOACK Options
	}{
		{"none", 0, nil, nil},
		{"all three", 0,
			Options{{"blksize", "1024"}, {"tsize", "0"}, {"timeout", "3"}},
			Options{{"blksize", "1024"}, {"tsize", "3000"}, {"timeout", "3"}}},
		{"case kept", 0, Options{{"BLKSIZE", "1428"}}, Options{{"BLKSIZE", "1428"}}},
		{"clamped to protocol max", 0, Options{{"blksize", "70000"}}, Options{{"blksize", "65464"}}},
		{"clamped to server max", 1468, Options{{"blksize", "8192"}}, Options{{"blksize", "1468"}}},
		{"too small ignored", 0, Options{{"blksize", "4"}}, nil},
		{"bad timeout ignored", 0, Options{{"timeout", "0"}, {"tsize", "0"}}, Options{{"tsize", "3000"}}},
		{"unknown ignored", 0, Options{{"windowsize", "4"}, {"multicast", ""}}, nil},
		{"minimum block", 0, Options{{"blksize", "8"}}, Options{{"blksize", "8"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startServer(t, &Server{Handler: mapHandler(map[string][]byte{"f": file}), MaxBlockSize: tt.maxBlock})
			res, err := (&testClient{}).get(addr, "f", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.wantOACK, res.oack); d != "" {
				t.Errorf("OACK (-want +got):\n%s", d)
			}
			if !bytes.Equal(res.data, file) {
				t.Errorf("content differs: got %d bytes", len(res.data))
			}
		})
	}
}

// TestLostAckRetransmission drops the first ACK of block 3: the server must
// resend block 3 after its timeout, and must not answer the client's
// duplicate ACK 3 by resending block 4 (Sorcerer's Apprentice).
func TestLostAckRetransmission(t *testing.T) {
	file := randomBytes(20*512+17, 9)
	addr := startServer(t, &Server{Handler: mapHandler(map[string][]byte{"f": file}), Timeout: 100 * time.Millisecond})
	var mu sync.Mutex
	dropped := 0
	c := &testClient{dropAck: func(block uint16) bool {
		mu.Lock()
		defer mu.Unlock()
		if block == 3 && dropped == 0 {
			dropped++
			return true
		}
		return false
	}}
	res, err := c.get(addr, "f", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.data, file) {
		t.Fatal("content differs")
	}
	if dropped != 1 {
		t.Fatalf("dropped %d ACKs, want 1", dropped)
	}
	// One resend of block 3 is required; a server with the Sorcerer's
	// Apprentice bug would also duplicate every later block (18 more).
	if res.dups < 1 || res.dups > 3 {
		t.Errorf("client saw %d duplicate DATA packets, want 1 (at most 3 on a slow machine)", res.dups)
	}
}

func TestRetryLimitGivesUp(t *testing.T) {
	s := &Server{Handler: mapHandler(map[string][]byte{"f": randomBytes(2000, 1)}), Timeout: 20 * time.Millisecond, Retries: 2}
	addr := startServer(t, s)
	c := &testClient{dropAck: func(uint16) bool { return true }, timeout: 300 * time.Millisecond}
	res, err := c.get(addr, "f", nil)
	if err == nil {
		t.Fatal("transfer completed although every ACK was dropped")
	}
	// 1 send + 2 retries of block 1.
	if res.packets != 3 {
		t.Errorf("received %d DATA packets, want 3", res.packets)
	}
	waitIdle(t, s)
}

func waitIdle(t *testing.T, s *Server) {
	t.Helper()
	for range 500 {
		if s.ActiveTransfers() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d transfers still active", s.ActiveTransfers())
}

func TestBlockNumberWrap(t *testing.T) {
	// blksize 8 wraps the 16-bit block number after 512 KiB; 65536+10
	// blocks exercise 65535 -> 0 -> 1.
	file := randomBytes(8*(65536+10)+3, 11)
	addr := startServer(t, &Server{Handler: mapHandler(map[string][]byte{"wrap": file})})
	res, err := (&testClient{}).get(addr, "wrap", Options{{"blksize", "8"}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.data, file) {
		t.Fatalf("content differs: got %d bytes, want %d", len(res.data), len(file))
	}
	if res.packets != 65536+11 {
		t.Errorf("received %d DATA packets, want %d", res.packets, 65536+11)
	}
}

func TestConcurrentTransfers(t *testing.T) {
	const n = 24
	files := map[string][]byte{}
	for i := range n {
		files[fmt.Sprintf("f%d", i)] = randomBytes(20_000+i*100, uint64(i))
	}
	s := &Server{Handler: mapHandler(files), MaxPerSource: n}
	addr := startServer(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("f%d", i)
			res, err := (&testClient{}).get(addr, name, Options{{"blksize", "1024"}})
			if err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				return
			}
			if !bytes.Equal(res.data, files[name]) {
				errs <- fmt.Errorf("%s: content differs", name)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPerSourceLimit holds one transfer open (its client never ACKs) and
// checks that a second request from the same IP is refused.
func TestPerSourceLimit(t *testing.T) {
	s := &Server{Handler: mapHandler(map[string][]byte{"f": randomBytes(5000, 1)}), MaxPerSource: 1,
		Timeout: 2 * time.Second, Retries: 1}
	addr := startServer(t, s)
	hold, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	rrq, _ := (&Request{Filename: "f", Mode: "octet"}).Marshal()
	if _, err := hold.WriteTo(rrq, addr); err != nil {
		t.Fatal(err)
	}
	_ = hold.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 600)
	if _, _, err := hold.ReadFrom(buf); err != nil { // DATA 1 arrived: transfer is active
		t.Fatal(err)
	}
	_, err = (&testClient{}).get(addr, "f", nil)
	wantTFTPError(t, err, ErrCodeUndefined)
	if s.ActiveTransfers() != 1 {
		t.Errorf("ActiveTransfers = %d, want 1", s.ActiveTransfers())
	}
}

// TestUnknownTID sends a stray ACK to a transfer's port from another socket:
// it must get error 5 while the real transfer continues (RFC 1350 §4).
func TestUnknownTID(t *testing.T) {
	file := randomBytes(3000, 3)
	addr := startServer(t, &Server{Handler: mapHandler(map[string][]byte{"f": file})})
	var once sync.Once
	var strayErr error
	var tidPort int
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rrq, _ := (&Request{Filename: "f", Mode: "octet"}).Marshal()
	conn.WriteTo(rrq, addr)
	buf := make([]byte, 600)
	var got []byte
	for block := uint16(1); ; block++ {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		tidPort = from.Port
		once.Do(func() { strayErr = strayAck(from) })
		var d Data
		if err := d.Unmarshal(buf[:n]); err != nil || d.Block != block {
			t.Fatalf("block %d: %v %v", block, d.Block, err)
		}
		got = append(got, d.Payload...)
		a, _ := (&Ack{Block: block}).Marshal()
		conn.WriteTo(a, from)
		if len(d.Payload) < 512 {
			break
		}
	}
	if strayErr != nil {
		t.Errorf("stray sender on port %d: %v", tidPort, strayErr)
	}
	if !bytes.Equal(got, file) {
		t.Error("content differs")
	}
}

func strayAck(to *net.UDPAddr) error {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer c.Close()
	a, _ := (&Ack{Block: 1}).Marshal()
	if _, err := c.WriteTo(a, to); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 600)
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		return err
	}
	var e Error
	if err := e.Unmarshal(buf[:n]); err != nil {
		return fmt.Errorf("want ERROR: %w", err)
	}
	if e.Code != ErrCodeUnknownTID {
		return fmt.Errorf("error code %d, want 5", e.Code)
	}
	return nil
}

func TestPathTraversal(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	must(t, os.MkdirAll(filepath.Join(root, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(base, "secret"), []byte("SECRET"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "P00308010200.bin"), []byte("firmware"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "sub", "ring.raw"), []byte("ring"), 0o644))
	must(t, os.Symlink(filepath.Join(base, "secret"), filepath.Join(root, "escape")))
	must(t, os.Symlink("../secret", filepath.Join(root, "sub", "rel")))
	must(t, os.Symlink("P00308010200.bin", filepath.Join(root, "inside")))
	dh, err := NewDirHandler(root)
	if err != nil {
		t.Fatal(err)
	}
	defer dh.Close()
	gen := mapHandler(map[string][]byte{"SEP001122334455.cnf.xml": []byte("<device/>")})
	addr := startServer(t, &Server{Handler: Chain(gen, dh)})

	ok := map[string]string{
		"P00308010200.bin":        "firmware",
		"p00308010200.BIN":        "firmware", // case-insensitive fallback
		"sub/ring.raw":            "ring",
		"inside":                  "firmware", // symlink staying inside the root
		"SEP001122334455.cnf.xml": "<device/>",
	}
	for name, want := range ok {
		res, err := (&testClient{}).get(addr, name, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if string(res.data) != want {
			t.Errorf("%s: got %q, want %q", name, res.data, want)
		}
	}
	refused := []string{
		"../secret", "/etc/passwd", "sub/../../secret", "..\\secret", "sub\\..\\..\\secret",
		"%2e%2e/secret", "..%2fsecret", "escape", "sub/rel", "./secret", "sub//ring.raw",
		"C:secret", "sub/", ".", "..", "a\x01b", "sub",
	}
	for _, name := range refused {
		res, err := (&testClient{}).get(addr, name, nil)
		if err == nil {
			t.Errorf("%q: served %q", name, res.data)
			continue
		}
		var te *Error
		if !errors.As(err, &te) || (te.Code != ErrCodeAccessViolation && te.Code != ErrCodeNotFound) {
			t.Errorf("%q: error %v, want TFTP error 1 or 2", name, err)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCleanName(t *testing.T) {
	for _, good := range []string{"SEP001122334455.cnf.xml", "firmware/P003.bin", "term41.default.loads"} {
		if got, err := CleanName(good); err != nil || got != good {
			t.Errorf("CleanName(%q) = %q, %v", good, got, err)
		}
	}
	for _, bad := range []string{"", "/x", "../x", "x/..", "x\\y", "x\x00y", "%2e%2e", "a//b", "x/./y"} {
		if _, err := CleanName(bad); !errors.Is(err, ErrAccessViolation) {
			t.Errorf("CleanName(%q) error = %v, want ErrAccessViolation", bad, err)
		}
	}
}

func TestChainOrderAndErrors(t *testing.T) {
	first := mapHandler(map[string][]byte{"a": []byte("first")})
	second := mapHandler(map[string][]byte{"a": []byte("second"), "b": []byte("b")})
	denied := HandlerFunc(func(context.Context, string, netip.AddrPort) (io.ReaderAt, int64, error) {
		return nil, 0, ErrAccessViolation
	})
	h := Chain(first, nil, second, denied)
	read := func(name string) (string, error) {
		r, size, err := h.Open(context.Background(), name, netip.AddrPort{})
		if err != nil {
			return "", err
		}
		b := make([]byte, size)
		_, err = r.ReadAt(b, 0)
		return string(b), err
	}
	if got, err := read("a"); err != nil || got != "first" {
		t.Errorf("a = %q, %v", got, err)
	}
	if got, err := read("b"); err != nil || got != "b" {
		t.Errorf("b = %q, %v", got, err)
	}
	if _, err := read("c"); !errors.Is(err, ErrAccessViolation) {
		t.Errorf("c error = %v, want the last handler's access violation", err)
	}
	if _, _, err := Chain(first).Open(context.Background(), "zz", netip.AddrPort{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing error = %v, want ErrNotFound", err)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// A transfer whose client never ACKs is running when we cancel.
	s := &Server{Handler: mapHandler(map[string][]byte{"f": randomBytes(2000, 1)}), Timeout: time.Minute,
		Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc) }()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rrq, _ := (&Request{Filename: "f", Mode: "octet"}).Marshal()
	c.WriteTo(rrq, pc.LocalAddr())
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadFrom(make([]byte, 600)); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not stop")
	}
	if n := s.ActiveTransfers(); n != 0 {
		t.Errorf("%d transfers left after Serve returned", n)
	}
}

func TestListenErrorExplainsPermission(t *testing.T) {
	err := ListenError(&net.OpError{Op: "listen", Net: "udp", Err: os.NewSyscallError("bind", os.ErrPermission)}, "0.0.0.0:69")
	msg := err.Error()
	for _, want := range []string{"setcap cap_net_bind_service=+ep", "ip_unprivileged_port_start=69", "REDIRECT", "tftp-server address"} {
		if !bytes.Contains([]byte(msg), []byte(want)) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if !errors.Is(err, os.ErrPermission) {
		t.Error("ListenError does not wrap the cause")
	}
	if ListenError(nil, "x") != nil {
		t.Error("ListenError(nil) != nil")
	}
}

// TestCurlInterop fetches files with curl's TFTP client.
func TestCurlInterop(t *testing.T) {
	curl, err := exec.LookPath("curl")
	hasTFTP := err == nil
	if hasTFTP {
		out, verr := exec.Command(curl, "-V").Output()
		hasTFTP = verr == nil && bytes.Contains(out, []byte("tftp"))
	}
	if !hasTFTP {
		if os.Getenv("CMED_INTEROP") == "1" {
			t.Fatal("curl with TFTP support is required when CMED_INTEROP=1")
		}
		t.Skip("curl without tftp support")
	}
	files := map[string][]byte{
		"SEP001122334455.cnf.xml": []byte("<device><fullConfig>true</fullConfig></device>\n"),
		"exact1024":               randomBytes(1024, 21),
		"P00308010200.bin":        randomBytes(300_000, 22),
	}
	addr := startServer(t, &Server{Handler: mapHandler(files)})
	dir := t.TempDir()
	for _, blk := range []string{"", "1024", "8"} {
		for name, want := range files {
			if blk == "8" && len(want) > 2000 {
				continue
			}
			out := filepath.Join(dir, "out")
			args := []string{"-s", "-S", "--max-time", "30"}
			if blk != "" {
				args = append(args, "--tftp-blksize", blk)
			}
			args = append(args, fmt.Sprintf("tftp://%s/%s", addr, name), "-o", out)
			if b, err := exec.Command(curl, args...).CombinedOutput(); err != nil {
				t.Errorf("curl %v: %v\n%s", args, err, b)
				continue
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("curl blksize %q %s: got %d bytes, want %d", blk, name, len(got), len(want))
			}
		}
	}
	// Block-number wrap as curl understands it: 65535 is followed by 0.
	wrap := randomBytes(8*(65536+5)+1, 23)
	wrapAddr := startServer(t, &Server{Handler: mapHandler(map[string][]byte{"wrap": wrap})})
	out := filepath.Join(dir, "wrap")
	args := []string{"-s", "-S", "--max-time", "60", "--tftp-blksize", "8", fmt.Sprintf("tftp://%s/wrap", wrapAddr), "-o", out}
	if b, err := exec.Command(curl, args...).CombinedOutput(); err != nil {
		t.Errorf("curl %v: %v\n%s", args, err, b)
	} else if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, wrap) {
		t.Errorf("curl wrap transfer: got %d bytes (%v), want %d", len(got), err, len(wrap))
	}
	// Not found: curl exits 68 (CURLE_TFTP_NOTFOUND).
	cmd := exec.Command(curl, "-s", "--max-time", "10", fmt.Sprintf("tftp://%s/CTLSEP001122334455.tlv", addr), "-o", filepath.Join(dir, "x"))
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 68 {
		t.Errorf("curl on a missing file: %v, want exit status 68", err)
	}
}

// TestDuplicateRequestIgnored retransmits the RRQ before answering: the
// server must run one transfer and send nothing else (no error, no second
// DATA 1 from another port).
func TestDuplicateRequestIgnored(t *testing.T) {
	file := randomBytes(700, 5)
	s := &Server{Handler: mapHandler(map[string][]byte{"f": file}), Timeout: time.Minute}
	addr := startServer(t, s)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rrq, _ := (&Request{Filename: "f", Mode: "octet"}).Marshal()
	conn.WriteTo(rrq, addr)
	buf := make([]byte, 600)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, tid, err := conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := ParsePacket(buf[:n]); err != nil || p.Opcode() != OpDATA {
		t.Fatalf("first reply %v %v", p, err)
	}
	conn.WriteTo(rrq, addr) // retransmitted request while the transfer runs
	_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, from, err := conn.ReadFromUDP(buf); err == nil {
		t.Fatalf("unexpected %d-byte packet from %v after duplicate RRQ", n, from)
	}
	if s.ActiveTransfers() != 1 {
		t.Errorf("ActiveTransfers = %d, want 1", s.ActiveTransfers())
	}
	// Finish the transfer normally.
	for _, block := range []uint16{1, 2} {
		a, _ := (&Ack{Block: block}).Marshal()
		conn.WriteTo(a, tid)
		if block == 2 {
			break
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := conn.ReadFromUDP(buf); err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, s)
}
