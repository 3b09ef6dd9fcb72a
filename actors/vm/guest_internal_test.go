package vm

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClassifyWhy(t *testing.T) {
	for _, tc := range []struct {
		why            string
		refresh, check bool
	}{
		{"", false, true},
		{"domain event", false, true},
		{"data", true, false},
		{"data,attr,memory,feature", true, false},
		{"control", true, true},
		{"data,control", true, true},
		{"device", false, true},
		{"device,data", true, true},
		{"watched", true, true},
		{"reconnected", true, true},
		{"release", false, true},
		{"rescan", false, true},
		{"console", false, true},
	} {
		refresh, check := classifyWhy(tc.why)
		assert.Equal(t, tc.refresh, refresh, "refresh for %q", tc.why)
		assert.Equal(t, tc.check, check, "check for %q", tc.why)
	}
}
