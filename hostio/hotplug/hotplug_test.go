package hotplug_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hotplug"
)

func TestDevice_Paths(t *testing.T) {
	d := hotplug.Device{Class: hotplug.ClassVIF, Frontend: 7, DevID: 1}
	require.Equal(t, "/local/domain/0/backend/vif/7/1", d.BackendPath())
	require.Equal(t, "/local/domain/7/device/vif/1", d.FrontendPath())
}
