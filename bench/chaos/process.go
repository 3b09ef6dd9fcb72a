package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/internal/tailbuf"
)

// childReadyTimeout bounds a child daemon's start.
const childReadyTimeout = 60 * time.Second

// child is a running child process.
type child struct {
	cmd         *exec.Cmd
	stdin       io.WriteCloser
	replies     chan reply
	stderr      *tailbuf.Buffer
	done        chan struct{}
	metricsAddr string
	waitOnce    sync.Once
	waitErr     error
}

// startChild starts cmd as a child with cfg and waits until its daemon is
// ready.
func startChild(ctx context.Context, cmd *exec.Cmd, cfg ChildConfig) (_ *child, err error) {
	c := &child{cmd: cmd, replies: make(chan reply, 16), stderr: &tailbuf.Buffer{Max: 8 << 10}, done: make(chan struct{})}
	cmd.Stderr = c.stderr
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("chaos: starting the child daemon: %w", err)
	}
	defer func() {
		if err != nil {
			c.kill()
		}
	}()
	go func() {
		defer close(c.done)
		lines := bufio.NewScanner(stdout)
		lines.Buffer(make([]byte, 64<<10), 16<<20)
		for lines.Scan() {
			var r reply
			if json.Unmarshal(lines.Bytes(), &r) != nil {
				continue // not a reply: the daemon's own output
			}
			select {
			case c.replies <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := c.stdin.Write(append(raw, '\n')); err != nil {
		return nil, fmt.Errorf("chaos: the child daemon: %w; stderr: %s", err, c.stderr)
	}
	r, err := c.await(ctx, childReadyTimeout)
	if err != nil {
		return nil, err
	}
	if !r.Ready {
		return nil, fmt.Errorf("chaos: the child daemon did not say it is ready: %+v: %w", r, errdefs.ErrUnavailable)
	}
	c.metricsAddr = r.MetricsAddr
	return c, nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// send writes cmd to the child.
func (c *child) send(cmd command) error {
	raw, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	_, err = c.stdin.Write(append(raw, '\n'))
	return err
}

// await returns the child's next reply.
func (c *child) await(ctx context.Context, timeout time.Duration) (reply, error) {
	select {
	case r := <-c.replies:
		return r, nil
	case <-c.done:
		return reply{}, fmt.Errorf("chaos: the child daemon exited: %v; stderr: %s: %w", c.wait(), c.stderr,
			errdefs.ErrUnavailable)
	case <-time.After(timeout):
		return reply{}, fmt.Errorf("chaos: no answer from the child daemon in %s; stderr: %s: %w", timeout, c.stderr,
			errdefs.ErrTimeout)
	case <-ctx.Done():
		return reply{}, ctx.Err()
	}
}

// call sends cmd and returns its reply.
func (c *child) call(ctx context.Context, cmd command, timeout time.Duration) (reply, error) {
	if err := c.send(cmd); err != nil {
		return reply{}, fmt.Errorf("chaos: the child daemon: %w; stderr: %s", err, c.stderr)
	}
	r, err := c.await(ctx, timeout)
	if err == nil && r.Err != "" && r.View == nil {
		err = fmt.Errorf("chaos: the child daemon: %s", r.Err)
	}
	return r, err
}

// wait reaps the child once its output ended and returns how it ended.
func (c *child) wait() error {
	c.waitOnce.Do(func() {
		<-c.done
		c.waitErr = c.cmd.Wait()
	})
	return c.waitErr
}

// kill kills the child with SIGKILL and reaps it.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	_ = c.wait()
}

// stop asks the child to exit and waits for it (SIGKILL after a while).
func (c *child) stop() error {
	_ = c.send(command{Cmd: cmdExit})
	_ = c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
	}
	errc := make(chan error, 1)
	go func() { errc <- c.wait() }()
	select {
	case err := <-errc:
		return err
	case <-time.After(30 * time.Second):
		c.kill()
		return fmt.Errorf("chaos: the child daemon did not exit; killed: %w", errdefs.ErrTimeout)
	}
}
