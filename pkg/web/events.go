package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"time"
)

// SSE event names (the `event:` field, HTML Living Standard §9.2
// "Server-sent events"). The page's EventSource listens for each.
const (
	EventSnapshot = "snapshot" // data: State; replaces the whole board
	EventDN       = "dn"       // data: DNView
	EventDevice   = "device"   // data: DeviceView
	EventSubs     = "subs"     // data: {"subscriptions": [...], "trunks": [...]}
)

// streamState is what one stream has sent, to send only differences.
type streamState struct {
	dnIDs, devIDs []string
	dns, devs     map[string][]byte
	subs          []byte
}

type subsPayload struct {
	Subscriptions []SubView `json:"subscriptions"`
	Trunks        []SubView `json:"trunks"`
}

// events is the SSE stream: a full snapshot first, then per-DN and
// per-device changes, with `: ping` comments as heartbeat. EventSource
// reconnects by itself after errors and gets a fresh snapshot.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	c := s.addClient() // before the first read, so no change is missed
	defer s.removeClient(c)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	var last *streamState
	write := func() error {
		if buf.Len() == 0 {
			return nil
		}
		_ = rc.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		if err == nil {
			err = rc.Flush()
		}
		return err
	}
	update := func() error {
		st, err := s.State()
		if err != nil {
			return err
		}
		last = appendDiff(&buf, last, st)
		return write()
	}

	buf.WriteString("retry: 2000\n\n")
	if err := update(); err != nil {
		s.log.Debug("sse stream ended", "remote", r.RemoteAddr, "err", err)
		return
	}
	heartbeat := time.NewTicker(s.opts.Heartbeat)
	defer heartbeat.Stop()
	poll := time.NewTicker(s.opts.Poll)
	defer poll.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-heartbeat.C:
			buf.WriteString(": ping\n\n")
			err = write()
		case <-c.wake:
			err = update()
		case <-poll.C:
			err = update()
		}
		if err != nil {
			if !errors.Is(err, io.ErrClosedPipe) {
				s.log.Debug("sse stream ended", "remote", r.RemoteAddr, "err", err)
			}
			return
		}
	}
}

// appendDiff writes the events that bring a stream from prev (nil: nothing
// sent yet) to st and returns the new sent-state. A change in the set of
// DNs or devices (a config change) resends the whole snapshot.
func appendDiff(buf *bytes.Buffer, prev *streamState, st State) *streamState {
	next := &streamState{dns: make(map[string][]byte, len(st.DNs)), devs: make(map[string][]byte, len(st.Devices))}
	for _, d := range st.DNs {
		next.dnIDs = append(next.dnIDs, d.ID)
		next.dns[d.ID] = mustJSON(d)
	}
	for _, d := range st.Devices {
		next.devIDs = append(next.devIDs, d.ID)
		next.devs[d.ID] = mustJSON(d)
	}
	next.subs = mustJSON(subsPayload{st.Subscriptions, st.Trunks})

	if prev == nil || !slices.Equal(prev.dnIDs, next.dnIDs) || !slices.Equal(prev.devIDs, next.devIDs) {
		appendEvent(buf, EventSnapshot, mustJSON(st))
		return next
	}
	for _, id := range next.dnIDs {
		if !bytes.Equal(prev.dns[id], next.dns[id]) {
			appendEvent(buf, EventDN, next.dns[id])
		}
	}
	for _, id := range next.devIDs {
		if !bytes.Equal(prev.devs[id], next.devs[id]) {
			appendEvent(buf, EventDevice, next.devs[id])
		}
	}
	if !bytes.Equal(prev.subs, next.subs) {
		appendEvent(buf, EventSubs, next.subs)
	}
	return next
}

// appendEvent writes one SSE event. data is compact JSON, which never
// contains a newline, so one data: line suffices.
func appendEvent(buf *bytes.Buffer, name string, data []byte) {
	buf.WriteString("event: ")
	buf.WriteString(name)
	buf.WriteString("\ndata: ")
	buf.Write(data)
	buf.WriteString("\n\n")
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs of strings, ints and bools reach here
	}
	return b
}
