package apiwire_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/apiwire"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestEnsurePoolCredentials(t *testing.T) {
	dir := t.TempDir()
	// Three hosts starting at once share one CA.
	creds := make([]*apiwire.PoolCredentials, 3)
	var wg sync.WaitGroup
	for i, h := range []string{"a", "b", "c"} {
		wg.Go(func() {
			c, err := apiwire.EnsurePoolCredentials(dir, h)
			require.NoError(t, err)
			creds[i] = c
		})
	}
	wg.Wait()
	for i, h := range []string{"a", "b", "c"} {
		leaf, err := x509.ParseCertificate(creds[i].Host.Certificate[0])
		require.NoError(t, err)
		require.Equal(t, h, leaf.Subject.CommonName)
		for _, other := range creds {
			_, err := leaf.Verify(x509.VerifyOptions{Roots: other.CA, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			require.NoError(t, err, "%s's certificate chains to every host's CA", h)
		}
		fi, err := os.Stat(filepath.Join(dir, apiwire.PoolHostsDir, h+"-key.pem"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	}
	again, err := apiwire.EnsurePoolCredentials(dir, "a")
	require.NoError(t, err)
	require.Equal(t, creds[0].Host.Certificate, again.Host.Certificate, "loaded, not issued again")

	// Without the CA's key, only hosts issued beforehand join.
	require.NoError(t, os.Remove(filepath.Join(dir, apiwire.PoolCAKeyFile)))
	_, err = apiwire.EnsurePoolCredentials(dir, "b")
	require.NoError(t, err)
	_, err = apiwire.EnsurePoolCredentials(dir, "d")
	require.True(t, errdefs.IsNotFound(err), "%v", err)

	for _, bad := range []string{"", "../x", "a/b", ".."} {
		_, err := apiwire.EnsurePoolCredentials(dir, bad)
		require.True(t, errdefs.IsInvalid(err), "%q: %v", bad, err)
	}
}
