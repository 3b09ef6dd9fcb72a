package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The agent goes into small guests: it must not drag the toolstack's
// actor runtime or RPC stack in.
func TestAgent_Dependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/asynkron/protoactor-go", "google.golang.org/grpc",
			"github.com/xenactor/xenactor/actors"} {
			require.False(t, strings.HasPrefix(dep, banned), "the guest agent imports %s", dep)
		}
	}
}
