package api

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/xenactor/xenactor/actors/host"
	"github.com/xenactor/xenactor/actors/internal/request"
	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// createVM answers CreateVM: the spec is validated, then registered.
func (s *server) createVM(ctx context.Context, req *messages.CreateVMRequest) (*messages.Response, error) {
	spec, err := SpecFromProto(req.GetSpec())
	if err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Host.AddVM(ctx, spec); err != nil {
		return nil, err
	}
	return empty(), nil
}

// removeVM answers RemoveVM.
func (s *server) removeVM(ctx context.Context, req *messages.RemoveVMRequest) (*messages.Response, error) {
	if err := checkUUID(req.GetUuid()); err != nil {
		return nil, err
	}
	if err := s.cfg.Host.RemoveVM(ctx, req.GetUuid()); err != nil {
		return nil, err
	}
	return empty(), nil
}

// statVM answers StatVM, with the spec the host's journal holds.
func (s *server) statVM(ctx context.Context, req *messages.StatVMRequest) (*messages.Response, error) {
	if err := checkUUID(req.GetUuid()); err != nil {
		return nil, err
	}
	reply, err := request.Ask[*host.VMReply](ctx, s.system().Root, s.cfg.Host.PID(), &host.VM{UUID: req.GetUuid()},
		nil)
	if err == nil {
		err = reply.Err
	}
	if err != nil {
		return nil, err
	}
	st, err := vm.NewClient(s.system(), reply.PID).Stat(ctx)
	if err != nil {
		return nil, err
	}
	p := StatusToProto(st)
	p.Spec = SpecToProto(reply.Spec)
	return &messages.Response{Result: &messages.Response_Vm{Vm: p}}, nil
}

// vm checks uuid and returns a client of its VM actor.
func (s *server) vm(ctx context.Context, uuid string) (vm.Client, error) {
	if err := checkUUID(uuid); err != nil {
		return vm.Client{}, err
	}
	return s.cfg.Host.VM(ctx, uuid)
}

// operation runs one VM operation, op, on the VM uuid and answers with its
// task.
func (s *server) operation(ctx context.Context, uuid string,
	op func(context.Context, vm.Client) (string, error)) (*messages.Response, error) {
	c, err := s.vm(ctx, uuid)
	if err != nil {
		return nil, err
	}
	id, err := op(ctx, c)
	if err != nil {
		return nil, err
	}
	return &messages.Response{Result: &messages.Response_TaskRef{TaskRef: &messages.TaskRef{Id: id}}}, nil
}

// startVM answers StartVM.
func (s *server) startVM(ctx context.Context, req *messages.StartVMRequest) (*messages.Response, error) {
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.Start(ctx, req.GetPaused())
	})
}

// shutdownVM answers ShutdownVM.
func (s *server) shutdownVM(ctx context.Context, req *messages.ShutdownVMRequest) (*messages.Response, error) {
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.Shutdown(ctx, req.GetHard())
	})
}

// rebootVM answers RebootVM.
func (s *server) rebootVM(ctx context.Context, req *messages.RebootVMRequest) (*messages.Response, error) {
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.Reboot(ctx, req.GetHard())
	})
}

// pauseVM answers PauseVM.
func (s *server) pauseVM(ctx context.Context, req *messages.PauseVMRequest) (*messages.Response, error) {
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.Pause(ctx)
	})
}

// unpauseVM answers UnpauseVM.
func (s *server) unpauseVM(ctx context.Context, req *messages.UnpauseVMRequest) (*messages.Response, error) {
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.Unpause(ctx)
	})
}

// suspendVM answers SuspendVM. Without a path, the image goes to
// <SuspendDir>/<uuid>.img; a path given must be absolute.
func (s *server) suspendVM(ctx context.Context, req *messages.SuspendVMRequest) (*messages.Response, error) {
	path := req.GetPath()
	if err := checkUUID(req.GetUuid()); err != nil {
		return nil, err
	}
	switch {
	case path == "" && s.cfg.SuspendDir == "":
		return nil, fmt.Errorf("%w: no suspend image path, and the daemon has no suspend directory",
			errdefs.ErrInvalid)
	case path == "":
		if err := os.MkdirAll(s.cfg.SuspendDir, 0o700); err != nil {
			return nil, fmt.Errorf("%w: suspend directory: %w", errdefs.ErrUnavailable, err)
		}
		path = filepath.Join(s.cfg.SuspendDir, req.GetUuid()+".img")
	case !filepath.IsAbs(path):
		return nil, fmt.Errorf("%w: suspend image path %q is not absolute", errdefs.ErrInvalid, path)
	}
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.Suspend(ctx, path)
	})
}

// resumeVM answers ResumeVM.
func (s *server) resumeVM(ctx context.Context, req *messages.ResumeVMRequest) (*messages.Response, error) {
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.Resume(ctx, req.GetPaused())
	})
}

// destroyVM answers DestroyVM.
func (s *server) destroyVM(ctx context.Context, req *messages.DestroyVMRequest) (*messages.Response, error) {
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.Destroy(ctx)
	})
}

// setMemoryTarget answers SetMemoryTarget.
func (s *server) setMemoryTarget(ctx context.Context, req *messages.SetMemoryTargetRequest) (*messages.Response, error) {
	if req.GetKib() == 0 {
		return nil, fmt.Errorf("%w: memory target 0", errdefs.ErrInvalid)
	}
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.SetMemoryTarget(ctx, req.GetKib())
	})
}

// setVCPUs answers SetVCPUs.
func (s *server) setVCPUs(ctx context.Context, req *messages.SetVCPUsRequest) (*messages.Response, error) {
	if req.GetVcpus() < 1 {
		return nil, fmt.Errorf("%w: %d vCPUs", errdefs.ErrInvalid, req.GetVcpus())
	}
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.SetVCPUs(ctx, int(req.GetVcpus()))
	})
}
