package apiwire

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Server is the API's transport in the daemon: protoactor's remote layer
// behind the gate.
type Server struct {
	system   *actor.ActorSystem
	remote   *remote.Remote
	log      *slog.Logger
	token    string
	insecure bool
	cbs      *callbacks

	// panics counts the panics the last-defence recover caught; refused the
	// streams refused for authentication; rejected the bad batches.
	panics   atomic.Uint64
	refused  atomic.Uint64
	rejected atomic.Uint64

	stopOnce sync.Once
}

// serverMaterial is what Serve needs from the credentials.
type serverMaterial struct {
	cert    tls.Certificate
	hasCert bool
	pool    *x509.CertPool
	token   string
	// client is the client.json to write, when the credentials come from a
	// directory.
	client     *ClientConfig
	clientPath string
}

// Serve starts the API on cfg.Address for system: protoactor's remote layer
// with TLS (or plaintext on loopback when cfg.Insecure), authentication, the
// gate and backpressure. Call it before spawning the daemon's actors: it
// sets the system's address. It writes client.json into cfg.CredentialsDir.
// It never panics: an address it cannot listen on is an ErrUnavailable
// error, a bad configuration ErrInvalid.
func Serve(system *actor.ActorSystem, cfg ServerConfig) (*Server, error) {
	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	host, portStr, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("%w: API address %q: %v", errdefs.ErrInvalid, cfg.Address, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("%w: API address %q: bad port", errdefs.ErrInvalid, cfg.Address)
	}
	if cfg.Insecure && !isLoopback(cfg.Address) {
		return nil, fmt.Errorf("%w: API address %s: plaintext is only allowed on loopback", errdefs.ErrInvalid, cfg.Address)
	}
	mat, err := serverCredentials(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		system:   system,
		log:      cfg.Logger,
		token:    mat.token,
		insecure: cfg.Insecure,
		cbs:      newCallbacks(cfg.MaxInFlight),
	}
	serverOpts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxMessageBytes),
		grpc.StreamInterceptor(s.gate),
		grpc.UnaryInterceptor(refuseUnary),
	}
	dialOpts := []grpc.DialOption{
		grpc.WithContextDialer(callbackDialer(s.cbs)),
		grpc.WithStreamInterceptor(s.dialBack),
	}
	if cfg.Insecure {
		dialOpts = append(dialOpts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	} else {
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(&tls.Config{
			MinVersion:   tls.VersionTLS13,
			Certificates: []tls.Certificate{mat.cert},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    mat.pool,
		})))
		dialOpts = append(dialOpts, grpc.WithTransportCredentials(&pinnedCreds{cert: mat.cert, cbs: s.cbs}))
	}
	rcfg := remote.Configure(host, port,
		remote.WithServerOptions(serverOpts...),
		remote.WithDialOptions(dialOpts...),
	)
	// A client that cannot be reached is gone: do not retry for seconds.
	rcfg.MaxRetryCount = 1
	s.remote = remote.NewRemote(system, rcfg)
	if err := startRemote(s.remote); err != nil {
		return nil, fmt.Errorf("%w: API on %s: %v", errdefs.ErrUnavailable, cfg.Address, err)
	}
	if mat.client != nil {
		mat.client.Address = s.Addr()
		if err := WriteClientConfig(mat.clientPath, *mat.client); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// startRemote starts r, turning its panic on a listen failure into an error.
func startRemote(r *remote.Remote) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	r.Start()
	return nil
}

// serverCredentials loads the credentials cfg names.
func serverCredentials(cfg ServerConfig) (*serverMaterial, error) {
	mat := &serverMaterial{}
	if cfg.CredentialsDir != "" {
		c, err := EnsureCredentials(cfg.CredentialsDir)
		if err != nil {
			return nil, err
		}
		mat.cert, mat.hasCert, mat.pool, mat.token = c.Server, true, c.CAPool, c.Token
		mat.clientPath = c.Path(ClientJSONFile)
		mat.client = &ClientConfig{CA: CAFile, Cert: ClientCertFile, Key: ClientKeyFile, Token: TokenFile, Insecure: cfg.Insecure}
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err := loadKeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, err
		}
		mat.cert, mat.hasCert = cert, true
	}
	if cfg.CAFile != "" {
		_, pool, err := loadCA(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		mat.pool = pool
		if mat.client != nil {
			mat.client.CA = abs(cfg.CAFile)
		}
	}
	if cfg.TokenFile != "" {
		token, err := loadToken(cfg.TokenFile)
		if err != nil {
			return nil, err
		}
		mat.token = token
		if mat.client != nil {
			mat.client.Token = abs(cfg.TokenFile)
		}
	}
	if !cfg.Insecure && !mat.hasCert {
		return nil, fmt.Errorf("%w: API: TLS needs a server certificate (a credentials directory or a cert and key)", errdefs.ErrInvalid)
	}
	if mat.token == "" && mat.pool == nil {
		return nil, fmt.Errorf("%w: API: no token and no CA: no client could authenticate", errdefs.ErrInvalid)
	}
	if cfg.Insecure && mat.token == "" {
		return nil, fmt.Errorf("%w: API: plaintext needs a token", errdefs.ErrInvalid)
	}
	return mat, nil
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// Addr returns the address the API listens on, host:port: the system's
// address.
func (s *Server) Addr() string { return s.system.Address() }

// Panics returns how many panics the gate's last-defence recover caught.
func (s *Server) Panics() uint64 { return s.panics.Load() }

// Refused returns how many streams failed authentication.
func (s *Server) Refused() uint64 { return s.refused.Load() }

// Rejected returns how many streams the gate ended for a bad message.
func (s *Server) Rejected() uint64 { return s.rejected.Load() }

// InFlight returns the requests of the client with callback address addr
// the daemon has not answered yet.
func (s *Server) InFlight(addr string) int { return s.cbs.inFlight(addr) }

// Stop shuts the remote layer down: the streams end and no reply is sent
// any more. The actor system is left running.
func (s *Server) Stop() {
	s.stopOnce.Do(func() { s.remote.Shutdown(true) })
}
