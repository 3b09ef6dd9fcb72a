package xsbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// PairsRoot is the subtree Pairs writes under; it is removed afterwards.
const PairsRoot = "/bench/pairs"

// PairsConfig configures Pairs.
type PairsConfig struct {
	// Conns is the number of connections (default 1).
	Conns int
	// PerConn is the number of goroutines sharing each connection
	// (default 1: strictly one outstanding request per connection).
	PerConn int
	Limit   Limit
}

func (c *PairsConfig) defaults() {
	c.Conns = max(c.Conns, 1)
	c.PerConn = max(c.PerConn, 1)
}

// Pairs measures WRITE+READ pairs: every goroutine writes a key of its own
// (PairsRoot/<conn>/<goroutine>) and reads it back, checking the value.
// One operation is one pair.
func Pairs(ctx context.Context, dial Dialer, cfg PairsConfig) (Result, error) {
	cfg.defaults()
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
	// Create the keys first, so that the measured writes all overwrite.
	for ci, c := range cs {
		for g := range cfg.PerConn {
			if err := c.Write(ctx, pairsKey(ci, g), nil); err != nil {
				return Result{}, fmt.Errorf("xsbench: pairs set-up: %w", err)
			}
		}
	}
	defer func() { _ = cleanup(ctx, dial, PairsRoot) }()
	defer watchdog(ctx, cs)()

	start := make(chan struct{})
	var wg sync.WaitGroup
	var rec *recorder
	for ci, c := range cs {
		for g := range cfg.PerConn {
			wg.Go(func() {
				<-start
				rec.merge(pairsWorker(context.WithoutCancel(ctx), c, pairsKey(ci, g), rec))
			})
		}
	}
	t0 := time.Now()
	rec = newRecorder(ctx, cfg.Limit, t0)
	close(start)
	wg.Wait()
	rec.stop()
	return rec.result(time.Since(t0)), nil
}

func pairsKey(conn, g int) string {
	return PairsRoot + "/" + strconv.Itoa(conn) + "/" + strconv.Itoa(g)
}

// maxWorkerErrors stops a worker whose operations keep failing.
const maxWorkerErrors = 100

func pairsWorker(ctx context.Context, c *xenstore.Client, key string, rec *recorder) *worker {
	w := &worker{lat: make([]time.Duration, 0, 1024)}
	var val []byte
	for i := int64(0); ; i++ {
		t0 := time.Now()
		if !rec.next(t0) {
			return w
		}
		val = strconv.AppendInt(append(val[:0], 'v'), i, 10)
		err := pair(ctx, c, key, val)
		d := time.Since(t0)
		if err != nil {
			w.fail(err)
			if w.errors >= maxWorkerErrors || c.Err() != nil {
				return w
			}
			continue
		}
		w.lat = append(w.lat, d)
	}
}

func pair(ctx context.Context, c *xenstore.Client, key string, val []byte) error {
	if err := c.Write(ctx, key, val); err != nil {
		return err
	}
	got, err := c.Read(ctx, key)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, val) {
		return errors.New("xsbench: read " + key + ": got " + strconv.Quote(string(got)) + ", wrote " + strconv.Quote(string(val)))
	}
	return nil
}
