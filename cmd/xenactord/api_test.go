package main_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// TestXenactord_APIEndToEnd runs the real daemon with its API on a free
// port and drives it with the Go client over TLS and the token it
// generated: a VM created, started, followed in the events, statted,
// shut down and removed; junk on the wire from a raw gRPC client in the
// middle changes nothing. The client runs in a child process (child_test.go).
// (A wrong token is refused in the CLI's tests and internal/apiwire's.)
func TestXenactord_APIEndToEnd(t *testing.T) {
	bin := build(t)
	runDir := shortDir(t)
	stateDir := filepath.Join(runDir, "state")
	d := startProc(t, bin, "-api-addr", "127.0.0.1:0", "-metrics-addr", "", "-migrate-addr", "", "-run-dir", runDir,
		"-state-dir", stateDir, "-host-memory", "2048")
	d.waitLog(t, "xenactord ready")

	cfgPath := filepath.Join(stateDir, "api", "client.json")
	cfg, err := client.FindConfig(cfgPath)
	require.NoError(t, err)
	require.False(t, cfg.Insecure, "TLS by default")
	for _, f := range []string{"ca-key.pem", "server-key.pem", "client-key.pem", "token"} {
		fi, err := os.Stat(filepath.Join(stateDir, "api", f))
		require.NoError(t, err, "the first start generates the credentials")
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s is private", f)
	}
	mustChild(t, "e2e", cfgPath, "", nil)
	d.terminate(t)
}

func init() { children["e2e"] = apiEndToEnd }

// apiEndToEnd is the client's side of TestXenactord_APIEndToEnd, in a
// child process.
func apiEndToEnd(t require.TestingT, cfg client.Config, _ string) any {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, cfg)
	require.NoError(t, err)
	defer c.Close()

	info, err := c.HostInfo(ctx)
	require.NoError(t, err)
	require.Equal(t, "sim", info.GetHypervisor())
	require.Equal(t, uint64(2048<<10), info.GetMemoryTotalKib())
	require.NotEmpty(t, info.GetVersion())

	b, err := c.Barrier(ctx)
	require.NoError(t, err)
	events := c.Events(ctx, b.GetSeq())

	const uuid = "0e0b7e8a-5b1c-4d2e-9f00-00000000e2e0"
	spec := &messages.VMSpec{Uuid: uuid, Name: "e2e", Type: messages.DomainType_DOMAIN_TYPE_PV, Vcpus: 1,
		MemoryKib: 128 << 10, Kernel: "sim:linux",
		Vbds: []*messages.VBD{{Devid: 51712, Params: "/dev/loop0"}},
		Vifs: []*messages.VIF{{Devid: 0, Mac: "00:16:3e:00:00:e2", Bridge: "xenbr0"}}}
	require.NoError(t, c.CreateVM(ctx, spec))
	require.True(t, errdefs.IsExists(c.CreateVM(ctx, spec)), "a second create of the uuid")
	task, err := c.StartVM(ctx, uuid, false)
	require.NoError(t, err)
	var progress []float64
	done, err := task.Wait(ctx, func(p *messages.Task) { progress = append(progress, p.GetProgress()) })
	require.NoError(t, err)
	require.Equal(t, messages.TaskState_TASK_STATE_COMPLETED, done.GetState())

	for seen := false; !seen; {
		select {
		case batch, ok := <-events:
			require.True(t, ok, "the event stream ended")
			seen = slices.Contains(batch.GetIds(), "vm/"+uuid)
		case <-ctx.Done():
			require.Fail(t, "no vm event for the start")
		}
	}

	junkOnTheWire(t, ctx, cfg)

	st, err := c.StatVM(ctx, uuid)
	require.NoError(t, err, "the daemon still serves after the junk")
	require.Equal(t, messages.PowerState_POWER_STATE_RUNNING, st.GetPowerState())
	require.NotZero(t, st.GetDomid())
	require.Len(t, st.GetDevices(), 2)
	for _, dev := range st.GetDevices() {
		require.Equal(t, "Connected", dev.GetBackendState(), "%s %d", dev.GetClass(), dev.GetDevid())
	}
	list, err := c.ListVMs(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)

	task, err = c.ShutdownVM(ctx, uuid, false)
	require.NoError(t, err)
	_, err = task.Wait(ctx, nil)
	require.NoError(t, err)
	st, err = c.StatVM(ctx, uuid)
	require.NoError(t, err)
	require.Equal(t, messages.PowerState_POWER_STATE_HALTED, st.GetPowerState())
	require.NoError(t, c.RemoveVM(ctx, uuid))
	_, err = c.StatVM(ctx, uuid)
	require.True(t, errdefs.IsNotFound(err), "%v", err)

	require.NoError(t, c.Close())
	return nil
}

// junkOnTheWire sends what no client of ours sends, with the right
// credentials, on a raw gRPC connection: the remote layer's unimplemented
// calls, a Stop aimed at the api actor, and frames of garbage. Each is
// refused.
func junkOnTheWire(t require.TestingT, ctx context.Context, cfg client.Config) {
	caPEM, err := os.ReadFile(cfg.CA)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	token, err := os.ReadFile(cfg.Token)
	require.NoError(t, err)
	conn, err := grpc.Dial(cfg.Address, grpc.WithTransportCredentials(credentials.NewTLS(
		&tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool})))
	require.NoError(t, err)
	defer conn.Close()
	const callback = "127.0.0.1:9"
	mctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+strings.TrimSpace(string(token)),
		"xenactor-callback", callback, "xenactor-callback-sha256", strings.Repeat("ab", 32))
	rc := remote.NewRemotingClient(conn)

	_, err = rc.ListProcesses(mctx, &remote.ListProcessesRequest{})
	require.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)

	s, err := rc.Receive(mctx)
	require.NoError(t, err)
	require.NoError(t, s.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectRequest{
		ConnectRequest: &remote.ConnectRequest{ConnectionType: &remote.ConnectRequest_ServerConnection{
			ServerConnection: &remote.ServerConnection{SystemId: "junk", Address: callback}}}}}))
	m, err := s.Recv()
	require.NoError(t, err)
	require.NotNil(t, m.GetConnectResponse())
	stop, err := proto.Marshal(&actor.Stop{})
	require.NoError(t, err)
	require.NoError(t, s.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{
		MessageBatch: &remote.MessageBatch{
			TypeNames: []string{"actor.Stop"},
			Targets:   []*actor.PID{{Address: cfg.Address, Id: "api"}},
			Senders:   []*actor.PID{{Address: callback, Id: "junk"}},
			Envelopes: []*remote.MessageEnvelope{{TypeId: 0, Target: 0, Sender: 1, MessageData: stop}},
		}}}))
	_, err = s.Recv()
	require.Equal(t, codes.InvalidArgument, status.Code(err), "a Stop for the api actor ends the stream: %v", err)

	s, err = rc.Receive(mctx)
	require.NoError(t, err)
	require.NoError(t, s.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{
		MessageBatch: &remote.MessageBatch{TypeNames: []string{"no.such.Type"},
			Envelopes: []*remote.MessageEnvelope{{TypeId: 7, Target: 3}}}}}))
	_, err = s.Recv()
	require.Error(t, err, "out-of-range indexes before any connect")
}
