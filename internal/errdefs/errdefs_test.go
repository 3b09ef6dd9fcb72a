package errdefs

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestKind_RoundTrip(t *testing.T) {
	for _, k := range kinds {
		err := fmt.Errorf("vm 7: %w", k.err)
		if got := Kind(err); got != k.name {
			t.Errorf("Kind(%v) = %q, want %q", err, got, k.name)
		}
		if !errors.Is(FromKind(k.name), k.err) {
			t.Errorf("FromKind(%q) is not %v", k.name, k.err)
		}
	}
	if Kind(errors.New("plain")) != "" || Kind(nil) != "" || FromKind("nonsense") != nil {
		t.Error("unknown errors and names must map to nothing")
	}
	if Kind(context.DeadlineExceeded) != "timeout" || Kind(context.Canceled) != "canceled" {
		t.Error("context errors map to timeout and canceled")
	}
}
