package apiwire

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/testenv"
	"github.com/xenactor/xenactor/messages"
)

// The environment of the server mode of the test binary.
const (
	envServe       = "XENACTOR_APIWIRE_TEST_SERVE"
	envDir         = "XENACTOR_APIWIRE_TEST_DIR"
	envInsecure    = "XENACTOR_APIWIRE_TEST_INSECURE"
	envMaxInFlight = "XENACTOR_APIWIRE_TEST_MAX_IN_FLIGHT"
	envClient      = "XENACTOR_APIWIRE_TEST_CLIENT"
	envAddr        = "XENACTOR_APIWIRE_TEST_ADDR"
	envNoAPI       = "XENACTOR_APIWIRE_TEST_NO_API"
)

func TestMain(m *testing.M) {
	if os.Getenv(envServe) != "" {
		os.Exit(serveForTest())
	}
	if cfg := os.Getenv(envClient); cfg != "" {
		os.Exit(clientForTest(cfg))
	}
	os.Exit(m.Run())
}

// serveForTest is the daemon side of the tests, in a child process: Serve
// with an echo "api" actor, print the address, run until stdin closes.
func serveForTest() int {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	maxInFlight, _ := strconv.Atoi(os.Getenv(envMaxInFlight))
	addr := os.Getenv(envAddr)
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	srv, err := Serve(system, ServerConfig{
		Address:        addr,
		CredentialsDir: os.Getenv(envDir),
		Insecure:       os.Getenv(envInsecure) != "",
		MaxInFlight:    maxInFlight,
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve:", errdefs.Kind(err), err)
		return 1
	}
	if os.Getenv(envNoAPI) == "" {
		if _, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &echo{} }), APIActor); err != nil {
			fmt.Fprintln(os.Stderr, "spawn:", err)
			return 1
		}
	}
	fmt.Printf("ADDR %s\n", srv.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// echo is the tests' "api" actor. HostInfo answers a fixed host with the
// held requests in TasksPending; WaitTask "hold" is held until a CancelTask
// "release" answers them all (and the later ones at once).
type echo struct {
	held      []*actor.PID
	releasing bool
}

func (e *echo) Receive(ctx actor.Context) {
	req, ok := ctx.Message().(*messages.Request)
	if !ok {
		return
	}
	switch op := req.Op.(type) {
	case *messages.Request_HostInfo:
		ctx.Respond(&messages.Response{Result: &messages.Response_HostInfo{HostInfo: &messages.HostInfo{
			Hostname:     "echo",
			TasksPending: uint32(len(e.held)),
		}}})
	case *messages.Request_WaitTask:
		if op.WaitTask.GetId() == "hold" && !e.releasing {
			e.held = append(e.held, ctx.Sender())
			return
		}
		ctx.Respond(&messages.Response{Result: &messages.Response_Empty{Empty: &messages.Empty{}}})
	case *messages.Request_CancelTask:
		if op.CancelTask.GetId() == "release" {
			e.releasing = true
			for _, p := range e.held {
				ctx.Send(p, &messages.Response{Result: &messages.Response_Empty{Empty: &messages.Empty{}}})
			}
			e.held = nil
		}
		ctx.Respond(&messages.Response{Result: &messages.Response_Empty{Empty: &messages.Empty{}}})
	default:
		ctx.Respond(&messages.Response{Error: &messages.Error{Kind: "not_implemented", Message: "echo"}})
	}
}

// daemon is a test daemon in a child process.
type daemon struct {
	addr   string
	dir    string
	cmd    *exec.Cmd
	stderr *testenv.Buffer
	exited chan struct{}
}

type daemonOpts struct {
	insecure    bool
	noAPI       bool
	maxInFlight int
}

// startDaemon runs the test binary in server mode with credentials in a
// new directory, and stops it when the test ends.
func startDaemon(t *testing.T, o daemonOpts) *daemon {
	t.Helper()
	d := &daemon{dir: t.TempDir(), stderr: &testenv.Buffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(os.Args[0], "-test.run=^$")
	d.cmd.Env = append(os.Environ(), envServe+"=1", envDir+"="+d.dir, envMaxInFlight+"="+strconv.Itoa(o.maxInFlight))
	if o.insecure {
		d.cmd.Env = append(d.cmd.Env, envInsecure+"=1")
	}
	if o.noAPI {
		d.cmd.Env = append(d.cmd.Env, envNoAPI+"=1")
	}
	stdin, err := d.cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := d.cmd.StdoutPipe()
	require.NoError(t, err)
	d.cmd.Stderr = d.stderr
	require.NoError(t, d.cmd.Start())
	go func() {
		_ = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-d.exited:
		case <-time.After(30 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "daemon stderr: %s", d.stderr.String())
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
	require.True(t, ok, "daemon said %q", line)
	d.addr = addr
	return d
}

// alive fails the test if the daemon exited.
func (d *daemon) alive(t *testing.T) {
	t.Helper()
	select {
	case <-d.exited:
		t.Fatalf("daemon exited: %s", d.stderr.String())
	default:
	}
}

// config returns the client.json the daemon wrote.
func (d *daemon) config(t *testing.T) ClientConfig {
	t.Helper()
	cfg, err := LoadClientConfig(filepath.Join(d.dir, ClientJSONFile))
	require.NoError(t, err)
	require.Equal(t, d.addr, cfg.Address)
	return cfg
}
