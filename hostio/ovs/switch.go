package ovs

import (
	"context"
	"fmt"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// The external-ids keys of a VIF's interface, as the reference's vif
// hotplug script sets them.
const (
	// KeyAttachedMAC is the guest's MAC address of the VIF.
	KeyAttachedMAC = "attached-mac"
	// KeyIfaceID is a system-wide id of the interface; XenServer sets it
	// to the VIF's uuid.
	KeyIfaceID = "iface-id"
	// KeyVMUUID is the uuid of the VM the interface belongs to.
	KeyVMUUID = "xs-vm-uuid"
	// KeyVIFUUID is the uuid of the VIF.
	KeyVIFUUID = "xs-vif-uuid"
	// KeyNetworkUUID is the uuid of the network the VIF is attached to.
	KeyNetworkUUID = "xs-network-uuid"
)

// MaxNameLen is the longest bridge or port name: a Linux interface name
// (IFNAMSIZ less the terminating NUL).
const MaxNameLen = 15

// Switch is a virtual switch of dom0: bridges, and ports on them. Every
// method honours ctx. Errors wrap errdefs kinds: a missing bridge or port
// is NotFound, a malformed name or external-id is Invalid, a switch that
// cannot be reached is Unavailable, and a change the switch did not apply
// in time is Timeout.
type Switch interface {
	// AddBridge creates the bridge; a bridge that exists already is left
	// as it is (may-exist).
	AddBridge(ctx context.Context, name string) error
	// DelBridge deletes the bridge and every port on it.
	DelBridge(ctx context.Context, name string) error
	// AddPort puts port on bridge with exactly externalIDs on its
	// interface. A port of that name that exists already, on this bridge
	// or another, is replaced in the same transaction, as the reference's
	// "--if-exists del-port P -- add-port B P -- set interface P
	// external-ids:..." does, so AddPort is idempotent.
	AddPort(ctx context.Context, bridge, port string, externalIDs map[string]string) error
	// DelPort deletes the port from whichever bridge it is on.
	DelPort(ctx context.Context, port string) error
	// ListPorts returns the names of bridge's ports, sorted.
	ListPorts(ctx context.Context, bridge string) ([]string, error)
	// PortExternalIDs returns the external-ids of the port's interface.
	PortExternalIDs(ctx context.Context, port string) (map[string]string, error)
}

// ValidateName checks a bridge or port name: 1 to MaxNameLen characters
// from [A-Za-z0-9._-], as a Linux interface name may safely be.
func ValidateName(what, name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("ovs: %s name %q: must be 1 to %d characters: %w", what, name, MaxNameLen, errdefs.ErrInvalid)
	}
	for _, c := range []byte(name) {
		if !nameChar(c) {
			return fmt.Errorf("ovs: %s name %q: character %q not allowed: %w", what, name, c, errdefs.ErrInvalid)
		}
	}
	return nil
}

func nameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// ValidateExternalIDs checks external-ids: keys are non-empty and made of
// [A-Za-z0-9._:-], values are printable ASCII without '"' or '\'.
func ValidateExternalIDs(ids map[string]string) error {
	for k, v := range ids {
		if k == "" {
			return fmt.Errorf("ovs: empty external-ids key: %w", errdefs.ErrInvalid)
		}
		for _, c := range []byte(k) {
			if !nameChar(c) && c != ':' {
				return fmt.Errorf("ovs: external-ids key %q: character %q not allowed: %w", k, c, errdefs.ErrInvalid)
			}
		}
		for _, c := range []byte(v) {
			if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				return fmt.Errorf("ovs: external-ids %s=%q: character %q not allowed: %w", k, v, c, errdefs.ErrInvalid)
			}
		}
	}
	return nil
}
