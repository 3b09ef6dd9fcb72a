// Package pool makes a host a member of a pool of xenactord hosts, on
// protoactor-go's cluster layer with membership in etcd.
//
// A member runs a second actor system beside the API's, with its own remote
// on the pool address (mutual TLS with certificates of the pool's CA, see
// apiwire.EnsurePoolCredentials) and a cluster whose provider keeps the
// member's key in etcd under a lease. Every member spawns the forwarder
// "xenactor-host", which runs an API Request it receives on the local api
// actor and answers its Response: any member can thus run any API call on
// any other member by host name (Pool.Route).
//
// Each member writes its host's figures and its VMs to etcd (keys without a
// lease) every ReportInterval. A member whose lease expires (killed, cut
// off) leaves the cluster's member list; the pool then lists it as down,
// with the figures and the VMs it last reported, in power state unknown.
//
// Members migrate VMs to each other by host name: each publishes its
// migration listener's address in its report (SetMigrateAddr), and
// MigrationTarget gives another member that address with the TLS config of
// the member's pool certificate, which the listener accepts instead of the
// API's token. Migrate runs such a migration on the source and waits for
// it; Evacuate uses it for the VMs with a domain.
//
// The keys, under /xenactor/pools/<pool>/:
//
//	members/<host>  the member (JSON: id, host, port), with a lease
//	hosts/<host>    the host's last report (JSON), with its migration address
//	vms/<host>      its VMs at that report (protojson of messages.VMList)
package pool
