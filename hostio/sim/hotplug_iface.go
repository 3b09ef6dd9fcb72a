package sim

import (
	"context"

	"github.com/xenactor/xenactor/hostio/hotplug"
)

// Device returns h as a hotplug.Hotplug, the interface the toolstack uses.
func (h *Hotplug) Device() hotplug.Hotplug { return hotplugDevice{h} }

type hotplugDevice struct{ h *Hotplug }

func (d hotplugDevice) Add(ctx context.Context, dev hotplug.Device) error {
	return d.h.Add(ctx, deviceKey(dev))
}

func (d hotplugDevice) Remove(ctx context.Context, dev hotplug.Device) error {
	return d.h.Remove(ctx, deviceKey(dev))
}

func deviceKey(d hotplug.Device) DeviceKey {
	return DeviceKey{Class: DeviceClass(d.Class), Frontend: d.Frontend, DevID: d.DevID}
}
