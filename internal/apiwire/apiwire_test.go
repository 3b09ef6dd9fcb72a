package apiwire

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestConn_RoundTrip(t *testing.T) {
	d := startDaemon(t, daemonOpts{})
	base := d.config(t)
	t.Run("TLSToken", func(t *testing.T) {
		cfg := base
		cfg.Cert, cfg.Key = "", ""
		require.Equal(t, "echo", hostInfo(t, dial(t, cfg)).Hostname)
	})
	t.Run("TLSClientCert", func(t *testing.T) {
		cfg := base
		cfg.Token = ""
		require.Equal(t, "echo", hostInfo(t, dial(t, cfg)).Hostname)
	})
}

func TestConn_PlaintextLoopback(t *testing.T) {
	d := startDaemon(t, daemonOpts{insecure: true})
	cfg := d.config(t)
	require.True(t, cfg.Insecure)
	require.Equal(t, "echo", hostInfo(t, dial(t, cfg)).Hostname)
}

func TestServe_PlaintextNotLoopback(t *testing.T) {
	_, err := Serve(nil, ServerConfig{Address: "0.0.0.0:0", Insecure: true, CredentialsDir: t.TempDir()})
	require.True(t, errdefs.IsInvalid(err), "%v", err)
}

func TestDial_BadCredentials(t *testing.T) {
	d := startDaemon(t, daemonOpts{})
	good := d.config(t)
	other, err := EnsureCredentials(t.TempDir())
	require.NoError(t, err)
	wrongToken := t.TempDir() + "/token"
	require.NoError(t, writeFileAtomic(wrongToken, []byte("not-the-token\n")))

	noToken := good
	noToken.Cert, noToken.Key, noToken.Token = "", "", ""
	// Neither a certificate nor a token: refused before dialling.
	_, err = Dial(context.Background(), noToken)
	require.True(t, errdefs.IsInvalid(err), "%v", err)

	for name, cfg := range map[string]ClientConfig{
		"WrongToken":    {Address: good.Address, CA: good.CA, Token: wrongToken},
		"OtherCACert":   {Address: good.Address, CA: good.CA, Cert: other.Path(ClientCertFile), Key: other.Path(ClientKeyFile)},
		"OtherCAAsRoot": {Address: good.Address, CA: other.Path(CAFile), Token: good.Token},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := Dial(ctx, cfg)
			if c != nil {
				c.Close()
			}
			require.Error(t, err)
			if name == "WrongToken" {
				require.True(t, errdefs.IsPermission(err), "%v", err)
			}
		})
	}
	d.alive(t)
	require.Equal(t, "echo", hostInfo(t, dial(t, good)).Hostname)
}
