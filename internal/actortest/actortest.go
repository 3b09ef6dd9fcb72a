// Package actortest helps tests that run protoactor actors.
package actortest

import (
	"log/slog"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// System returns an actor system that logs nothing and shuts down when the
// test ends.
func System(t testing.TB) *actor.ActorSystem {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	t.Cleanup(system.Shutdown)
	return system
}
