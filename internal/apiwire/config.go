package apiwire

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Defaults of ServerConfig.
const (
	DefaultAddress         = "127.0.0.1:7651"
	DefaultMaxInFlight     = 64
	DefaultMaxMessageBytes = 4 << 20
)

// EnvConfig names the client configuration file FindClientConfig tries
// after an explicit path.
const EnvConfig = "XENACTOR_CONFIG"

// ClientConfigPaths are the places FindClientConfig tries after an explicit
// path and $XENACTOR_CONFIG: where `make run` and an installed daemon put it.
var ClientConfigPaths = []string{
	"run/state/api/client.json",
	"/var/lib/xenactor/api/client.json",
}

// ServerConfig configures Serve. CredentialsDir alone is enough: the
// explicit file paths override single files of it.
type ServerConfig struct {
	// Address is where the API listens, host:port (DefaultAddress when "").
	// Port 0 picks a free port; Server.Addr tells which.
	Address string
	// CredentialsDir holds the CA, certificates and token, generated on first
	// start (EnsureCredentials). Serve writes client.json there.
	CredentialsDir string
	// Insecure serves plaintext; only allowed on a loopback address. Clients
	// then authenticate with the token only.
	Insecure bool
	// TerminatedAt, when set, is the public host:port of a TLS terminator
	// (stunnel) that forwards to Address: the API then takes plaintext on
	// Address, which must be loopback, and clients reach it through the
	// terminator with TLS and the token (client certificates end at the
	// terminator). Replies still go back to clients over pinned TLS, and
	// client.json names the terminator's address. Not with Insecure.
	TerminatedAt string
	// CAFile, CertFile, KeyFile and TokenFile override the files of
	// CredentialsDir (CertFile and KeyFile go together).
	CAFile    string
	CertFile  string
	KeyFile   string
	TokenFile string
	// MaxInFlight is how many requests one client (callback address) may
	// have unanswered before the daemon stops reading its stream
	// (DefaultMaxInFlight when 0).
	MaxInFlight int
	// MaxMessageBytes caps one received gRPC message
	// (DefaultMaxMessageBytes when 0).
	MaxMessageBytes int
	// Logger receives the refused streams and batches (none when nil).
	Logger *slog.Logger
}

// ClientConfig is what a client needs to reach the daemon: the client.json
// the daemon writes, paths relative to the file's directory.
type ClientConfig struct {
	// Address is the daemon's API address, host:port.
	Address string `json:"address"`
	// CA is the CA certificate the daemon's certificate must chain to.
	CA string `json:"ca,omitempty"`
	// Cert and Key are the client certificate (optional when Token is set).
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`
	// Token is the file holding the bearer token (optional with a
	// certificate).
	Token string `json:"token,omitempty"`
	// Insecure dials in plaintext (a daemon serving plaintext on loopback).
	Insecure bool `json:"insecure,omitempty"`
}

// WriteClientConfig writes cfg as JSON to path (0600, atomically).
func WriteClientConfig(path string, cfg ClientConfig) error {
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: client config: %v", errdefs.ErrInvalid, err)
	}
	return writeFileAtomic(path, append(data, '\n'))
}

// LoadClientConfig reads a client.json; relative paths in it are made
// relative to its directory.
func LoadClientConfig(path string) (ClientConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ClientConfig{}, fmt.Errorf("%w: client config: %v", errdefs.ErrNotFound, err)
	}
	var cfg ClientConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return ClientConfig{}, fmt.Errorf("%w: client config %s: %v", errdefs.ErrInvalid, path, err)
	}
	if cfg.Address == "" {
		return ClientConfig{}, fmt.Errorf("%w: client config %s: no address", errdefs.ErrInvalid, path)
	}
	dir := filepath.Dir(path)
	for _, p := range []*string{&cfg.CA, &cfg.Cert, &cfg.Key, &cfg.Token} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return cfg, nil
}

// FindClientConfig loads the first client configuration it finds: explicit
// (when not ""), $XENACTOR_CONFIG, then ClientConfigPaths. An explicit path
// or $XENACTOR_CONFIG that cannot be read is an error, not a fall-through.
// When none exists the ErrNotFound error names every place tried.
func FindClientConfig(explicit string) (ClientConfig, error) {
	if explicit != "" {
		return LoadClientConfig(explicit)
	}
	if env := os.Getenv(EnvConfig); env != "" {
		return LoadClientConfig(env)
	}
	for _, p := range ClientConfigPaths {
		if _, err := os.Stat(p); err == nil {
			return LoadClientConfig(p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return ClientConfig{}, fmt.Errorf("%w: client config %s: %v", errdefs.ErrPermission, p, err)
		}
	}
	return ClientConfig{}, fmt.Errorf("%w: no client config: give one with --config, set $%s, or run the daemon to write one of %s",
		errdefs.ErrNotFound, EnvConfig, strings.Join(ClientConfigPaths, ", "))
}

// PeerMaterial loads what a daemon needs to reach another daemon described
// by cfg (its client.json) on a channel of its own, such as migration: a
// TLS config trusting cfg's CA and presenting its client certificate if it
// names one (nil when cfg is Insecure), and the token (read from cfg's
// token file; "" when it names none).
func PeerMaterial(cfg ClientConfig) (*tls.Config, string, error) {
	mat, err := clientCredentials(cfg)
	if err != nil {
		return nil, "", err
	}
	if cfg.Insecure {
		return nil, mat.token, nil
	}
	return clientTLS(mat), mat.token, nil
}

// ServerTLS returns the TLS config a daemon's own listener (migration)
// serves with: the credentials' server certificate, TLS 1.3.
func (c *Credentials) ServerTLS() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{c.Server}}
}
