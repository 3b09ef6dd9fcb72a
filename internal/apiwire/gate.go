package apiwire

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/xenactor/xenactor/messages"
)

// The type names the gates accept.
var (
	requestTypeName  = string(proto.MessageName(&messages.Request{}))
	responseTypeName = string(proto.MessageName(&messages.Response{}))
)

// APIActor is the name of the daemon actor the API's requests go to.
const APIActor = "api"

// maxHeaderBytes caps the message header of one envelope (keys and values).
const maxHeaderBytes = 8 << 10

// rules is what a gate accepts in a message batch.
type rules struct {
	// types are the message types accepted, each with a function making an
	// empty one to check the data.
	types map[string]func() proto.Message
	// target reports whether a target PID's id is acceptable.
	target func(id string) bool
	// localAddress replaces every target's address, so the library delivers
	// locally and never relays.
	localAddress string
	// sender is the address a sender must have; "" means a sender is
	// optional and its address free.
	sender string
	// answerUnknown turns an envelope of a type the process does not know
	// into a rejection answered to its sender, instead of a bad batch.
	answerUnknown bool
}

// rejection is an envelope the gate takes out of a batch and answers itself.
type rejection struct {
	sender *actor.PID
	reason string
}

// checkBatch validates b against r before the library decodes it. It
// returns an error for a bad batch (the stream must end); otherwise it has
// removed the envelopes of unknown types it returns, and rewritten the
// targets' addresses to r.localAddress. It never panics on any input.
func checkBatch(b *remote.MessageBatch, r *rules) ([]rejection, error) {
	if b == nil {
		return nil, fmt.Errorf("empty message batch")
	}
	for i, t := range b.Targets {
		if t == nil || !r.target(t.Id) {
			return nil, fmt.Errorf("target %d %q is not accepted", i, t.GetId())
		}
	}
	for i, s := range b.Senders {
		if s == nil || s.Id == "" {
			return nil, fmt.Errorf("sender %d has no id", i)
		}
		if r.sender != "" && s.Address != r.sender {
			return nil, fmt.Errorf("sender %d address %q is not the stream's callback address %q", i, s.Address, r.sender)
		}
	}
	known := make([]bool, len(b.TypeNames))
	for i, name := range b.TypeNames {
		if _, ok := r.types[name]; ok {
			known[i] = true
			continue
		}
		if !protoreflect.FullName(name).IsValid() {
			return nil, fmt.Errorf("type name %d %q is malformed", i, name)
		}
		if _, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name)); err == nil || !r.answerUnknown {
			return nil, fmt.Errorf("message type %q is not accepted", name)
		}
	}
	var rejects []rejection
	kept := b.Envelopes[:0:0]
	for i, e := range b.Envelopes {
		if e == nil {
			return nil, fmt.Errorf("envelope %d is empty", i)
		}
		if e.SerializerId != 0 {
			return nil, fmt.Errorf("envelope %d: serializer %d is not protobuf (0)", i, e.SerializerId)
		}
		if e.TypeId < 0 || int(e.TypeId) >= len(b.TypeNames) {
			return nil, fmt.Errorf("envelope %d: type index %d out of range", i, e.TypeId)
		}
		if e.Target < 0 || int(e.Target) >= len(b.Targets) {
			return nil, fmt.Errorf("envelope %d: target index %d out of range", i, e.Target)
		}
		if e.Sender < 0 || int(e.Sender) > len(b.Senders) {
			return nil, fmt.Errorf("envelope %d: sender index %d out of range", i, e.Sender)
		}
		if e.Sender == 0 && r.sender != "" {
			return nil, fmt.Errorf("envelope %d: no sender to reply to", i)
		}
		if err := checkHeader(e.MessageHeader); err != nil {
			return nil, fmt.Errorf("envelope %d: %v", i, err)
		}
		if !known[e.TypeId] {
			if e.Sender == 0 {
				return nil, fmt.Errorf("envelope %d: message type %q is not accepted", i, b.TypeNames[e.TypeId])
			}
			s := proto.Clone(b.Senders[e.Sender-1]).(*actor.PID)
			s.RequestId = e.SenderRequestId
			rejects = append(rejects, rejection{sender: s, reason: fmt.Sprintf("message type %q is not accepted: send %s", b.TypeNames[e.TypeId], requestTypeName)})
			continue
		}
		name := b.TypeNames[e.TypeId]
		if err := proto.Unmarshal(e.MessageData, r.types[name]()); err != nil {
			return nil, fmt.Errorf("envelope %d: %s: %v", i, name, err)
		}
		kept = append(kept, e)
	}
	for _, t := range b.Targets {
		t.Address = r.localAddress
	}
	b.Envelopes = kept
	return rejects, nil
}

// checkHeader refuses a message header over maxHeaderBytes.
func checkHeader(h *remote.MessageHeader) error {
	if h == nil {
		return nil
	}
	n := 0
	for k, v := range h.HeaderData {
		n += len(k) + len(v)
	}
	if n > maxHeaderBytes {
		return fmt.Errorf("message header of %d bytes over %d", n, maxHeaderBytes)
	}
	return nil
}

// checkRemoteMessage validates one message a gate received: a connect
// request first (and only first), then message batches.
func checkRemoteMessage(m *remote.RemoteMessage, first bool, r *rules) ([]rejection, error) {
	switch t := m.GetMessageType().(type) {
	case *remote.RemoteMessage_ConnectRequest:
		if !first {
			return nil, fmt.Errorf("connect request after the first message")
		}
		if t.ConnectRequest.GetServerConnection() == nil {
			return nil, fmt.Errorf("connect request is not a server connection")
		}
		return nil, nil
	case *remote.RemoteMessage_MessageBatch:
		if first {
			return nil, fmt.Errorf("message batch before the connect request")
		}
		return checkBatch(t.MessageBatch, r)
	default:
		return nil, fmt.Errorf("remote message %T is not accepted", m.GetMessageType())
	}
}
