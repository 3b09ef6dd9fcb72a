package apiwire

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/xenactor/xenactor/messages"
)

const (
	fuzzDaemon   = "127.0.0.1:7651"
	fuzzCallback = "127.0.0.1:40000"
)

func serverRules() *rules {
	return &rules{
		types:         map[string]func() proto.Message{requestTypeName: func() proto.Message { return &messages.Request{} }},
		target:        func(id string) bool { return id == APIActor },
		localAddress:  fuzzDaemon,
		sender:        fuzzCallback,
		answerUnknown: true,
	}
}

// FuzzGate feeds message batches to the daemon's gate: it must never panic,
// and whatever it lets through must decode in the library's reader as a
// Request to the local "api" actor with a sender at the callback address.
func FuzzGate(f *testing.F) {
	good := goodBatch(f, fuzzDaemon, fuzzCallback)
	f.Add(mustMarshal(f, good))
	for _, mutate := range []func(b *remote.MessageBatch){
		func(b *remote.MessageBatch) { b.TypeNames[0] = "actor.PoisonPill" },
		func(b *remote.MessageBatch) { b.TypeNames[0] = "xenactor.test.Nope" },
		func(b *remote.MessageBatch) { b.Envelopes[0].TypeId = 3 },
		func(b *remote.MessageBatch) { b.Envelopes[0].Sender = 0 },
		func(b *remote.MessageBatch) { b.Envelopes[0].SerializerId = 1 },
		func(b *remote.MessageBatch) { b.Targets[0].Id = "activator" },
		func(b *remote.MessageBatch) { b.Envelopes[0].MessageData = []byte{0xff} },
	} {
		b := proto.Clone(good).(*remote.MessageBatch)
		mutate(b)
		f.Add(mustMarshal(f, b))
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00, 0x1a, 0x02, 0x08, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b remote.MessageBatch
		if proto.Unmarshal(data, &b) != nil {
			return
		}
		rejects, err := checkBatch(&b, serverRules())
		if err != nil {
			return
		}
		for _, r := range rejects {
			require.Equal(t, fuzzCallback, r.sender.Address)
		}
		// What the library's reader does with an accepted batch.
		for _, e := range b.Envelopes {
			target := b.Targets[e.Target]
			require.Equal(t, APIActor, target.Id)
			require.Equal(t, fuzzDaemon, target.Address)
			require.NotZero(t, e.Sender)
			require.Equal(t, fuzzCallback, b.Senders[e.Sender-1].Address)
			require.Zero(t, e.SerializerId)
			mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(b.TypeNames[e.TypeId]))
			require.NoError(t, err)
			msg := mt.New().Interface()
			require.NoError(t, proto.Unmarshal(e.MessageData, msg))
			_, ok := msg.(*messages.Request)
			require.True(t, ok)
			_, isSystem := msg.(actor.SystemMessage)
			require.False(t, isSystem)
		}
	})
}

func TestCheckBatch_Good(t *testing.T) {
	b := goodBatch(t, "elsewhere:1", fuzzCallback)
	rejects, err := checkBatch(b, serverRules())
	require.NoError(t, err)
	require.Empty(t, rejects)
	require.Len(t, b.Envelopes, 1)
	require.Equal(t, fuzzDaemon, b.Targets[0].Address, "targets are made local: the daemon never relays")
}
