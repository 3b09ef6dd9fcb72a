package api

import (
	"context"
	"fmt"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// dispatch runs the op of req; ctx ends when the actor stops. The long polls
// set their own deadlines, the other ops run under Config.Timeout.
func (s *server) dispatch(ctx context.Context, req *messages.Request) (*messages.Response, error) {
	switch op := req.GetOp().(type) {
	case *messages.Request_WaitTask:
		return s.waitTask(ctx, op.WaitTask)
	case *messages.Request_NextEvents:
		return s.nextEvents(ctx, op.NextEvents)
	case *messages.Request_PoolEvacuate:
		return s.poolEvacuate(ctx, op.PoolEvacuate)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	switch op := req.GetOp().(type) {
	case *messages.Request_HostInfo:
		return s.hostInfo(ctx)
	case *messages.Request_ListVms:
		return s.listVMs(ctx)
	case *messages.Request_ListDaemons:
		return s.listDaemons(ctx)
	case *messages.Request_ResetDaemon:
		return s.resetDaemon(ctx, op.ResetDaemon)
	case *messages.Request_CreateVm:
		return s.createVM(ctx, op.CreateVm)
	case *messages.Request_RemoveVm:
		return s.removeVM(ctx, op.RemoveVm)
	case *messages.Request_StatVm:
		return s.statVM(ctx, op.StatVm)
	case *messages.Request_StartVm:
		return s.startVM(ctx, op.StartVm)
	case *messages.Request_ShutdownVm:
		return s.shutdownVM(ctx, op.ShutdownVm)
	case *messages.Request_RebootVm:
		return s.rebootVM(ctx, op.RebootVm)
	case *messages.Request_PauseVm:
		return s.pauseVM(ctx, op.PauseVm)
	case *messages.Request_UnpauseVm:
		return s.unpauseVM(ctx, op.UnpauseVm)
	case *messages.Request_SuspendVm:
		return s.suspendVM(ctx, op.SuspendVm)
	case *messages.Request_ResumeVm:
		return s.resumeVM(ctx, op.ResumeVm)
	case *messages.Request_DestroyVm:
		return s.destroyVM(ctx, op.DestroyVm)
	case *messages.Request_SetMemoryTarget:
		return s.setMemoryTarget(ctx, op.SetMemoryTarget)
	case *messages.Request_SetVcpus:
		return s.setVCPUs(ctx, op.SetVcpus)
	case *messages.Request_MigrateVm:
		return s.migrateVM(ctx, op.MigrateVm)
	case *messages.Request_PlugVbd:
		return s.plugVBD(ctx, op.PlugVbd)
	case *messages.Request_UnplugVbd:
		return s.unplugVBD(ctx, op.UnplugVbd)
	case *messages.Request_PlugVif:
		return s.plugVIF(ctx, op.PlugVif)
	case *messages.Request_UnplugVif:
		return s.unplugVIF(ctx, op.UnplugVif)
	case *messages.Request_ListTasks:
		return s.listTasks(ctx, op.ListTasks)
	case *messages.Request_GetTask:
		return s.getTask(ctx, op.GetTask)
	case *messages.Request_CancelTask:
		return s.cancelTask(ctx, op.CancelTask)
	case *messages.Request_DestroyTask:
		return s.destroyTask(ctx, op.DestroyTask)
	case *messages.Request_Barrier:
		return s.barrier(ctx)
	case *messages.Request_PoolHosts:
		return s.poolHosts(ctx)
	case *messages.Request_PoolVms:
		return s.poolVMs(ctx)
	}
	return nil, fmt.Errorf("%w: unknown op %T", errdefs.ErrInvalid, req.GetOp())
}
