package apiwire

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/testenv"
	"github.com/xenactor/xenactor/messages"
)

// Clients run in child processes too: protoactor's remote.Start writes
// grpc's global logger, which the race detector reports against any other
// gRPC activity of the process (another node, the tests' raw clients).

// clientForTest is a client in a child process: it dials the client config
// at path and answers commands on stdin, one line each:
//
//	info          HostInfo: "OK <tasks pending>" or "ERR <kind> <message>"
//	held-timeout  a held WaitTask with a 50 ms deadline: "ERR <kind> <message>"
//	flood <n>     starts n held WaitTask calls: "OK"
//	wait          waits for them: "OK <answered> <failed>"
//	release       CancelTask "release": "OK" or "ERR ..."
//
// The dial itself prints "OK" or "ERR <kind> <message>" first.
func clientForTest(path string) int {
	var cfg ClientConfig
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &cfg)
	}
	if err != nil {
		fmt.Println("ERR bad-config", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Dial(ctx, cfg)
	if err != nil {
		fmt.Println("ERR", errdefs.Kind(err), err)
		return 0
	}
	defer c.Close()
	fmt.Println("OK")
	var (
		wg               sync.WaitGroup
		answered, failed atomic.Int64
	)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "info":
			resp, err := c.Call(ctx, &messages.Request{Op: &messages.Request_HostInfo{HostInfo: &messages.HostInfoRequest{}}})
			switch {
			case err != nil:
				fmt.Println("ERR", errdefs.Kind(err), err)
			case resp.GetHostInfo().GetHostname() != "echo":
				fmt.Println("ERR bad-reply", resp)
			default:
				fmt.Println("OK", resp.GetHostInfo().GetTasksPending())
			}
		case "held-timeout":
			tctx, tcancel := context.WithTimeout(ctx, 50*time.Millisecond)
			_, err := c.Call(tctx, &messages.Request{Op: &messages.Request_WaitTask{WaitTask: &messages.WaitTaskRequest{Id: "hold"}}})
			tcancel()
			fmt.Println("ERR", errdefs.Kind(err), err)
		case "flood":
			n, _ := strconv.Atoi(arg)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := c.Call(ctx, &messages.Request{Op: &messages.Request_WaitTask{WaitTask: &messages.WaitTaskRequest{Id: "hold"}}})
					if err != nil || resp.GetEmpty() == nil {
						failed.Add(1)
						return
					}
					answered.Add(1)
				}()
			}
			fmt.Println("OK")
		case "wait":
			wg.Wait()
			fmt.Println("OK", answered.Load(), failed.Load())
		case "release":
			resp, err := c.Call(ctx, &messages.Request{Op: &messages.Request_CancelTask{CancelTask: &messages.CancelTaskRequest{Id: "release"}}})
			if err != nil || resp.GetEmpty() == nil {
				fmt.Println("ERR", errdefs.Kind(err), err, resp)
			} else {
				fmt.Println("OK")
			}
		default:
			fmt.Println("ERR bad-command", cmd)
		}
	}
	return 0
}

// clientProc is a client child process.
type clientProc struct {
	stdin   *bufio.Writer
	closeIn func() error
	out     *bufio.Reader
	stderr  *testenv.Buffer
	// dial is the dial's answer: "OK" or "ERR <kind> ...".
	dial string
}

// startClient runs a client child process dialling with cfg and stops it
// when the test ends.
func startClient(t *testing.T, cfg ClientConfig) *clientProc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "client.json")
	data, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	p := &clientProc{stderr: &testenv.Buffer{}}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envClient+"="+path)
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	p.stdin, p.closeIn, p.out = bufio.NewWriter(stdin), stdin.Close, bufio.NewReader(stdout)
	p.dial = p.line(t)
	return p
}

// line reads one answer.
func (p *clientProc) line(t *testing.T) string {
	t.Helper()
	l, err := p.out.ReadString('\n')
	require.NoError(t, err, "client stderr: %s", p.stderr.String())
	return strings.TrimSpace(l)
}

// do sends a command and returns its answer.
func (p *clientProc) do(t *testing.T, cmd string) string {
	t.Helper()
	_, err := p.stdin.WriteString(cmd + "\n")
	require.NoError(t, err)
	require.NoError(t, p.stdin.Flush())
	return p.line(t)
}

// dialled starts a client with cfg and requires its dial to succeed.
func dialled(t *testing.T, cfg ClientConfig) *clientProc {
	t.Helper()
	p := startClient(t, cfg)
	require.Equal(t, "OK", p.dial, "client stderr: %s", p.stderr.String())
	return p
}

// info calls HostInfo and returns the held requests.
func (p *clientProc) info(t *testing.T) uint32 {
	t.Helper()
	ans := p.do(t, "info")
	n, ok := strings.CutPrefix(ans, "OK ")
	require.True(t, ok, "info: %s", ans)
	v, err := strconv.ParseUint(n, 10, 32)
	require.NoError(t, err)
	return uint32(v)
}
