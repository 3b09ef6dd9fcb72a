package client

import (
	"context"
	"fmt"

	"github.com/opentracing/opentracing-go"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// Caller sends one request and returns its response (the transport).
type Caller interface {
	Call(ctx context.Context, req *messages.Request) (*messages.Response, error)
	Close() error
}

// Client is the typed client of the API over a Caller.
type Client struct {
	c Caller
	// host and leastLoaded route every call to a pool host (On,
	// LeastLoaded).
	host        string
	leastLoaded bool
}

// New returns a typed client calling through c.
func New(c Caller) *Client { return &Client{c: c} }

// Close closes the transport.
func (c *Client) Close() error { return c.c.Close() }

// Error is a call the daemon answered with an error: its errdefs kind ("" for
// none) and message. It unwraps to the errdefs value of Kind, so
// errdefs.IsNotFound and the like work on it.
type Error struct {
	Kind    string
	Message string
}

// Error returns the daemon's message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the errdefs value named by Kind, or nil.
func (e *Error) Unwrap() error { return errdefs.FromKind(e.Kind) }

// errorFrom converts a wire error; nil for nil.
func errorFrom(e *messages.Error) error {
	if e == nil {
		return nil
	}
	return &Error{Kind: e.Kind, Message: e.Message}
}

// call sends req with the span of ctx, if any, and returns the response of a
// call that succeeded.
func (c *Client) call(ctx context.Context, req *messages.Request) (*messages.Response, error) {
	if span := opentracing.SpanFromContext(ctx); span != nil {
		carrier := opentracing.TextMapCarrier{}
		if err := opentracing.GlobalTracer().Inject(span.Context(), opentracing.TextMap, carrier); err == nil &&
			len(carrier) > 0 {
			req.Trace = carrier
		}
	}
	if c.host != "" || c.leastLoaded {
		req.Host, req.LeastLoaded = c.host, c.leastLoaded
	}
	resp, err := c.c.Call(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := errorFrom(resp.GetError()); err != nil {
		return nil, err
	}
	return resp, nil
}

// unexpected is the error of a response whose result does not match its
// request.
func unexpected(want string, resp *messages.Response) error {
	return fmt.Errorf("%w: the daemon answered %T, want %s", errdefs.ErrUnavailable, resp.GetResult(), want)
}
