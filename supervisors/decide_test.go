package supervisors

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// runtimeError returns the value a real runtime panic recovers to.
func runtimeError() (reason any) {
	defer func() { reason = recover() }()
	var s []int
	_ = s[3]
	return nil
}

func TestDecide(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("vbd 51712: attach: %w", err) }
	for _, tc := range []struct {
		name      string
		reason    any
		directive actor.Directive
		kind      string
	}{
		{"unavailable", wrap(errdefs.ErrUnavailable), actor.RestartDirective, "unavailable"},
		{"timeout", wrap(errdefs.ErrTimeout), actor.RestartDirective, "timeout"},
		{"deadline", wrap(context.DeadlineExceeded), actor.RestartDirective, "timeout"},
		{"busy", wrap(errdefs.ErrBusy), actor.RestartDirective, "busy"},
		{"conflict", wrap(errdefs.ErrConflict), actor.RestartDirective, "conflict"},
		{"exhausted", wrap(errdefs.ErrResourceExhausted), actor.RestartDirective, "resource_exhausted"},
		{"invalid", wrap(errdefs.ErrInvalid), actor.StopDirective, "invalid"},
		{"permission", wrap(errdefs.ErrPermission), actor.StopDirective, "permission"},
		{"not implemented", wrap(errdefs.ErrNotImplemented), actor.StopDirective, "not_implemented"},
		{"not found", wrap(errdefs.ErrNotFound), actor.StopDirective, "not_found"},
		{"exists", wrap(errdefs.ErrExists), actor.StopDirective, "exists"},
		{"canceled", wrap(context.Canceled), actor.StopDirective, "canceled"},
		{"invalid and unavailable", errors.Join(errdefs.ErrUnavailable, errdefs.ErrInvalid), actor.StopDirective, "invalid"},
		{"plain error", errors.New("boom"), actor.RestartDirective, ReasonPanic},
		{"string", "boom", actor.RestartDirective, ReasonPanic},
		{"runtime error", runtimeError(), actor.RestartDirective, ReasonPanic},
		{"nil", nil, actor.RestartDirective, ReasonPanic},
		{"escalate", ErrEscalate, actor.EscalateDirective, ReasonEscalate},
		{"escalate invalid", Escalate(wrap(errdefs.ErrInvalid)), actor.EscalateDirective, "invalid"},
		{"escalate plain", Escalate(errors.New("boom")), actor.EscalateDirective, ReasonEscalate},
		{"escalate nil", Escalate(nil), actor.EscalateDirective, ReasonEscalate},
		{"wrapped escalate", wrap(Escalate(errdefs.ErrBusy)), actor.EscalateDirective, "busy"},
		{"escalated once, unavailable", escalated(Escalate(wrap(errdefs.ErrUnavailable))), actor.RestartDirective, "unavailable"},
		{"escalated once, invalid", escalated(wrap(Escalate(errdefs.ErrInvalid))), actor.StopDirective, "invalid"},
		{"escalated once, no kind", escalated(ErrEscalate), actor.RestartDirective, ReasonEscalate},
		{"escalated again", Escalate(escalated(Escalate(errdefs.ErrBusy)).(error)), actor.EscalateDirective, "busy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.directive, Decide(tc.reason))
			assert.Equal(t, tc.kind, Kind(tc.reason))
		})
	}
}

func TestEscalate_KeepsTheError(t *testing.T) {
	err := Escalate(fmt.Errorf("vm 1: %w", errdefs.ErrUnavailable))
	assert.ErrorIs(t, err, ErrEscalate)
	assert.True(t, errdefs.IsUnavailable(err))
	assert.Equal(t, "escalated: vm 1: unavailable", err.Error())
	up := escalated(err).(error)
	assert.ErrorIs(t, up, ErrEscalate)
	assert.Equal(t, err.Error(), up.Error(), "passed up with the same text")
	assert.Equal(t, "escalated", Escalate(nil).Error())
	assert.Equal(t, "boom", escalated("boom"), "a non-error reason passes up as it is")
}

func TestChain(t *testing.T) {
	notFoundRestarts := OnError(errdefs.ErrNotFound, actor.RestartDirective)
	stringsResume := Decider(func(reason any) (actor.Directive, bool) {
		_, ok := reason.(string)
		return actor.ResumeDirective, ok
	})
	decider := Chain(notFoundRestarts, stringsResume)

	assert.Equal(t, actor.RestartDirective, decider(fmt.Errorf("x: %w", errdefs.ErrNotFound)))
	assert.Equal(t, actor.ResumeDirective, decider("boom"))
	assert.Equal(t, actor.StopDirective, decider(errdefs.ErrInvalid), "falls back to Decide")
	assert.Equal(t, actor.RestartDirective, Chain()(errors.New("boom")))
}
