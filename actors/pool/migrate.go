package pool

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// migrateWait is how long each wait for a migration's task asks the
// source host to wait (the source caps it at its own maximum).
const migrateWait = 30 * time.Second

// SetMigrateAddr sets the address of the host's migration listener
// (host:port), which the member publishes in its report (from the next
// one on) so that the other members migrate VMs to it by name; an
// unspecified IP (0.0.0.0, ::) is replaced by the pool address's host. ""
// (the default) publishes none: the host takes no migrations.
func (p *Pool) SetMigrateAddr(addr string) { p.migrate.Store(&addr) }

// migrateAddr returns the migration address the host publishes; "" when
// it takes no migrations.
func (p *Pool) migrateAddr() string {
	a := p.migrate.Load()
	if a == nil || *a == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(*a)
	if err != nil {
		return *a
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if poolHost, _, err := net.SplitHostPort(p.Addr()); err == nil {
			return net.JoinHostPort(poolHost, port)
		}
	}
	return *a
}

// MigrationTarget returns how this member reaches the migration listener
// of the member named host: the address host publishes in its report, and
// the TLS config of the member's pool certificate (mutual TLS against the
// pool's CA, no token). This host is a target too (a migration to the same
// host, received under a temporary uuid); a host that is not a member is
// ErrNotFound; a member that is down, or publishes no migration address,
// ErrUnavailable.
func (p *Pool) MigrationTarget(ctx context.Context, host string) (string, *tls.Config, error) {
	recs, err := p.records(ctx)
	if err != nil {
		return "", nil, err
	}
	rec, known := recs[host]
	if _, up := p.provider.member(host); !up {
		if known {
			return "", nil, fmt.Errorf("%w: pool host %s is down", errdefs.ErrUnavailable, host)
		}
		return "", nil, fmt.Errorf("%w: no pool host %s", errdefs.ErrNotFound, host)
	}
	if rec.MigrateAddress == "" {
		return "", nil, fmt.Errorf("%w: pool host %s takes no migrations (no -migrate-addr)", errdefs.ErrUnavailable,
			host)
	}
	return rec.MigrateAddress, p.cfg.Credentials.MigrationClientTLS(), nil
}

// Migrate live-migrates the VM uuid from the member source to the member
// target (a MigrateFunc): it runs a migrate_vm request naming target
// (MigrateVMRequest.to_host) on source, which finds target's migration
// listener with MigrationTarget, and waits on source for the migration's
// task. It returns the task's error: a migration that failed leaves the VM
// on source. If ctx ends first, the task is cancelled.
func (p *Pool) Migrate(ctx context.Context, source, uuid, target string) error {
	resp, err := p.Route(ctx, source, &messages.Request{Op: &messages.Request_MigrateVm{
		MigrateVm: &messages.MigrateVMRequest{Uuid: uuid, ToHost: target, Live: true}}})
	if err == nil {
		err = respError(resp)
	}
	if err != nil {
		return err
	}
	id := resp.GetTaskRef().GetId()
	if id == "" {
		return fmt.Errorf("%w: pool host %s answered the migration of VM %s without a task", errdefs.ErrUnavailable,
			source, uuid)
	}
	for {
		resp, err := p.Route(ctx, source, &messages.Request{Op: &messages.Request_WaitTask{
			WaitTask: &messages.WaitTaskRequest{Id: id, TimeoutMillis: migrateWait.Milliseconds()}}})
		if err == nil {
			err = respError(resp)
		}
		if err != nil {
			if ctx.Err() != nil {
				p.cancelTask(source, id)
			}
			return fmt.Errorf("migration of VM %s to %s: task %s on %s: %w", uuid, target, id, source, err)
		}
		t := resp.GetTask()
		switch t.GetState() {
		case messages.TaskState_TASK_STATE_COMPLETED:
			return nil
		case messages.TaskState_TASK_STATE_FAILED:
			if e := t.GetError(); e != nil {
				return respError(&messages.Response{Error: e})
			}
			return fmt.Errorf("migration of VM %s to %s failed", uuid, target)
		}
	}
}

// cancelTask asks host to cancel its task id, for a caller that gave up.
func (p *Pool) cancelTask(host, id string) {
	ctx, cancel := context.WithTimeout(p.stop, liveTimeout)
	defer cancel()
	_, _ = p.Route(ctx, host, &messages.Request{Op: &messages.Request_CancelTask{
		CancelTask: &messages.CancelTaskRequest{Id: id}}})
}
