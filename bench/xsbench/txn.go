package xsbench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// TxnRoot is the subtree Txn works under; it is removed afterwards.
const TxnRoot = "/bench/txn"

// TxnConfig configures Txn.
type TxnConfig struct {
	// Conns is the number of connections (default 1) and PerConn the
	// workers sharing each (default 1).
	Conns, PerConn int
	// Conflict makes every worker increment one shared counter; otherwise
	// each increments its own.
	Conflict bool
	Limit    Limit
}

// Txn measures read-modify-write transactions run with Client.Update: read
// a counter, write it plus one, commit; Update retries on EAGAIN. One
// operation is one committed transaction; Attempts counts tries. At the end
// every counter must equal the commits made on it, else Errors counts the
// mismatch.
func Txn(ctx context.Context, dial Dialer, cfg TxnConfig) (Result, error) {
	cfg.Conns, cfg.PerConn = max(cfg.Conns, 1), max(cfg.PerConn, 1)
	if err := cfg.Limit.check(); err != nil {
		return Result{}, err
	}
	ctx, cancel := runCtx(ctx, cfg.Limit)
	defer cancel()
	cs, err := dialAll(ctx, dial, cfg.Conns)
	if err != nil {
		return Result{}, err
	}
	defer closeAll(cs)
	key := func(ci, g int) string {
		if cfg.Conflict {
			return TxnRoot + "/counter"
		}
		return TxnRoot + "/" + strconv.Itoa(ci) + "/" + strconv.Itoa(g)
	}
	for ci, c := range cs {
		for g := range cfg.PerConn {
			if err := c.Write(ctx, key(ci, g), []byte("0")); err != nil {
				return Result{}, fmt.Errorf("xsbench: txn set-up: %w", err)
			}
		}
	}
	defer func() { _ = cleanup(ctx, dial, TxnRoot) }()
	stopWatchdog := watchdog(ctx, cs)

	type tally struct{ commits, attempts int64 }
	tallies := make([][]tally, len(cs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	var rec *recorder
	for ci, c := range cs {
		tallies[ci] = make([]tally, cfg.PerConn)
		for g := range cfg.PerConn {
			wg.Go(func() {
				<-start
				w, commits, attempts := txnWorker(context.WithoutCancel(ctx), c, key(ci, g), rec)
				tallies[ci][g] = tally{commits, attempts}
				rec.merge(w)
			})
		}
	}
	t0 := time.Now()
	rec = newRecorder(ctx, cfg.Limit, t0)
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	rec.stop()
	stopWatchdog()

	// Check the counters.
	var commits, attempts int64
	for ci := range cs {
		for g := range cfg.PerConn {
			commits += tallies[ci][g].commits
			attempts += tallies[ci][g].attempts
			if !cfg.Conflict {
				checkCounter(ctx, cs[ci], key(ci, g), tallies[ci][g].commits, rec)
			}
		}
	}
	if cfg.Conflict {
		checkCounter(ctx, cs[0], key(0, 0), commits, rec)
	}
	res := rec.result(elapsed)
	res.Attempts = attempts
	if attempts > 0 {
		res.ConflictRate = float64(attempts-commits) / float64(attempts)
	}
	return res, nil
}

func checkCounter(ctx context.Context, c *xenstore.Client, key string, want int64, rec *recorder) {
	v, err := c.Read(ctx, key)
	if err != nil {
		rec.fail(fmt.Errorf("xsbench: txn check: %w", err))
		return
	}
	if got, err := strconv.ParseInt(string(v), 10, 64); err != nil || got != want {
		rec.fail(fmt.Errorf("xsbench: txn check: %s is %q after %d commits", key, v, want))
	}
}

func txnWorker(ctx context.Context, c *xenstore.Client, key string, rec *recorder) (w *worker, commits, attempts int64) {
	w = &worker{lat: make([]time.Duration, 0, 1024)}
	incr := func(ctx context.Context, tx *xenstore.Tx) error {
		attempts++
		v, err := tx.Read(ctx, key)
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("xsbench: %s holds %q: %w", key, v, err)
		}
		return tx.Write(ctx, key, strconv.AppendInt(nil, n+1, 10))
	}
	for {
		t0 := time.Now()
		if !rec.next(t0) {
			return w, commits, attempts
		}
		err := c.Update(ctx, incr)
		d := time.Since(t0)
		if err != nil {
			w.fail(err)
			if w.errors >= maxWorkerErrors || c.Err() != nil {
				return w, commits, attempts
			}
			continue
		}
		commits++
		w.lat = append(w.lat, d)
	}
}
