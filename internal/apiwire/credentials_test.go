package apiwire

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestEnsureCredentials_GenerateThenLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "api")
	c, err := EnsureCredentials(dir)
	require.NoError(t, err)
	require.Len(t, c.Token, 2*tokenBytes)

	st, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	for _, name := range []string{CAFile, CAKeyFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile, TokenFile} {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), name)
	}

	server, err := x509.ParseCertificate(c.Server.Certificate[0])
	require.NoError(t, err)
	_, err = server.Verify(x509.VerifyOptions{Roots: c.CAPool, DNSName: "localhost", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	require.NoError(t, err)
	require.NoError(t, server.VerifyHostname("127.0.0.1"))
	require.NoError(t, server.VerifyHostname("::1"))
	client, err := x509.ParseCertificate(c.Client.Certificate[0])
	require.NoError(t, err)
	_, err = client.Verify(x509.VerifyOptions{Roots: c.CAPool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err)

	again, err := EnsureCredentials(dir)
	require.NoError(t, err)
	require.Equal(t, c.Token, again.Token)
	require.True(t, c.CA.Equal(again.CA))
}

func TestEnsureCredentials_Corrupt(t *testing.T) {
	for _, name := range []string{CAFile, ServerKeyFile, ClientCertFile, TokenFile} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := EnsureCredentials(dir)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(" \n"), 0o600))
			_, err = EnsureCredentials(dir)
			require.True(t, errdefs.IsInvalid(err), "%v", err)
		})
	}
}

func TestFindClientConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ClientJSONFile)
	require.NoError(t, WriteClientConfig(path, ClientConfig{Address: "127.0.0.1:7651", CA: CAFile, Token: "/abs/token"}))

	cfg, err := FindClientConfig(path)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7651", cfg.Address)
	require.Equal(t, filepath.Join(dir, CAFile), cfg.CA, "relative to the file")
	require.Equal(t, "/abs/token", cfg.Token)

	t.Setenv(EnvConfig, path)
	cfg, err = FindClientConfig("")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7651", cfg.Address)

	_, err = FindClientConfig(filepath.Join(dir, "missing.json"))
	require.True(t, errdefs.IsNotFound(err), "%v", err)

	t.Setenv(EnvConfig, "")
	t.Chdir(t.TempDir())
	old := ClientConfigPaths
	ClientConfigPaths = []string{"run/state/api/client.json", filepath.Join(dir, "nowhere.json")}
	t.Cleanup(func() { ClientConfigPaths = old })
	_, err = FindClientConfig("")
	require.True(t, errdefs.IsNotFound(err), "%v", err)
	require.Contains(t, err.Error(), "run/state/api/client.json")
	require.Contains(t, err.Error(), EnvConfig)
}
