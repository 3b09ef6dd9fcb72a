package client

import (
	"context"

	"github.com/xenactor/xenactor/messages"
)

// On returns a client whose calls run on the pool host named host: the
// daemon called routes them there. "" (or that daemon's own name) runs them
// on the daemon called. It shares c's transport: closing either closes it.
func (c *Client) On(host string) *Client {
	return &Client{c: c.c, host: host}
}

// LeastLoaded returns a client whose calls run on the pool host that is up
// and has the most free memory at the time of each call. Operations return
// tasks bound to the host that ran them; PlaceVM says where a VM went.
func (c *Client) LeastLoaded() *Client {
	return &Client{c: c.c, leastLoaded: true}
}

// Host returns the pool host the client's calls run on; "" for the daemon
// called (or the least loaded host).
func (c *Client) Host() string { return c.host }

// PoolHosts lists the hosts of the pool, up or down.
func (c *Client) PoolHosts(ctx context.Context) ([]*messages.PoolHost, error) {
	resp, err := c.call(ctx, &messages.Request{Op: &messages.Request_PoolHosts{PoolHosts: &messages.PoolHostsRequest{}}})
	if err != nil {
		return nil, err
	}
	if r := resp.GetPoolHosts(); r != nil {
		return r.GetHosts(), nil
	}
	return nil, unexpected("PoolHostList", resp)
}

// PoolVMs lists the VMs of every host of the pool with where they run; the
// VMs of a host that is down are in power state unknown.
func (c *Client) PoolVMs(ctx context.Context) ([]*messages.PoolVM, error) {
	resp, err := c.call(ctx, &messages.Request{Op: &messages.Request_PoolVms{PoolVms: &messages.PoolVMsRequest{}}})
	if err != nil {
		return nil, err
	}
	if r := resp.GetPoolVms(); r != nil {
		return r.GetVms(), nil
	}
	return nil, unexpected("PoolVMList", resp)
}

// PlaceVM creates the VM spec describes, as CreateVM, and returns the pool
// host that holds it: c's host (On), the least loaded one (LeastLoaded), or
// "" for the daemon called when c does not route.
func (c *Client) PlaceVM(ctx context.Context, spec *messages.VMSpec) (string, error) {
	resp, err := c.call(ctx, &messages.Request{Op: &messages.Request_CreateVm{CreateVm: &messages.CreateVMRequest{
		Spec: spec}}})
	if err != nil {
		return "", err
	}
	if resp.GetEmpty() == nil {
		return "", unexpected("Empty", resp)
	}
	return resp.GetHost(), nil
}

// PoolEvacuate moves every VM of the pool host host to the other hosts that
// are up, batch at a time (0: the daemon's default), and returns what became
// of each VM: a Halted VM's record is moved, a VM with a domain migrated, a
// Suspended one stays. A VM that could not be moved stays on host with its
// error. The call lasts as long as the evacuation.
func (c *Client) PoolEvacuate(ctx context.Context, host string, batch int) ([]*messages.EvacuatedVM, error) {
	resp, err := c.call(ctx, &messages.Request{Op: &messages.Request_PoolEvacuate{PoolEvacuate: &messages.PoolEvacuateRequest{
		Host: host, Batch: uint32(max(batch, 0))}}})
	if err != nil {
		return nil, err
	}
	if r := resp.GetPoolEvacuation(); r != nil {
		return r.GetVms(), nil
	}
	return nil, unexpected("PoolEvacuation", resp)
}
