package main_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/hostio/etcd/etcdtest"
	"github.com/xenactor/xenactor/hostio/migrate"
	"github.com/xenactor/xenactor/internal/apiwire"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// The VMs of the pool test: one placed on host-c, one on the least loaded
// host.
const (
	onC   = "7a3c0f00-0000-4000-8000-00000000000c"
	least = "7a3c0f00-0000-4000-8000-00000000000b"
)

// poolHost is one xenactord of a pool test.
type poolHost struct {
	name        string
	proc        *proc
	stateDir    string
	poolAddr    string
	migrateAddr string
}

// poolAddrLog and migrateAddrLog find the pool and migration addresses
// in the ready line.
var (
	poolAddrLog    = regexp.MustCompile(`pool=(127\.0\.0\.1:[0-9]+)`)
	migrateAddrLog = regexp.MustCompile(`migrate=(127\.0\.0\.1:[0-9]+)`)
)

// startPoolHost starts a xenactord named name in the pool of etcdURL with
// the shared credentials directory creds.
func startPoolHost(t *testing.T, bin, etcdURL, creds, name string, memMiB string) *poolHost {
	t.Helper()
	runDir := shortDir(t)
	h := &poolHost{name: name, stateDir: filepath.Join(runDir, "state")}
	h.proc = startProc(t, bin, "-api-addr", "127.0.0.1:0", "-metrics-addr", "", "-migrate-addr", "127.0.0.1:0", "-run-dir", runDir,
		"-state-dir", h.stateDir, "-host-memory", memMiB, "-host-name", name, "-pool-addr", "127.0.0.1:0",
		"-pool-name", "test", "-etcd", etcdURL, "-pool-credentials", creds, "-pool-ttl", "2s")
	h.proc.waitLog(t, "xenactord ready")
	m := poolAddrLog.FindStringSubmatch(h.proc.stderr.String())
	require.NotNil(t, m, "no pool address in the ready line:\n%s", h.proc.stderr)
	h.poolAddr = m[1]
	m = migrateAddrLog.FindStringSubmatch(h.proc.stderr.String())
	require.NotNil(t, m, "no migration address in the ready line:\n%s", h.proc.stderr)
	h.migrateAddr = m[1]
	return h
}

func poolSpec(uuid, name string) *messages.VMSpec {
	return &messages.VMSpec{Uuid: uuid, Name: name, Type: messages.DomainType_DOMAIN_TYPE_PV, Vcpus: 1,
		MemoryKib: 256 << 10, Kernel: "sim:linux"}
}

// hostsByName indexes a pool listing.
func hostsByName(hosts []*messages.PoolHost) map[string]*messages.PoolHost {
	out := map[string]*messages.PoolHost{}
	for _, h := range hosts {
		out[h.GetName()] = h
	}
	return out
}

// TestXenactord_Pool runs etcd and three xenactord in a pool, each with its
// own simulated host, and drives the pool through the API of one of them:
// the hosts are listed, a VM is created and started on a chosen host and
// another on the least loaded one, the pool's VMs show where each runs;
// a running VM is live-migrated by host name, and a host with running and
// Halted VMs evacuated (each VM ends on another host once); one host
// killed with SIGKILL is noticed, marked down, and its VM is shown in
// power state unknown, not dropped. A peer without the pool's certificate
// is refused at the pool port and at the migration listener (without the
// token too), and nothing crashes.
func TestXenactord_Pool(t *testing.T) {
	etcdURL := etcdtest.Start(t)
	bin := build(t)
	creds := t.TempDir()
	a := startPoolHost(t, bin, etcdURL, creds, "host-a", "2048")
	b := startPoolHost(t, bin, etcdURL, creds, "host-b", "4096")
	c := startPoolHost(t, bin, etcdURL, creds, "host-c", "3072")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cliCfg := filepath.Join(a.stateDir, "api", "client.json")
	addrs, err := json.Marshal(map[string]string{"host-b": b.poolAddr, "host-c": c.poolAddr})
	require.NoError(t, err)
	mustChild(t, "pool-place", cliCfg, string(addrs), nil)

	// The CLI, through host-a: the pool, a VM created on host-a and started
	// on the least loaded host (moved there, as it is Halted).
	cli := buildCmd(t, "../xenactor", "xenactor")
	xenactorErr := func(args ...string) (string, string, error) {
		t.Helper()
		cmd := exec.CommandContext(ctx, cli, append([]string{"--config", cliCfg}, args...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	xenactor := func(args ...string) (string, string) {
		t.Helper()
		out, errOut, err := xenactorErr(args...)
		require.NoError(t, err, "xenactor %v: %s", args, errOut)
		return out, errOut
	}
	out, _ := xenactor("pool", "hosts")
	require.Regexp(t, `host-a\s+127\.0\.0\.1:\d+\s+up`, out)
	require.Regexp(t, `host-c\s+127\.0\.0\.1:\d+\s+up\s+3G\s`, out)
	out, errOut := xenactor("vm", "create", "--name", "cli-vm", "--memory", "128M", "--kernel", "sim:linux", "--on", "host-a")
	cliVM := strings.TrimSpace(out)
	require.Contains(t, errOut, "created on host host-a")
	_, errOut = xenactor("vm", "start", "cli-vm", "--least-loaded")
	require.Contains(t, errOut, "moved "+cliVM[:8]+" from host host-a to host host-b")
	out, _ = xenactor("pool", "vms")
	require.Regexp(t, `host-b\s+`+cliVM+`\s+cli-vm\s+Running`, out)
	require.Regexp(t, `host-c\s+`+onC+`\s+on-c\s+Running`, out)
	out, _ = xenactor("--host", "host-a", "vm", "list")
	require.NotContains(t, out, cliVM, "the VM left host-a")

	// Live migration by host name: the running VM "least" goes from
	// host-b to host-c, the members authenticating each other with their
	// pool certificates (no client.json, no token).
	_, errOut, err = xenactorErr("--host", "host-b", "vm", "migrate", "least", "--to-host", "host-c")
	require.NoError(t, err, "vm migrate --to-host: %s", errOut)
	vmsOnce(t, xenactor, map[string]string{least: "host-c", onC: "host-c", cliVM: "host-b"})
	_, errOut, err = xenactorErr("--host", "host-c", "vm", "migrate", "least", "--to-host", "host-z")
	require.Error(t, err)
	require.Contains(t, errOut, "no pool host host-z")

	// Evacuate host-c, one VM at a time: its Halted VMs move to the other
	// hosts, its running VMs are live-migrated there; each ends on the
	// other hosts once, Running ones Running, and host-c has none.
	for _, name := range []string{"evac-1", "evac-2"} {
		xenactor("vm", "create", "--name", name, "--memory", "64M", "--kernel", "sim:linux", "--on", "host-c")
	}
	out, errOut = xenactor("pool", "evacuate", "host-c", "--batch", "2")
	require.Regexp(t, `evac-1\s+host-c\s+host-[ab]\s+moved`, out)
	require.Regexp(t, `evac-2\s+host-c\s+host-[ab]\s+moved`, out)
	require.Regexp(t, `least\s+host-c\s+host-[ab]\s+migrated`, out)
	m := regexp.MustCompile(`on-c\s+host-c\s+(host-[ab])\s+migrated`).FindStringSubmatch(out)
	require.NotNil(t, m, "on-c was not migrated: %s\n%s", out, errOut)
	out, _ = xenactor("--host", "host-c", "vm", "list")
	require.NotContains(t, out, "evac-")
	require.NotContains(t, out, "on-c")
	require.NotContains(t, out, "least")
	where := vmsOnce(t, xenactor, map[string]string{cliVM: "host-b"})
	for _, uuid := range []string{onC, least} {
		require.Contains(t, []string{"host-a", "host-b"}, where[uuid].host)
		require.Equal(t, "Running", where[uuid].state)
	}
	require.Equal(t, m[1], where[onC].host)

	// on-c goes back to host-c, for the death of host-c below; the CLI
	// finds the VM's host in the pool (host-a is called).
	xenactor("vm", "migrate", "on-c", "--to-host", "host-c")
	vmsOnce(t, xenactor, map[string]string{onC: "host-c"})

	// A non-member at host-b's migration listener: without the token and
	// without a pool certificate, or with one of another CA, it is
	// refused.
	nonMemberMigration(t, ctx, b.migrateAddr)

	// A non-member at host-b's pool port: no certificate, a certificate of
	// another CA, plain junk. Each is refused; host-b goes on.
	nonMember(t, ctx, b.poolAddr)

	// host-c dies: noticed once its lease expires, marked down, its VM
	// shown in power state unknown.
	require.NoError(t, c.proc.cmd.Process.Kill())
	mustChild(t, "pool-dead", cliCfg, "", nil)
	out, _ = xenactor("pool", "vms")
	require.Regexp(t, `host-c \(down\)\s+`+onC+`\s+on-c\s+Unknown`, out)
	out, _ = xenactor("pool", "hosts")
	require.Regexp(t, `host-c\s+127\.0\.0\.1:\d+\s+down`, out)
	b.proc.terminate(t)
	a.proc.terminate(t)
}

// nonMember tries host's pool port without the pool's credentials and
// checks the port refuses it and the member keeps serving its pool.
func nonMember(t *testing.T, ctx context.Context, addr string) {
	t.Helper()
	try := func(creds credentials.TransportCredentials) error {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		conn, err := grpc.DialContext(dctx, addr, grpc.WithTransportCredentials(creds), grpc.WithBlock(),
			grpc.WithReturnConnectionError())
		if err != nil {
			return err
		}
		defer conn.Close()
		s, err := remote.NewRemotingClient(conn).Receive(dctx)
		if err != nil {
			return err
		}
		// An unregistered type name would crash a member's remote layer.
		if err := s.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{
			MessageBatch: &remote.MessageBatch{TypeNames: []string{"no.such.Type"}, Targets: []*actor.PID{{Address: addr,
				Id: "xenactor-host"}}, Envelopes: []*remote.MessageEnvelope{{TypeId: 0, Target: 0}}}}}); err != nil {
			return err
		}
		_, err = s.Recv()
		return err
	}
	// No client certificate.
	err := try(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})) //nolint:gosec
	require.Error(t, err, "a peer without a certificate")
	// A certificate of another CA.
	other, err := selfSignedCert()
	require.NoError(t, err)
	err = try(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{other}})) //nolint:gosec
	require.Error(t, err, "a peer with a certificate of another CA")
	// Plain junk on the TCP port.
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	_, _ = nc.Write([]byte("GET / HTTP/1.0\r\n\r\n\x00\x01\x02junk"))
	_ = nc.Close()
}

// placed is where `pool vms` shows a VM.
type placed struct{ host, state string }

// poolVMsLine is a line of `pool vms`: host, uuid, name, power state.
var poolVMsLine = regexp.MustCompile(`(?m)^(host-[a-z])(?: \(down\))?\s+([0-9a-f-]{36})\s+\S+\s+(\S+)`)

// vmsOnce runs `pool vms`, checks each VM is listed once, and those of
// want on the host it names (Running), and returns where each is.
func vmsOnce(t *testing.T, xenactor func(...string) (string, string), want map[string]string) map[string]placed {
	t.Helper()
	out, _ := xenactor("pool", "vms")
	where := map[string]placed{}
	for _, m := range poolVMsLine.FindAllStringSubmatch(out, -1) {
		_, dup := where[m[2]]
		require.False(t, dup, "VM %s listed twice:\n%s", m[2], out)
		where[m[2]] = placed{host: m[1], state: m[3]}
	}
	for uuid, host := range want {
		require.Equal(t, placed{host: host, state: "Running"}, where[uuid], "VM %s:\n%s", uuid, out)
	}
	return where
}

// nonMemberMigration tries the migration listener at addr as a
// non-member: the API's certificate side with no token, the pool's side
// without a certificate and with one of another CA. Each is refused.
func nonMemberMigration(t *testing.T, ctx context.Context, addr string) {
	t.Helper()
	try := func(cfg *tls.Config) error {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		conn, err := migrate.Dial(dctx, addr, cfg)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		hello, err := json.Marshal(map[string]any{"version": migrate.Version, "token": ""})
		require.NoError(t, err)
		frame := binary.BigEndian.AppendUint32(nil, uint32(len(hello)))
		if _, err := conn.Write(append(frame, hello...)); err != nil {
			return err
		}
		return migrate.ReadStatus(conn)
	}
	var remote *migrate.RemoteError
	err := try(&tls.Config{InsecureSkipVerify: true}) //nolint:gosec
	require.ErrorAs(t, err, &remote, "no token, no certificate: %v", err)
	require.Contains(t, remote.Text, "bad token")
	// The pool's side refuses in the TLS handshake, before any hello.
	err = try(&tls.Config{InsecureSkipVerify: true, ServerName: apiwire.PoolServerName}) //nolint:gosec
	require.Error(t, err, "the pool's side without a certificate")
	require.NotErrorAs(t, err, &remote, "%v", err)
	other, err := selfSignedCert()
	require.NoError(t, err)
	err = try(&tls.Config{InsecureSkipVerify: true, ServerName: apiwire.PoolServerName, //nolint:gosec
		Certificates: []tls.Certificate{other}})
	require.Error(t, err, "the pool's side with a certificate of another CA")
	require.NotErrorAs(t, err, &remote, "%v", err)
}

// selfSignedCert makes a certificate no pool's CA signed.
func selfSignedCert() (tls.Certificate, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "intruder"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, nil
}

func init() {
	// pool-place drives the pool through host-a until host-c is killed:
	// arg is the pool addresses of host-b and host-c (JSON).
	children["pool-place"] = func(t require.TestingT, cfg client.Config, arg string) any {
		var addrs map[string]string
		require.NoError(t, json.Unmarshal([]byte(arg), &addrs))
		ctx, cl := dialChild(t, cfg)
		defer cl.Close()

		require.Eventually(t, func() bool {
			hosts, err := cl.PoolHosts(ctx)
			if err != nil || len(hosts) != 3 {
				return false
			}
			for _, h := range hosts {
				if !h.GetUp() || h.GetMemoryTotalKib() == 0 {
					return false
				}
			}
			return true
		}, 30*time.Second, 100*time.Millisecond, "the pool does not list three hosts up")
		hosts, err := cl.PoolHosts(ctx)
		require.NoError(t, err)
		byName := hostsByName(hosts)
		require.Equal(t, uint64(4096<<10), byName["host-b"].GetMemoryTotalKib())
		require.Equal(t, addrs["host-b"], byName["host-b"].GetAddress())
		require.Equal(t, addrs["host-c"], byName["host-c"].GetAddress())

		// Any call on any host, by name: host-a routes it.
		info, err := cl.On("host-c").HostInfo(ctx)
		require.NoError(t, err)
		require.Equal(t, "host-c", info.GetHostname())
		require.Equal(t, uint64(3072<<10), info.GetMemoryTotalKib())
		_, err = cl.On("host-z").HostInfo(ctx)
		require.True(t, errdefs.IsNotFound(err), "%v", err)

		// A VM on a chosen host.
		host, err := cl.On("host-c").PlaceVM(ctx, poolSpec(onC, "on-c"))
		require.NoError(t, err)
		require.Equal(t, "host-c", host)
		task, err := cl.On("host-c").StartVM(ctx, onC, false)
		require.NoError(t, err)
		require.Equal(t, "host-c", task.Host)
		done, err := task.Wait(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, messages.TaskState_TASK_STATE_COMPLETED, done.GetState())
		_, err = cl.StatVM(ctx, onC)
		require.True(t, errdefs.IsNotFound(err), "the VM is host-c's, not host-a's: %v", err)

		// A VM on the least loaded host: host-b has the most free memory.
		host, err = cl.LeastLoaded().PlaceVM(ctx, poolSpec(least, "least"))
		require.NoError(t, err)
		require.Equal(t, "host-b", host)
		task, err = cl.On(host).StartVM(ctx, least, false)
		require.NoError(t, err)
		_, err = task.Wait(ctx, nil)
		require.NoError(t, err)

		vms, err := cl.PoolVMs(ctx)
		require.NoError(t, err)
		where := map[string]*messages.PoolVM{}
		for _, v := range vms {
			where[v.GetVm().GetSpec().GetUuid()] = v
		}
		require.Len(t, where, 2)
		require.Equal(t, "host-c", where[onC].GetHost())
		require.True(t, where[onC].GetHostUp())
		require.Equal(t, messages.PowerState_POWER_STATE_RUNNING, where[onC].GetVm().GetPowerState())
		require.Equal(t, "host-b", where[least].GetHost())
		require.Equal(t, messages.PowerState_POWER_STATE_RUNNING, where[least].GetVm().GetPowerState())
		return nil
	}
	// pool-dead checks, through host-a, that the killed host-c is noticed.
	children["pool-dead"] = func(t require.TestingT, cfg client.Config, _ string) any {
		ctx, cl := dialChild(t, cfg)
		defer cl.Close()
		require.Eventually(t, func() bool {
			hosts, err := cl.PoolHosts(ctx)
			if err != nil {
				return false
			}
			h := hostsByName(hosts)["host-c"]
			return h != nil && !h.GetUp()
		}, 20*time.Second, 100*time.Millisecond, "host-c is not marked down")
		hosts, err := cl.PoolHosts(ctx)
		require.NoError(t, err)
		byName := hostsByName(hosts)
		require.Len(t, byName, 3, "a dead host stays listed")
		require.True(t, byName["host-a"].GetUp())
		require.True(t, byName["host-b"].GetUp())
		require.NotZero(t, byName["host-c"].GetVms(), "its last report")
		vms, err := cl.PoolVMs(ctx)
		require.NoError(t, err)
		where := map[string]*messages.PoolVM{}
		for _, v := range vms {
			where[v.GetVm().GetSpec().GetUuid()] = v
		}
		require.Len(t, where, 5, "no VM is dropped, none is listed twice")
		require.Equal(t, "host-c", where[onC].GetHost())
		require.False(t, where[onC].GetHostUp())
		require.Equal(t, messages.PowerState_POWER_STATE_UNKNOWN, where[onC].GetVm().GetPowerState())
		require.Equal(t, "on-c", where[onC].GetVm().GetSpec().GetName())
		require.Equal(t, messages.PowerState_POWER_STATE_RUNNING, where[least].GetVm().GetPowerState())
		_, err = cl.On("host-c").HostInfo(ctx)
		require.True(t, errdefs.IsUnavailable(err), "a call routed to a dead host: %v", err)
		host, err := cl.LeastLoaded().PlaceVM(ctx, poolSpec("7a3c0f00-0000-4000-8000-0000000000aa", "next"))
		require.NoError(t, err)
		require.Equal(t, "host-b", host, "the dead host is never chosen")
		return nil
	}
}

// dialChild dials the daemon of cfg for a child.
func dialChild(t require.TestingT, cfg client.Config) (context.Context, *client.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	time.AfterFunc(time.Minute, cancel)
	cl, err := client.Dial(ctx, cfg)
	require.NoError(t, err)
	return ctx, cl
}

// TestXenactord_PoolFlags checks the pool's usage errors and -pool-init.
func TestXenactord_PoolFlags(t *testing.T) {
	bin := build(t)
	runDir := shortDir(t)
	creds := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-pool-addr", "127.0.0.1:0", "-pool-credentials", creds}, "-etcd"},
		{[]string{"-pool-addr", "127.0.0.1:0", "-etcd", "http://127.0.0.1:1"}, "-pool-credentials"},
		{[]string{"-pool-addr", "127.0.0.1:0", "-etcd", "http://127.0.0.1:1", "-pool-credentials", creds,
			"-host-name", "no/slash"}, "host name"},
		{[]string{"-pool-init", "-host-name", "h1"}, "-pool-credentials"},
	} {
		cmd := exec.Command(bin, append([]string{"-metrics-addr", "", "-migrate-addr", "", "-api-addr", "127.0.0.1:0", "-run-dir", runDir,
			"-state-dir", filepath.Join(runDir, "state")}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%v: %s", tc.args, out)
		require.Equal(t, 2, ee.ExitCode(), "%v: %s", tc.args, out)
		require.Contains(t, string(out), tc.want)
	}
	out, err := exec.Command(bin, "-pool-init", "-pool-credentials", creds, "-host-name", "h1").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, f := range []string{"pool-ca.pem", "pool-ca-key.pem", "hosts/h1.pem", "hosts/h1-key.pem"} {
		require.FileExists(t, filepath.Join(creds, f))
	}
}
