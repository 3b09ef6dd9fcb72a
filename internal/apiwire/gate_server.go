package apiwire

import (
	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// methodReceive is the remote layer's one streaming method.
const methodReceive = "/remote.Remoting/Receive"

// refuseUnary refuses every unary method of the Remoting service: the
// library's ListProcesses and GetProcessDiagnostics panic.
func refuseUnary(context.Context, any, *grpc.UnaryServerInfo, grpc.UnaryHandler) (any, error) {
	return nil, status.Error(codes.Unimplemented, "xenactor api: only the Receive stream is served")
}

// gate authenticates a stream, registers its callback address and hands the
// library a stream whose RecvMsg validates every message first.
func (s *Server) gate(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.panics.Add(1)
			s.log.Error("api: panic in the remote layer's stream handler", slog.Any("panic", p))
			err = status.Error(codes.Internal, "xenactor api: internal error")
		}
	}()
	if info.FullMethod != methodReceive {
		return status.Errorf(codes.Unimplemented, "xenactor api: %s is not served", info.FullMethod)
	}
	ctx := ss.Context()
	md, _ := metadata.FromIncomingContext(ctx)
	if !hasVerifiedCert(ctx) && !hasToken(md, s.token) {
		s.refused.Add(1)
		s.log.Warn("api: refused a stream: no client certificate and no valid token")
		return status.Error(codes.Unauthenticated, "xenactor api: a client certificate or a valid token is required")
	}
	cb, fp := first(md, mdCallback), first(md, mdCallbackSHA256)
	if !validCallback(cb) {
		s.rejected.Add(1)
		return status.Errorf(codes.InvalidArgument, "xenactor api: metadata %s must be the client's callback ip:port, got %q", mdCallback, cb)
	}
	if s.insecure {
		fp = ""
	} else if !validFingerprint(fp) {
		s.rejected.Add(1)
		return status.Errorf(codes.InvalidArgument, "xenactor api: metadata %s must be the hex SHA-256 of the callback certificate", mdCallbackSHA256)
	}
	if err := s.cbs.register(cb, fp); err != nil {
		s.rejected.Add(1)
		return status.Errorf(codes.FailedPrecondition, "xenactor api: %v", err)
	}
	defer s.cbs.unregister(cb)
	return handler(srv, &gatedStream{
		ServerStream: ss,
		s:            s,
		callback:     cb,
		first:        true,
		rules: &rules{
			types:         map[string]func() proto.Message{requestTypeName: func() proto.Message { return &messages.Request{} }},
			target:        func(id string) bool { return id == APIActor },
			localAddress:  s.system.Address(),
			sender:        cb,
			answerUnknown: true,
		},
	})
}

// gatedStream is a Receive stream whose messages are checked before the
// library sees them.
type gatedStream struct {
	grpc.ServerStream
	s        *Server
	callback string
	rules    *rules
	first    bool
}

// RecvMsg receives one message, validates it, answers the envelopes of
// unknown types and waits for room in the client's in-flight window.
func (g *gatedStream) RecvMsg(m any) error {
	if err := g.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	rm, ok := m.(*remote.RemoteMessage)
	if !ok {
		return status.Errorf(codes.Internal, "xenactor api: unexpected message %T", m)
	}
	rejects, err := checkRemoteMessage(rm, g.first, g.rules)
	g.first = false
	if err != nil {
		g.s.rejected.Add(1)
		g.s.log.Warn("api: ended a client's stream: bad message", slog.String("callback", g.callback), slog.Any("error", err))
		return status.Errorf(codes.InvalidArgument, "xenactor api: %v", err)
	}
	b := rm.GetMessageBatch()
	if b == nil {
		return nil
	}
	if n := len(b.Envelopes) + len(rejects); n > 0 {
		if err := g.s.cbs.acquire(g.Context(), g.callback, n); err != nil {
			return status.Errorf(codes.Canceled, "xenactor api: %v", err)
		}
	}
	for _, r := range rejects {
		g.s.system.Root.Send(r.sender, &messages.Response{Error: &messages.Error{
			Kind:    errdefs.Kind(errdefs.ErrInvalid),
			Message: r.reason,
		}})
	}
	return nil
}

// dialBack is the daemon's interceptor on the streams it dials to clients'
// callback addresses: it authenticates with the token (what a plaintext
// client checks) and releases a slot of the client's in-flight window for
// every reply sent.
func (s *Server) dialBack(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if s.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, mdAuthorization, "Bearer "+s.token)
	}
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &releasingStream{ClientStream: cs, addr: cc.Target(), cbs: s.cbs}, nil
}

// releasingStream releases in-flight slots as replies go out.
type releasingStream struct {
	grpc.ClientStream
	addr string
	cbs  *callbacks
}

// SendMsg sends m; a batch of replies frees as many slots.
func (r *releasingStream) SendMsg(m any) error {
	err := r.ClientStream.SendMsg(m)
	if rm, ok := m.(*remote.RemoteMessage); ok {
		if b := rm.GetMessageBatch(); b != nil {
			r.cbs.release(r.addr, len(b.Envelopes))
		}
	}
	return err
}
