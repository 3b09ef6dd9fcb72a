// Package etcd is a small client of etcd's v3 API through its JSON gateway
// (/v3/kv/range, /v3/kv/put, /v3/kv/deleterange, /v3/lease/grant,
// /v3/lease/keepalive, /v3/lease/revoke, /v3/watch), enough for the pool's
// membership and records: keys with leases, prefix reads, deletes, and
// watches of a prefix. It needs nothing
// but net/http, so the project does not depend on etcd's Go client.
//
// etcd 3.4 and later serve the gateway on their client URLs by default.
package etcd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// maxResponseBytes caps the body of one gateway response.
const maxResponseBytes = 64 << 20

// Client calls etcd's JSON gateway on one of its endpoints, trying the next
// one when an endpoint cannot be reached.
type Client struct {
	endpoints []string
	http      *http.Client
	// stream carries watches, which outlive http's timeout.
	stream *http.Client
	next   atomic.Uint32
}

// New returns a client of the etcd endpoints, client URLs such as
// http://127.0.0.1:2379. It does not connect.
func New(endpoints []string) (*Client, error) {
	var eps []string
	for _, e := range endpoints {
		e = strings.TrimRight(strings.TrimSpace(e), "/")
		if e == "" {
			continue
		}
		if !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
			return nil, fmt.Errorf("%w: etcd endpoint %q: want an http:// or https:// URL", errdefs.ErrInvalid, e)
		}
		eps = append(eps, e)
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("%w: no etcd endpoint", errdefs.ErrInvalid)
	}
	return &Client{endpoints: eps, http: &http.Client{Timeout: 10 * time.Second}, stream: &http.Client{}}, nil
}

// KeyValue is a key of etcd and its value.
type KeyValue struct {
	Key   string
	Value []byte
	// Lease is the key's lease, 0 for none.
	Lease int64
}

// Put sets key to value, attached to lease unless it is 0. A lease that
// expired is errdefs.ErrNotFound.
func (c *Client) Put(ctx context.Context, key string, value []byte, lease int64) error {
	req := map[string]any{"key": b64(key), "value": base64.StdEncoding.EncodeToString(value)}
	if lease != 0 {
		req["lease"] = strconv.FormatInt(lease, 10)
	}
	return c.call(ctx, "/v3/kv/put", req, nil)
}

// Get returns the keys under prefix, in key order.
func (c *Client) Get(ctx context.Context, prefix string) ([]KeyValue, error) {
	var resp struct {
		Kvs []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
			Lease string `json:"lease"`
		} `json:"kvs"`
	}
	if err := c.call(ctx, "/v3/kv/range", map[string]any{"key": b64(prefix), "range_end": b64(prefixEnd(prefix))},
		&resp); err != nil {
		return nil, err
	}
	out := make([]KeyValue, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		k, err := base64.StdEncoding.DecodeString(kv.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: etcd: a key is not base64: %v", errdefs.ErrUnavailable, err)
		}
		v, err := base64.StdEncoding.DecodeString(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("%w: etcd: the value of %s is not base64: %v", errdefs.ErrUnavailable, k, err)
		}
		lease, _ := strconv.ParseInt(kv.Lease, 10, 64)
		out = append(out, KeyValue{Key: string(k), Value: v, Lease: lease})
	}
	return out, nil
}

// Delete removes key.
func (c *Client) Delete(ctx context.Context, key string) error {
	return c.call(ctx, "/v3/kv/deleterange", map[string]any{"key": b64(key)}, nil)
}

// Grant creates a lease of ttl (whole seconds, at least one) and returns its
// id.
func (c *Client) Grant(ctx context.Context, ttl time.Duration) (int64, error) {
	secs := max(int64(ttl/time.Second), 1)
	var resp struct {
		ID    string `json:"ID"`
		Error string `json:"error"`
	}
	if err := c.call(ctx, "/v3/lease/grant", map[string]any{"TTL": strconv.FormatInt(secs, 10)}, &resp); err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(resp.ID, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("%w: etcd granted no lease: %q %s", errdefs.ErrUnavailable, resp.ID, resp.Error)
	}
	return id, nil
}

// KeepAlive renews lease once. A lease that expired is errdefs.ErrNotFound.
func (c *Client) KeepAlive(ctx context.Context, lease int64) error {
	var resp struct {
		Result struct {
			TTL string `json:"TTL"`
		} `json:"result"`
	}
	if err := c.call(ctx, "/v3/lease/keepalive", map[string]any{"ID": strconv.FormatInt(lease, 10)}, &resp); err != nil {
		return err
	}
	if ttl, _ := strconv.ParseInt(resp.Result.TTL, 10, 64); ttl <= 0 {
		return fmt.Errorf("%w: etcd lease %x expired", errdefs.ErrNotFound, lease)
	}
	return nil
}

// Revoke ends lease, deleting its keys.
func (c *Client) Revoke(ctx context.Context, lease int64) error {
	return c.call(ctx, "/v3/lease/revoke", map[string]any{"ID": strconv.FormatInt(lease, 10)}, nil)
}

// call posts req as JSON to path on an endpoint and decodes the answer into
// resp (when not nil). An endpoint that cannot be reached is tried no
// further; the next call starts at the next one.
func (c *Client) call(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%w: etcd: %v", errdefs.ErrInvalid, err)
	}
	var lastErr error
	start := int(c.next.Load())
	for i := range c.endpoints {
		ep := c.endpoints[(start+i)%len(c.endpoints)]
		data, reached, err := c.post(ctx, ep+path, body)
		if err != nil {
			lastErr = err
			if reached || ctx.Err() != nil {
				break
			}
			c.next.Store(uint32((start + i + 1) % len(c.endpoints)))
			continue
		}
		if resp == nil {
			return nil
		}
		if err := json.Unmarshal(data, resp); err != nil {
			return fmt.Errorf("%w: etcd %s: %v", errdefs.ErrUnavailable, path, err)
		}
		return nil
	}
	return lastErr
}

// post sends one request and returns the body of a 200 answer, or the kind
// of error it maps to; reached says whether the endpoint answered.
func (c *Client) post(ctx context.Context, url string, body []byte) (_ []byte, reached bool, _ error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, false, fmt.Errorf("%w: etcd: %v", errdefs.ErrInvalid, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hresp, err := c.http.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, fmt.Errorf("%w: etcd: %v", errdefs.ErrTimeout, err)
		}
		return nil, false, fmt.Errorf("%w: etcd: %v", errdefs.ErrUnavailable, err)
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxResponseBytes))
	if err != nil {
		return nil, true, fmt.Errorf("%w: etcd: %v", errdefs.ErrUnavailable, err)
	}
	if hresp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
			Error   string `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		msg := e.Message + e.Error
		if strings.Contains(msg, "lease not found") {
			return nil, true, fmt.Errorf("%w: etcd: %s", errdefs.ErrNotFound, msg)
		}
		return nil, true, fmt.Errorf("%w: etcd %s: %s: %s", errdefs.ErrUnavailable, url, hresp.Status, msg)
	}
	return data, true, nil
}

// b64 encodes a key for the gateway.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// prefixEnd is the end of the range of keys starting with prefix.
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\x00"
}
