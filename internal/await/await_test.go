package await_test

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/actortest"
	"github.com/xenactor/xenactor/internal/await"
)

func TestResult_ReplyOrContext(t *testing.T) {
	system := actortest.System(t)
	hold := make(chan *actor.PID, 1)
	pid := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case string:
			if m == "hold" {
				hold <- c.Sender()
				return
			}
			c.Respond(m + "!")
		}
	}))

	reply, err := await.Result(context.Background(), system.Root, system.Root.RequestFuture(pid, "hi", -1), await.Grace)
	require.NoError(t, err)
	require.Equal(t, "hi!", reply)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	future := system.Root.RequestFuture(pid, "hold", -1)
	_, err = await.Result(ctx, system.Root, future, await.Grace)
	require.Equal(t, ctx.Err(), err, "the context's own error")
	// A late reply completes the abandoned future once, harmlessly.
	system.Root.Send(<-hold, "late")
	late, err := future.Result()
	require.NoError(t, err)
	require.Equal(t, "late", late)
}
