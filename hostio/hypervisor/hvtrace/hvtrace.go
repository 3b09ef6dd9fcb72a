// Package hvtrace decorates a hypervisor.Hypervisor with OpenTracing spans:
// each call that changes a domain runs under the span "hypervisor.<call>"
// (hypervisor.create, hypervisor.build, ...), a child of the span in the
// call's context, tagged with the domain id. Calls whose context carries no
// span go straight to the hypervisor.
package hvtrace

import (
	"context"
	"io"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/tracing"
)

// Wrap returns h with tracing; h itself when it already has it, nil for
// nil. Queries (DomainInfo, ListDomains), Events and the dirty-log calls of
// a live migration are not traced.
func Wrap(h hypervisor.Hypervisor) hypervisor.Hypervisor {
	if h == nil {
		return nil
	}
	if _, ok := h.(traced); ok {
		return h
	}
	return traced{h}
}

// Unwrap returns the hypervisor Wrap decorated, h itself if none.
func Unwrap(h hypervisor.Hypervisor) hypervisor.Hypervisor {
	if t, ok := h.(traced); ok {
		return t.Hypervisor
	}
	return h
}

type traced struct{ hypervisor.Hypervisor }

// start starts the span of call on domain id (none when id < 0).
func start(ctx context.Context, call string, id int64) (context.Context, opentracing.Span) {
	ctx, span := tracing.Start(ctx, "hypervisor."+call)
	ext.Component.Set(span, "hypervisor")
	if id >= 0 {
		span.SetTag("domid", id)
	}
	return ctx, span
}

// do runs f under the span of call on domain id.
func do(ctx context.Context, call string, id hypervisor.DomID, f func(context.Context) error) error {
	if !tracing.Active(ctx) {
		return f(ctx)
	}
	ctx, span := start(ctx, call, int64(id))
	err := f(ctx)
	tracing.Finish(span, err)
	return err
}

func (t traced) Create(ctx context.Context, cfg hypervisor.CreateConfig) (hypervisor.DomID, error) {
	if !tracing.Active(ctx) {
		return t.Hypervisor.Create(ctx, cfg)
	}
	ctx, span := start(ctx, "create", -1)
	span.SetTag("vm", cfg.UUID)
	id, err := t.Hypervisor.Create(ctx, cfg)
	if err == nil {
		span.SetTag("domid", int64(id))
	}
	tracing.Finish(span, err)
	return id, err
}

func (t traced) Build(ctx context.Context, id hypervisor.DomID, cfg hypervisor.BuildConfig) (hypervisor.BuildResult, error) {
	var res hypervisor.BuildResult
	err := do(ctx, "build", id, func(ctx context.Context) (err error) {
		res, err = t.Hypervisor.Build(ctx, id, cfg)
		return err
	})
	return res, err
}

func (t traced) Restore(ctx context.Context, id hypervisor.DomID, r io.Reader) (hypervisor.BuildResult, error) {
	var res hypervisor.BuildResult
	err := do(ctx, "restore", id, func(ctx context.Context) (err error) {
		res, err = t.Hypervisor.Restore(ctx, id, r)
		return err
	})
	return res, err
}

func (t traced) Save(ctx context.Context, id hypervisor.DomID, w io.Writer, opts hypervisor.SaveOptions) error {
	return do(ctx, "save", id, func(ctx context.Context) error { return t.Hypervisor.Save(ctx, id, w, opts) })
}

func (t traced) SetMaxMem(ctx context.Context, id hypervisor.DomID, kib uint64) error {
	return do(ctx, "set_max_mem", id, func(ctx context.Context) error { return t.Hypervisor.SetMaxMem(ctx, id, kib) })
}

func (t traced) SetMaxVCPUs(ctx context.Context, id hypervisor.DomID, n int) error {
	return do(ctx, "set_max_vcpus", id, func(ctx context.Context) error { return t.Hypervisor.SetMaxVCPUs(ctx, id, n) })
}

func (t traced) SetMemoryTarget(ctx context.Context, id hypervisor.DomID, kib uint64) error {
	return do(ctx, "set_memory_target", id, func(ctx context.Context) error {
		return t.Hypervisor.SetMemoryTarget(ctx, id, kib)
	})
}

func (t traced) Pause(ctx context.Context, id hypervisor.DomID) error {
	return do(ctx, "pause", id, func(ctx context.Context) error { return t.Hypervisor.Pause(ctx, id) })
}

func (t traced) Unpause(ctx context.Context, id hypervisor.DomID) error {
	return do(ctx, "unpause", id, func(ctx context.Context) error { return t.Hypervisor.Unpause(ctx, id) })
}

func (t traced) Shutdown(ctx context.Context, id hypervisor.DomID, reason hypervisor.ShutdownReason) error {
	return do(ctx, "shutdown", id, func(ctx context.Context) error { return t.Hypervisor.Shutdown(ctx, id, reason) })
}

func (t traced) Destroy(ctx context.Context, id hypervisor.DomID) error {
	return do(ctx, "destroy", id, func(ctx context.Context) error { return t.Hypervisor.Destroy(ctx, id) })
}
