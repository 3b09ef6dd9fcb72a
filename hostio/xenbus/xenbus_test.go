package xenbus

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDevice_Paths(t *testing.T) {
	d := Device{Class: ClassVIF, Frontend: 7, DevID: 1}
	assert.Equal(t, "/local/domain/0/backend/vif/7/1", d.BackendPath())
	assert.Equal(t, "/local/domain/7/device/vif/1", d.FrontendPath())
}

func TestParseState(t *testing.T) {
	for v, want := range map[string]State{"4": StateConnected, " 6\n": StateClosed, "1\x00": StateInitialising} {
		s, ok := ParseState(v)
		assert.True(t, ok, v)
		assert.Equal(t, want, s, v)
	}
	for _, junk := range []string{"", "x", "9", "-1", "\xff"} {
		_, ok := ParseState(junk)
		assert.False(t, ok, junk)
	}
	assert.Equal(t, "Connected", StateConnected.String())
	assert.Equal(t, "State(42)", State(42).String())
	assert.Equal(t, "5", string(StateClosing.Value()))
}

func TestVBDName(t *testing.T) {
	assert.Equal(t, "xvda", vbdName(51712))
	assert.Equal(t, "xvdb", vbdName(51728))
	assert.Equal(t, "768", vbdName(768))
}
