package client

import (
	"context"

	"github.com/xenactor/xenactor/messages"
)

// HostInfo returns the host's identity, memory and counts.
func (c *Client) HostInfo(ctx context.Context) (*messages.HostInfo, error) {
	resp, err := c.call(ctx, &messages.Request{Op: &messages.Request_HostInfo{HostInfo: &messages.HostInfoRequest{}}})
	if err != nil {
		return nil, err
	}
	if r := resp.GetHostInfo(); r != nil {
		return r, nil
	}
	return nil, unexpected("HostInfo", resp)
}

// ListVMs returns every VM with its power state, sorted by uuid.
func (c *Client) ListVMs(ctx context.Context) ([]*messages.VMSummary, error) {
	resp, err := c.call(ctx, &messages.Request{Op: &messages.Request_ListVms{ListVms: &messages.ListVMsRequest{}}})
	if err != nil {
		return nil, err
	}
	if r := resp.GetVms(); r != nil {
		return r.Vms, nil
	}
	return nil, unexpected("VMList", resp)
}

// Daemons returns the status of every daemon of the host, sorted by name.
func (c *Client) Daemons(ctx context.Context) ([]*messages.DaemonStatus, error) {
	resp, err := c.call(ctx, &messages.Request{Op: &messages.Request_ListDaemons{
		ListDaemons: &messages.ListDaemonsRequest{}}})
	if err != nil {
		return nil, err
	}
	if r := resp.GetDaemons(); r != nil {
		return r.Daemons, nil
	}
	return nil, unexpected("DaemonList", resp)
}

// ResetDaemon starts the host daemon name again after it was given up on
// ("failed"), its failure count cleared; a daemon in another state is left
// alone.
func (c *Client) ResetDaemon(ctx context.Context, name string) error {
	return c.empty(ctx, &messages.Request{Op: &messages.Request_ResetDaemon{ResetDaemon: &messages.ResetDaemonRequest{
		Name: name}}})
}

// CreateVM registers the VM spec (Halted).
func (c *Client) CreateVM(ctx context.Context, spec *messages.VMSpec) error {
	return c.empty(ctx, &messages.Request{Op: &messages.Request_CreateVm{CreateVm: &messages.CreateVMRequest{
		Spec: spec}}})
}

// RemoveVM forgets the Halted VM uuid.
func (c *Client) RemoveVM(ctx context.Context, uuid string) error {
	return c.empty(ctx, &messages.Request{Op: &messages.Request_RemoveVm{RemoveVm: &messages.RemoveVMRequest{
		Uuid: uuid}}})
}

// StatVM returns the status of VM uuid.
func (c *Client) StatVM(ctx context.Context, uuid string) (*messages.VMStatus, error) {
	resp, err := c.call(ctx, &messages.Request{Op: &messages.Request_StatVm{StatVm: &messages.StatVMRequest{
		Uuid: uuid}}})
	if err != nil {
		return nil, err
	}
	if r := resp.GetVm(); r != nil {
		return r, nil
	}
	return nil, unexpected("VMStatus", resp)
}

// StartVM starts VM uuid, left paused if paused.
func (c *Client) StartVM(ctx context.Context, uuid string, paused bool) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_StartVm{StartVm: &messages.StartVMRequest{
		Uuid: uuid, Paused: paused}}})
}

// ShutdownVM shuts VM uuid down, cleanly or hard.
func (c *Client) ShutdownVM(ctx context.Context, uuid string, hard bool) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_ShutdownVm{ShutdownVm: &messages.ShutdownVMRequest{
		Uuid: uuid, Hard: hard}}})
}

// RebootVM reboots VM uuid, cleanly or hard.
func (c *Client) RebootVM(ctx context.Context, uuid string, hard bool) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_RebootVm{RebootVm: &messages.RebootVMRequest{
		Uuid: uuid, Hard: hard}}})
}

// PauseVM pauses VM uuid.
func (c *Client) PauseVM(ctx context.Context, uuid string) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_PauseVm{PauseVm: &messages.PauseVMRequest{
		Uuid: uuid}}})
}

// UnpauseVM unpauses VM uuid.
func (c *Client) UnpauseVM(ctx context.Context, uuid string) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_UnpauseVm{UnpauseVm: &messages.UnpauseVMRequest{
		Uuid: uuid}}})
}

// SuspendVM suspends VM uuid to the image file path, an absolute path on the
// daemon's host; "" lets the daemon choose one in its state directory.
func (c *Client) SuspendVM(ctx context.Context, uuid, path string) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_SuspendVm{SuspendVm: &messages.SuspendVMRequest{
		Uuid: uuid, Path: path}}})
}

// ResumeVM resumes the Suspended VM uuid, left paused if paused.
func (c *Client) ResumeVM(ctx context.Context, uuid string, paused bool) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_ResumeVm{ResumeVm: &messages.ResumeVMRequest{
		Uuid: uuid, Paused: paused}}})
}

// MigrateVM moves the running VM uuid to the daemon whose migration
// listener is at destination (host:port); destConfig is the path, readable
// by the source daemon, of the destination's client.json (its CA and
// token). Live pre-copies the memory while the guest runs; compress sends
// it through flate.
func (c *Client) MigrateVM(ctx context.Context, uuid, destination, destConfig string, live, compress bool) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_MigrateVm{MigrateVm: &messages.MigrateVMRequest{
		Uuid: uuid, Destination: destination, DestinationConfig: destConfig, Live: live, Compress: compress}}})
}

// MigrateVMToHost moves the running VM uuid to the member named host of
// the daemon's pool: the daemon running the call (the VM's host: see On)
// finds host's migration listener in the pool and authenticates with its
// pool certificate, so no destination config is needed.
func (c *Client) MigrateVMToHost(ctx context.Context, uuid, host string, live, compress bool) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_MigrateVm{MigrateVm: &messages.MigrateVMRequest{
		Uuid: uuid, ToHost: host, Live: live, Compress: compress}}})
}

// DestroyVM destroys the domain of VM uuid at once.
func (c *Client) DestroyVM(ctx context.Context, uuid string) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_DestroyVm{DestroyVm: &messages.DestroyVMRequest{
		Uuid: uuid}}})
}

// SetMemoryTarget sets the balloon target of the running VM uuid, in KiB.
func (c *Client) SetMemoryTarget(ctx context.Context, uuid string, kib uint64) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_SetMemoryTarget{
		SetMemoryTarget: &messages.SetMemoryTargetRequest{Uuid: uuid, Kib: kib}}})
}

// SetVCPUs sets the number of online vCPUs of the running VM uuid.
func (c *Client) SetVCPUs(ctx context.Context, uuid string, n int32) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_SetVcpus{SetVcpus: &messages.SetVCPUsRequest{
		Uuid: uuid, Vcpus: n}}})
}

// PlugVBD adds vbd to VM uuid.
func (c *Client) PlugVBD(ctx context.Context, uuid string, vbd *messages.VBD) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_PlugVbd{PlugVbd: &messages.PlugVBDRequest{
		Uuid: uuid, Vbd: vbd}}})
}

// UnplugVBD removes VBD devid from VM uuid, cleanly or by force.
func (c *Client) UnplugVBD(ctx context.Context, uuid string, devid int32, force bool) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_UnplugVbd{UnplugVbd: &messages.UnplugVBDRequest{
		Uuid: uuid, Devid: devid, Force: force}}})
}

// PlugVIF adds vif to VM uuid.
func (c *Client) PlugVIF(ctx context.Context, uuid string, vif *messages.VIF) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_PlugVif{PlugVif: &messages.PlugVIFRequest{
		Uuid: uuid, Vif: vif}}})
}

// UnplugVIF removes VIF devid from VM uuid, cleanly or by force.
func (c *Client) UnplugVIF(ctx context.Context, uuid string, devid int32, force bool) (*Task, error) {
	return c.operation(ctx, &messages.Request{Op: &messages.Request_UnplugVif{UnplugVif: &messages.UnplugVIFRequest{
		Uuid: uuid, Devid: devid, Force: force}}})
}

// empty sends a request answered with Empty.
func (c *Client) empty(ctx context.Context, req *messages.Request) error {
	resp, err := c.call(ctx, req)
	if err != nil {
		return err
	}
	if resp.GetEmpty() == nil {
		return unexpected("Empty", resp)
	}
	return nil
}

// operation sends a request answered with a TaskRef and returns the task's
// handle.
func (c *Client) operation(ctx context.Context, req *messages.Request) (*Task, error) {
	resp, err := c.call(ctx, req)
	if err != nil {
		return nil, err
	}
	ref := resp.GetTaskRef()
	if ref == nil {
		return nil, unexpected("TaskRef", resp)
	}
	tc := c
	if h := resp.GetHost(); h != "" {
		// The task lives on the pool host that ran the operation.
		tc = c.On(h)
	}
	return &Task{ID: ref.Id, Host: resp.GetHost(), c: tc}, nil
}
