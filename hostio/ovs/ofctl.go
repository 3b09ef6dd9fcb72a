package ovs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/xenactor/xenactor/internal/errdefs"
)

var _ FlowSwitch = (*Vsctl)(nil)

// ofctlTarget is how ovs-ofctl reaches bridge: its management socket in
// OfctlRunDir, or the bridge's name (ovs-ofctl's default run directory).
func (v *Vsctl) ofctlTarget(bridge string) string {
	if v.cfg.OfctlRunDir == "" {
		return bridge
	}
	return "unix:" + filepath.Join(v.cfg.OfctlRunDir, bridge+".mgmt")
}

// AddFlows runs "ovs-ofctl add-flows BRIDGE -" with one flow a line.
func (v *Vsctl) AddFlows(ctx context.Context, bridge string, flows []Flow) error {
	if err := v.checkFlowBridge(ctx, bridge); err != nil {
		return err
	}
	var in strings.Builder
	for _, f := range flows {
		if err := f.Validate(); err != nil {
			return err
		}
		in.WriteString(f.String() + "\n")
	}
	if len(flows) == 0 {
		return nil
	}
	_, err := v.ofctl(ctx, "add flows to "+bridge, in.String(), "add-flows", v.ofctlTarget(bridge), "-")
	return err
}

// DelFlows runs "ovs-ofctl del-flows BRIDGE cookie=C/-1".
func (v *Vsctl) DelFlows(ctx context.Context, bridge string, cookie uint64) error {
	if err := v.checkFlowBridge(ctx, bridge); err != nil {
		return err
	}
	_, err := v.ofctl(ctx, "delete flows of "+bridge, "", "del-flows", v.ofctlTarget(bridge),
		fmt.Sprintf("cookie=%#x/-1", cookie))
	return err
}

// Flows runs "ovs-ofctl dump-flows --no-stats BRIDGE cookie=C/-1".
func (v *Vsctl) Flows(ctx context.Context, bridge string, cookie uint64) ([]Flow, error) {
	if err := v.checkFlowBridge(ctx, bridge); err != nil {
		return nil, err
	}
	out, err := v.ofctl(ctx, "dump flows of "+bridge, "", "dump-flows", "--no-stats", v.ofctlTarget(bridge),
		fmt.Sprintf("cookie=%#x/-1", cookie))
	if err != nil {
		return nil, err
	}
	var flows []Flow
	for _, line := range strings.Split(string(out), "\n") {
		if f, ok := parseFlow(line); ok {
			flows = append(flows, f)
		}
	}
	return flows, nil
}

// checkFlowBridge checks the bridge's name and that it exists: ovs-ofctl
// cannot tell a missing bridge from a switch that is down.
func (v *Vsctl) checkFlowBridge(ctx context.Context, bridge string) error {
	if err := ValidateName("bridge", bridge); err != nil {
		return err
	}
	ok, err := v.bridgeExists(ctx, bridge)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("ovs: no bridge named %s: %w", bridge, errdefs.ErrNotFound)
	}
	return nil
}

// ofctl runs ovs-ofctl with args and stdin, returning stdout.
func (v *Vsctl) ofctl(ctx context.Context, what, stdin string, args ...string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ovs: %s: %w", what, err)
	}
	prog := v.cfg.Ofctl
	if prog == "" {
		prog = "ovs-ofctl"
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, fmt.Errorf("ovs: %s: %w", what, ctxErr)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return nil, fmt.Errorf("ovs: %s: running %s: %w: %w", what, prog, errdefs.ErrUnavailable, err)
	}
	msg := strings.TrimSpace(stderr.String())
	kind := errdefs.ErrInvalid // a flow the switch refuses
	if strings.Contains(msg, "failed to connect") || strings.Contains(msg, "Connection refused") {
		kind = errdefs.ErrUnavailable
	}
	return nil, fmt.Errorf("ovs: %s: ovs-ofctl: %s: %w", what, msg, kind)
}
