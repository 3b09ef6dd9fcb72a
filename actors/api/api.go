package api

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/tracing"
	"github.com/xenactor/xenactor/messages"
)

// Name is the name the daemon spawns the api actor under, at the root of its
// actor system.
const Name = "api"

// Version is the xenactord version HostInfo reports; the daemon's main sets
// it.
var Version = "dev"

// The defaults of Config.
const (
	DefaultMaxInFlight = 1024
	DefaultMaxWait     = 60 * time.Second
	DefaultTimeout     = 2 * time.Minute
)

// Config configures the api actor.
type Config struct {
	// Host is the host actor, required.
	Host host.Client
	// Hostname is HostInfo's hostname; "" takes os.Hostname.
	Hostname string
	// Hypervisor is HostInfo's hypervisor: "sim", "xen" or "unix:<path>".
	Hypervisor string
	// HostMemory, if set, returns the host's memory, total and free, in KiB,
	// for HostInfo.
	HostMemory func(ctx context.Context) (totalKiB, freeKiB uint64, err error)
	// ResetDaemon, if set, starts the host daemon name again after it was
	// given up on (ResetDaemonRequest); it fails errdefs.ErrNotFound for a
	// daemon it does not run. Nil makes ResetDaemon not_implemented.
	ResetDaemon func(ctx context.Context, name string) error
	// Pool, if set, is the pool the host is a member of: it serves the pool
	// ops and runs requests that name another host (Request.host,
	// least_loaded). Nil serves requests for this host only.
	Pool Pool
	// Started is when the daemon started; zero takes the actor's start.
	Started time.Time
	// SuspendDir is where a SuspendVM without a path puts the image,
	// <SuspendDir>/<uuid>.img; "" makes such a SuspendVM invalid.
	SuspendDir string
	// MaxInFlight bounds the requests served at once; 0 is
	// DefaultMaxInFlight.
	MaxInFlight int
	// MaxWait caps the wait of WaitTask and NextEvents; 0 is DefaultMaxWait.
	MaxWait time.Duration
	// Timeout is the deadline of each request that does not wait; 0 is
	// DefaultTimeout.
	Timeout time.Duration

	// beforeServe, if set, is called with the op's name before it is served
	// (tests: export_test.go).
	beforeServe func(op string)
}

// server is the api actor.
type server struct {
	cfg    Config
	sys    atomic.Pointer[actor.ActorSystem]
	stop   context.Context // cancelled when the actor stops
	cancel context.CancelFunc

	inFlight, served, rejected, dropped, panics atomic.Int64
}

// Props returns the props of the api actor.
func Props(cfg Config) *actor.Props {
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	if cfg.Started.IsZero() {
		cfg.Started = time.Now()
	}
	return actor.PropsFromProducer(func() actor.Actor { return &server{cfg: cfg} })
}

// Receive handles the actor's messages.
func (s *server) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.sys.Store(ctx.ActorSystem())
		s.stop, s.cancel = context.WithCancel(context.Background())
	case *actor.Stopping:
		s.cancel()
	case *actor.Restarting:
		s.cancel()
	case *messages.Request:
		s.handleRequest(ctx, msg)
	case *GetStats:
		ctx.Respond(&Stats{InFlight: s.inFlight.Load(), Served: s.served.Load(), Rejected: s.rejected.Load(),
			Dropped: s.dropped.Load(), Panics: s.panics.Load()})
	}
}

// handleRequest starts serving req on a goroutine, which sends the response
// to the sender.
func (s *server) handleRequest(ctx actor.Context, req *messages.Request) {
	sender := ctx.Sender()
	if sender == nil {
		s.dropped.Add(1)
		refusedTotal.WithLabelValues("no_sender").Inc()
		return
	}
	if s.inFlight.Add(1) > int64(s.cfg.MaxInFlight) {
		s.inFlight.Add(-1)
		s.rejected.Add(1)
		refusedTotal.WithLabelValues("limit").Inc()
		ctx.Respond(errorResponse(fmt.Errorf("%w: %d requests in flight", errdefs.ErrResourceExhausted,
			s.cfg.MaxInFlight)))
		return
	}
	root, stop := ctx.ActorSystem().Root, s.stop
	inFlightRequests.WithLabelValues().Inc()
	go func() {
		defer s.inFlight.Add(-1)
		defer inFlightRequests.WithLabelValues().Dec()
		began := time.Now()
		resp := s.serve(stop, req)
		s.served.Add(1)
		observeRequest(opName(req), resp.GetError(), began)
		root.Send(sender, resp)
	}()
}

// serve runs one request in a span and returns its response; a panic is
// recovered and answered as an error.
func (s *server) serve(stop context.Context, req *messages.Request) (resp *messages.Response) {
	op := opName(req)
	// With tracing off and no span context from the client, there is no
	// span at all: the actors below then make none either.
	var parent opentracing.SpanContext
	if len(req.GetTrace()) > 0 && tracing.Enabled() {
		parent, _ = opentracing.GlobalTracer().Extract(opentracing.TextMap, opentracing.TextMapCarrier(req.GetTrace()))
	}
	ctx, span := tracing.StartOperation(stop, parent, "api."+op)
	if span != nil {
		ext.SpanKindRPCServer.Set(span)
	}
	defer func() {
		if p := recover(); p != nil {
			s.panics.Add(1)
			refusedTotal.WithLabelValues("panic").Inc()
			resp = errorResponse(fmt.Errorf("%w: api.%s panicked: %v", errdefs.ErrUnavailable, op, p))
			if span != nil {
				span.LogKV("panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
		}
		if span == nil {
			return
		}
		if e := resp.GetError(); e != nil {
			ext.Error.Set(span, true)
			span.SetTag("error.kind", e.Kind)
			span.LogKV("event", "error", "message", e.Message)
		}
		span.Finish()
	}()
	if s.cfg.beforeServe != nil {
		s.cfg.beforeServe(op)
	}
	if err := checkRequest(req); err != nil {
		return errorResponse(err)
	}
	var err error
	if routed(req) {
		resp, err = s.route(ctx, req)
	} else {
		resp, err = s.dispatch(ctx, req)
	}
	if err != nil {
		if stop.Err() != nil {
			err = fmt.Errorf("%w: the API is stopping: %v", errdefs.ErrUnavailable, err)
		}
		return errorResponse(err)
	}
	return resp
}

// system returns the actor system the actor runs in.
func (s *server) system() *actor.ActorSystem { return s.sys.Load() }

// withTimeout returns ctx bounded by the deadline of a request that does not
// wait.
func (s *server) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.Timeout)
}

// waitFor returns how long a long poll asking for millis may wait: millis
// capped by MaxWait, MaxWait when millis is 0.
func (s *server) waitFor(millis int64) time.Duration {
	d := time.Duration(millis) * time.Millisecond
	if millis <= 0 || millis > int64(s.cfg.MaxWait/time.Millisecond) {
		return s.cfg.MaxWait
	}
	return d
}

// errorResponse answers with err.
func errorResponse(err error) *messages.Response {
	return &messages.Response{Error: ErrorToProto(err)}
}

// empty is the result of calls that return nothing.
func empty() *messages.Response {
	return &messages.Response{Result: &messages.Response_Empty{Empty: &messages.Empty{}}}
}
