package daemon_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmed-project/cmed/internal/repotest"

	configs "github.com/cmed-project/cmed/config"
	"github.com/cmed-project/cmed/internal/cmedtest"
	pkgconfig "github.com/cmed-project/cmed/pkg/config"
	"github.com/cmed-project/cmed/pkg/tftp"
)

// fetch is a minimal RFC 1350/2347 read client: it asks for blksize and
// tsize and checks the OACK, so negotiation through the whole daemon is
// exercised.
func fetch(addr, name string, blksize int) ([]byte, error) {
	return fetchFrom("127.0.0.1", addr, name, blksize)
}

// fetchFrom fetches from a given loopback source address: each of the
// 127.0.0.0/8 addresses stands in for one phone, so per-source limits
// behave as they would with real phones.
func fetchFrom(src, addr, name string, blksize int) ([]byte, error) {
	c, err := net.ListenPacket("udp", src+":0")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	server, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	req := &tftp.Request{Filename: name, Mode: "octet", Options: tftp.Options{{Name: "blksize", Value: fmt.Sprint(blksize)}, {Name: "tsize", Value: "0"}}}
	b, _ := req.Marshal()
	if _, err := c.WriteTo(b, server); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	var peer net.Addr
	buf := make([]byte, 65536)
	want := uint16(1)
	tsize := -1
	for {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return nil, err
		}
		if peer == nil {
			peer = from
		}
		p, err := tftp.ParsePacket(buf[:n])
		if err != nil {
			return nil, err
		}
		switch p := p.(type) {
		case *tftp.OptionAck:
			if v, ok := p.Options.Get("blksize"); !ok || v != fmt.Sprint(blksize) {
				return nil, fmt.Errorf("OACK blksize %q", v)
			}
			v, ok := p.Options.Get("tsize")
			if !ok {
				return nil, errors.New("OACK without tsize")
			}
			fmt.Sscan(v, &tsize)
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
				if tsize >= 0 && tsize != out.Len() {
					return nil, fmt.Errorf("tsize %d but got %d bytes", tsize, out.Len())
				}
				return out.Bytes(), nil
			}
		case *tftp.Error:
			return nil, p
		}
	}
}

func defaultInstance(t *testing.T) *cmedtest.Instance {
	return cmedtest.StartIn(t, t.TempDir(), configs.Default)
}

// expectedFiles lists what `create cnf-files` / `create profile` must serve
// for a config: one SEP<MAC>.cnf.xml per ephone and per pool, plus the
// shared files.
func expectedFiles(t *testing.T, c *pkgconfig.Config) []string {
	names := []string{"XMLDefault.cnf.xml", "RINGLIST.XML"}
	for _, e := range c.Ephones {
		names = append(names, "SEP"+strings.ReplaceAll(e.MAC, ".", "")+".cnf.xml")
	}
	for _, p := range c.VoiceRegisterPools {
		names = append(names, "SEP"+strings.ReplaceAll(p.MAC, ".", "")+".cnf.xml")
	}
	if len(names) < 8 {
		t.Fatalf("the default config should have 4 ephones and 2 pools, got %v", names)
	}
	return names
}

func TestInteropCurlFetchesEveryGeneratedFile(t *testing.T) {
	repotest.Tool(t, "curl")
	inst := defaultInstance(t)
	addr := inst.Addr("tftp").String()
	dir := t.TempDir()
	for _, name := range expectedFiles(t, inst.Running()) {
		out := filepath.Join(dir, name)
		cmd := exec.Command("curl", "-sS", "--max-time", "10", "--tftp-blksize", "1024", "-o", out, "tftp://"+addr+"/"+name)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("curl %s: %v %s", name, err, b)
			continue
		}
		data, _ := os.ReadFile(out)
		if strings.HasSuffix(name, ".xml") || strings.HasSuffix(name, ".XML") {
			if err := wellFormed(data); err != nil {
				t.Errorf("%s is not well-formed XML: %v", name, err)
			}
		}
		if strings.HasPrefix(name, "SEP") {
			// docs/sccp.md §Device-config-file: the server address and port phones need.
			for _, el := range []string{"<processNodeName>127.0.0.1</processNodeName>", "<callManagerGroup>", "<loadInformation"} {
				if !bytes.Contains(data, []byte(el)) && !strings.Contains(name, "4411") && !strings.Contains(name, "4412") {
					t.Errorf("%s lacks %s", name, el)
				}
			}
		}
	}
	// A probe for a trust list gets file-not-found at once (curl exit 68).
	start := time.Now()
	err := exec.Command("curl", "-sS", "--max-time", "10", "-o", filepath.Join(dir, "ctl"), "tftp://"+addr+"/CTLSEP001122334401.tlv").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 68 {
		t.Errorf("CTL probe: %v, want curl exit 68 (file not found)", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("CTL probe took %v: phones must never wait for a timeout", time.Since(start))
	}
}

func wellFormed(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return nil
			}
			return err
		}
	}
}

func TestTFTPConcurrentFetchesAllMatch(t *testing.T) {
	inst := defaultInstance(t)
	addr := inst.Addr("tftp").String()
	names := expectedFiles(t, inst.Running())
	want := map[string][]byte{}
	for _, n := range names {
		b, err := fetch(addr, n, 512)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		want[n] = b
	}
	const N = 200
	var wg sync.WaitGroup
	errs := make(chan error, N)
	for i := range N {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := names[i%len(names)]
			sizes := []int{512, 1024, 1428, 8}
			src := fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250)
			got, err := fetchFrom(src, addr, n, sizes[i%len(sizes)])
			if err != nil {
				errs <- fmt.Errorf("%s: %w", n, err)
				return
			}
			if !bytes.Equal(got, want[n]) {
				errs <- fmt.Errorf("%s: content differs", n)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestTFTPRefusesTraversalAndWritesAndKeepsServing(t *testing.T) {
	inst := defaultInstance(t)
	addr := inst.Addr("tftp").String()
	for _, bad := range []string{"../etc/passwd", "/etc/passwd", "..\\x", "a/../../b", "%2e%2e/passwd"} {
		_, err := fetch(addr, bad, 512)
		var te *tftp.Error
		if !errors.As(err, &te) {
			t.Errorf("%q: err %v, want a TFTP error", bad, err)
		}
	}
	// A write request.
	c, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer c.Close()
	srv, _ := net.ResolveUDPAddr("udp", addr)
	b, _ := (&tftp.Request{Write: true, Filename: "x.cnf.xml", Mode: "octet"}).Marshal()
	c.WriteTo(b, srv)
	buf := make([]byte, 1024)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := tftp.ParsePacket(buf[:n]); p == nil || p.Opcode() != tftp.OpERROR {
		t.Fatalf("WRQ answered with %v", p)
	}
	if _, err := fetch(addr, "XMLDefault.cnf.xml", 512); err != nil {
		t.Fatalf("server stopped serving after bad requests: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if !inst.Logs.Contains("service=tftp") {
		t.Errorf("refusals were not logged:\n%s", inst.Logs.String())
	}
}

func TestChangingButtonsChangesTheServedFile(t *testing.T) {
	inst := defaultInstance(t)
	addr := inst.Addr("tftp").String()
	c := inst.Running()
	name := "SEP" + strings.ReplaceAll(c.Ephones[0].MAC, ".", "") + ".cnf.xml"
	before, err := fetch(addr, name, 512)
	if err != nil {
		t.Fatal(err)
	}
	next := c.Clone()
	next.Ephones[0].Type = "7970"
	if err := inst.ApplyConfig(next); err != nil {
		t.Fatal(err)
	}
	if inst.PhoneFilesSettled() < 1 {
		t.Fatal("phone files were not rebuilt")
	}
	after, err := fetch(addr, name, 512)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) {
		t.Fatal("the served file did not change with the config")
	}
}

// TestTFTPPerSourceLimitComesFromConfig sets `limit tftp transfers-per-source
// 1` and checks a second concurrent transfer from the same address is
// refused while one from another address is served.
func TestTFTPPerSourceLimitComesFromConfig(t *testing.T) {
	inst := cmedtest.Start(t, "tftp-server address 127.0.0.1 port 0\nlimit tftp transfers-per-source 1\n"+
		"telephony-service\n ip source-address 127.0.0.1 port 0\n")
	addr := inst.Addr("tftp").String()
	srv, _ := net.ResolveUDPAddr("udp", addr)
	// Open a transfer with a tiny block size and never acknowledge it, so
	// it stays active.
	hold, _ := net.ListenPacket("udp", "127.0.0.7:0")
	defer hold.Close()
	b, _ := (&tftp.Request{Filename: "XMLDefault.cnf.xml", Mode: "octet", Options: tftp.Options{{Name: "blksize", Value: "8"}}}).Marshal()
	hold.WriteTo(b, srv)
	buf := make([]byte, 600)
	hold.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := hold.ReadFrom(buf); err != nil {
		t.Fatal(err)
	}
	if _, err := fetchFrom("127.0.0.7", addr, "XMLDefault.cnf.xml", 512); err == nil {
		t.Fatal("second transfer from the same address was served despite the limit")
	}
	if _, err := fetchFrom("127.0.0.8", addr, "XMLDefault.cnf.xml", 512); err != nil {
		t.Fatalf("another address was refused: %v", err)
	}
}

// TestInteropCurlFetchesWithOnlyCreateCnfFiles: as on CME, `create
// cnf-files` alone makes the TFTP server hand out SEP<MAC>.cnf.xml; no
// `tftp-server` line is needed. curl is the independent client.
func TestInteropCurlFetchesWithOnlyCreateCnfFiles(t *testing.T) {
	curl := interopTool(t, "curl")
	inst := cmedtest.Start(t, "telephony-service\n ip source-address 127.0.0.1 port 0\n max-ephones 4\n max-dn 8\n create cnf-files\n"+
		"ephone-dn 1\n number 1001\nephone 1\n mac-address 0011.2233.4455\n type 7965\n button 1:1\n")
	a := inst.Addr("tftp")
	if a == nil {
		t.Fatalf("no TFTP listener with create cnf-files:\n%s", inst.Logs.String())
	}
	out := filepath.Join(t.TempDir(), "SEP001122334455.cnf.xml")
	cmd := exec.Command(curl, "-sS", "--max-time", "10", "-o", out, "tftp://"+a.String()+"/SEP001122334455.cnf.xml")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("curl: %v %s", err, b)
	}
	data, _ := os.ReadFile(out)
	if err := wellFormed(data); err != nil || !bytes.Contains(data, []byte("<device")) {
		t.Fatalf("not a phone file (%v): %q", err, data)
	}
	// Without create cnf-files (and no tftp-server line) there is nothing
	// to serve and no listener.
	off := cmedtest.Start(t, "telephony-service\n ip source-address 127.0.0.1 port 0\n")
	if a := off.Addr("tftp"); a != nil {
		t.Errorf("TFTP listener %v opened with nothing to serve", a)
	}
}

// TestTFTPServesPublishedFlashFiles: `tftp-server flash:FILE` publishes
// FILE from the state directory (the router's flash); removing the line
// unpublishes it.
func TestTFTPServesPublishedFlashFiles(t *testing.T) {
	dir := t.TempDir()
	fw := bytes.Repeat([]byte("P00308010200 firmware "), 100)
	if err := os.WriteFile(filepath.Join(dir, "P00308010200.bin"), fw, 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("not published"), 0o600)
	inst := cmedtest.StartIn(t, dir, []byte("tftp-server flash:P00308010200.bin\n"))
	a := inst.Addr("tftp")
	if a == nil {
		t.Fatalf("no TFTP listener for tftp-server flash:\n%s", inst.Logs.String())
	}
	got, err := fetch(a.String(), "P00308010200.bin", 512)
	if err != nil || !bytes.Equal(got, fw) {
		t.Fatalf("published file: %v (%d bytes, want %d)", err, len(got), len(fw))
	}
	if _, err := fetch(a.String(), "secret.txt", 512); err == nil {
		t.Error("an unpublished file in flash was served")
	}
	// With an alias, phones ask for the alias and the file's own name is
	// no longer served.
	inst.CLI(t, "configure terminal", "tftp-server flash:P00308010200.bin alias SCCP-7960.bin", "end")
	if got, err := fetch(a.String(), "SCCP-7960.bin", 512); err != nil || !bytes.Equal(got, fw) {
		t.Fatalf("aliased file: %v (%d bytes)", err, len(got))
	}
	if _, err := fetch(a.String(), "P00308010200.bin", 512); err == nil {
		t.Error("an aliased file was still served under its flash name")
	}
	inst.CLI(t, "configure terminal", "no tftp-server flash:P00308010200.bin", "end")
	if _, err := fetch(a.String(), "SCCP-7960.bin", 512); err == nil {
		t.Error("alias still served after `no tftp-server flash:`")
	}
	if _, err := fetch(a.String(), "P00308010200.bin", 512); err == nil {
		t.Error("file still served after `no tftp-server flash:`")
	}
}
