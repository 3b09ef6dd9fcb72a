package loadbench

import (
	"context"
	"fmt"
	"time"

	"github.com/xenactor/xenactor/bench/internal/stats"
)

// job is the template of the scenario's jobs of kind.
func (r *run) job(kind string) Job {
	j := Job{Kind: kind, MemoryKiB: r.c.MemoryMiB << 10, Weights: r.c.Weights, Seed: r.c.Seed}
	if r.c.Scenario == ScenarioGuests {
		j.Kernel = "sim:linux,agent=" + r.c.Interval.String()
	}
	return j
}

// storm creates and starts the VMs, measured, then removes them.
func (r *run) storm(ctx context.Context) error {
	vms := uuids(0, r.c.VMs, false)
	res, err := r.step(ctx, "create+start", r.job(jobSetup), vms, 0)
	if err != nil {
		return err
	}
	r.rep.measured(res, r.start)
	r.memoryAt(res)
	return r.teardown(ctx, vms)
}

// memoryAt records the memory per VM with the VMs the results left running.
func (r *run) memoryAt(res []Result) {
	running := 0
	for _, x := range res {
		running += x.Running
	}
	r.rep.RunningVMs = running
	r.rep.DaemonPerVMKiB, r.rep.SimHostPerVMKiB, _, _ = r.perVM(running)
}

// teardown removes vms; its failures are the report's cleanup errors.
func (r *run) teardown(ctx context.Context, vms []string) error {
	res, err := r.step(ctx, "teardown", r.job(jobTeardown), vms, 0)
	r.rep.unmeasured(res)
	return err
}

// timedScenario sets up the VMs of churn, guests or hotplug (unmeasured),
// runs the scenario for its duration and removes them.
func (r *run) timedScenario(ctx context.Context) error {
	vms := uuids(0, r.c.VMs, false)
	res, err := r.step(ctx, "setup", r.job(jobSetup), vms, 0)
	r.rep.unmeasured(res)
	if err != nil {
		return err
	}
	r.memoryAt(res)
	j := r.job(r.c.Scenario)
	j.Duration = r.c.Duration
	var before map[string]float64
	n := 0
	if r.c.Scenario == ScenarioGuests {
		n = 1 // one follower of the update stream
		if before, err = r.guestCounters(ctx); err != nil {
			return err
		}
	}
	t0 := time.Now()
	if res, err = r.step(ctx, r.c.Scenario, j, vms, n); err != nil {
		return err
	}
	r.rep.measured(res, r.start)
	if r.c.Scenario == ScenarioGuests {
		el := time.Since(t0).Seconds()
		after, err := r.guestCounters(ctx)
		if err != nil {
			return err
		}
		r.rep.Rates = map[string]float64{}
		if before != nil {
			r.rep.Rates[RateReads] = (after[metricReads] - before[metricReads]) / el
			r.rep.Rates[RateChanges] = (after[metricChanges] - before[metricChanges]) / el
		}
		ev, b := 0, 0
		for _, x := range res {
			ev += x.Events
			b += x.Batches
		}
		r.rep.Rates[RateEvents] = float64(ev) / el
		r.rep.Rates[RateBatches] = float64(b) / el
	}
	return r.teardown(ctx, vms)
}

// The guest metrics a guests run reads from /metrics.
const (
	metricReads   = "xenactor_guest_reads_total"
	metricChanges = "xenactor_guest_changes_total"
)

// The rates of a guests report.
const (
	RateReads   = "guest report reads/s"
	RateChanges = "guest report changes/s"
	RateEvents  = "update stream ids/s"
	RateBatches = "update stream batches/s"
)

// guestCounters reads the guest counters (nil without a metrics address).
func (r *run) guestCounters(ctx context.Context) (map[string]float64, error) {
	if r.t.metrics == "" {
		return nil, nil
	}
	reads, err := scrape(ctx, r.t.metrics, []string{metricReads}, `result="ok"`)
	if err != nil {
		return nil, fmt.Errorf("loadbench: the daemon's /metrics: %w", err)
	}
	changes, err := scrape(ctx, r.t.metrics, []string{metricChanges}, metricChanges)
	if err != nil {
		return nil, fmt.Errorf("loadbench: the daemon's /metrics: %w", err)
	}
	reads[metricChanges] = changes[metricChanges]
	return reads, nil
}

// scale brings the running VMs up level by level (measured), and at each
// level starts the probe VMs one at a time and removes them again.
func (r *run) scale(ctx context.Context) error {
	running := 0
	for k, level := range r.c.Levels {
		j := r.job(jobSetup)
		j.Running = running
		stopProfiles := r.profileDuring(fmt.Sprintf("fill-%d", level))
		fill, err := r.step(ctx, fmt.Sprintf("fill to %d", level), j, uuids(running, level, false), 0)
		stopProfiles()
		if err != nil {
			return err
		}
		r.rep.measured(fill, r.start)
		for _, x := range fill {
			running += x.Running
		}
		row := LevelRow{Running: running}
		row.DaemonPerVMKiB, row.SimHostPerVMKiB, row.DaemonRSSKiB, row.SimHostRSSKiB = r.perVM(running)
		p := r.job(jobProbe)
		p.Running = running
		probe, err := r.step(ctx, fmt.Sprintf("probe at %d", level), p,
			uuids(k*r.c.Probe, (k+1)*r.c.Probe, true), 1)
		if err != nil {
			return err
		}
		r.rep.measured(probe, r.start)
		var lat []time.Duration
		for _, x := range probe {
			for _, pt := range x.Points[OpProbe] {
				lat = append(lat, pt.Latency)
			}
			for k, n := range x.Errors {
				if row.Errors == nil {
					row.Errors = map[string]int{}
				}
				row.Errors[k] += n
			}
		}
		row.Probes = len(lat)
		row.Probe = stats.Summarize(lat)
		r.rep.Levels = append(r.rep.Levels, row)
		r.logf("scale: %d running: probe start p50 %s, daemon %d MiB", running, row.Probe.P50.Round(10*time.Microsecond),
			row.DaemonRSSKiB>>10)
	}
	r.rep.RunningVMs = running
	r.rep.DaemonPerVMKiB, r.rep.SimHostPerVMKiB, _, _ = r.perVM(running)
	return r.teardown(ctx, uuids(0, r.c.Levels[len(r.c.Levels)-1], false))
}
