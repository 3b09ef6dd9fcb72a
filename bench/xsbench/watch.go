package xsbench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// Paths of WatchDelivery: the unrelated watches are on
// WatchRoot/<conn>/<j> (nodes that never exist), the measured one on
// HotPath.
const (
	WatchRoot = "/bench/w"
	HotPath   = "/bench/hot"
)

// WatchConfig configures WatchDelivery.
type WatchConfig struct {
	// Unrelated is the number of watches registered besides the measured
	// one; they never fire.
	Unrelated int
	// Conns is the number of connections holding them (default 100, at
	// most Unrelated).
	Conns int
	Limit Limit
	// SetupTimeout bounds registering the unrelated watches (default two
	// minutes); a slower daemon gets a Result with Skipped set.
	SetupTimeout time.Duration
}

// eventTimeout bounds the wait for one watch event.
const eventTimeout = 10 * time.Second

// registerWorkers is the number of goroutines registering watches on each
// connection at once.
const registerWorkers = 4

// WatchDelivery measures how long a watch event takes from a WRITE of
// HotPath (on one connection) to the watcher (on another), with Unrelated
// other watches registered. Operations run one after another: one
// operation is one write and its event. Registering the unrelated watches
// is timed in Result.Setup and excluded from the rest.
func WatchDelivery(ctx context.Context, dial Dialer, cfg WatchConfig) (Result, error) {
	if err := cfg.Limit.check(); err != nil {
		return Result{}, err
	}
	ws, skipped, err := SetupWatch(ctx, dial, cfg)
	if err != nil || skipped != nil {
		return *skipped, err
	}
	defer ws.Close()
	return ws.Measure(ctx, cfg.Limit)
}

// WatchSession is WatchDelivery's set-up, kept so that several
// measurements (a Go benchmark's) share one registration.
type WatchSession struct {
	dial    Dialer
	setup   time.Duration
	holders []*xenstore.Client // the unrelated watches' connections
	writer  *xenstore.Client
	watcher *xenstore.Client
	w       *xenstore.Watch
	seq     int64
}

// SetupWatch registers cfg.Unrelated watches and the measured one. When
// the registration takes longer than cfg.SetupTimeout it returns a Result
// saying so (and no session) rather than an error.
func SetupWatch(ctx context.Context, dial Dialer, cfg WatchConfig) (*WatchSession, *Result, error) {
	if cfg.Conns <= 0 {
		cfg.Conns = 100
	}
	cfg.Conns = min(cfg.Conns, cfg.Unrelated)
	if cfg.SetupTimeout <= 0 {
		cfg.SetupTimeout = 2 * time.Minute
	}
	t0 := time.Now()
	sctx, scancel := context.WithTimeout(ctx, cfg.SetupTimeout)
	defer scancel()
	holders, registered, err := registerUnrelated(sctx, dial, cfg.Conns, cfg.Unrelated)
	setup := time.Since(t0)
	if err != nil {
		closeAll(holders)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, &Result{Setup: setup, Skipped: fmt.Sprintf("registering %d watches took over %s (%d done)",
				cfg.Unrelated, cfg.SetupTimeout, registered)}, nil
		}
		return nil, &Result{}, err
	}
	ws := &WatchSession{dial: dial, holders: holders}
	if cfg.Unrelated > 0 {
		ws.setup = setup
	}
	if err := ws.init(sctx); err != nil {
		ws.Close()
		return nil, &Result{}, fmt.Errorf("xsbench: watch set-up: %w", err)
	}
	return ws, nil, nil
}

func (ws *WatchSession) init(ctx context.Context) error {
	cs, err := dialAll(ctx, ws.dial, 2)
	if err != nil {
		return err
	}
	ws.writer, ws.watcher = cs[0], cs[1]
	if err := ws.writer.Write(ctx, HotPath, []byte("0")); err != nil {
		return err
	}
	if ws.w, err = ws.watcher.Watch(ctx, HotPath, "hot"); err != nil {
		return err
	}
	select { // the event every new watch fires
	case <-ws.w.Events():
	case <-time.After(eventTimeout):
		return errors.New("no initial event for " + HotPath)
	}
	// Let the unrelated connections settle: one round trip each.
	for _, h := range ws.holders {
		if _, err := h.Read(ctx, "/"); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the session's connections and removes HotPath.
func (ws *WatchSession) Close() {
	closeAll(ws.holders)
	for _, c := range []*xenstore.Client{ws.writer, ws.watcher} {
		if c != nil {
			c.Close()
		}
	}
	_ = cleanup(context.Background(), ws.dial, HotPath)
}

// Measure writes HotPath and waits for each event until l is reached.
func (ws *WatchSession) Measure(ctx context.Context, l Limit) (Result, error) {
	if err := l.check(); err != nil {
		return Result{}, err
	}
	ctx, cancel := runCtx(ctx, l)
	defer cancel()
	cs := append(ws.holders[:len(ws.holders):len(ws.holders)], ws.writer, ws.watcher)
	defer watchdog(ctx, cs)()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()

	opCtx := context.WithoutCancel(ctx)
	t0 := time.Now()
	rec := newRecorder(ctx, l, t0)
	wk := &worker{lat: make([]time.Duration, 0, 1024)}
	var val []byte
loop:
	for {
		start := time.Now()
		if !rec.next(start) {
			break
		}
		ws.seq++
		val = strconv.AppendInt(val[:0], ws.seq, 10)
		if err := ws.writer.Write(opCtx, HotPath, val); err != nil {
			wk.fail(err)
			break
		}
		timer.Reset(eventTimeout)
		select {
		case ev, ok := <-ws.w.Events():
			if !ok {
				wk.fail(fmt.Errorf("xsbench: watch on %s closed: %w", HotPath, ws.watcher.Err()))
				break loop
			}
			if ev.Path != HotPath {
				wk.fail(fmt.Errorf("xsbench: event for %s, want %s", ev.Path, HotPath))
				continue
			}
		case <-timer.C:
			wk.fail(fmt.Errorf("xsbench: no event for %s within %s", HotPath, eventTimeout))
			break loop
		}
		wk.lat = append(wk.lat, time.Since(start))
	}
	elapsed := time.Since(t0)
	rec.stop()
	rec.merge(wk)
	res := rec.result(elapsed)
	res.Setup = ws.setup
	return res, nil
}

// registerUnrelated opens conns connections one after another and registers
// n watches spread evenly over them; it returns the connections and how
// many watches were registered.
func registerUnrelated(ctx context.Context, dial Dialer, conns, n int) ([]*xenstore.Client, int64, error) {
	if n <= 0 {
		return nil, 0, nil
	}
	cs, err := dialAll(ctx, dial, conns)
	if err != nil {
		return nil, 0, err
	}
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns*registerWorkers)
	for ci, c := range cs {
		share := n / conns
		if ci < n%conns {
			share++
		}
		for r := range registerWorkers {
			wg.Go(func() {
				for j := r; j < share; j += registerWorkers {
					p := WatchRoot + "/" + strconv.Itoa(ci) + "/" + strconv.Itoa(j)
					tok := "u" + strconv.Itoa(ci) + "-" + strconv.Itoa(j)
					payload := make([]byte, 0, len(p)+len(tok)+2)
					payload = append(append(append(append(payload, p...), 0), tok...), 0)
					// A raw WATCH: the client keeps no Watch (and no
					// goroutine) for it and drops its events.
					if _, err := c.Do(ctx, xenstore.Message{Op: xenstore.OpWatch, Payload: payload}); err != nil {
						errs <- err
						return
					}
					done.Add(1)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		}
		return cs, done.Load(), fmt.Errorf("xsbench: registering watches: %w", err)
	}
	return cs, done.Load(), nil
}
