package loadbench

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// The scenarios.
const (
	// ScenarioStorm creates and starts VMs, Concurrency at a time.
	ScenarioStorm = "storm"
	// ScenarioChurn runs a weighted mix of lifecycle operations on a set of
	// started VMs for a duration.
	ScenarioChurn = "churn"
	// ScenarioGuests runs VMs whose simulated guest agents report every
	// Interval, and measures the daemon's reads of the reports and its
	// update stream.
	ScenarioGuests = "guests"
	// ScenarioHotplug plugs and unplugs a VBD and a VIF on running VMs for
	// a duration.
	ScenarioHotplug = "hotplug"
	// ScenarioScale brings the running VMs up level by level and measures
	// probe starts and the daemon's memory at each level.
	ScenarioScale = "scale"
)

// Scenarios lists the scenarios.
var Scenarios = []string{ScenarioStorm, ScenarioChurn, ScenarioGuests, ScenarioHotplug, ScenarioScale}

// The operations of the churn mix, the keys of Config.Weights.
const (
	OpStart    = "start"
	OpReboot   = "reboot"
	OpShutdown = "shutdown"
	OpPause    = "pause"
	OpUnpause  = "unpause"
)

// The other operations a sample times.
const (
	OpCreate    = "create"
	OpPlugVBD   = "plug-vbd"
	OpUnplugVBD = "unplug-vbd"
	OpPlugVIF   = "plug-vif"
	OpUnplugVIF = "unplug-vif"
	// OpProbe is a start of the scaling run's probe VMs.
	OpProbe = "probe-start"
)

// ScaleLevels are the full scaling run's levels (DefaultConfig uses the
// first three).
var ScaleLevels = []int{10, 100, 1000, 5000, 10000}

// Config is a scenario's parameters: the flags of its subcommand and the
// fields of its -f file, with the same names.
type Config struct {
	Scenario string `json:"scenario"`
	// VMs is the number of VMs (the storm's, or the set churned, flooded
	// or hot-plugged).
	VMs int `json:"vms"`
	// Concurrency is the number of client goroutines in all, divided
	// among Conns connections (worker processes).
	Concurrency int `json:"concurrency"`
	Conns       int `json:"conns"`
	// Duration is how long churn, guests and hotplug run.
	Duration Duration `json:"duration"`
	// MemoryMiB is each VM's memory.
	MemoryMiB uint64 `json:"memory_mib"`
	// Weights are the churn mix's operations (Op*) and their weights.
	Weights Weights `json:"weights,omitempty"`
	// Interval is how often the guests' agents report (guests).
	Interval Duration `json:"interval,omitempty"`
	// Levels are the running VMs the scaling run measures at; Probe is
	// the number of VMs started (one at a time) and removed at each.
	Levels Ints `json:"levels,omitempty"`
	Probe  int  `json:"probe,omitempty"`
	// Seed seeds the churn's choices.
	Seed int64 `json:"seed,omitempty"`

	// Config is the client.json of a running xenactord to drive; ""
	// starts one. PID is that daemon's process (0: no CPU and memory
	// figures); Metrics the address of its /metrics (host:port).
	Config  string `json:"config,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Metrics string `json:"metrics,omitempty"`
	// SimHost runs the started daemon's host in a separate
	// xenactor-simhost, so that its CPU and memory are its own.
	SimHost bool `json:"simhost,omitempty"`
	// Xenactord and SimHostBin are the binaries to start; "" builds them.
	Xenactord  string `json:"xenactord,omitempty"`
	SimHostBin string `json:"simhost_bin,omitempty"`
	// Console is the started daemon's console mode (xenactord -console):
	// ConsoleLog (the default: no pty per domain, so that the scaling run
	// is not bounded by the kernel's ptys) or ConsolePTY.
	Console string `json:"console,omitempty"`
	// Profile, if set, is a directory where CPU profiles of the started
	// daemon and simulated host are written during the scaling run's fill
	// steps, ProfileLength each, back to back
	// (<process>-fill-<level>-<n>.pprof).
	Profile       string   `json:"profile,omitempty"`
	ProfileLength Duration `json:"profile_length,omitempty"`
}

// The console modes of Config.Console, xenactord's -console.
const (
	ConsoleLog = "log"
	ConsolePTY = "pty"
)

// DefaultConfig returns the defaults of scenario.
func DefaultConfig(scenario string) Config {
	c := Config{Scenario: scenario, VMs: 100, Concurrency: 10, Conns: 1, Duration: Duration(10 * time.Second),
		MemoryMiB: 64, Seed: 1, Console: ConsoleLog, ProfileLength: Duration(20 * time.Second)}
	switch scenario {
	case ScenarioStorm:
		c.VMs = 500
		c.Concurrency = 50
	case ScenarioChurn:
		c.VMs = 50
		c.Weights = Weights{OpStart: 1, OpReboot: 1, OpShutdown: 1, OpPause: 1, OpUnpause: 1}
	case ScenarioGuests:
		c.VMs = 200
		c.Interval = Duration(time.Second)
	case ScenarioHotplug:
		c.VMs = 20
	case ScenarioScale:
		c.VMs = 0
		c.Concurrency = 20
		c.Levels = Ints{10, 100, 1000}
		c.Probe = 10
	}
	return c
}

// Validate checks c.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("loadbench: "+format+": %w", append(args, errdefs.ErrInvalid)...)
	}
	switch {
	case !slices.Contains(Scenarios, c.Scenario):
		return bad("unknown scenario %q", c.Scenario)
	case c.Scenario != ScenarioScale && c.VMs < 1:
		return bad("%d VMs", c.VMs)
	case c.Concurrency < 1 || c.Conns < 1:
		return bad("concurrency %d over %d connections", c.Concurrency, c.Conns)
	case c.Conns > c.Concurrency:
		return bad("more connections (%d) than goroutines (%d)", c.Conns, c.Concurrency)
	case c.MemoryMiB < 1:
		return bad("%d MiB per VM", c.MemoryMiB)
	case c.Scenario == ScenarioScale && (len(c.Levels) == 0 || !slices.IsSorted(c.Levels) || c.Levels[0] < 1):
		return bad("scale levels %v: want increasing counts", c.Levels)
	case c.Scenario == ScenarioScale && c.Probe < 1:
		return bad("%d probe VMs", c.Probe)
	case c.Scenario == ScenarioGuests && c.Interval <= 0:
		return bad("agent interval %s", c.Interval)
	case c.Scenario != ScenarioStorm && c.Scenario != ScenarioScale && c.Duration <= 0:
		return bad("duration %s", c.Duration)
	case c.Console != ConsoleLog && c.Console != ConsolePTY:
		return bad("console mode %q: want %q or %q", c.Console, ConsoleLog, ConsolePTY)
	case c.Profile != "" && (c.Scenario != ScenarioScale || c.Config != ""):
		return bad("-profile is for a scale run of a daemon the run starts")
	case c.Profile != "" && time.Duration(c.ProfileLength) < time.Second:
		return bad("profiles of %s", c.ProfileLength)
	}
	if c.Scenario == ScenarioChurn {
		sum := 0
		for op, w := range c.Weights {
			if !slices.Contains(churnOps, op) || w < 0 {
				return bad("churn weight %s=%d", op, w)
			}
			sum += w
		}
		if sum == 0 {
			return bad("no churn operation has a weight")
		}
	}
	return nil
}

// Output is where a run's report goes: not part of Config.
type Output struct {
	// JSON prints the report as JSON instead of the table; Out writes the
	// JSON to a file as well; Plot writes the SVG plots into a directory.
	JSON  bool
	Out   string
	Plot  string
	Quiet bool
}

// bind defines c's flags on fs, with c's values as defaults.
func (c *Config) bind(fs *flag.FlagSet) {
	fs.IntVar(&c.VMs, "vms", c.VMs, "number of VMs")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "client goroutines in all, divided among the connections")
	fs.IntVar(&c.Conns, "conns", c.Conns, "API connections, one worker process each")
	fs.Var(&c.Duration, "duration", "length of churn, guests and hotplug")
	fs.Uint64Var(&c.MemoryMiB, "memory", c.MemoryMiB, "memory of each VM in MiB")
	fs.Var(&c.Weights, "weights", "churn mix, op=weight,... of start, reboot, shutdown, pause, unpause")
	fs.Var(&c.Interval, "interval", "how often the guests' agents report (guests)")
	fs.Var(&c.Levels, "levels", "running VMs to measure at (scale), e.g. 10,100,1000,5000,10000")
	fs.IntVar(&c.Probe, "probe", c.Probe, "probe VMs started one at a time at each level (scale)")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed of the churn's choices")
	fs.StringVar(&c.Config, "config", c.Config, "client.json of a running xenactord (default: start one)")
	fs.IntVar(&c.PID, "pid", c.PID, "pid of the running xenactord of -config, for its CPU and memory")
	fs.StringVar(&c.Metrics, "metrics", c.Metrics, "host:port of the /metrics of the xenactord of -config")
	fs.BoolVar(&c.SimHost, "simhost", c.SimHost, "run the started daemon's host in a separate xenactor-simhost")
	fs.StringVar(&c.Xenactord, "xenactord", c.Xenactord, "xenactord binary (default: go build it)")
	fs.StringVar(&c.SimHostBin, "simhost-bin", c.SimHostBin, "xenactor-simhost binary (default: go build it)")
	fs.StringVar(&c.Console, "console", c.Console, `the started daemon's console mode: "log" (no ptys) or "pty"`)
	fs.StringVar(&c.Profile, "profile", c.Profile,
		"write CPU profiles of the started daemon and simulated host during the scale run's fills into this directory")
	fs.Var(&c.ProfileLength, "profile-length", "length of each CPU profile of -profile")
}

// ParseArgs parses the arguments of scenario's subcommand: its Config's
// flags, -f <file.json> (a Config as JSON; flags given as well override
// its fields) and the output flags.
func ParseArgs(scenario string, args []string) (Config, Output, error) {
	c, out, err := ParseConfig(scenario, args, func() Config { return DefaultConfig(scenario) }, (*Config).bind,
		func(fc Config) error {
			if fc.Scenario != scenario {
				return fmt.Errorf("a %q scenario, not %q: %w", fc.Scenario, scenario, errdefs.ErrInvalid)
			}
			return nil
		})
	if err != nil {
		return c, out, err
	}
	return c, out, c.Validate()
}

// ParseConfig parses the arguments of a benchmark command named name whose
// config C binds its flags with bind: those flags, -f <file.json> (a C as
// JSON, starting from defaults(); unknown fields are an error, and check,
// if set, vets it; flags given as well override its fields) and the
// Output flags. The caller validates the config.
func ParseConfig[C any](name string, args []string, defaults func() C, bind func(*C, *flag.FlagSet),
	check func(C) error) (C, Output, error) {
	c := defaults()
	var out Output
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	bind(&c, fs)
	file := fs.String("f", "", "a config file (JSON, the flags' fields); flags given override it")
	fs.BoolVar(&out.JSON, "json", false, "print JSON instead of the table")
	fs.StringVar(&out.Out, "out", "", "write the report as JSON to this file too")
	fs.StringVar(&out.Plot, "plot", "", "write the plots (SVG) into this directory")
	fs.BoolVar(&out.Quiet, "q", false, "no progress line on stderr")
	if err := fs.Parse(args); err != nil {
		return c, out, err
	}
	if fs.NArg() > 0 {
		return c, out, fmt.Errorf("%s: unexpected arguments %q: %w", name, fs.Args(), errdefs.ErrInvalid)
	}
	if *file == "" {
		return c, out, nil
	}
	fc := defaults()
	b, err := os.ReadFile(*file)
	if err != nil {
		return c, out, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return c, out, fmt.Errorf("%s: %s: %w", name, *file, errors.Join(errdefs.ErrInvalid, err))
	}
	if check != nil {
		if err := check(fc); err != nil {
			return c, out, fmt.Errorf("%s: %s: %w", name, *file, err)
		}
	}
	// The flags given on the command line win over the file.
	ffs := flag.NewFlagSet(name, flag.ContinueOnError)
	bind(&fc, ffs)
	var err2 error
	fs.Visit(func(f *flag.Flag) {
		if ffs.Lookup(f.Name) != nil && err2 == nil {
			err2 = ffs.Set(f.Name, f.Value.String())
		}
	})
	return fc, out, err2
}

// Duration is a time.Duration that is a string ("10s") in JSON and a flag.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// Set parses a flag's value.
func (d *Duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// MarshalJSON writes d as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a string ("10s") or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("a duration: %s", b)
		}
		*d = Duration(n)
		return nil
	}
	return d.Set(s)
}

// Weights are operations and their weights: "op=n,op=n" as a flag.
type Weights map[string]int

func (w Weights) String() string {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range w {
			if !yield(k) {
				return
			}
		}
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, w[k]))
	}
	return strings.Join(parts, ",")
}

// Set parses a flag's value; it replaces the weights.
func (w *Weights) Set(s string) error {
	m := Weights{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			return fmt.Errorf("not op=weight: %q", f)
		}
		m[k] = n
	}
	*w = m
	return nil
}

// Ints is a list of counts: "10,100" as a flag.
type Ints []int

func (l Ints) String() string {
	parts := make([]string, len(l))
	for i, n := range l {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

// Set parses a flag's value.
func (l *Ints) Set(s string) error {
	var out Ints
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return fmt.Errorf("not a list of counts: %q", s)
		}
		out = append(out, n)
	}
	*l = out
	return nil
}

// UnmarshalJSON replaces the weights (a file's mix is the whole mix, not
// added to the defaults).
func (w *Weights) UnmarshalJSON(b []byte) error {
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*w = m
	return nil
}
