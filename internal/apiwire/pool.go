package apiwire

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// The files of a pool credentials directory: the pool's CA, and a
// certificate per host under hosts/.
const (
	PoolCAFile    = "pool-ca.pem"
	PoolCAKeyFile = "pool-ca-key.pem"
	PoolHostsDir  = "hosts"
	poolLockFile  = ".lock"
)

// PoolCredentials are a pool member's TLS material: the pool's CA and the
// host's certificate, signed by it.
type PoolCredentials struct {
	// Host is the member's certificate (server and client authentication).
	Host tls.Certificate
	// CA is the pool's CA.
	CA *x509.CertPool
}

// EnsurePoolCredentials loads the pool credentials of host from dir, the
// directory the pool's hosts share, creating what is missing: the pool's CA
// (by the first host) and host's certificate, hosts/<host>.pem and
// hosts/<host>-key.pem. Hosts may run it at once: a lock file serialises
// them. A directory with the CA's key can admit any host; without it (the
// key kept elsewhere, the hosts' certificates issued beforehand) a missing
// host certificate is ErrNotFound.
func EnsurePoolCredentials(dir, host string) (*PoolCredentials, error) {
	if host == "" || strings.ContainsAny(host, "/\\") || host == "." || host == ".." {
		return nil, fmt.Errorf("%w: pool host name %q", errdefs.ErrInvalid, host)
	}
	if err := os.MkdirAll(filepath.Join(dir, PoolHostsDir), 0o700); err != nil {
		return nil, fmt.Errorf("%w: pool credentials: %v", errdefs.ErrUnavailable, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, poolLockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: pool credentials: %v", errdefs.ErrUnavailable, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("%w: pool credentials: lock: %v", errdefs.ErrUnavailable, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	caPath := filepath.Join(dir, PoolCAFile)
	if _, err := os.Stat(caPath); errors.Is(err, os.ErrNotExist) {
		if err := generatePoolCA(dir); err != nil {
			return nil, err
		}
	}
	ca, pool, err := loadCA(caPath)
	if err != nil {
		return nil, err
	}
	certPath := filepath.Join(dir, PoolHostsDir, host+".pem")
	keyPath := filepath.Join(dir, PoolHostsDir, host+"-key.pem")
	if _, err := os.Stat(certPath); errors.Is(err, os.ErrNotExist) {
		caKey, err := loadECKey(filepath.Join(dir, PoolCAKeyFile))
		if err != nil {
			return nil, fmt.Errorf("%w: no certificate for pool host %s, and the pool CA's key: %w", errdefs.ErrNotFound,
				host, err)
		}
		cert, key, err := issue(ca, caKey, host, []string{host, "localhost"},
			[]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, time.Now())
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(keyPath, key); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(certPath, cert); err != nil {
			return nil, err
		}
	}
	kp, err := loadKeyPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	return &PoolCredentials{Host: kp, CA: pool}, nil
}

// generatePoolCA writes a new pool CA into dir, its key first.
func generatePoolCA(dir string) error {
	now := time.Now()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("%w: pool CA key: %v", errdefs.ErrUnavailable, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "xenactor pool CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return fmt.Errorf("%w: pool CA certificate: %v", errdefs.ErrUnavailable, err)
	}
	key, err := keyPEM(k)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, PoolCAKeyFile), key); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, PoolCAFile), certPEM(der))
}

// loadECKey reads an EC private key in PEM.
func loadECKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: %s: no PEM block", errdefs.ErrInvalid, path)
	}
	k, err := x509.ParseECPrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errdefs.ErrInvalid, path, err)
	}
	return k, nil
}

// PoolRemoteOptions returns the gRPC options of a pool member's remote
// layer: mutual TLS where both sides must present a certificate of the
// pool's CA (a peer without one fails the handshake, before the library
// reads a message), the remote service's unary methods refused (they panic
// in the library), and a recover around the stream handler. Members check
// each other's certificates against the CA only, not against a name: the
// pool's identity is membership of its CA.
func PoolRemoteOptions(c *PoolCredentials, log *slog.Logger) ([]grpc.ServerOption, []grpc.DialOption) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	server := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{c.Host},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    c.CA,
	}
	client := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{c.Host},
		// The chain is checked below, against the pool's CA, whatever
		// address the member advertises.
		InsecureSkipVerify:    true, //nolint:gosec
		VerifyPeerCertificate: verifyAgainst(c.CA),
	}
	return []grpc.ServerOption{
			grpc.Creds(credentials.NewTLS(server)),
			grpc.UnaryInterceptor(refuseUnary),
			grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo,
				handler grpc.StreamHandler) (err error) {
				defer func() {
					if p := recover(); p != nil {
						log.Error("pool: panic in the remote layer's stream handler", slog.Any("panic", p))
						err = status.Error(codes.Internal, "xenactor pool: internal error")
					}
				}()
				return handler(srv, ss)
			}),
		}, []grpc.DialOption{
			grpc.WithTransportCredentials(credentials.NewTLS(client)),
		}
}

// verifyAgainst checks a peer's chain against the CA pool, for server and
// client authentication alike.
func verifyAgainst(ca *x509.CertPool) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return fmt.Errorf("pool: the peer presented no certificate")
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, r := range raw {
			c, err := x509.ParseCertificate(r)
			if err != nil {
				return fmt.Errorf("pool: the peer's certificate: %v", err)
			}
			certs[i] = c
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		_, err := certs[0].Verify(x509.VerifyOptions{Roots: ca, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		return err
	}
}
