package apiwire

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// The files of a credentials directory.
const (
	CAFile         = "ca.pem"
	CAKeyFile      = "ca-key.pem"
	ServerCertFile = "server.pem"
	ServerKeyFile  = "server-key.pem"
	ClientCertFile = "client.pem"
	ClientKeyFile  = "client-key.pem"
	TokenFile      = "token"
	ClientJSONFile = "client.json"
)

// caValidity is how long the generated CA and certificates are valid.
const caValidity = 10 * 365 * 24 * time.Hour

// tokenBytes is the size of the generated token, before hex encoding.
const tokenBytes = 32

// Credentials are the daemon's TLS material and token, loaded from (or
// generated into) a credentials directory.
type Credentials struct {
	// Dir is the directory they were loaded from.
	Dir string
	// CA is the local certificate authority's certificate; CAPool holds it.
	CA     *x509.Certificate
	CAPool *x509.CertPool
	// Server is the daemon's certificate, usable for server and client
	// authentication (the daemon presents it when it dials replies back).
	Server tls.Certificate
	// Client is the CLI's certificate.
	Client tls.Certificate
	// Token is the bearer token clients may send instead of a certificate.
	Token string
}

// Path returns the path of the credentials file name (CAFile, TokenFile...).
func (c *Credentials) Path(name string) string { return filepath.Join(c.Dir, name) }

// EnsureCredentials loads the credentials in dir, generating them first when
// dir has none: a local CA (ECDSA P-256, 10 years), a server certificate for
// 127.0.0.1, ::1, localhost and the host name, a client certificate for the
// CLI and a random token. Files are written 0600 in a 0700 directory, each
// atomically, the CA certificate last: a directory without it is generated
// again. Unreadable or corrupt files are an ErrInvalid error naming the file.
func EnsureCredentials(dir string) (*Credentials, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: credentials directory not set", errdefs.ErrInvalid)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: credentials directory %s: %v", errdefs.ErrUnavailable, dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, CAFile)); errors.Is(err, os.ErrNotExist) {
		if err := generateCredentials(dir); err != nil {
			return nil, err
		}
	}
	return loadCredentials(dir)
}

func loadCredentials(dir string) (*Credentials, error) {
	c := &Credentials{Dir: dir}
	var err error
	if c.CA, c.CAPool, err = loadCA(filepath.Join(dir, CAFile)); err != nil {
		return nil, err
	}
	if c.Server, err = loadKeyPair(filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile)); err != nil {
		return nil, err
	}
	if c.Client, err = loadKeyPair(filepath.Join(dir, ClientCertFile), filepath.Join(dir, ClientKeyFile)); err != nil {
		return nil, err
	}
	if c.Token, err = loadToken(filepath.Join(dir, TokenFile)); err != nil {
		return nil, err
	}
	return c, nil
}

// loadCA reads a PEM CA certificate.
func loadCA(path string) (*x509.Certificate, *x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: CA certificate: %v", errdefs.ErrInvalid, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("%w: CA certificate %s: no PEM certificate", errdefs.ErrInvalid, path)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: CA certificate %s: %v", errdefs.ErrInvalid, path, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return ca, pool, nil
}

// loadKeyPair reads a PEM certificate and its key.
func loadKeyPair(certPath, keyPath string) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: key pair %s, %s: %v", errdefs.ErrInvalid, certPath, keyPath, err)
	}
	return cert, nil
}

// loadToken reads a token file: one line, not empty.
func loadToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: token: %v", errdefs.ErrInvalid, err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", fmt.Errorf("%w: token %s: empty or malformed", errdefs.ErrInvalid, path)
	}
	return token, nil
}

func generateCredentials(dir string) error {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("%w: CA key: %v", errdefs.ErrUnavailable, err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "xenactor local CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("%w: CA certificate: %v", errdefs.ErrUnavailable, err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("%w: CA certificate: %v", errdefs.ErrUnavailable, err)
	}
	hostname, _ := os.Hostname()
	dns := []string{"localhost"}
	if hostname != "" && hostname != "localhost" {
		dns = append(dns, hostname)
	}
	serverCert, serverKey, err := issue(ca, caKey, "xenactord", dns, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, now)
	if err != nil {
		return err
	}
	clientCert, clientKey, err := issue(ca, caKey, "xenactor", nil, nil, now)
	if err != nil {
		return err
	}
	tok := make([]byte, tokenBytes)
	if _, err := rand.Read(tok); err != nil {
		return fmt.Errorf("%w: token: %v", errdefs.ErrUnavailable, err)
	}
	caKeyPEM, err := keyPEM(caKey)
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{CAKeyFile, caKeyPEM},
		{ServerCertFile, serverCert},
		{ServerKeyFile, serverKey},
		{ClientCertFile, clientCert},
		{ClientKeyFile, clientKey},
		{TokenFile, []byte(hex.EncodeToString(tok) + "\n")},
		{CAFile, certPEM(caDER)}, // last: its presence means the set is complete
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// issue makes a certificate signed by ca for both server and client
// authentication and returns it and its key in PEM.
func issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, dns []string, ips []net.IP, now time.Time) (cert, key []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: key for %s: %v", errdefs.ErrUnavailable, cn, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(caValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: certificate for %s: %v", errdefs.ErrUnavailable, cn, err)
	}
	key, err = keyPEM(k)
	if err != nil {
		return nil, nil, err
	}
	return certPEM(der), key, nil
}

// selfSigned makes the ephemeral certificate a client's callback server
// presents, for 127.0.0.1 and ::1, and its SHA-256 fingerprint.
func selfSigned() (tls.Certificate, string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("%w: callback key: %v", errdefs.ErrUnavailable, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "xenactor callback"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("%w: callback certificate: %v", errdefs.ErrUnavailable, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, fingerprint(der), nil
}

// fingerprint is the hex SHA-256 of a DER certificate.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("%w: key: %v", errdefs.ErrUnavailable, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// writeFileAtomic writes data to path (0600) through a temporary file
// renamed into place.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("%w: write %s: %v", errdefs.ErrUnavailable, path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("%w: write %s: %v", errdefs.ErrUnavailable, path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("%w: write %s: %v", errdefs.ErrUnavailable, path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("%w: write %s: %v", errdefs.ErrUnavailable, path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%w: write %s: %v", errdefs.ErrUnavailable, path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%w: write %s: %v", errdefs.ErrUnavailable, path, err)
	}
	return nil
}
