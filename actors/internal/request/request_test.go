package request_test

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/actors/internal/request"
	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/internal/errdefs"
)

type (
	ping struct{}
	pong struct{}
	// hold is kept unanswered; quit then stops the actor.
	hold struct{}
	quit struct{}
)

func TestDo_AnActorThatStopsBeforeItAnswersFailsTheRequest(t *testing.T) {
	system := actortest.System(t)
	held := make(chan struct{})
	pid := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *ping:
			ctx.Respond(&pong{})
		case *hold:
			close(held)
		case *quit:
			ctx.Stop(ctx.Self())
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reply, err := request.Do(ctx, system.Root, pid, &ping{}, nil)
	require.NoError(t, err)
	require.IsType(t, &pong{}, reply)

	errs := make(chan error, 1)
	go func() {
		_, err := request.Do(ctx, system.Root, pid, &hold{}, nil)
		errs <- err
	}()
	<-held
	system.Root.Send(pid, &quit{})
	select {
	case err := <-errs:
		require.ErrorIs(t, err, errdefs.ErrUnavailable)
		require.NoError(t, ctx.Err(), "failed before the caller's context ended")
	case <-ctx.Done():
		t.Fatal("the request waited for its context")
	}
}

func TestDo_TheCallersContextStillEndsTheWait(t *testing.T) {
	system := actortest.System(t)
	pid := system.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {})) // never answers
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var abandoned string
	_, err := request.Do(ctx, system.Root, pid, &hold{}, func(w string) { abandoned = w })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotEmpty(t, abandoned)
}
