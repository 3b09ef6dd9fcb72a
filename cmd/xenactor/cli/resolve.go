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
