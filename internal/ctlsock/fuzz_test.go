package ctlsock

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzServeConn feeds arbitrary bytes to the control-socket protocol: the
// header parser and the batch reader must never panic or hang, whatever a
// local client sends.
func FuzzServeConn(f *testing.F) {
	f.Add([]byte("CMED-CLI/1 batch\nshow running-config\nwrite memory\n"))
	f.Add([]byte("CMED-CLI/1 interactive 80 24\nshow clock\n"))
	f.Add([]byte("CMED-CLI/1 interactive -5 x\n"))
	f.Add([]byte("HELLO\n"))
	f.Add([]byte("CMED-CLI/1\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			s := &Server{Handler: echoHandler{}}
			s.serveConn(context.Background(), server)
			server.Close()
		}()
		go func() {
			client.Write(data)
			client.Close()
		}()
		go io.Copy(io.Discard, client)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("serveConn did not return")
		}
	})
}
