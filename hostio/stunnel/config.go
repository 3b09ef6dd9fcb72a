package stunnel

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// DefaultService is the name of the configuration's service section when
// Config.Service is "".
const DefaultService = "xenactor"

// Config is one TLS service: TLS connections accepted on Accept are
// forwarded in clear to Connect.
type Config struct {
	Service string // the section's name; "" is DefaultService
	Accept  string // host:port to listen on, e.g. 127.0.0.1:8443
	Connect string // host:port, or the absolute path of a Unix socket
	Cert    string // PEM certificate (chain) file
	Key     string // PEM private key file
}

// Validate checks c, with errors wrapping errdefs.ErrInvalid.
func (c Config) Validate() error {
	for name, v := range map[string]string{"service": c.Service, "accept": c.Accept, "connect": c.Connect, "cert": c.Cert, "key": c.Key} {
		if strings.ContainsAny(v, "\n\r\x00[];") {
			return fmt.Errorf("stunnel: %s %q: %w", name, v, errdefs.ErrInvalid)
		}
	}
	if _, _, err := net.SplitHostPort(c.Accept); err != nil {
		return fmt.Errorf("stunnel: accept %q: %v: %w", c.Accept, err, errdefs.ErrInvalid)
	}
	if !filepath.IsAbs(c.Connect) {
		if _, _, err := net.SplitHostPort(c.Connect); err != nil {
			return fmt.Errorf("stunnel: connect %q: neither host:port nor an absolute socket path: %w", c.Connect, errdefs.ErrInvalid)
		}
	}
	if c.Cert == "" || c.Key == "" {
		return fmt.Errorf("stunnel: a certificate and a key are needed: %w", errdefs.ErrInvalid)
	}
	return nil
}

// Render returns the contents of stunnel's configuration file for c.
func (c Config) Render() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	service := c.Service
	if service == "" {
		service = DefaultService
	}
	var b bytes.Buffer
	b.WriteString("; written by xenactor, which supervises this stunnel: changes are overwritten\n")
	b.WriteString("foreground = yes\n")
	b.WriteString("pid =\n")
	b.WriteString("syslog = no\n")
	b.WriteString("debug = notice\n")
	fmt.Fprintf(&b, "\n[%s]\n", service)
	fmt.Fprintf(&b, "accept = %s\n", c.Accept)
	fmt.Fprintf(&b, "connect = %s\n", c.Connect)
	fmt.Fprintf(&b, "cert = %s\n", c.Cert)
	fmt.Fprintf(&b, "key = %s\n", c.Key)
	return b.Bytes(), nil
}

// Write renders c into path, atomically (a temporary file renamed).
func (c Config) Write(path string) error {
	data, err := c.Render()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("stunnel: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("stunnel: %w", err)
	}
	return nil
}
