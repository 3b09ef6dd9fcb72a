package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/cmd/xenactor/cli"
	"github.com/xenactor/xenactor/cmd/xenactord/daemon"
	"github.com/xenactor/xenactor/internal/errdefs"
	"github.com/xenactor/xenactor/messages"
)

const (
	waitFor = 20 * time.Second
	tick    = 20 * time.Millisecond
)

// env is an in-process daemon on an embedded simulated host and the CLI
// driving it.
type env struct {
	t *testing.T
	d *daemon.Daemon
	c *client.Client
}

// result is what one command printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
	err            error
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir, err := os.MkdirTemp("", "xcli")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := daemon.Start(ctx, daemon.Config{StateDir: filepath.Join(dir, "state"), RunDir: dir, HostMemoryMiB: 1024})
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Stop() })
	return &env{t: t, d: d, c: client.New(client.InProcess(d.System(), d.API()))}
}

// options are the CLI's options against the env's daemon.
func (e *env) options(stdout, stderr *bytes.Buffer, terminal bool) cli.Options {
	return cli.Options{
		Connect: func(context.Context, string) (*client.Client, error) {
			return client.New(client.InProcess(e.d.System(), e.d.API())), nil
		},
		Stdout: stdout, Stderr: stderr, IsTerminal: terminal,
	}
}

// runCtx runs "xenactor args..." under ctx.
func (e *env) runCtx(ctx context.Context, terminal bool, args ...string) result {
	var stdout, stderr bytes.Buffer
	root := cli.New(e.options(&stdout, &stderr, terminal))
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cli.ExitCode(err), err: err}
}

// run runs "xenactor args..." with a minute's deadline.
func (e *env) run(args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return e.runCtx(ctx, false, args...)
}

// ok runs "xenactor args..." and requires it to succeed; it returns stdout.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	require.Equal(e.t, 0, r.code, "xenactor %s: %v\n%s", strings.Join(args, " "), r.err, r.stderr)
	return r.stdout
}

// fails runs "xenactor args..." and requires exit code code.
func (e *env) fails(code int, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	require.Equal(e.t, code, r.code, "xenactor %s: %v", strings.Join(args, " "), r.err)
	return r
}

// create creates a VM named name with a disk and a network interface and
// returns its uuid.
func (e *env) create(name string, extra ...string) string {
	e.t.Helper()
	args := append([]string{"vm", "create", "--name", name, "--memory", "64M", "--kernel", "sim:linux",
		"--vbd", "devid=51712,params=/dev/loop0", "--vif", "devid=0,mac=00:16:3e:00:00:01,bridge=xenbr0"}, extra...)
	uuid := strings.TrimSpace(e.ok(args...))
	require.Len(e.t, uuid, 36)
	return uuid
}

// state is the power state of VM uuid, through the client.
func (e *env) state(uuid string) messages.PowerState {
	e.t.Helper()
	st, err := e.c.StatVM(context.Background(), uuid)
	require.NoError(e.t, err)
	return st.PowerState
}

// lines splits output into its lines.
func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

// fields is each line of a table split on whitespace.
func fields(s string) [][]string {
	var rows [][]string
	for _, l := range lines(s) {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

func TestCLI_VMLifecycle(t *testing.T) {
	e := newEnv(t)
	uuid := e.create("web", "--vcpus", "2")

	require.Equal(t, [][]string{
		{"UUID", "NAME", "STATE", "DOMID", "VCPUS", "MEMORY"},
		{uuid, "web", "Halted", "-", "2", "64M"},
	}, fields(e.ok("vm", "list")))

	// Addressed by name.
	e.ok("vm", "start", "web")
	require.Equal(t, messages.PowerState_POWER_STATE_RUNNING, e.state(uuid))

	var vms []map[string]any
	require.NoError(t, json.Unmarshal([]byte(e.ok("vm", "list", "--json")), &vms))
	require.Len(t, vms, 1)
	require.Equal(t, "POWER_STATE_RUNNING", vms[0]["power_state"])
	require.Equal(t, uuid, vms[0]["spec"].(map[string]any)["uuid"])
	require.NotZero(t, vms[0]["domid"])

	stat := e.ok("vm", "stat", "web")
	require.Contains(t, stat, "State:")
	require.Contains(t, stat, "Running")
	require.Contains(t, stat, "Devices:")
	require.Regexp(t, `vbd\s+51712\s+\S+\s+\S+`, stat)
	require.Regexp(t, `vif\s+0\s+\S+\s+\S+`, stat)
	var st messages.VMStatus
	require.NoError(t, protoUnmarshal(e.ok("vm", "stat", uuid, "--json"), &st))
	require.Equal(t, uuid, st.Uuid)
	require.Equal(t, messages.PowerState_POWER_STATE_RUNNING, st.PowerState)

	// Devices: listed from the spec and the status, plugged and unplugged.
	rows := fields(e.ok("vbd", "list", "web"))
	require.Equal(t, []string{"DEVID", "PARAMS", "MODE", "VDI", "BACKEND", "FRONTEND"}, rows[0])
	require.Equal(t, []string{"51712", "/dev/loop0", "rw", "-"}, rows[1][:4])
	e.ok("vbd", "plug", "web", "devid=51728,params=/dev/loop1,ro")
	require.Eventually(t, func() bool {
		return strings.Contains(e.ok("vbd", "list", "web"), "51728")
	}, waitFor, tick)
	var vbds []map[string]any
	require.NoError(t, json.Unmarshal([]byte(e.ok("vbd", "list", "web", "--json")), &vbds))
	require.Len(t, vbds, 2)
	e.ok("vbd", "unplug", "web", "51728")
	require.NotContains(t, e.ok("vbd", "list", "web"), "51728")

	rows = fields(e.ok("vif", "list", "web"))
	require.Equal(t, []string{"DEVID", "MAC", "BRIDGE", "BACKEND", "FRONTEND"}, rows[0])
	require.Equal(t, []string{"0", "00:16:3e:00:00:01", "xenbr0"}, rows[1][:3])
	e.ok("vif", "plug", "web", "devid=1,mac=00:16:3e:00:00:02,bridge=xenbr0")
	require.Contains(t, e.ok("vif", "list", "web"), "00:16:3e:00:00:02")
	e.ok("vif", "unplug", "web", "1")
	require.NotContains(t, e.ok("vif", "list", "web"), "00:16:3e:00:00:02")

	e.ok("vm", "pause", "web")
	require.Equal(t, messages.PowerState_POWER_STATE_PAUSED, e.state(uuid))
	e.ok("vm", "unpause", "web")
	require.Equal(t, messages.PowerState_POWER_STATE_RUNNING, e.state(uuid))
	e.ok("vm", "set-memory", "web", "48M")
	e.ok("vm", "set-vcpus", "web", "1")
	e.ok("vm", "reboot", "web", "--hard")
	require.Equal(t, messages.PowerState_POWER_STATE_RUNNING, e.state(uuid))

	// Suspend once the guest advertises it, then resume.
	require.Eventually(t, func() bool {
		st, err := e.c.StatVM(context.Background(), uuid)
		return err == nil && st.Guest != nil && strings.Contains(strings.Join(st.Guest.Features, ","), "suspend")
	}, waitFor, tick)
	stat = e.ok("vm", "stat", "web")
	require.Contains(t, stat, "Guest:")
	require.Regexp(t, `(?m)^\s+Features:\s+.*suspend`, stat)
	e.ok("vm", "suspend", "web")
	require.Equal(t, messages.PowerState_POWER_STATE_SUSPENDED, e.state(uuid))
	e.ok("vm", "resume", "web", "--paused")
	require.Equal(t, messages.PowerState_POWER_STATE_PAUSED, e.state(uuid))
	e.ok("vm", "destroy", "web")
	require.Equal(t, messages.PowerState_POWER_STATE_HALTED, e.state(uuid))
	e.ok("vm", "start", "web", "--paused")
	require.Equal(t, messages.PowerState_POWER_STATE_PAUSED, e.state(uuid))

	// --json prints the finished task.
	var task messages.Task
	require.NoError(t, protoUnmarshal(e.ok("vm", "shutdown", "web", "--hard", "--json"), &task))
	require.Equal(t, messages.TaskState_TASK_STATE_COMPLETED, task.State)
	require.Equal(t, uuid, task.Subject)

	tasks := e.ok("task", "list", "--subject", "web")
	require.Equal(t, []string{"ID", "KIND", "SUBJECT", "STATE", "PROGRESS", "CREATED", "ERROR", "DETAIL"}, fields(tasks)[0])
	require.Contains(t, tasks, "VM.start")
	require.Contains(t, tasks, "Completed")
	var list []map[string]any
	require.NoError(t, json.Unmarshal([]byte(e.ok("task", "list", "--json")), &list))
	require.NotEmpty(t, list)

	e.ok("vm", "remove", "web")
	require.Equal(t, []string{"UUID NAME STATE DOMID VCPUS MEMORY"}, joinFields(e.ok("vm", "list")))
	e.fails(cli.ExitNotFound, "vm", "stat", "web")
}

func TestCLI_Create(t *testing.T) {
	e := newEnv(t)
	uuid := "6f1a2b3c-4d5e-4f60-8a7b-8c9d0e1f2a3b"
	var spec messages.VMSpec
	require.NoError(t, protoUnmarshal(e.ok("vm", "create", "--uuid", uuid, "--name", "db", "--type", "hvm",
		"--vcpus", "4", "--memory", "1G", "--vbd", "devid=768,params=/dev/loop2,ro,vdi=local/disk1",
		"--kernel", "/guest/vmlinuz", "--ramdisk", "/guest/initrd", "--cmdline", "console=hvc0 rdinit=/init", "--json"), &spec))
	require.Equal(t, uuid, spec.Uuid)
	got, err := e.c.StatVM(context.Background(), uuid)
	require.NoError(t, err)
	require.Equal(t, "db", got.Spec.Name)
	require.Equal(t, messages.DomainType_DOMAIN_TYPE_HVM, got.Spec.Type)
	require.EqualValues(t, 4, got.Spec.Vcpus)
	require.EqualValues(t, 1<<20, got.Spec.MemoryKib)
	require.Len(t, got.Spec.Vbds, 1)
	require.True(t, got.Spec.Vbds[0].ReadOnly)
	require.Equal(t, "local/disk1", got.Spec.Vbds[0].Vdi)
	require.Equal(t, "/guest/vmlinuz", got.Spec.Kernel)
	require.Equal(t, "/guest/initrd", got.Spec.Ramdisk)
	require.Equal(t, "console=hvc0 rdinit=/init", got.Spec.Cmdline)

	// From a protojson file.
	file := filepath.Join(t.TempDir(), "spec.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"name": "fromfile", "type": "DOMAIN_TYPE_PV", "vcpus": 1,
		"memory_kib": 65536, "kernel": "sim:linux"}`), 0o600))
	made := strings.TrimSpace(e.ok("vm", "create", "--from-file", file))
	got, err = e.c.StatVM(context.Background(), made)
	require.NoError(t, err)
	require.Equal(t, "fromfile", got.Spec.Name)
	require.EqualValues(t, 64<<10, got.Spec.MemoryKib)
}

func TestCLI_ExitCodes(t *testing.T) {
	e := newEnv(t)
	e.create("web")
	e.create("twin")
	e.create("twin")

	for _, tc := range []struct {
		name string
		code int
		args []string
	}{
		{"unknown command", cli.ExitUsage, []string{"frobnicate"}},
		{"unknown subcommand", cli.ExitUsage, []string{"vm", "frobnicate"}},
		{"no subcommand", cli.ExitUsage, []string{"vm"}},
		{"unknown flag", cli.ExitUsage, []string{"vm", "list", "--frob"}},
		{"missing argument", cli.ExitUsage, []string{"vm", "start"}},
		{"bad memory", cli.ExitUsage, []string{"vm", "create", "--memory", "lots"}},
		{"bad type", cli.ExitUsage, []string{"vm", "create", "--type", "xen"}},
		{"bad vbd", cli.ExitUsage, []string{"vm", "create", "--vbd", "params=/dev/loop0"}},
		{"ambiguous name", cli.ExitUsage, []string{"vm", "stat", "twin"}},
		{"no such name", cli.ExitNotFound, []string{"vm", "start", "nosuch"}},
		{"no such uuid", cli.ExitNotFound, []string{"vm", "stat", "00000000-0000-4000-8000-000000000000"}},
		{"no such task", cli.ExitNotFound, []string{"task", "wait", "nosuch"}},
		{"invalid uuid", cli.ExitInvalid, []string{"vm", "create", "--uuid", "not-a-uuid"}},
		{"invalid vcpus", cli.ExitInvalid, []string{"vm", "create", "--vcpus", "0"}},
		{"exists", cli.ExitBusy, []string{"vm", "create", "--uuid", e.resolve("web")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(tc.args...)
			require.Equal(t, tc.code, r.code, "%v", r.err)
		})
	}
	r := e.run("vm", "stat", "twin")
	require.ErrorContains(t, r.err, "2 VMs are named \"twin\"")

	// The daemon unreachable.
	var stdout, stderr bytes.Buffer
	root := cli.New(cli.Options{Stdout: &stdout, Stderr: &stderr, Connect: func(context.Context, string) (*client.Client,
		error) {
		return nil, errdefs.ErrUnavailable
	}})
	root.SetArgs([]string{"vm", "list"})
	require.Equal(t, cli.ExitUnavailable, cli.ExitCode(root.Execute()))

	require.Equal(t, cli.ExitPermission, cli.ExitCode(&client.Error{Kind: "permission", Message: "bad token"}))
	require.Equal(t, cli.ExitTimeout, cli.ExitCode(context.DeadlineExceeded))
	require.Equal(t, cli.ExitCanceled, cli.ExitCode(context.Canceled))
	require.Equal(t, cli.ExitFailure, cli.ExitCode(os.ErrClosed))
}

// resolve returns the uuid of the VM named name.
func (e *env) resolve(name string) string {
	e.t.Helper()
	vms, err := e.c.ListVMs(context.Background())
	require.NoError(e.t, err)
	for _, v := range vms {
		if v.Spec.Name == name {
			return v.Spec.Uuid
		}
	}
	e.t.Fatalf("no VM %q", name)
	return ""
}

// TestCLI_Tasks runs an operation that never finishes (a clean shutdown the
// guest does not acknowledge) without waiting, then cancels it: waiting for
// it then fails with the task's exit code.
func TestCLI_Tasks(t *testing.T) {
	e := newEnv(t)
	e.create("stuck", "--kernel", "sim:hostile-noack,crash=1h")
	e.ok("vm", "start", "stuck")
	id := strings.TrimSpace(e.ok("vm", "shutdown", "stuck", "--no-wait"))
	require.NotEmpty(t, id)
	r := e.fails(cli.ExitTimeout, "task", "wait", id, "--timeout", "50ms")
	require.ErrorContains(t, r.err, "goes on")
	e.fails(cli.ExitBusy, "task", "destroy", id)
	require.Contains(t, e.ok("task", "list"), "Pending")

	require.Contains(t, e.ok("task", "cancel", id), "cancelling")
	r = e.fails(cli.ExitTaskFailed, "task", "wait", id)
	require.ErrorContains(t, r.err, "task "+id+" failed")
	var list []map[string]any
	require.NoError(t, json.Unmarshal([]byte(e.ok("task", "list", "--json")), &list))
	require.Equal(t, "TASK_STATE_FAILED", list[len(list)-1]["state"])
	require.Equal(t, "canceled", list[len(list)-1]["error"].(map[string]any)["kind"])
	e.ok("task", "destroy", id)
	e.fails(cli.ExitNotFound, "task", "destroy", id)
}

// TestCLI_CancelOnInterrupt interrupts the wait for a task that never
// finishes: by default the task goes on; with --cancel-on-interrupt it is
// cancelled.
func TestCLI_CancelOnInterrupt(t *testing.T) {
	e := newEnv(t)
	uuid := e.create("stuck", "--kernel", "sim:hostile-noack,crash=1h")
	e.ok("vm", "start", "stuck")

	for _, cancelIt := range []bool{false, true} {
		ctx, interrupt := context.WithCancel(context.Background())
		done := make(chan result, 1)
		args := []string{"vm", "shutdown", "stuck"}
		if cancelIt {
			args = append(args, "--cancel-on-interrupt")
		}
		go func() { done <- e.runCtx(ctx, true, args...) }()
		var id string
		require.Eventually(t, func() bool {
			ts, err := e.c.Tasks(context.Background(), uuid)
			require.NoError(t, err)
			for _, task := range ts {
				if task.Kind == "VM.shutdown" && task.State == messages.TaskState_TASK_STATE_PENDING && !task.Cancelling {
					id = task.Id
					return true
				}
			}
			return false
		}, waitFor, tick)
		interrupt()
		r := <-done
		require.Equal(t, cli.ExitCanceled, r.code, "%v", r.err)
		require.Contains(t, r.stderr, "shutdown", "the progress bar was drawn")
		task, err := e.c.Task(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, cancelIt, task.Cancelling)
		if !cancelIt {
			_, err = e.c.CancelTask(context.Background(), id)
			require.NoError(t, err)
		}
		_, err = e.c.Wait(context.Background(), id, nil)
		require.True(t, errdefs.IsCanceled(err), "%v", err)
	}
}

func TestCLI_ProgressBar(t *testing.T) {
	e := newEnv(t)
	e.create("web")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := e.runCtx(ctx, true, "vm", "start", "web")
	require.Equal(t, 0, r.code, "%v", r.err)
	require.Contains(t, r.stderr, "] 100%")
	require.Empty(t, r.stdout)
	r = e.runCtx(ctx, false, "vm", "shutdown", "web", "--hard")
	require.Equal(t, 0, r.code, "%v", r.err)
	require.Empty(t, r.stderr, "no progress when stderr is not a terminal")
}

func TestCLI_Events(t *testing.T) {
	e := newEnv(t)
	r := e.run("events")
	require.Equal(t, 0, r.code, "%v", r.err)
	var next uint64
	_, err := fmtSscanf(r.stderr, "next: %d", &next)
	require.NoError(t, err)

	uuid := e.create("web")
	e.ok("vm", "start", "web")
	r = e.run("events", "--from", uitoa(next))
	require.Equal(t, 0, r.code, "%v", r.err)
	require.Regexp(t, `(?m)^\S+\tvm/`+uuid+`\tchanged$`, r.stdout)

	e.ok("vm", "shutdown", "--hard", "web")
	e.ok("vm", "remove", "web")
	out := e.ok("events", "--from", uitoa(next), "--json")
	var removed bool
	for _, l := range lines(out) {
		var ev struct {
			Time, ID, Change string
			Next             uint64
		}
		require.NoError(t, json.Unmarshal([]byte(l), &ev), l)
		require.NotEmpty(t, ev.Time)
		require.Greater(t, ev.Next, next)
		removed = removed || (ev.ID == "vm/"+uuid && ev.Change == "removed")
	}
	require.True(t, removed, out)

	// --follow prints changes as they come until interrupted.
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var stdout, stderr bytes.Buffer
	opts := e.options(&stdout, &stderr, false)
	w := &lockedBuffer{b: &stdout}
	opts.Stdout = w
	root := cli.New(opts)
	root.SetArgs([]string{"events", "--follow", "--from", uitoa(next)})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	uuid2 := e.create("db")
	e.ok("vm", "start", "db")
	require.Eventually(t, func() bool { return strings.Contains(w.String(), "vm/"+uuid2) }, waitFor, tick)
	interrupt()
	require.NoError(t, <-done)
}

func TestCLI_Host(t *testing.T) {
	e := newEnv(t)
	e.create("web")
	info := e.ok("host", "info")
	require.Regexp(t, `(?m)^Hypervisor:\s+sim$`, info)
	require.Regexp(t, `(?m)^VMs:\s+1 \(0 running\)$`, info)
	require.Regexp(t, `(?m)^Memory:\s+1G total, \S+ free$`, info)
	var h messages.HostInfo
	require.NoError(t, protoUnmarshal(e.ok("host", "info", "--json"), &h))
	require.Equal(t, "sim", h.Hypervisor)
	require.EqualValues(t, 1, h.Vms)

	daemons := e.ok("host", "daemons")
	require.Equal(t, []string{"NAME", "STATE", "PID", "ADOPTED", "RESTARTS", "LAST", "ERROR"}, fields(daemons)[0])
	var ds []map[string]any
	require.NoError(t, json.Unmarshal([]byte(e.ok("host", "daemons", "--json")), &ds))
	require.Len(t, ds, len(lines(daemons))-1)
	require.ErrorContains(t, e.fails(cli.ExitNotFound, "host", "daemon-reset", "no-such-daemon").err, "no-such-daemon")
}

func TestCLI_Completion(t *testing.T) {
	e := newEnv(t)
	uuid := e.create("web")
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out := e.ok("completion", shell)
		require.Contains(t, out, "xenactor", shell)
		require.Contains(t, out, "__complete", shell)
	}
	// Dynamic completion of VMs and tasks.
	out := e.ok("__complete", "vm", "start", "")
	require.Contains(t, out, uuid+"\tweb")
	require.Contains(t, out, "web\t"+uuid)
	id := strings.TrimSpace(e.ok("vm", "start", "web", "--no-wait"))
	out = e.ok("__complete", "task", "wait", "")
	require.Contains(t, out, id+"\tVM.start "+uuid)
	require.Contains(t, e.ok("__complete", "task", "list", "--subject", ""), "web\t"+uuid)
	require.Contains(t, e.ok("__complete", "vm", "create", "--type", ""), "pvh")
}
