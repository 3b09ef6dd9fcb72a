package apiwire

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestConn_RoundTrip(t *testing.T) {
	d := startDaemon(t, daemonOpts{})
	base := d.config(t)
	t.Run("TLSToken", func(t *testing.T) {
		cfg := base
		cfg.Cert, cfg.Key = "", ""
		require.Zero(t, dialled(t, cfg).info(t))
	})
	t.Run("TLSClientCert", func(t *testing.T) {
		cfg := base
		cfg.Token = ""
		require.Zero(t, dialled(t, cfg).info(t))
	})
}

func TestConn_CallDeadline(t *testing.T) {
	d := startDaemon(t, daemonOpts{})
	c := dialled(t, d.config(t))
	ans := c.do(t, "held-timeout")
	require.True(t, strings.HasPrefix(ans, "ERR timeout "), "call: %s", ans)
	// The connection still works, and the daemon got the held request.
	require.Equal(t, uint32(1), c.info(t))
}

func TestConn_NoAPIActor(t *testing.T) {
	d := startDaemon(t, daemonOpts{noAPI: true})
	ans := dialled(t, d.config(t)).do(t, "info")
	require.True(t, strings.HasPrefix(ans, "ERR unavailable "), "call: %s", ans)
	d.alive(t)
}

func TestServe_AddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envServe+"=1", envDir+"="+t.TempDir(), envAddr+"="+l.Addr().String())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", out)
	require.Equal(t, 1, exit.ExitCode(), "%s", out)
	require.Contains(t, string(out), "serve: unavailable", "an error, not a panic")
}

func TestConn_PlaintextLoopback(t *testing.T) {
	d := startDaemon(t, daemonOpts{insecure: true})
	cfg := d.config(t)
	require.True(t, cfg.Insecure)
	require.Zero(t, dialled(t, cfg).info(t))
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

	// Neither a certificate nor a token: refused before dialling.
	_, err = Dial(context.Background(), ClientConfig{Address: good.Address, CA: good.CA})
	require.True(t, errdefs.IsInvalid(err), "%v", err)

	for name, tc := range map[string]struct {
		cfg  ClientConfig
		kind string
	}{
		"WrongToken":    {ClientConfig{Address: good.Address, CA: good.CA, Token: wrongToken}, "permission"},
		"OtherCACert":   {ClientConfig{Address: good.Address, CA: good.CA, Cert: other.Path(ClientCertFile), Key: other.Path(ClientKeyFile)}, ""},
		"OtherCAAsRoot": {ClientConfig{Address: good.Address, CA: other.Path(CAFile), Token: good.Token}, ""},
		"Unreachable":   {ClientConfig{Address: "127.0.0.1:1", CA: good.CA, Token: good.Token}, "unavailable"},
	} {
		t.Run(name, func(t *testing.T) {
			ans := startClient(t, tc.cfg).dial
			require.True(t, strings.HasPrefix(ans, "ERR "+tc.kind), "dial: %s", ans)
		})
	}
	d.alive(t)
	require.Zero(t, dialled(t, good).info(t))
}
