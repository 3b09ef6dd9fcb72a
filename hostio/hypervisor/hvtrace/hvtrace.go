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

// Create calls the hypervisor's Create under a span.
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

// Build calls the hypervisor's Build under a span.
func (t traced) Build(ctx context.Context, id hypervisor.DomID, cfg hypervisor.BuildConfig) (hypervisor.BuildResult, error) {
	var res hypervisor.BuildResult
	err := do(ctx, "build", id, func(ctx context.Context) (err error) {
		res, err = t.Hypervisor.Build(ctx, id, cfg)
		return err
	})
	return res, err
}

// Restore calls the hypervisor's Restore under a span.
func (t traced) Restore(ctx context.Context, id hypervisor.DomID, r io.Reader) (hypervisor.BuildResult, error) {
	var res hypervisor.BuildResult
	err := do(ctx, "restore", id, func(ctx context.Context) (err error) {
		res, err = t.Hypervisor.Restore(ctx, id, r)
		return err
	})
	return res, err
}

// Save calls the hypervisor's Save under a span.
func (t traced) Save(ctx context.Context, id hypervisor.DomID, w io.Writer, opts hypervisor.SaveOptions) error {
	return do(ctx, "save", id, func(ctx context.Context) error { return t.Hypervisor.Save(ctx, id, w, opts) })
}

// SetMaxMem calls the hypervisor's SetMaxMem under a span.
func (t traced) SetMaxMem(ctx context.Context, id hypervisor.DomID, kib uint64) error {
	return do(ctx, "set_max_mem", id, func(ctx context.Context) error { return t.Hypervisor.SetMaxMem(ctx, id, kib) })
}

// SetMaxVCPUs calls the hypervisor's SetMaxVCPUs under a span.
func (t traced) SetMaxVCPUs(ctx context.Context, id hypervisor.DomID, n int) error {
	return do(ctx, "set_max_vcpus", id, func(ctx context.Context) error { return t.Hypervisor.SetMaxVCPUs(ctx, id, n) })
}

// SetMemoryTarget calls the hypervisor's SetMemoryTarget under a span.
func (t traced) SetMemoryTarget(ctx context.Context, id hypervisor.DomID, kib uint64) error {
	return do(ctx, "set_memory_target", id, func(ctx context.Context) error {
		return t.Hypervisor.SetMemoryTarget(ctx, id, kib)
	})
}

// Pause calls the hypervisor's Pause under a span.
func (t traced) Pause(ctx context.Context, id hypervisor.DomID) error {
	return do(ctx, "pause", id, func(ctx context.Context) error { return t.Hypervisor.Pause(ctx, id) })
}

// Unpause calls the hypervisor's Unpause under a span.
func (t traced) Unpause(ctx context.Context, id hypervisor.DomID) error {
	return do(ctx, "unpause", id, func(ctx context.Context) error { return t.Hypervisor.Unpause(ctx, id) })
}

// Shutdown calls the hypervisor's Shutdown under a span.
func (t traced) Shutdown(ctx context.Context, id hypervisor.DomID, reason hypervisor.ShutdownReason) error {
	return do(ctx, "shutdown", id, func(ctx context.Context) error { return t.Hypervisor.Shutdown(ctx, id, reason) })
}

// Destroy calls the hypervisor's Destroy under a span.
func (t traced) Destroy(ctx context.Context, id hypervisor.DomID) error {
	return do(ctx, "destroy", id, func(ctx context.Context) error { return t.Hypervisor.Destroy(ctx, id) })
}
