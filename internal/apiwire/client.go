package apiwire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/xenactor/xenactor/internal/await"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// abandonGrace is how long an abandoned call's future waits for its reply
// before it is stopped (a reply reaching a stopped future races with it):
// longer than the daemon holds a long poll.
const abandonGrace = 5 * time.Minute

// clientBatchSize caps the requests the client's remote sends in one batch,
// so the daemon's in-flight window is overshot by at most that.
const clientBatchSize = DefaultMaxInFlight

// deadLetterTypeName is the type of protoactor's dead-letter answer.
var deadLetterTypeName = string(proto.MessageName(&actor.DeadLetterResponse{}))

// Conn is a connection to the daemon's API: a remote layer of its own
// (listening on 127.0.0.1 for the replies) and the daemon's "api" PID.
type Conn struct {
	system *actor.ActorSystem
	remote *remote.Remote
	api    *actor.PID

	mu      sync.Mutex
	lastErr error

	closeOnce sync.Once
}

// clientMaterial is what Dial loads from a ClientConfig.
type clientMaterial struct {
	pool    *x509.CertPool
	cert    *tls.Certificate
	token   string
	cbCert  tls.Certificate
	cbPrint string
}

// Dial connects to the daemon cfg names and checks it accepts this client:
// an unreachable daemon is ErrUnavailable, refused credentials
// ErrPermission, ctx's deadline ErrTimeout.
func Dial(ctx context.Context, cfg ClientConfig) (*Conn, error) {
	mat, err := clientCredentials(cfg)
	if err != nil {
		return nil, err
	}
	c := &Conn{}
	c.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	serverOpts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(DefaultMaxMessageBytes),
		grpc.StreamInterceptor(c.gate(mat)),
		grpc.UnaryInterceptor(refuseUnary),
	}
	dialOpts := []grpc.DialOption{grpc.WithStreamInterceptor(c.announce(mat))}
	if cfg.Insecure {
		dialOpts = append(dialOpts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	} else {
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(&tls.Config{
			MinVersion:   tls.VersionTLS13,
			Certificates: []tls.Certificate{mat.cbCert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    mat.pool,
		})))
		dialOpts = append(dialOpts, grpc.WithTransportCredentials(credentials.NewTLS(clientTLS(mat))))
	}
	rcfg := remote.Configure("127.0.0.1", 0,
		remote.WithServerOptions(serverOpts...),
		remote.WithDialOptions(dialOpts...),
		remote.WithEndpointWriterBatchSize(clientBatchSize),
	)
	rcfg.MaxRetryCount = 1
	c.remote = remote.NewRemote(c.system, rcfg)
	if err := startRemote(c.remote); err != nil {
		c.system.Shutdown()
		return nil, fmt.Errorf("%w: client callback listener: %v", errdefs.ErrUnavailable, err)
	}
	c.api = actor.NewPID(cfg.Address, APIActor)
	if err := c.check(ctx, cfg.Address, dialOpts); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// clientCredentials loads the CA, certificate and token cfg names.
func clientCredentials(cfg ClientConfig) (*clientMaterial, error) {
	if cfg.Address == "" {
		return nil, fmt.Errorf("%w: client config: no daemon address", errdefs.ErrInvalid)
	}
	mat := &clientMaterial{}
	if cfg.Token != "" {
		token, err := loadToken(cfg.Token)
		if err != nil {
			return nil, err
		}
		mat.token = token
	}
	if cfg.Insecure {
		if mat.token == "" {
			return nil, fmt.Errorf("%w: client config: plaintext needs a token", errdefs.ErrInvalid)
		}
		return mat, nil
	}
	if cfg.CA == "" {
		return nil, fmt.Errorf("%w: client config: no CA certificate", errdefs.ErrInvalid)
	}
	_, pool, err := loadCA(cfg.CA)
	if err != nil {
		return nil, err
	}
	mat.pool = pool
	if cfg.Cert != "" || cfg.Key != "" {
		cert, err := loadKeyPair(cfg.Cert, cfg.Key)
		if err != nil {
			return nil, err
		}
		mat.cert = &cert
	}
	if mat.cert == nil && mat.token == "" {
		return nil, fmt.Errorf("%w: client config: neither a client certificate nor a token", errdefs.ErrInvalid)
	}
	mat.cbCert, mat.cbPrint, err = selfSigned()
	if err != nil {
		return nil, err
	}
	return mat, nil
}

// clientTLS is the TLS config of the client's dial to the daemon.
func clientTLS(mat *clientMaterial) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: mat.pool}
	if mat.cert != nil {
		cfg.Certificates = []tls.Certificate{*mat.cert}
	}
	return cfg
}

// announce adds the token and the callback to the client's streams to the
// daemon, and keeps their last error for Call.
func (c *Conn) announce(mat *clientMaterial) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		kv := []string{mdCallback, c.system.Address()}
		if mat.token != "" {
			kv = append(kv, mdAuthorization, "Bearer "+mat.token)
		}
		if mat.cbPrint != "" {
			kv = append(kv, mdCallbackSHA256, mat.cbPrint)
		}
		ctx = metadata.AppendToOutgoingContext(ctx, kv...)
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			c.noteErr(err)
			return nil, err
		}
		return &notingStream{ClientStream: cs, c: c}, nil
	}
}

// notingStream keeps the transport errors of a stream to the daemon.
type notingStream struct {
	grpc.ClientStream
	c *Conn
}

// RecvMsg receives m, noting an error.
func (n *notingStream) RecvMsg(m any) error {
	err := n.ClientStream.RecvMsg(m)
	if err != nil && !errors.Is(err, io.EOF) {
		n.c.noteErr(err)
	}
	return err
}

func (c *Conn) noteErr(err error) {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
}

// transportErr is the error of a call whose request could not be delivered.
func (c *Conn) transportErr() error {
	c.mu.Lock()
	err := c.lastErr
	c.mu.Unlock()
	if err == nil {
		return fmt.Errorf("%w: daemon %s: request not delivered (no %q actor, or the connection failed)", errdefs.ErrUnavailable, c.api.Address, APIActor)
	}
	return mapTransportErr(c.api.Address, err)
}

// mapTransportErr maps a gRPC error to the errdefs kind it means.
func mapTransportErr(addr string, err error) error {
	kind := errdefs.ErrUnavailable
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied:
		kind = errdefs.ErrPermission
	case codes.InvalidArgument, codes.FailedPrecondition:
		kind = errdefs.ErrInvalid
	case codes.ResourceExhausted:
		kind = errdefs.ErrResourceExhausted
	case codes.DeadlineExceeded:
		kind = errdefs.ErrTimeout
	case codes.Canceled:
		kind = errdefs.ErrCanceled
	case codes.Unimplemented:
		kind = errdefs.ErrNotImplemented
	}
	return fmt.Errorf("%w: daemon %s: %v", kind, addr, err)
}

// check opens a stream to the daemon as the remote layer will and waits for
// its connect response: the daemon authenticates the stream first.
func (c *Conn) check(ctx context.Context, addr string, dialOpts []grpc.DialOption) error {
	conn, err := grpc.DialContext(ctx, addr, dialOpts...)
	if err != nil {
		return mapTransportErr(addr, err)
	}
	defer conn.Close()
	stream, err := remote.NewRemotingClient(conn).Receive(ctx)
	if err != nil {
		return mapCallErr(ctx, addr, err)
	}
	err = stream.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectRequest{
		ConnectRequest: &remote.ConnectRequest{ConnectionType: &remote.ConnectRequest_ServerConnection{
			ServerConnection: &remote.ServerConnection{SystemId: c.system.ID, Address: c.system.Address()},
		}},
	}})
	if errors.Is(err, io.EOF) {
		// The daemon ended the stream: Recv has its status.
		err = nil
	}
	if err == nil {
		var m *remote.RemoteMessage
		m, err = stream.Recv()
		if err == nil && m.GetConnectResponse() == nil {
			err = status.Error(codes.Unavailable, "no connect response")
		}
	}
	if err != nil {
		return mapCallErr(ctx, addr, err)
	}
	_ = stream.CloseSend()
	return nil
}

// mapCallErr maps err, or ctx's end when that caused it.
func mapCallErr(ctx context.Context, addr string, err error) error {
	if ctx.Err() != nil {
		return ctxErr(ctx, addr)
	}
	return mapTransportErr(addr, err)
}

// ctxErr is the error of a call whose ctx ended.
func ctxErr(ctx context.Context, addr string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: daemon %s: %v", errdefs.ErrTimeout, addr, ctx.Err())
	}
	return fmt.Errorf("%w: daemon %s: %v", errdefs.ErrCanceled, addr, ctx.Err())
}

// Call sends req to the daemon's "api" actor and waits for its Response or
// for ctx to end. Errors of the transport are errdefs kinds; an error the
// daemon answered is in the Response.
func (c *Conn) Call(ctx context.Context, req *messages.Request) (*messages.Response, error) {
	if ctx.Err() != nil {
		return nil, ctxErr(ctx, c.api.Address)
	}
	reply, err := await.Result(ctx, c.system.Root, c.system.Root.RequestFuture(c.api, req, -1), abandonGrace)
	if err == ctx.Err() && err != nil {
		return nil, ctxErr(ctx, c.api.Address)
	}
	if err != nil {
		if errors.Is(err, actor.ErrDeadLetter) {
			return nil, c.transportErr()
		}
		return nil, fmt.Errorf("%w: daemon %s: %v", errdefs.ErrUnavailable, c.api.Address, err)
	}
	resp, ok := reply.(*messages.Response)
	if !ok {
		return nil, fmt.Errorf("%w: daemon %s answered %T, not a Response", errdefs.ErrUnavailable, c.api.Address, reply)
	}
	return resp, nil
}

// Close stops the client's remote layer and its actor system.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.remote.Shutdown(true)
		c.system.Shutdown()
	})
	return nil
}

// gate is the client's stream interceptor: only the daemon (its certificate
// chains to the CA, or it sent the token in plaintext mode) may send, and
// only messages.Response (or a dead-letter answer) to this client's futures.
func (c *Conn) gate(mat *clientMaterial) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = status.Error(codes.Internal, "xenactor client: internal error")
			}
		}()
		if info.FullMethod != methodReceive {
			return status.Errorf(codes.Unimplemented, "xenactor client: %s is not served", info.FullMethod)
		}
		ctx := ss.Context()
		md, _ := metadata.FromIncomingContext(ctx)
		if !hasVerifiedCert(ctx) && !hasToken(md, mat.token) {
			return status.Error(codes.Unauthenticated, "xenactor client: only the daemon may send replies")
		}
		return handler(srv, &clientGatedStream{ServerStream: ss, first: true, rules: &rules{
			types: map[string]func() proto.Message{
				responseTypeName: func() proto.Message { return &messages.Response{} },
				// The daemon's dead-letter answer to a request it could not
				// deliver (no "api" actor): the call fails at once.
				deadLetterTypeName: func() proto.Message { return &actor.DeadLetterResponse{} },
			},
			target:       func(id string) bool { return strings.HasPrefix(id, "future$") },
			localAddress: c.system.Address(),
		}})
	}
}

// clientGatedStream checks every message the daemon sends the client.
type clientGatedStream struct {
	grpc.ServerStream
	rules *rules
	first bool
}

// RecvMsg receives and checks one message.
func (g *clientGatedStream) RecvMsg(m any) error {
	if err := g.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	rm, ok := m.(*remote.RemoteMessage)
	if !ok {
		return status.Errorf(codes.Internal, "xenactor client: unexpected message %T", m)
	}
	_, err := checkRemoteMessage(rm, g.first, g.rules)
	g.first = false
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "xenactor client: %v", err)
	}
	return nil
}
