package stunnel

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Names of the files SelfSigned writes.
const (
	CertFile = "stunnel.crt"
	KeyFile  = "stunnel.key"
)

// selfSignedValidity is how long a self-signed certificate is valid.
const selfSignedValidity = 10 * 365 * 24 * time.Hour

// SelfSigned returns the paths of a self-signed certificate and its key in
// dir (CertFile, KeyFile). A valid pair already there is kept, so clients
// that pinned it keep working across restarts; otherwise a new ECDSA P-256
// pair is made for "localhost", 127.0.0.1, ::1 and the host's name, the key
// readable by its owner only.
func SelfSigned(dir string) (cert, key string, err error) {
	cert, key = filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if _, err := tls.LoadX509KeyPair(cert, key); err == nil {
		return cert, key, nil
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("stunnel: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", fmt.Errorf("stunnel: serial: %w", err)
	}
	dnsNames := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		dnsNames = append(dnsNames, h)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: dnsNames[len(dnsNames)-1], Organization: []string{"xenactor"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              dnsNames,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return "", "", fmt.Errorf("stunnel: certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", fmt.Errorf("stunnel: key: %w", err)
	}
	if err := writePEM(key, "PRIVATE KEY", keyDER, 0o600); err != nil {
		return "", "", err
	}
	if err := writePEM(cert, "CERTIFICATE", der, 0o644); err != nil {
		return "", "", err
	}
	return cert, key, nil
}

// writePEM writes one PEM block to path atomically with mode perm.
func writePEM(path, blockType string, der []byte, perm os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return fmt.Errorf("stunnel: %w", err)
	}
	if err := os.Chmod(tmp, perm); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("stunnel: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("stunnel: %w", err)
	}
	return nil
}
