package evacbench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

// The worker's protocol: the benchmark writes a workerConfig as one JSON
// line on the worker's stdin; the worker writes progressPrefix lines while
// it runs, then resultPrefix and a workerResult as JSON, and exits. Other
// lines on its stdout are ignored.
const (
	progressPrefix = "evacbench-progress "
	resultPrefix   = "evacbench-result "
	// phasePrefix lines name the phase the worker enters (phaseStorm,
	// phaseDone), so that the benchmark reads the daemons' CPU time
	// around the measured part.
	phasePrefix = "evacbench-phase "
)

// The worker's jobs (workerConfig.Mode).
const (
	modeEvacuate = "" // the evacuations of Run
	modeStorm    = "storm"
)

// workerConfig is what a worker runs.
type workerConfig struct {
	// ClientConfig is the client.json of the host it connects to.
	ClientConfig string
	Source       string
	Hosts        []string
	VMs          int
	MemoryKiB    uint64
	Batches      []int
	// Parallel is how many VMs it creates, starts or moves back at once.
	Parallel int
	// Mode is the job: modeEvacuate or modeStorm, with Storm.
	Mode  string    `json:",omitempty"`
	Storm *stormJob `json:",omitempty"`
}

// workerResult is a worker's answer.
type workerResult struct {
	SetupMS float64
	Rows    []Row
	Storm   *stormResult `json:",omitempty"`
	Error   string       `json:",omitempty"`
}

// dialTimeout bounds the worker's dial, poolTimeout the wait for every host
// to be up in the pool.
const (
	dialTimeout = 2 * time.Minute
	poolTimeout = time.Minute
)

// maxMessages bounds the error messages a row keeps.
const maxMessages = 5

// WorkerMain is the body of a worker process (`xenactor-bench
// evac-worker`): it reads its configuration on stdin, runs the
// evacuations over one API connection and writes the result on stdout, as
// described in the package comment.
func WorkerMain(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 0, 64<<10), 1<<20)
	if !in.Scan() {
		return fmt.Errorf("evacbench worker: no configuration on stdin: %w", errdefs.ErrInvalid)
	}
	var cfg workerConfig
	if err := json.Unmarshal(in.Bytes(), &cfg); err != nil {
		return fmt.Errorf("evacbench worker: configuration: %v: %w", err, errdefs.ErrInvalid)
	}
	ccfg, err := client.FindConfig(cfg.ClientConfig)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := client.Dial(dctx, ccfg)
	cancel()
	if err != nil {
		return fmt.Errorf("evacbench worker: dial: %w", err)
	}
	var mu sync.Mutex
	progress := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, progressPrefix+format+"\n", args...)
	}
	phase := func(name string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(stdout, phasePrefix+name)
	}
	var res workerResult
	if cfg.Mode == modeStorm && cfg.Storm != nil {
		res.Storm, err = runStorm(ctx, c, cfg, progress, phase)
		if res.Storm != nil {
			res.SetupMS = res.Storm.SetupMS
		}
	} else {
		res.SetupMS, res.Rows, err = runEvacuations(ctx, c, cfg, progress)
	}
	if err != nil {
		res.Error = err.Error()
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "%s%s\n", resultPrefix, b); err != nil {
		return err
	}
	return c.Close()
}

// runEvacuations waits for the pool, creates and starts the VMs on the
// source, and evacuates it with each batch size, moving the VMs back
// before each evacuation but the first.
func runEvacuations(ctx context.Context, c *client.Client, cfg workerConfig,
	progress func(string, ...any)) (float64, []Row, error) {
	if err := waitPool(ctx, c, cfg.Hosts); err != nil {
		return 0, nil, err
	}
	uuids := make([]string, cfg.VMs)
	for i := range uuids {
		uuids[i] = vmUUID(i)
	}
	start := time.Now()
	if err := bootVMs(ctx, c, cfg.Parallel, uuids, func(string) string { return cfg.Source }, cfg.MemoryKiB); err != nil {
		return 0, nil, err
	}
	setup := ms(time.Since(start))
	progress("%d VMs running on %s in %.0f ms", cfg.VMs, cfg.Source, setup)
	var rows []Row
	for i, batch := range cfg.Batches {
		if i > 0 {
			if err := moveBack(ctx, c, cfg, uuids); err != nil {
				return setup, rows, err
			}
		}
		row, err := evacuate(ctx, c, cfg, uuids, batch)
		if err != nil {
			return setup, rows, fmt.Errorf("batch %d: %w", batch, err)
		}
		progress("batch %d: %d VMs in %.0f ms (%.1f VMs/s), migration p50 %.0f ms, %d errors, %d violations",
			batch, row.VMs, row.TotalMS, row.VMsPerSecond, row.Migration.P50, len(row.Errors), len(row.Violations))
		rows = append(rows, row)
	}
	return setup, rows, nil
}

// waitPool waits until the pool lists every host up.
func waitPool(ctx context.Context, c *client.Client, hosts []string) error {
	deadline := time.Now().Add(poolTimeout)
	for {
		got, err := c.PoolHosts(ctx)
		up := 0
		for _, h := range got {
			if h.GetUp() && h.GetMemoryTotalKib() > 0 {
				up++
			}
		}
		if err == nil && up == len(hosts) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("evacbench: %d of %d hosts up in the pool after %s (%v): %w", up, len(hosts),
				poolTimeout, err, errdefs.ErrTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// moveBack migrates every VM back to the source by host name and checks
// they all run there.
func moveBack(ctx context.Context, c *client.Client, cfg workerConfig, uuids []string) error {
	where, err := locate(ctx, c)
	if err != nil {
		return err
	}
	err = parallel(cfg.Parallel, uuids, func(uuid string) error {
		host := where[uuid].host
		if host == cfg.Source {
			return nil
		}
		t, err := c.On(host).MigrateVMToHost(ctx, uuid, cfg.Source, true, false)
		if err == nil {
			_, err = t.Wait(ctx, nil)
		}
		if err != nil {
			return fmt.Errorf("moving %s back from %s: %w", uuid, host, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if where, err = locate(ctx, c); err != nil {
		return err
	}
	for _, uuid := range uuids {
		if p := where[uuid]; p.host != cfg.Source || p.count != 1 || p.state != messages.PowerState_POWER_STATE_RUNNING {
			return fmt.Errorf("evacbench: VM %s is not back, Running once on %s: %+v", uuid, cfg.Source, p)
		}
	}
	return nil
}

// evacuate times one evacuation of the source and checks its outcome.
func evacuate(ctx context.Context, c *client.Client, cfg workerConfig, uuids []string, batch int) (Row, error) {
	row := Row{Batch: batch, VMs: len(uuids), Placement: map[string]int{}}
	start := time.Now()
	evs, err := c.PoolEvacuate(ctx, cfg.Source, batch)
	elapsed := time.Since(start)
	if err != nil {
		return row, err
	}
	row.TotalMS = ms(elapsed)
	row.VMsPerSecond = float64(len(uuids)) / elapsed.Seconds()
	ours := make(map[string]bool, len(uuids))
	for _, u := range uuids {
		ours[u] = true
	}
	where, err := locate(ctx, c)
	if err != nil {
		return row, err
	}
	check(cfg.Source, uuids, evs, where, &row)
	if err := timings(ctx, c.On(cfg.Source), start, ours, &row); err != nil {
		return row, err
	}
	return row, nil
}

// check counts the migrated VMs and the errors of an evacuation of source
// that reported evs, and records in the row each broken invariant: every
// VM of uuids reported once, migrated to another host, listed once by the
// pool, Running, where the report says; source lists no VM.
func check(source string, uuids []string, evs []*messages.EvacuatedVM, where map[string]where, row *Row) {
	ours := make(map[string]bool, len(uuids))
	for _, u := range uuids {
		ours[u] = true
	}
	reported := map[string]string{}
	for _, ev := range evs {
		u := ev.GetUuid()
		if !ours[u] {
			row.Violations = append(row.Violations, fmt.Sprintf("the evacuation reported a VM not ours: %s", u))
			continue
		}
		if _, dup := reported[u]; dup {
			row.Violations = append(row.Violations, fmt.Sprintf("VM %s reported twice", u))
		}
		reported[u] = ev.GetTo()
		if e := ev.GetError(); e != nil {
			if row.Errors == nil {
				row.Errors = map[string]int{}
			}
			row.Errors[e.GetKind()]++
			if len(row.Messages) < maxMessages {
				row.Messages = append(row.Messages, u+": "+e.GetMessage())
			}
			continue
		}
		if ev.GetHow() == "migrated" && ev.GetTo() != "" && ev.GetTo() != source {
			row.Migrated++
		} else {
			row.Violations = append(row.Violations, fmt.Sprintf("VM %s reported %q to %q", u, ev.GetHow(), ev.GetTo()))
		}
	}
	for u, p := range where {
		if p.host == source {
			row.Violations = append(row.Violations, fmt.Sprintf("VM %s is still on %s", u, source))
		}
	}
	for _, u := range uuids {
		p := where[u]
		row.Placement[p.host]++
		switch {
		case p.count == 0:
			row.Violations = append(row.Violations, fmt.Sprintf("VM %s is on no host", u))
		case p.count > 1:
			row.Violations = append(row.Violations, fmt.Sprintf("VM %s is listed %d times", u, p.count))
		case p.state != messages.PowerState_POWER_STATE_RUNNING:
			row.Violations = append(row.Violations, fmt.Sprintf("VM %s is %s on %s", u, p.state, p.host))
		}
		if to, ok := reported[u]; !ok {
			row.Violations = append(row.Violations, fmt.Sprintf("VM %s missing from the evacuation's report", u))
		} else if to != "" && to != p.host {
			row.Violations = append(row.Violations, fmt.Sprintf("VM %s reported on %s, listed on %s", u, to, p.host))
		}
	}
}

// timings fills the row's migration times and downtimes from the
// VM.migrate tasks of src created since start.
func timings(ctx context.Context, src *client.Client, start time.Time, ours map[string]bool, row *Row) error {
	tasks, err := src.Tasks(ctx, "")
	if err != nil {
		return fmt.Errorf("tasks of the evacuated host: %w", err)
	}
	fromTasks(tasks, start, ours, row)
	return nil
}

// fromTasks fills the row's migration times and downtimes from the latest
// completed VM.migrate task of each VM of ours created since start.
func fromTasks(tasks []*messages.Task, start time.Time, ours map[string]bool, row *Row) {
	latest := map[string]*messages.Task{}
	for _, t := range tasks {
		if t.GetKind() != "VM.migrate" || !ours[t.GetSubject()] || t.GetCreatedUnixNano() < start.UnixNano() ||
			t.GetState() != messages.TaskState_TASK_STATE_COMPLETED {
			continue
		}
		if prev := latest[t.GetSubject()]; prev == nil || prev.GetCreatedUnixNano() < t.GetCreatedUnixNano() {
			latest[t.GetSubject()] = t
		}
	}
	var durations, downtimes []float64
	for _, t := range latest {
		durations = append(durations, float64(t.GetDurationNanos())/float64(time.Millisecond))
		var res migrateResult
		if err := json.Unmarshal(t.GetResult(), &res); err == nil {
			downtimes = append(downtimes, res.DowntimeMS)
			row.BytesSent += res.BytesSent
		}
	}
	row.Timed = len(durations)
	row.Migration, row.Downtime = percentiles(durations), percentiles(downtimes)
	if row.Timed != row.Migrated {
		row.Violations = append(row.Violations, fmt.Sprintf("%d VM.migrate tasks completed on the evacuated host "+
			"for %d VMs migrated", row.Timed, row.Migrated))
	}
}

// where is what the pool lists of a VM.
type where struct {
	host  string
	state messages.PowerState
	count int
}

// locate lists the pool's VMs.
func locate(ctx context.Context, c *client.Client) (map[string]where, error) {
	vms, err := c.PoolVMs(ctx)
	if err != nil {
		return nil, fmt.Errorf("pool vms: %w", err)
	}
	out := map[string]where{}
	for _, v := range vms {
		u := v.GetVm().GetSpec().GetUuid()
		p := out[u]
		p.host, p.state = v.GetHost(), v.GetVm().GetPowerState()
		p.count++
		out[u] = p
	}
	return out, nil
}

// parallel runs f on each item, n at a time, and returns the errors
// joined, the first few of them.
func parallel(n int, items []string, f func(string) error) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	work := make(chan string)
	for range max(n, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				if err := f(it); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	if len(errs) > maxMessages {
		errs = append(errs[:maxMessages], fmt.Errorf("and %d more", len(errs)-maxMessages))
	}
	return errors.Join(errs...)
}

// vmSpec is the spec of a benchmark VM: PV, one vCPU, no devices.
// bootVMs creates and starts the VMs uuids, n at a time, each on the pool
// host host(uuid), and waits for their starts.
func bootVMs(ctx context.Context, c *client.Client, n int, uuids []string, host func(string) string,
	memKiB uint64) error {
	return parallel(n, uuids, func(uuid string) error {
		h := c.On(host(uuid))
		if err := h.CreateVM(ctx, vmSpec(uuid, memKiB)); err != nil {
			return fmt.Errorf("create %s: %w", uuid, err)
		}
		t, err := h.StartVM(ctx, uuid, false)
		if err == nil {
			_, err = t.Wait(ctx, nil)
		}
		if err != nil {
			return fmt.Errorf("start %s: %w", uuid, err)
		}
		return nil
	})
}

func vmSpec(uuid string, memKiB uint64) *messages.VMSpec {
	return &messages.VMSpec{Uuid: uuid, Name: "evac-" + uuid[len(uuid)-6:],
		Type: messages.DomainType_DOMAIN_TYPE_PV, Vcpus: 1, MemoryKib: memKiB, Kernel: "sim:linux"}
}

// vmUUID is the uuid of VM i.
func vmUUID(i int) string { return fmt.Sprintf("e7ac0000-0000-4000-8000-%012x", i) }

// migrateResult is the part of a VM.migrate task's result (JSON, see
// docs/migration.md) the benchmark reads.
type migrateResult struct {
	BytesSent  int64   `json:"bytes_sent"`
	DowntimeMS float64 `json:"downtime_ms"`
}
