package etcd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// EventType says what happened to a watched key.
type EventType int

// The event types of etcd's mvccpb.Event.
const (
	EventPut EventType = iota
	EventDelete
)

// String returns "put" or "delete".
func (t EventType) String() string {
	if t == EventDelete {
		return "delete"
	}
	return "put"
}

// Event is one change of a watched key; Value is empty for a delete.
type Event struct {
	Type  EventType
	Key   string
	Value []byte
}

// maxWatchMessage caps one message of a watch stream.
const maxWatchMessage = 16 << 20

// Watch follows the keys starting with prefix from now on (/v3/watch, a
// stream the gateway keeps open): each change of etcd's history arrives as
// one batch on the channel, in order. The channel is closed when ctx ends
// or the stream breaks (etcd gone, compacted, cancelled); Err then says
// why. The caller drains the channel, or cancels ctx.
func (c *Client) Watch(ctx context.Context, prefix string) (*Watcher, error) {
	body, err := json.Marshal(map[string]any{"create_request": map[string]any{
		"key": b64(prefix), "range_end": b64(prefixEnd(prefix))}})
	if err != nil {
		return nil, fmt.Errorf("%w: etcd: %v", errdefs.ErrInvalid, err)
	}
	var lastErr error
	start := int(c.next.Load())
	for i := range c.endpoints {
		ep := c.endpoints[(start+i)%len(c.endpoints)]
		w, err := c.openWatch(ctx, ep+"/v3/watch", body)
		if err == nil {
			return w, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// Watcher is a running watch.
type Watcher struct {
	// C receives the batches of events.
	C   <-chan []Event
	err error
	// done is closed once C is, after err is set.
	done chan struct{}
}

// Err returns why the watch ended, once C is closed; nil before, and for a
// watch whose context was cancelled.
func (w *Watcher) Err() error {
	select {
	case <-w.done:
		return w.err
	default:
		return nil
	}
}

// watchMessage is one message of the gateway's stream.
type watchMessage struct {
	Result *struct {
		Created  bool  `json:"created"`
		Canceled bool  `json:"canceled"`
		Compact  int64 `json:"compact_revision,string"`
		Events   []struct {
			Type string `json:"type"`
			KV   struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"kv"`
		} `json:"events"`
		CancelReason string `json:"cancel_reason"`
	} `json:"result"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// openWatch posts the create request and waits for etcd's "created" before
// it returns, so no change after Watch returns is missed.
func (c *Client) openWatch(ctx context.Context, url string, body []byte) (*Watcher, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: etcd: %v", errdefs.ErrInvalid, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	// The stream outlives the client's per-call timeout.
	hresp, err := c.stream.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%w: etcd watch: %v", errdefs.ErrUnavailable, err)
	}
	if hresp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(hresp.Body, 4096))
		hresp.Body.Close()
		return nil, fmt.Errorf("%w: etcd watch %s: %s: %s", errdefs.ErrUnavailable, url, hresp.Status, msg)
	}
	dec := json.NewDecoder(io.LimitReader(hresp.Body, 1<<62))
	first, err := decodeWatch(dec)
	if err == nil && (first.Result == nil || !first.Result.Created) {
		err = fmt.Errorf("%w: etcd watch: no created answer", errdefs.ErrUnavailable)
	}
	if err != nil {
		hresp.Body.Close()
		return nil, err
	}
	ch := make(chan []Event)
	w := &Watcher{C: ch, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer close(ch)
		defer hresp.Body.Close()
		for {
			m, err := decodeWatch(dec)
			if err != nil {
				if ctx.Err() == nil {
					w.err = err
				}
				return
			}
			if m.Result == nil {
				continue
			}
			if m.Result.Canceled {
				w.err = fmt.Errorf("%w: etcd watch cancelled: %s (compacted at %d)", errdefs.ErrUnavailable,
					m.Result.CancelReason, m.Result.Compact)
				return
			}
			if len(m.Result.Events) == 0 {
				continue
			}
			batch := make([]Event, 0, len(m.Result.Events))
			for _, e := range m.Result.Events {
				ev := Event{Type: EventPut}
				if e.Type == "DELETE" {
					ev.Type = EventDelete
				}
				k, err1 := base64.StdEncoding.DecodeString(e.KV.Key)
				v, err2 := base64.StdEncoding.DecodeString(e.KV.Value)
				if err1 != nil || err2 != nil {
					w.err = fmt.Errorf("%w: etcd watch: a key or value not in base64", errdefs.ErrUnavailable)
					return
				}
				ev.Key, ev.Value = string(k), v
				batch = append(batch, ev)
			}
			select {
			case ch <- batch:
			case <-ctx.Done():
				return
			}
		}
	}()
	return w, nil
}

// decodeWatch reads one message of the stream, bounded in size, and turns
// the gateway's error messages into errors.
func decodeWatch(dec *json.Decoder) (watchMessage, error) {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return watchMessage{}, fmt.Errorf("%w: etcd watch: %v", errdefs.ErrUnavailable, err)
	}
	if len(raw) > maxWatchMessage {
		return watchMessage{}, fmt.Errorf("%w: etcd watch: a message of %d bytes", errdefs.ErrUnavailable, len(raw))
	}
	var m watchMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return watchMessage{}, fmt.Errorf("%w: etcd watch: %v", errdefs.ErrUnavailable, err)
	}
	if m.Error != nil {
		return watchMessage{}, fmt.Errorf("%w: etcd watch: %s", errdefs.ErrUnavailable, m.Error.Message)
	}
	return m, nil
}
