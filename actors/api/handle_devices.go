package api

import (
	"context"

	"github.com/xenactor/xenactor/actors/vm"
	"github.com/xenactor/xenactor/messages"
)

// plugVBD answers PlugVBD; the VBD is validated first.
func (s *server) plugVBD(ctx context.Context, req *messages.PlugVBDRequest) (*messages.Response, error) {
	vbd, err := VBDFromProto(req.GetVbd())
	if err != nil {
		return nil, err
	}
	if err := vbd.Validate(); err != nil {
		return nil, err
	}
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.PlugVBD(ctx, vbd)
	})
}

// unplugVBD answers UnplugVBD.
func (s *server) unplugVBD(ctx context.Context, req *messages.UnplugVBDRequest) (*messages.Response, error) {
	if err := checkDevID(req.GetDevid()); err != nil {
		return nil, err
	}
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.UnplugVBD(ctx, int(req.GetDevid()), req.GetForce())
	})
}

// plugVIF answers PlugVIF; the VIF is validated first.
func (s *server) plugVIF(ctx context.Context, req *messages.PlugVIFRequest) (*messages.Response, error) {
	vif, err := VIFFromProto(req.GetVif())
	if err != nil {
		return nil, err
	}
	if err := vif.Validate(); err != nil {
		return nil, err
	}
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.PlugVIF(ctx, vif)
	})
}

// unplugVIF answers UnplugVIF.
func (s *server) unplugVIF(ctx context.Context, req *messages.UnplugVIFRequest) (*messages.Response, error) {
	if err := checkDevID(req.GetDevid()); err != nil {
		return nil, err
	}
	return s.operation(ctx, req.GetUuid(), func(ctx context.Context, c vm.Client) (string, error) {
		return c.UnplugVIF(ctx, int(req.GetDevid()), req.GetForce())
	})
}
