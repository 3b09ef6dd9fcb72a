package loadbench

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

// The worker's protocol, lines on its stdin and stdout: the benchmark
// writes the path of the daemon's client.json, the worker dials and
// answers readyLine; then the benchmark writes each Job as JSON and the
// worker answers progressPrefix lines (a Progress as JSON) while it runs
// and resultPrefix and a Result as JSON at its end. At the end of its
// stdin the worker closes its connection and exits. Other lines are
// ignored.
const (
	readyLine      = "loadbench-ready"
	progressPrefix = "loadbench-progress "
	resultPrefix   = "loadbench-result "
)

// progressEvery is how often a worker reports its progress.
const progressEvery = 250 * time.Millisecond

// dialTimeout bounds a worker's dial.
const dialTimeout = 2 * time.Minute

// WorkerMain is the body of a worker process (`xenactor-bench
// load-worker`): it runs the benchmark's jobs over one API connection as
// the package's protocol says, until stdin ends.
func WorkerMain(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 0, 64<<10), 64<<20)
	if !in.Scan() {
		return fmt.Errorf("loadbench worker: no client config on stdin: %w", errdefs.ErrInvalid)
	}
	cfg, err := client.FindConfig(strings.TrimSpace(in.Text()))
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := client.Dial(dctx, cfg)
	cancel()
	if err != nil {
		return fmt.Errorf("loadbench worker: dial: %w", err)
	}
	defer c.Close()
	var outMu sync.Mutex
	emit := func(prefix string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		outMu.Lock()
		defer outMu.Unlock()
		_, err = fmt.Fprintf(stdout, "%s%s\n", prefix, b)
		return err
	}
	if _, err := fmt.Fprintln(stdout, readyLine); err != nil {
		return err
	}
	for in.Scan() {
		var j Job
		rc := &recorder{}
		if err := json.Unmarshal(in.Bytes(), &j); err != nil {
			rc.r.Error = "loadbench worker: job: " + err.Error()
		} else {
			// The progress lines end before the result's, so that none is
			// taken for the next job's.
			done := make(chan struct{})
			var ticking sync.WaitGroup
			ticking.Go(func() {
				tick := time.NewTicker(progressEvery)
				defer tick.Stop()
				for {
					select {
					case <-done:
						return
					case <-tick.C:
						_ = emit(progressPrefix, rc.progress())
					}
				}
			})
			err := runJob(ctx, c, j, rc)
			close(done)
			ticking.Wait()
			if err != nil {
				rc.r.Error = err.Error()
			}
		}
		rc.mu.Lock()
		r := rc.r
		rc.mu.Unlock()
		if err := emit(resultPrefix, r); err != nil {
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
	lines  chan string // its ready and result lines
	stderr *tailBuffer
	done   chan struct{}
	err    error // cmd.Wait's, once done is closed

	mu       sync.Mutex
	progress Progress // its latest progress line
}

// startWorker starts cmd as a worker connecting with the client config at
// cfgPath.
func startWorker(cmd *exec.Cmd, cfgPath string) (*worker, error) {
	w := &worker{cmd: cmd, lines: make(chan string, 4), stderr: &tailBuffer{}, done: make(chan struct{})}
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
		return nil, fmt.Errorf("loadbench: starting a worker: %w", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 256<<20)
		for sc.Scan() {
			switch l := sc.Text(); {
			case strings.HasPrefix(l, progressPrefix):
				var p Progress
				if json.Unmarshal([]byte(strings.TrimPrefix(l, progressPrefix)), &p) == nil {
					w.mu.Lock()
					w.progress = p
					w.mu.Unlock()
				}
			case l == readyLine || strings.HasPrefix(l, resultPrefix):
				w.lines <- l
			}
		}
		close(w.lines)
		w.err = cmd.Wait()
		close(w.done)
	}()
	if _, err := fmt.Fprintln(w.stdin, cfgPath); err != nil {
		w.kill()
		return nil, fmt.Errorf("loadbench: a worker's stdin: %w", err)
	}
	return w, nil
}

// next returns the worker's next ready or result line.
func (w *worker) next(ctx context.Context) (string, error) {
	select {
	case l, ok := <-w.lines:
		if !ok {
			<-w.done
			return "", fmt.Errorf("loadbench: a worker exited (%v): %s", w.err, w.stderr.String())
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
		err = fmt.Errorf("loadbench: a worker answered %q before its ready line", l)
	}
	return err
}

// send writes a job to the worker and resets its progress.
func (w *worker) send(j Job) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.progress = Progress{}
	w.mu.Unlock()
	_, err = fmt.Fprintf(w.stdin, "%s\n", b)
	return err
}

// latest returns the worker's latest progress.
func (w *worker) latest() Progress {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.progress
}

// result waits for the worker's answer to the job sent.
func (w *worker) result(ctx context.Context) (Result, error) {
	l, err := w.next(ctx)
	if err != nil {
		return Result{}, err
	}
	var r Result
	if !strings.HasPrefix(l, resultPrefix) {
		return r, fmt.Errorf("loadbench: a worker answered %q", l)
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(l, resultPrefix)), &r); err != nil {
		return r, fmt.Errorf("loadbench: a worker's result: %w", err)
	}
	if r.Error != "" {
		return r, errors.New(r.Error)
	}
	return r, nil
}

// stop ends the worker's stdin and waits for its exit, killing it after
// timeout; it returns an error unless the worker exited with status 0.
func (w *worker) stop(timeout time.Duration) error {
	_ = w.stdin.Close()
	select {
	case <-w.done:
	case <-time.After(timeout):
		w.kill()
		return fmt.Errorf("loadbench: a worker did not exit: %s", w.stderr.String())
	}
	if w.err != nil {
		return fmt.Errorf("loadbench: a worker exited with %v: %s", w.err, w.stderr.String())
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

// tailBuffer is an io.Writer keeping the start and the end of a process's
// output (a daemon logs a lot under load), safe for the process and its
// reader.
type tailBuffer struct {
	mu   sync.Mutex
	head []byte
	tail []byte
}

// The bytes a tailBuffer keeps of the start and of the end.
const (
	tailHead = 16 << 10
	tailEnd  = 4 << 10
)

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := p
	if n := min(tailHead-len(b.head), len(q)); n > 0 {
		b.head = append(b.head, q[:n]...)
		q = q[n:]
	}
	b.tail = append(b.tail, q...)
	if len(b.tail) > 2*tailEnd {
		b.tail = append(b.tail[:0], b.tail[len(b.tail)-tailEnd:]...)
	}
	return len(p), nil
}

// Head returns the start of the output.
func (b *tailBuffer) Head() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.head)
}

// String returns the end of the output, for an error.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.tail
	if len(s) > tailEnd {
		s = s[len(s)-tailEnd:]
	}
	if len(b.tail) == 0 {
		s = b.head[max(len(b.head)-tailEnd, 0):]
	}
	return strings.TrimSpace(string(s))
}
