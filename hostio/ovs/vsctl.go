package ovs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// DefaultVsctlTimeout is how long ovs-vsctl may take, the reference's
// --timeout=30.
const DefaultVsctlTimeout = 30 * time.Second

// VsctlConfig configures a Vsctl.
type VsctlConfig struct {
	// Program is the ovs-vsctl executable; "" means "ovs-vsctl" in PATH.
	Program string
	// DB is the ovsdb-server's socket path; "" means ovs-vsctl's default
	// (the system's /var/run/openvswitch/db.sock).
	DB string
	// Timeout bounds each call (ovs-vsctl --timeout), and is shortened
	// to ctx's deadline; 0 means DefaultVsctlTimeout.
	Timeout time.Duration
	// DatapathType is the datapath_type AddBridge gives a new bridge:
	// "netdev" for the user-space datapath, "" for the switch's default
	// (the kernel module's "system").
	DatapathType string
	// NoWait makes changes return once the database holds them, without
	// waiting for ovs-vswitchd to apply them (ovs-vsctl --no-wait).
	NoWait bool
	// Ofctl is the ovs-ofctl executable the flow methods run; "" means
	// "ovs-ofctl" in PATH.
	Ofctl string
	// OfctlRunDir is where ovs-vswitchd puts the bridges' management
	// sockets (<bridge>.mgmt, its OVS_RUNDIR); "" means ovs-ofctl's
	// default (the system's /var/run/openvswitch).
	OfctlRunDir string
}

// Vsctl is a Switch driving a real Open vSwitch with ovs-vsctl, one
// process per call, each call one database transaction.
//
// Unless NoWait is set a change waits until ovs-vswitchd has applied it;
// when ovs-vswitchd is down that wait ends in a Timeout error although the
// database already holds the change (ovsdb-server keeps the rows, and
// ovs-vswitchd applies them when it comes back).
type Vsctl struct {
	cfg VsctlConfig
}

var _ Switch = (*Vsctl)(nil)

// NewVsctl returns a Switch on the Open vSwitch cfg names.
func NewVsctl(cfg VsctlConfig) *Vsctl {
	if cfg.Program == "" {
		cfg.Program = "ovs-vsctl"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultVsctlTimeout
	}
	return &Vsctl{cfg: cfg}
}

// AddBridge runs "--may-exist add-br NAME", setting the datapath type of a
// new bridge.
func (v *Vsctl) AddBridge(ctx context.Context, name string) error {
	if err := ValidateName("bridge", name); err != nil {
		return err
	}
	args := []string{"--may-exist", "add-br", name}
	if v.cfg.DatapathType != "" {
		// Only a bridge created now gets the type: an existing bridge is
		// left as it is (may-exist).
		args = []string{"--", "--may-exist", "add-br", name, "--", "set", "bridge", name,
			"datapath_type=" + quote(v.cfg.DatapathType)}
		if existing, err := v.bridgeExists(ctx, name); err != nil {
			return err
		} else if existing {
			args = []string{"--may-exist", "add-br", name}
		}
	}
	_, err := v.run(ctx, false, "add bridge "+name, args...)
	return err
}

func (v *Vsctl) bridgeExists(ctx context.Context, name string) (bool, error) {
	_, err := v.run(ctx, true, "bridge "+name, "br-exists", name)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee) && ee.ExitCode() == 2: // br-exists: 2 means no such bridge
		return false, nil
	default:
		return false, err
	}
}

// DelBridge runs "del-br NAME".
func (v *Vsctl) DelBridge(ctx context.Context, name string) error {
	if err := ValidateName("bridge", name); err != nil {
		return err
	}
	_, err := v.run(ctx, false, "delete bridge "+name, "del-br", name)
	return err
}

// AddPort runs the reference's "--if-exists del-port P -- add-port B P --
// set interface P external-ids:K=V ..." as one transaction.
func (v *Vsctl) AddPort(ctx context.Context, bridge, port string, externalIDs map[string]string) error {
	if err := ValidateName("bridge", bridge); err != nil {
		return err
	}
	if err := ValidateName("port", port); err != nil {
		return err
	}
	if err := ValidateExternalIDs(externalIDs); err != nil {
		return err
	}
	args := []string{"--", "--if-exists", "del-port", port, "--", "add-port", bridge, port}
	if len(externalIDs) > 0 {
		args = append(args, "--", "set", "interface", port)
		for _, k := range slices.Sorted(maps.Keys(externalIDs)) {
			args = append(args, "external_ids:"+quote(k)+"="+quote(externalIDs[k]))
		}
	}
	_, err := v.run(ctx, false, "add port "+port+" to bridge "+bridge, args...)
	return err
}

// DelPort runs "del-port PORT".
func (v *Vsctl) DelPort(ctx context.Context, port string) error {
	if err := ValidateName("port", port); err != nil {
		return err
	}
	_, err := v.run(ctx, false, "delete port "+port, "del-port", port)
	return err
}

// ListPorts runs "list-ports BRIDGE".
func (v *Vsctl) ListPorts(ctx context.Context, bridge string) ([]string, error) {
	if err := ValidateName("bridge", bridge); err != nil {
		return nil, err
	}
	out, err := v.run(ctx, true, "list ports of bridge "+bridge, "list-ports", bridge)
	if err != nil {
		return nil, err
	}
	ports := strings.Fields(string(out))
	slices.Sort(ports)
	return ports, nil
}

// PortExternalIDs reads the interface's external_ids column as JSON.
func (v *Vsctl) PortExternalIDs(ctx context.Context, port string) (map[string]string, error) {
	if err := ValidateName("port", port); err != nil {
		return nil, err
	}
	what := "external-ids of port " + port
	out, err := v.run(ctx, true, what, "--format=json", "--columns=external_ids", "list", "Interface", port)
	if err != nil {
		return nil, err
	}
	return parseExternalIDs(what, out)
}

// parseExternalIDs decodes ovs-vsctl's JSON table of one row and the
// single column external_ids: {"data":[[["map",[["k","v"],...]]]],...}.
func parseExternalIDs(what string, out []byte) (map[string]string, error) {
	var table struct {
		Data [][]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(out, &table); err != nil {
		return nil, fmt.Errorf("ovs: %s: malformed ovs-vsctl output: %w", what, err)
	}
	if len(table.Data) != 1 || len(table.Data[0]) != 1 {
		return nil, fmt.Errorf("ovs: %s: want one row of one column, got %d rows", what, len(table.Data))
	}
	var m []json.RawMessage // ["map", [[k, v], ...]]
	if err := json.Unmarshal(table.Data[0][0], &m); err != nil || len(m) != 2 || string(m[0]) != `"map"` {
		return nil, fmt.Errorf("ovs: %s: malformed external_ids %s", what, table.Data[0][0])
	}
	var pairs [][2]string
	if err := json.Unmarshal(m[1], &pairs); err != nil {
		return nil, fmt.Errorf("ovs: %s: malformed external_ids %s: %w", what, m[1], err)
	}
	ids := make(map[string]string, len(pairs))
	for _, p := range pairs {
		ids[p[0]] = p[1]
	}
	return ids, nil
}

// run runs ovs-vsctl with the common options and args, returning stdout;
// read marks a call that changes nothing, which never waits for
// ovs-vswitchd.
func (v *Vsctl) run(ctx context.Context, read bool, what string, args ...string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ovs: %s: %w", what, err)
	}
	timeout := v.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	secs := int(math.Ceil(timeout.Seconds()))
	if secs < 1 {
		secs = 1
	}
	common := []string{fmt.Sprintf("--timeout=%d", secs)}
	if v.cfg.DB != "" {
		common = append(common, "--db=unix:"+v.cfg.DB)
	}
	if v.cfg.NoWait || read {
		common = append(common, "--no-wait")
	}
	cmd := exec.CommandContext(ctx, v.cfg.Program, append(common, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, fmt.Errorf("ovs: %s: %w", what, ctxErr)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return nil, fmt.Errorf("ovs: %s: running %s: %w: %w", what, v.cfg.Program, errdefs.ErrUnavailable, err)
	}
	msg := strings.TrimSpace(stderr.String())
	if msg == "" && ee.ExitCode() == 2 {
		return nil, ee // br-exists's "no"
	}
	if kind := vsctlErrorKind(msg); kind != nil {
		return nil, fmt.Errorf("ovs: %s: %s: %w", what, msg, kind)
	}
	return nil, fmt.Errorf("ovs: %s: ovs-vsctl: %s (%w)", what, msg, err)
}

// vsctlErrorKind maps ovs-vsctl's error messages to errdefs kinds.
func vsctlErrorKind(msg string) error {
	switch {
	case strings.Contains(msg, "no bridge named"), strings.Contains(msg, "no port named"),
		strings.Contains(msg, "no row"):
		return errdefs.ErrNotFound
	case strings.Contains(msg, "already exists"):
		return errdefs.ErrExists
	case strings.Contains(msg, "local port for bridge"):
		return errdefs.ErrInvalid
	case strings.Contains(msg, "database connection failed"):
		return errdefs.ErrUnavailable
	case strings.Contains(msg, "signal 14"), strings.Contains(msg, "Alarm clock"), strings.Contains(msg, "timeout"):
		// --timeout ends ovs-vsctl with SIGALRM.
		return errdefs.ErrTimeout
	}
	return nil
}

// quote makes s an OVSDB string atom: double-quoted, as ovs-vsctl parses
// it; ValidateExternalIDs keeps '"' and '\' out of s.
func quote(s string) string { return `"` + s + `"` }
