package tracing

import (
	"context"

	"github.com/opentracing/opentracing-go"
)

// Inject returns the header that carries the span in ctx across an actor
// message (the envelope's header), or nil when ctx carries no span.
func Inject(ctx context.Context) map[string]string {
	span := opentracing.SpanFromContext(ctx)
	if span == nil {
		return nil
	}
	header := make(map[string]string, 1)
	if err := span.Tracer().Inject(span.Context(), opentracing.TextMap, opentracing.TextMapCarrier(header)); err != nil ||
		len(header) == 0 {
		return nil
	}
	return header
}

// MessageHeader is what Extract reads of an actor message's header; the
// protoactor-go envelope's actor.ReadonlyMessageHeader has it. Naming it here
// keeps protoactor-go out of the programs that only trace xenstore
// requests (the guest agent).
type MessageHeader interface {
	Get(key string) string
	Keys() []string
	Length() int
}

// Extract returns the span context a message header carries (see Inject),
// or nil when it carries none or tracing is off.
func Extract(header MessageHeader) opentracing.SpanContext {
	if header == nil || header.Length() == 0 {
		return nil
	}
	sc, err := opentracing.GlobalTracer().Extract(opentracing.TextMap, headerReader{header})
	if err != nil {
		return nil
	}
	return sc
}

type headerReader struct{ h MessageHeader }

func (r headerReader) ForeachKey(handler func(key, val string) error) error {
	for _, k := range r.h.Keys() {
		if err := handler(k, r.h.Get(k)); err != nil {
			return err
		}
	}
	return nil
}
