package evacbench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// The phases a storm worker announces.
const (
	phaseStorm = "storm"
	phaseDone  = "done"
)

// stormJob is what a storm worker runs, beside workerConfig's hosts, VMs,
// memory and parallelism.
type stormJob struct {
	Duration    time.Duration
	Concurrency int
	Seed        uint64
	Live        bool
	Compress    bool
}

// StormSample is one migration of a storm.
type StormSample struct {
	// At is when it was asked for, since the storm began; Latency from
	// the call to the end of its task.
	At      time.Duration `json:"at_ns"`
	Latency time.Duration `json:"latency_ns"`
	// DowntimeMS is the downtime its task's result reports (-1: none).
	DowntimeMS float64 `json:"downtime_ms"`
	From       string  `json:"from"`
	To         string  `json:"to"`
	// Error is the failure's errdefs kind ("other" without one); "" for a
	// migration that succeeded.
	Error string `json:"error,omitempty"`
}

// stormResult is a storm worker's answer.
type stormResult struct {
	SetupMS float64
	// Elapsed is the storm's time, until its last migration ended.
	Elapsed time.Duration
	Samples []StormSample
	// BytesSent adds up what the successful migrations sent.
	BytesSent int64
	// Messages are the first few error messages; Violations the broken
	// invariants found at the end.
	Messages   []string `json:",omitempty"`
	Violations []string `json:",omitempty"`
}

// stormState is the storm in progress: where each VM is, and the samples.
type stormState struct {
	mu      sync.Mutex
	where   map[string]string // uuid -> host; "" when unknown after a failure
	res     *stormResult
	started time.Time
}

// runStorm waits for the pool, creates and starts the VMs spread over the
// hosts, then migrates them between the hosts with Concurrency goroutines
// for Duration, each VM in one migration at a time, and checks at the end
// that every VM runs once, where its last migration put it.
func runStorm(ctx context.Context, c *client.Client, cfg workerConfig, progress func(string, ...any),
	phase func(string)) (*stormResult, error) {
	job := cfg.Storm
	if err := waitPool(ctx, c, cfg.Hosts); err != nil {
		return nil, err
	}
	st := &stormState{where: make(map[string]string, cfg.VMs), res: &stormResult{}}
	uuids := make([]string, cfg.VMs)
	for i := range uuids {
		uuids[i] = vmUUID(i)
		st.where[uuids[i]] = cfg.Hosts[i%len(cfg.Hosts)]
	}
	start := time.Now()
	where := func(uuid string) string { return st.where[uuid] }
	if err := bootVMs(ctx, c, cfg.Parallel, uuids, where, cfg.MemoryKiB); err != nil {
		return nil, err
	}
	st.res.SetupMS = ms(time.Since(start))
	progress("%d VMs running on %d hosts in %.0f ms", cfg.VMs, len(cfg.Hosts), st.res.SetupMS)

	// Each VM is in the queue once, so no two migrations of one VM overlap.
	rng := rand.New(rand.NewPCG(job.Seed, job.Seed))
	queue := make(chan string, len(uuids))
	for _, i := range rng.Perm(len(uuids)) {
		queue <- uuids[i]
	}
	phase(phaseStorm)
	st.started = time.Now()
	deadline := st.started.Add(job.Duration)
	sctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var wg sync.WaitGroup
	for g := range job.Concurrency {
		r := rand.New(rand.NewPCG(job.Seed, uint64(g)+1))
		wg.Go(func() {
			for {
				var uuid string
				select {
				case <-sctx.Done():
					return
				case uuid = <-queue:
				}
				if st.migrate(ctx, c, cfg.Hosts, uuid, job, r) {
					queue <- uuid
				}
			}
		})
	}
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				n, failed := st.counts()
				el := time.Since(st.started).Seconds()
				progress("storm: %d migrations, %.1f/s, %d errors, %.0fs elapsed", n, float64(n)/el, failed, el)
			}
		}
	}()
	wg.Wait()
	close(done)
	st.res.Elapsed = time.Since(st.started)
	phase(phaseDone)
	st.verify(ctx, c, uuids)
	return st.res, nil
}

// migrate migrates uuid from where it is to another host, chosen with r,
// and records it; it reports whether the VM may be migrated again (its
// host is known).
func (st *stormState) migrate(ctx context.Context, c *client.Client, hosts []string, uuid string, job *stormJob,
	r *rand.Rand) bool {
	st.mu.Lock()
	from := st.where[uuid]
	st.mu.Unlock()
	if from == "" {
		return false
	}
	to := hosts[r.IntN(len(hosts)-1)]
	if to == from {
		to = hosts[len(hosts)-1]
	}
	t0 := time.Now()
	src := c.On(from)
	var task *messages.Task
	t, err := src.MigrateVMToHost(ctx, uuid, to, job.Live, job.Compress)
	if err == nil {
		task, err = t.Wait(ctx, nil)
		_ = src.DestroyTask(ctx, t.ID)
	}
	s := StormSample{At: t0.Sub(st.started), Latency: time.Since(t0), DowntimeMS: -1, From: from, To: to}
	var res migrateResult
	if err == nil && json.Unmarshal(task.GetResult(), &res) == nil {
		s.DowntimeMS = res.DowntimeMS
	}
	now := to
	if err != nil {
		if s.Error = errdefs.Kind(err); s.Error == "" {
			s.Error = "other"
		}
		// Where did it end? The pool says.
		now = ""
		if w, lerr := locate(ctx, c); lerr == nil && w[uuid].count == 1 {
			now = w[uuid].host
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.where[uuid] = now
	st.res.Samples = append(st.res.Samples, s)
	if err != nil {
		if len(st.res.Messages) < maxMessages {
			st.res.Messages = append(st.res.Messages, fmt.Sprintf("%s from %s to %s: %v", uuid, from, to, err))
		}
	} else {
		st.res.BytesSent += res.BytesSent
	}
	return now != ""
}

// counts returns the migrations so far and the failed ones.
func (st *stormState) counts() (n, failed int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.res.Samples {
		if s.Error != "" {
			failed++
		}
	}
	return len(st.res.Samples), failed
}

// verify records as violations every VM the pool does not list exactly
// once, Running, on the host its last migration left it on.
func (st *stormState) verify(ctx context.Context, c *client.Client, uuids []string) {
	where, err := locate(ctx, c)
	if err != nil {
		st.res.Violations = append(st.res.Violations, "the pool's VMs could not be listed: "+err.Error())
		return
	}
	for _, u := range uuids {
		p, want := where[u], st.where[u]
		switch {
		case p.count == 0:
			st.res.Violations = append(st.res.Violations, fmt.Sprintf("VM %s is on no host", u))
		case p.count > 1:
			st.res.Violations = append(st.res.Violations, fmt.Sprintf("VM %s is listed %d times", u, p.count))
		case p.state != messages.PowerState_POWER_STATE_RUNNING:
			st.res.Violations = append(st.res.Violations, fmt.Sprintf("VM %s is %s on %s", u, p.state, p.host))
		case want != "" && p.host != want:
			st.res.Violations = append(st.res.Violations, fmt.Sprintf("VM %s is on %s, migrated to %s", u, p.host, want))
		}
	}
}
