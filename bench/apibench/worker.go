package apibench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The worker's protocol, one line each way per step: the benchmark writes
// the path of the daemon's client.json, the worker dials and answers
// readyLine; then the benchmark writes each Phase as JSON and the worker
// answers resultPrefix and a workerResult as JSON; a step is a list of
// phases, run at once on one goroutine each over the worker's connection.
// At the end of its stdin
// the worker closes its connection and exits. Lines without the prefixes
// on the worker's stdout are ignored.
const (
	readyLine    = "apibench-ready"
	resultPrefix = "apibench-result "
)

// workerResult is a worker's answer to a step, a sample per phase.
type workerResult struct {
	Samples []Sample
	// Error is a phase the worker could not run.
	Error string `json:",omitempty"`
}

// dialTimeout bounds a worker's dial.
const dialTimeout = 2 * time.Minute

// WorkerMain is the body of a worker process (`xenactor-bench api-worker`):
// it serves the benchmark's requests on stdin and stdout as described in
// the package comment, over one API connection, until stdin ends.
func WorkerMain(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 0, 64<<10), 16<<20)
	if !in.Scan() {
		return fmt.Errorf("apibench worker: no client config on stdin: %w", errdefs.ErrInvalid)
	}
	cfg, err := client.FindConfig(strings.TrimSpace(in.Text()))
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := client.Dial(dctx, cfg)
	cancel()
	if err != nil {
		return fmt.Errorf("apibench worker: dial: %w", err)
	}
	defer c.Close()
	if _, err := fmt.Fprintln(stdout, readyLine); err != nil {
		return err
	}
	for in.Scan() {
		var phases []Phase
		var r workerResult
		if err := json.Unmarshal(in.Bytes(), &phases); err != nil {
			r.Error = "apibench worker: phases: " + err.Error()
		} else if r.Samples, err = runPhases(ctx, c, phases); err != nil {
			r.Error = err.Error()
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(stdout, "%s%s\n", resultPrefix, b); err != nil {
			return err
		}
	}
	if err := in.Err(); err != nil {
		return err
	}
	return c.Close()
}

// worker is a started worker process.
type worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // its protocol lines
	stderr *lockedBuffer
	done   chan struct{}
	err    error // cmd.Wait's, once done is closed
}

// startWorker starts cmd as a worker connecting with the client config at
// cfgPath.
func startWorker(cmd *exec.Cmd, cfgPath string) (*worker, error) {
	w := &worker{cmd: cmd, lines: make(chan string, 4), stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = w.stderr
	var err error
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("apibench: starting a worker: %w", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 256<<20)
		for sc.Scan() {
			if l := sc.Text(); l == readyLine || strings.HasPrefix(l, resultPrefix) {
				w.lines <- l
			}
		}
		close(w.lines)
		w.err = cmd.Wait()
		close(w.done)
	}()
	if _, err := fmt.Fprintln(w.stdin, cfgPath); err != nil {
		w.kill()
		return nil, fmt.Errorf("apibench: a worker's stdin: %w", err)
	}
	return w, nil
}

// next returns the worker's next protocol line.
func (w *worker) next(ctx context.Context) (string, error) {
	select {
	case l, ok := <-w.lines:
		if !ok {
			<-w.done
			return "", fmt.Errorf("apibench: a worker exited (%v): %s", w.err, tail(w.stderr.String()))
		}
		return l, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// ready waits for the worker's connection.
func (w *worker) ready(ctx context.Context) error {
	l, err := w.next(ctx)
	if err == nil && l != readyLine {
		err = fmt.Errorf("apibench: a worker answered %q before its ready line", l)
	}
	return err
}

// send writes the phases of a step to the worker.
func (w *worker) send(phases []Phase) error {
	b, err := json.Marshal(phases)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w.stdin, "%s\n", b)
	return err
}

// result waits for the worker's answer to the step sent.
func (w *worker) result(ctx context.Context) ([]Sample, error) {
	l, err := w.next(ctx)
	if err != nil {
		return nil, err
	}
	var r workerResult
	if !strings.HasPrefix(l, resultPrefix) {
		return nil, fmt.Errorf("apibench: a worker answered %q", l)
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(l, resultPrefix)), &r); err != nil {
		return nil, fmt.Errorf("apibench: a worker's result: %w", err)
	}
	if r.Error != "" {
		return r.Samples, errors.New(r.Error)
	}
	return r.Samples, nil
}

// stop ends the worker's stdin and waits for its exit, killing it after
// timeout; it returns an error unless the worker exited with status 0.
func (w *worker) stop(timeout time.Duration) error {
	_ = w.stdin.Close()
	select {
	case <-w.done:
	case <-time.After(timeout):
		w.kill()
		return fmt.Errorf("apibench: a worker did not exit: %s", tail(w.stderr.String()))
	}
	if w.err != nil {
		return fmt.Errorf("apibench: a worker exited with %v: %s", w.err, tail(w.stderr.String()))
	}
	return nil
}

// kill kills the worker and waits for it.
func (w *worker) kill() {
	_ = w.cmd.Process.Kill()
	_ = w.stdin.Close()
	for range w.lines {
	}
	<-w.done
}

// lockedBuffer is an io.Writer safe for a process's output and its reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail is the end of a process's output, for an error.
func tail(s string) string {
	const n = 2000
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
