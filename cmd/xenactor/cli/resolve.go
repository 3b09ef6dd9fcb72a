package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// resolveVM returns the uuid of the VM arg names: arg itself when it has the
// form of a uuid, else the uuid of the one VM named arg. No VM of that name
// is a not-found error; several are a usage error listing them.
func resolveVM(ctx context.Context, c *client.Client, arg string) (string, error) {
	if looksLikeUUID(arg) {
		return strings.ToLower(arg), nil
	}
	if arg == "" {
		return "", usagef("a VM's uuid or name is needed")
	}
	vms, err := c.ListVMs(ctx)
	if err != nil {
		return "", err
	}
	var matches []string
	for _, v := range vms {
		if v.GetSpec().GetName() == arg {
			matches = append(matches, v.GetSpec().GetUuid())
		}
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("%w: no VM is named %q", errdefs.ErrNotFound, arg)
	case 1:
		return matches[0], nil
	}
	return "", usagef("%d VMs are named %q, give a uuid: %s", len(matches), arg, strings.Join(matches, ", "))
}

// locateInPool returns the pool host, up, that holds the VM arg names (a
// uuid or a name); "" when the daemon is not in a pool or no such host
// holds it (the caller then looks on the daemon itself). A name that
// several VMs of the pool have is a usage error listing them.
func locateInPool(ctx context.Context, c *client.Client, arg string) (string, error) {
	vms, err := c.PoolVMs(ctx)
	if errdefs.IsNotImplemented(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var hosts, uuids []string
	for _, v := range vms {
		spec := v.GetVm().GetSpec()
		if !v.GetHostUp() || (spec.GetUuid() != strings.ToLower(arg) && spec.GetName() != arg) {
			continue
		}
		hosts, uuids = append(hosts, v.GetHost()), append(uuids, spec.GetUuid()+" on "+v.GetHost())
	}
	switch len(hosts) {
	case 0:
		return "", nil
	case 1:
		return hosts[0], nil
	}
	return "", usagef("%d VMs of the pool are named %q, give a uuid (and --host): %s", len(hosts), arg,
		strings.Join(uuids, ", "))
}
