package xenstored

import (
	"strconv"
	"strings"
)

// Quota holds per-domain limits; 0 disables a check. Privileged domains
// (dom0 and the socket connections) are exempt, as in C xenstored.
type Quota struct {
	Nodes            int // nodes a domain may own
	Watches          int // watches a domain may have
	Transactions     int // transactions a domain may have open
	NodeSize         int // bytes in one node's value
	Perms            int // entries in one node's permission list
	Outstanding      int // requests whose replies the domain has not taken
	TransactionNodes int // nodes one transaction may touch
}

type quota = Quota

// DefaultQuota returns C xenstored's defaults.
func DefaultQuota() Quota {
	return Quota{Nodes: 1000, Watches: 128, Transactions: 10, NodeSize: 2048, Perms: 5,
		Outstanding: 20, TransactionNodes: 1024}
}

// quotaNames are the names GET_QUOTA and SET_QUOTA take, in the order
// GET_QUOTA with no argument lists them.
var quotaNames = []string{"nodes", "watches", "transactions", "node-size", "permissions",
	"outstanding", "transaction-nodes"}

func (q *Quota) field(name string) *int {
	switch name {
	case "nodes":
		return &q.Nodes
	case "watches":
		return &q.Watches
	case "transactions":
		return &q.Transactions
	case "node-size":
		return &q.NodeSize
	case "permissions":
		return &q.Perms
	case "outstanding":
		return &q.Outstanding
	case "transaction-nodes":
		return &q.TransactionNodes
	}
	return nil
}

// report is the text of CONTROL quota.
func (q *Quota) report() string {
	var b strings.Builder
	for _, n := range quotaNames {
		b.WriteString(n)
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(*q.field(n)))
		b.WriteByte('\n')
	}
	return b.String()
}
