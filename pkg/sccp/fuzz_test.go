package sccp_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/cmed-project/cmed/pkg/sccp"
	"github.com/cmed-project/cmed/pkg/sccp/msg"
	"github.com/cmed-project/cmed/pkg/sccp/sccptest"
)

// registerFrame is a valid Register for ephone 5 (a 7970), so fuzz input
// also reaches the registered-session handlers.
func registerFrame(tb testing.TB) []byte {
	b, err := msg.AppendFrame(nil, 0, &msg.Register{DeviceName: "SEP000000000005", Instance: 1,
		DeviceType: 30006, MaxStreams: 5, ProtocolVersion: 22, WireLen: 124})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func frames(tb testing.TB, ms ...msg.Message) []byte {
	var b []byte
	for _, m := range ms {
		var err error
		if b, err = msg.AppendFrame(b, 0, m); err != nil {
			tb.Fatal(err)
		}
	}
	return b
}

// FuzzSession feeds random bytes to a session (after a valid Register when
// the first input byte is odd) and checks that the server does not panic,
// bounds what it reads (MaxFrame) and that a healthy phone on the same
// server keeps working.
func FuzzSession(f *testing.F) {
	f.Add(frames(f, &msg.KeepAlive{}, &msg.ButtonTemplateReq{}, &msg.FeatureStatReq{Index: 99, WireLen: 4}))
	f.Add(append([]byte{1}, frames(f, &msg.Stimulus{Stimulus: msg.ButtonBLFSpeedDial, Instance: 7, WireLen: 12},
		&msg.SubscriptionStatReq{TransactionID: 1, FeatureID: 1, Timer: 10, SubscriptionID: "1002"},
		&msg.OffHook{HasLine: true}, &msg.KeypadButton{Button: 1}, &msg.SoftKeyEvent{Event: 63})...))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 5, 0, 0, 0})
	f.Add([]byte{3, 4, 0, 0, 0, 0, 0, 0, 0, 0x34, 0, 0, 0})
	e := start(f, officeConfig, nil, sccp.Limits{MaxFrame: 8 << 10, HandshakeTimeout: time.Second,
		WriteTimeout: time.Second})
	healthy := e.phone(sccptest.Config{Model: "7961", MAC: "000000000003"}, true)
	reg := registerFrame(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		e.srv.ServeConn(server)
		drained := make(chan struct{})
		go func() { io.Copy(io.Discard, client); close(drained) }()
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if len(data) > 0 && data[0]&1 == 1 {
			client.Write(reg)
		}
		client.Write(data)
		client.Close()
		<-drained
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := healthy.KeepAlive(ctx); err != nil {
			t.Fatalf("healthy phone broken: %v", err)
		}
	})
}
