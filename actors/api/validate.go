package api

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// The caps on a request: beyond them it is invalid.
const (
	// MaxRequestBytes caps a request's encoded size.
	MaxRequestBytes = 1 << 20
	// MaxStringBytes caps each string or bytes field.
	MaxStringBytes = 4096
	// MaxListLen caps each list and map (devices of a spec, trace entries,
	// addresses, ...).
	MaxListLen = 256
	// maxDepth caps the nesting of messages (the API's is 4).
	maxDepth = 16
)

// ops names the ops of Request.op, by the type of the oneof's wrapper.
func opName(req *messages.Request) string {
	switch req.GetOp().(type) {
	case *messages.Request_HostInfo:
		return "HostInfo"
	case *messages.Request_ListVms:
		return "ListVMs"
	case *messages.Request_ListDaemons:
		return "ListDaemons"
	case *messages.Request_ResetDaemon:
		return "ResetDaemon"
	case *messages.Request_CreateVm:
		return "CreateVM"
	case *messages.Request_RemoveVm:
		return "RemoveVM"
	case *messages.Request_StatVm:
		return "StatVM"
	case *messages.Request_StartVm:
		return "StartVM"
	case *messages.Request_ShutdownVm:
		return "ShutdownVM"
	case *messages.Request_RebootVm:
		return "RebootVM"
	case *messages.Request_PauseVm:
		return "PauseVM"
	case *messages.Request_UnpauseVm:
		return "UnpauseVM"
	case *messages.Request_SuspendVm:
		return "SuspendVM"
	case *messages.Request_ResumeVm:
		return "ResumeVM"
	case *messages.Request_DestroyVm:
		return "DestroyVM"
	case *messages.Request_SetMemoryTarget:
		return "SetMemoryTarget"
	case *messages.Request_SetVcpus:
		return "SetVCPUs"
	case *messages.Request_MigrateVm:
		return "MigrateVM"
	case *messages.Request_PlugVbd:
		return "PlugVBD"
	case *messages.Request_UnplugVbd:
		return "UnplugVBD"
	case *messages.Request_PlugVif:
		return "PlugVIF"
	case *messages.Request_UnplugVif:
		return "UnplugVIF"
	case *messages.Request_ListTasks:
		return "ListTasks"
	case *messages.Request_GetTask:
		return "GetTask"
	case *messages.Request_WaitTask:
		return "WaitTask"
	case *messages.Request_CancelTask:
		return "CancelTask"
	case *messages.Request_DestroyTask:
		return "DestroyTask"
	case *messages.Request_NextEvents:
		return "NextEvents"
	case *messages.Request_Barrier:
		return "Barrier"
	case *messages.Request_PoolHosts:
		return "PoolHosts"
	case *messages.Request_PoolVms:
		return "PoolVMs"
	case *messages.Request_PoolEvacuate:
		return "PoolEvacuate"
	}
	return "Unknown"
}

// checkRequest checks what every request needs: an op, and sizes within
// the caps. The ops check their own arguments.
func checkRequest(req *messages.Request) error {
	if req == nil || req.GetOp() == nil {
		return fmt.Errorf("%w: the request has no op", errdefs.ErrInvalid)
	}
	if n := proto.Size(req); n > MaxRequestBytes {
		return fmt.Errorf("%w: the request is %d bytes, over %d", errdefs.ErrInvalid, n, MaxRequestBytes)
	}
	return checkSizes(req.ProtoReflect(), 0)
}

// checkSizes checks every string, bytes, list and map of m against the caps.
func checkSizes(m protoreflect.Message, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: the request nests too deep", errdefs.ErrInvalid)
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			if l.Len() > MaxListLen {
				err = fmt.Errorf("%w: %s has %d entries, over %d", errdefs.ErrInvalid, fd.Name(), l.Len(), MaxListLen)
				break
			}
			for i := 0; i < l.Len() && err == nil; i++ {
				err = checkValue(fd, l.Get(i), depth)
			}
		case fd.IsMap():
			mp := v.Map()
			if mp.Len() > MaxListLen {
				err = fmt.Errorf("%w: %s has %d entries, over %d", errdefs.ErrInvalid, fd.Name(), mp.Len(), MaxListLen)
				break
			}
			mp.Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				err = checkValue(fd.MapKey(), k.Value(), depth)
				if err == nil {
					err = checkValue(fd.MapValue(), mv, depth)
				}
				return err == nil
			})
		default:
			err = checkValue(fd, v, depth)
		}
		return err == nil
	})
	return err
}

// checkValue checks one value of field fd.
func checkValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, depth int) error {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if n := len(v.String()); n > MaxStringBytes {
			return fmt.Errorf("%w: %s is %d bytes, over %d", errdefs.ErrInvalid, fd.Name(), n, MaxStringBytes)
		}
	case protoreflect.BytesKind:
		if n := len(v.Bytes()); n > MaxStringBytes {
			return fmt.Errorf("%w: %s is %d bytes, over %d", errdefs.ErrInvalid, fd.Name(), n, MaxStringBytes)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return checkSizes(v.Message(), depth+1)
	}
	return nil
}

// checkUUID checks a VM's uuid argument.
func checkUUID(uuid string) error {
	if uuid == "" {
		return fmt.Errorf("%w: missing uuid", errdefs.ErrInvalid)
	}
	if _, err := hypervisor.ParseUUID(uuid); err != nil {
		return fmt.Errorf("%w: uuid %q: %v", errdefs.ErrInvalid, uuid, err)
	}
	return nil
}

// checkID checks a task id argument.
func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: missing task id", errdefs.ErrInvalid)
	}
	return nil
}

// checkDevID checks a device id argument.
func checkDevID(devid int32) error {
	if devid < 0 {
		return fmt.Errorf("%w: devid %d is negative", errdefs.ErrInvalid, devid)
	}
	return nil
}
