package ovs

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Flow is one OpenFlow rule of a bridge, in ovs-ofctl's syntax.
type Flow struct {
	// Cookie names the owner of the rule (pvsproxy's rules of one VIF),
	// so that DelFlows removes exactly its rules.
	Cookie uint64
	// Table is the OpenFlow table, 0 to 254; Priority 0 to 65535.
	Table    int
	Priority int
	// Match is the rule's match fields ("udp,dl_src=00:16:3e:00:00:01"),
	// empty for every packet; Actions what is done ("output:pvs0",
	// "drop", "NORMAL").
	Match   string
	Actions string
}

// String returns the flow as ovs-ofctl add-flow takes it.
func (f Flow) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cookie=%#x,table=%d,priority=%d,", f.Cookie, f.Table, f.Priority)
	if f.Match != "" {
		b.WriteString(f.Match + ",")
	}
	b.WriteString("actions=" + f.Actions)
	return b.String()
}

// Validate checks the flow's ranges and that its match and actions are
// one line of printable ASCII without spaces; the switch checks their
// meaning.
func (f Flow) Validate() error {
	switch {
	case f.Table < 0 || f.Table > 254:
		return fmt.Errorf("ovs: flow table %d not within [0, 254]: %w", f.Table, errdefs.ErrInvalid)
	case f.Priority < 0 || f.Priority > 65535:
		return fmt.Errorf("ovs: flow priority %d not within [0, 65535]: %w", f.Priority, errdefs.ErrInvalid)
	case f.Actions == "":
		return fmt.Errorf("ovs: flow %s: no actions: %w", f, errdefs.ErrInvalid)
	}
	for _, s := range []string{f.Match, f.Actions} {
		for _, c := range []byte(s) {
			if c <= ' ' || c >= 0x7f {
				return fmt.Errorf("ovs: flow %q: character %q not allowed: %w", s, c, errdefs.ErrInvalid)
			}
		}
	}
	if strings.Contains(f.Match, "actions=") || strings.Contains(f.Match, "cookie=") {
		return fmt.Errorf("ovs: flow match %q sets actions or cookie: %w", f.Match, errdefs.ErrInvalid)
	}
	return nil
}

// FlowSwitch is a Switch whose bridges take OpenFlow rules, as
// pvsproxy's need. Vsctl (with ovs-ofctl) and Sim are ones.
type FlowSwitch interface {
	Switch
	// AddFlows adds the flows to bridge, all or none; a flow with the
	// same match and priority as one there replaces it.
	AddFlows(ctx context.Context, bridge string, flows []Flow) error
	// DelFlows deletes the flows of bridge that have cookie; none is not
	// an error.
	DelFlows(ctx context.Context, bridge string, cookie uint64) error
	// Flows returns the flows of bridge with cookie. The switch may
	// return a match in its own normal form (field order, port numbers).
	Flows(ctx context.Context, bridge string, cookie uint64) ([]Flow, error)
}

// parseFlow parses one line of ovs-ofctl dump-flows --no-stats:
// " cookie=0x5, table=1, priority=1000,udp,nw_dst=10.0.0.1 actions=drop";
// cookie 0 and table 0 are left out of it, priority 32768 too.
func parseFlow(line string) (Flow, bool) {
	line = strings.TrimSpace(line)
	head, actions, ok := strings.Cut(line, " actions=")
	if !ok {
		return Flow{}, false
	}
	f := Flow{Priority: 32768, Actions: actions}
	var match []string
	for _, field := range strings.Split(strings.ReplaceAll(head, ", ", ","), ",") {
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "cookie":
			n, err := strconv.ParseUint(v, 0, 64)
			if err != nil {
				return Flow{}, false
			}
			f.Cookie = n
		case "table":
			n, err := strconv.Atoi(v)
			if err != nil {
				return Flow{}, false
			}
			f.Table = n
		case "priority":
			n, err := strconv.Atoi(v)
			if err != nil {
				return Flow{}, false
			}
			f.Priority = n
		case "duration", "n_packets", "n_bytes", "idle_age", "hard_age", "reset_counts":
		case "":
		default:
			match = append(match, field)
		}
	}
	f.Match = strings.Join(match, ",")
	return f, true
}
