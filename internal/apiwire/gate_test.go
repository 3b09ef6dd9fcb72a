package apiwire

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/xenactor/xenactor/messages"
)

// rawConn is a bare gRPC connection to d, TLS checked against its CA.
func rawConn(t *testing.T, d *daemon) *grpc.ClientConn {
	t.Helper()
	_, pool, err := loadCA(d.config(t).CA)
	require.NoError(t, err)
	conn, err := grpc.Dial(d.addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool})))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// rawCtx carries the token and a callback in the metadata.
func rawCtx(t *testing.T, d *daemon, callback, fp string) context.Context {
	t.Helper()
	token, err := loadToken(d.config(t).Token)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, mdAuthorization, "Bearer "+token, mdCallback, callback, mdCallbackSHA256, fp)
}

// connected opens a Receive stream and does the connect handshake.
func connected(t *testing.T, ctx context.Context, conn *grpc.ClientConn, callback string) remote.Remoting_ReceiveClient {
	t.Helper()
	s, err := remote.NewRemotingClient(conn).Receive(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Send(connectRequest(callback)))
	m, err := s.Recv()
	require.NoError(t, err)
	require.NotNil(t, m.GetConnectResponse())
	return s
}

func connectRequest(addr string) *remote.RemoteMessage {
	return &remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectRequest{ConnectRequest: &remote.ConnectRequest{
		ConnectionType: &remote.ConnectRequest_ServerConnection{ServerConnection: &remote.ServerConnection{SystemId: "raw", Address: addr}},
	}}}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	return b
}

// goodBatch is a HostInfo request to "api" from callback.
func goodBatch(t testing.TB, daemonAddr, callback string) *remote.MessageBatch {
	return &remote.MessageBatch{
		TypeNames: []string{requestTypeName},
		Targets:   []*actor.PID{{Address: daemonAddr, Id: APIActor}},
		Senders:   []*actor.PID{{Address: callback, Id: "future$a"}},
		Envelopes: []*remote.MessageEnvelope{{
			TypeId: 0, Target: 0, Sender: 1,
			MessageData: mustMarshal(t, &messages.Request{Op: &messages.Request_HostInfo{HostInfo: &messages.HostInfoRequest{}}}),
		}},
	}
}

func batchMessage(b *remote.MessageBatch) *remote.RemoteMessage {
	return &remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: b}}
}

// fakeFP is a well-formed fingerprint no certificate has.
var fakeFP = strings.Repeat("ab", 32)

// rawBytes is a codec sending bytes as they are: frames that are not
// protobuf at all.
type rawBytes struct{}

func (rawBytes) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (rawBytes) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = data
	return nil
}
func (rawBytes) Name() string { return "proto" }

func TestGate_RawClientJunk(t *testing.T) {
	d := startDaemon(t, daemonOpts{})
	conn := rawConn(t, d)
	const cb = "127.0.0.1:9"

	cases := map[string]func(b *remote.MessageBatch){
		"ActorStop": func(b *remote.MessageBatch) {
			b.TypeNames[0] = "actor.Stop"
			b.Envelopes[0].MessageData = mustMarshal(t, &actor.Stop{})
		},
		"PoisonPill": func(b *remote.MessageBatch) {
			b.TypeNames[0] = "actor.PoisonPill"
			b.Envelopes[0].MessageData = mustMarshal(t, &actor.PoisonPill{})
		},
		"Terminated":      func(b *remote.MessageBatch) { b.TypeNames[0] = "actor.Terminated" },
		"ActorPidRequest": func(b *remote.MessageBatch) { b.TypeNames[0] = "remote.ActorPidRequest" },
		"ResponseType":    func(b *remote.MessageBatch) { b.TypeNames[0] = responseTypeName },
		"MalformedType":   func(b *remote.MessageBatch) { b.TypeNames[0] = "no such type!" },
		"TypeIDOutOfRange": func(b *remote.MessageBatch) {
			b.Envelopes[0].TypeId = 5
		},
		"NegativeTypeID":   func(b *remote.MessageBatch) { b.Envelopes[0].TypeId = -1 },
		"TargetOutOfRange": func(b *remote.MessageBatch) { b.Envelopes[0].Target = 3 },
		"SenderOutOfRange": func(b *remote.MessageBatch) { b.Envelopes[0].Sender = 2 },
		"NoSender":         func(b *remote.MessageBatch) { b.Envelopes[0].Sender = 0 },
		"SenderElsewhere":  func(b *remote.MessageBatch) { b.Senders[0].Address = "127.0.0.1:10" },
		"JSONSerializer":   func(b *remote.MessageBatch) { b.Envelopes[0].SerializerId = 1 },
		"NoSuchSerializer": func(b *remote.MessageBatch) { b.Envelopes[0].SerializerId = 7 },
		"TargetNotAPI":     func(b *remote.MessageBatch) { b.Targets[0].Id = "activator" },
		"GarbageData":      func(b *remote.MessageBatch) { b.Envelopes[0].MessageData = []byte{0xff, 0xff, 0xff, 0xff} },
		"BigHeader": func(b *remote.MessageBatch) {
			b.Envelopes[0].MessageHeader = &remote.MessageHeader{HeaderData: map[string]string{"k": strings.Repeat("x", 2*maxHeaderBytes)}}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := connected(t, rawCtx(t, d, cb, fakeFP), conn, cb)
			b := goodBatch(t, d.addr, cb)
			mutate(b)
			require.NoError(t, s.Send(batchMessage(b)))
			_, err := s.Recv()
			require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		})
	}

	t.Run("SecondConnect", func(t *testing.T) {
		s := connected(t, rawCtx(t, d, cb, fakeFP), conn, cb)
		require.NoError(t, s.Send(connectRequest(cb)))
		_, err := s.Recv()
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	})
	t.Run("BatchBeforeConnect", func(t *testing.T) {
		s, err := remote.NewRemotingClient(conn).Receive(rawCtx(t, d, cb, fakeFP))
		require.NoError(t, err)
		require.NoError(t, s.Send(batchMessage(goodBatch(t, d.addr, cb))))
		_, err = s.Recv()
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	})
	t.Run("NotProtobuf", func(t *testing.T) {
		s, err := conn.NewStream(rawCtx(t, d, cb, fakeFP), &remote.Remoting_ServiceDesc.Streams[0], methodReceive, grpc.ForceCodec(rawBytes{}))
		require.NoError(t, err)
		require.NoError(t, s.SendMsg([]byte{0x0a, 0xff, 0xff, 0xff, 0x01, 0x02}))
		var out []byte
		require.Error(t, s.RecvMsg(&out))
	})
	t.Run("NoToken", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(context.Background(), mdCallback, cb, mdCallbackSHA256, fakeFP)
		s, err := remote.NewRemotingClient(conn).Receive(ctx)
		require.NoError(t, err)
		_ = s.Send(connectRequest(cb))
		_, err = s.Recv()
		require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	})
	t.Run("NoCallback", func(t *testing.T) {
		s, err := remote.NewRemotingClient(conn).Receive(rawCtx(t, d, "", ""))
		require.NoError(t, err)
		_ = s.Send(connectRequest(cb))
		_, err = s.Recv()
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	})
	t.Run("ListProcesses", func(t *testing.T) {
		_, err := remote.NewRemotingClient(conn).ListProcesses(rawCtx(t, d, cb, fakeFP), &remote.ListProcessesRequest{Pattern: ""})
		require.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)
		_, err = remote.NewRemotingClient(conn).GetProcessDiagnostics(rawCtx(t, d, cb, fakeFP), &remote.GetProcessDiagnosticsRequest{Pid: &actor.PID{Id: APIActor}})
		require.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)
	})
	t.Run("Oversized", func(t *testing.T) {
		s := connected(t, rawCtx(t, d, cb, fakeFP), conn, cb)
		b := goodBatch(t, d.addr, cb)
		b.Envelopes[0].MessageData = make([]byte, DefaultMaxMessageBytes+1)
		require.NoError(t, s.Send(batchMessage(b)))
		_, err := s.Recv()
		require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
	})

	d.alive(t)
	require.Zero(t, dialled(t, d.config(t)).info(t))
}

// fakeCallback is a client's callback server that keeps the batches the
// daemon sends.
type fakeCallback struct {
	remote.UnimplementedRemotingServer
	batches chan *remote.MessageBatch
}

func (f *fakeCallback) Receive(s remote.Remoting_ReceiveServer) error {
	for {
		m, err := s.Recv()
		if err != nil {
			return nil
		}
		if m.GetConnectRequest() != nil {
			if err := s.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectResponse{ConnectResponse: &remote.ConnectResponse{}}}); err != nil {
				return err
			}
		}
		if b := m.GetMessageBatch(); b != nil {
			f.batches <- b
		}
	}
}

func TestGate_UnknownTypeAnswered(t *testing.T) {
	d := startDaemon(t, daemonOpts{})
	_, pool, err := loadCA(d.config(t).CA)
	require.NoError(t, err)
	cert, fp, err := selfSigned()
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool,
	})))
	fake := &fakeCallback{batches: make(chan *remote.MessageBatch, 16)}
	remote.RegisterRemotingServer(gs, fake)
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
	cb := l.Addr().String()

	s := connected(t, rawCtx(t, d, cb, fp), rawConn(t, d), cb)
	b := goodBatch(t, d.addr, cb)
	b.TypeNames = append(b.TypeNames, "xenactor.test.NoSuchType")
	b.Envelopes = append(b.Envelopes, &remote.MessageEnvelope{TypeId: 1, Target: 0, Sender: 1, SenderRequestId: 7, MessageData: []byte("anything")})
	require.NoError(t, s.Send(batchMessage(b)))

	got := map[string]*messages.Response{}
	for len(got) < 2 {
		select {
		case rb := <-fake.batches:
			for _, e := range rb.Envelopes {
				require.Equal(t, responseTypeName, rb.TypeNames[e.TypeId])
				var resp messages.Response
				require.NoError(t, proto.Unmarshal(e.MessageData, &resp))
				key := rb.Targets[e.Target].Id
				if e.TargetRequestId != 0 {
					key += "#7"
				}
				got[key] = &resp
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no replies; have %v; daemon: %s", got, d.stderr.String())
		}
	}
	require.Equal(t, "echo", got["future$a"].GetHostInfo().GetHostname())
	require.Equal(t, "invalid", got["future$a#7"].GetError().GetKind())
	require.Contains(t, got["future$a#7"].GetError().GetMessage(), "xenactor.test.NoSuchType")
	d.alive(t)
}
