package stunnel_test

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/stunnel"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestConfig_Render(t *testing.T) {
	data, err := stunnel.Config{
		Accept: "127.0.0.1:8443", Connect: "/run/xenactor/api.sock", Cert: "/c.pem", Key: "/k.pem",
	}.Render()
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	for _, want := range []string{
		"foreground = yes", "pid =", "[xenactor]", "accept = 127.0.0.1:8443",
		"connect = /run/xenactor/api.sock", "cert = /c.pem", "key = /k.pem",
	} {
		require.Contains(t, lines, want)
	}
}

func TestConfig_Validate_Refuses(t *testing.T) {
	ok := stunnel.Config{Accept: "127.0.0.1:8443", Connect: "127.0.0.1:8080", Cert: "/c", Key: "/k"}
	require.NoError(t, ok.Validate())
	for name, mutate := range map[string]func(*stunnel.Config){
		"no port":          func(c *stunnel.Config) { c.Accept = "127.0.0.1" },
		"relative socket":  func(c *stunnel.Config) { c.Connect = "api.sock" },
		"newline":          func(c *stunnel.Config) { c.Cert = "/c\nexec = /bin/sh" },
		"section":          func(c *stunnel.Config) { c.Service = "a]b" },
		"no key":           func(c *stunnel.Config) { c.Key = "" },
		"no certificate":   func(c *stunnel.Config) { c.Cert = "" },
		"empty connection": func(c *stunnel.Config) { c.Connect = "" },
	} {
		c := ok
		mutate(&c)
		_, err := c.Render()
		require.True(t, errdefs.IsInvalid(err), "%s: %v", name, err)
	}
}

func TestConfig_Write(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stunnel.conf")
	c := stunnel.Config{Accept: "127.0.0.1:8443", Connect: "127.0.0.1:8080", Cert: "/c", Key: "/k"}
	require.NoError(t, c.Write(path))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	want, err := c.Render()
	require.NoError(t, err)
	require.Equal(t, want, data)
}

func TestSelfSigned(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, err := stunnel.SelfSigned(dir)
	require.NoError(t, err)
	fi, err := os.Stat(keyPath)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	data, err := os.ReadFile(certPath)
	require.NoError(t, err)
	block, _ := pem.Decode(data)
	require.NotNil(t, block)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	require.NoError(t, cert.VerifyHostname("127.0.0.1"))
	require.NoError(t, cert.VerifyHostname("localhost"))
	require.True(t, cert.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)))

	// A second call keeps the pair.
	_, _, err = stunnel.SelfSigned(dir)
	require.NoError(t, err)
	again, err := os.ReadFile(certPath)
	require.NoError(t, err)
	require.Equal(t, data, again)

	// A broken pair is replaced.
	require.NoError(t, os.WriteFile(keyPath, []byte("garbage"), 0o600))
	_, _, err = stunnel.SelfSigned(dir)
	require.NoError(t, err)
	replaced, err := os.ReadFile(certPath)
	require.NoError(t, err)
	require.NotEqual(t, data, replaced)
}
