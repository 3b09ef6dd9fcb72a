package process_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestManager_Start_WritesPidFileAndLog(t *testing.T) {
	m := newManager(t, 5*time.Second)
	p, err := m.Start(t.Context(), helperSpec(t, "d1", "serve"))
	require.NoError(t, err)
	stopAtEnd(t, p)
	require.False(t, p.Adopted())
	require.True(t, alive(p.Pid()))

	data, err := os.ReadFile(m.PidFile("d1"))
	require.NoError(t, err)
	var rec struct {
		Pid       int    `json:"pid"`
		StartTime uint64 `json:"start_time"`
	}
	require.NoError(t, json.Unmarshal(data, &rec))
	require.Equal(t, p.Pid(), rec.Pid)
	require.NotZero(t, rec.StartTime)

	require.Eventually(t, func() bool {
		log, _ := os.ReadFile(m.LogFile("d1"))
		return strings.Contains(string(log), "hello on stdout") && strings.Contains(string(log), "hello on stderr")
	}, 10*time.Second, 10*time.Millisecond)
}

func TestManager_Start_RefusesASecondInstance(t *testing.T) {
	m := newManager(t, 5*time.Second)
	spec := helperSpec(t, "d1", "serve")
	p, err := m.Start(t.Context(), spec)
	require.NoError(t, err)
	stopAtEnd(t, p)
	_, err = m.Start(t.Context(), spec)
	require.True(t, errdefs.IsExists(err), "%v", err)
}

func TestManager_Start_InvalidSpec(t *testing.T) {
	m := newManager(t, time.Second)
	for _, spec := range []process.Spec{
		{Name: "", Path: "/bin/true"},
		{Name: "../x", Path: "/bin/true"},
		{Name: ".hidden", Path: "/bin/true"},
		{Name: "x", Path: ""},
	} {
		_, err := m.Start(t.Context(), spec)
		require.True(t, errdefs.IsInvalid(err), "%+v: %v", spec, err)
	}
	_, err := m.Start(t.Context(), process.Spec{Name: "x", Path: "/nonexistent/program"})
	require.True(t, errdefs.IsNotFound(err), "%v", err)
}

func TestProc_Done_ReportsExit(t *testing.T) {
	m := newManager(t, time.Second)
	p, err := m.Start(t.Context(), helperSpec(t, "crash", "exit1"))
	require.NoError(t, err)
	<-p.Done()
	require.True(t, errdefs.IsUnavailable(p.ExitErr()), "%v", p.ExitErr())
	require.Contains(t, p.ExitErr().Error(), "exit status 1")
	require.NoFileExists(t, m.PidFile("crash"))
}

func TestProc_Done_ReportsKill(t *testing.T) {
	m := newManager(t, time.Second)
	p, err := m.Start(t.Context(), helperSpec(t, "d1", "serve"))
	require.NoError(t, err)
	require.Nil(t, p.ExitErr())
	require.NoError(t, syscall.Kill(p.Pid(), syscall.SIGKILL))
	<-p.Done()
	require.ErrorContains(t, p.ExitErr(), "killed")
	require.True(t, errdefs.IsNotFound(p.Signal(syscall.SIGTERM)))
}

func TestProc_Stop_Graceful(t *testing.T) {
	m := newManager(t, time.Hour)
	p, err := m.Start(t.Context(), helperSpec(t, "d1", "serve"))
	require.NoError(t, err)
	waitLog(t, m, "d1") // its SIGTERM handler is installed
	require.NoError(t, p.Stop(t.Context()))
	require.Nil(t, p.ExitErr())
	require.False(t, alive(p.Pid()))
	require.NoFileExists(t, m.PidFile("d1"))
}

func TestProc_Stop_KillsAfterGrace(t *testing.T) {
	m := newManager(t, 200*time.Millisecond)
	p, err := m.Start(t.Context(), helperSpec(t, "stubborn", "ignore-term"))
	require.NoError(t, err)
	waitLog(t, m, "stubborn") // SIGTERM is ignored from now on
	require.NoError(t, p.Stop(t.Context()))
	require.False(t, alive(p.Pid()))
	require.NoFileExists(t, m.PidFile("stubborn"))
}

func TestManager_Adopt_LiveProcessOfAnotherManager(t *testing.T) {
	m1 := newManager(t, 5*time.Second)
	spec := helperSpec(t, "d1", "serve", "--flag", "a b")
	p1, err := m1.Start(t.Context(), spec)
	require.NoError(t, err)
	stopAtEnd(t, p1)
	waitLog(t, m1, "d1")

	m2, err := process.NewManager(m1.RunDir(), process.WithGrace(5*time.Second))
	require.NoError(t, err)
	p2, err := m2.Adopt(spec)
	require.NoError(t, err)
	require.True(t, p2.Adopted())
	require.Equal(t, p1.Pid(), p2.Pid())

	require.NoError(t, p2.Stop(t.Context()))
	<-p1.Done()
	require.Nil(t, p2.ExitErr())
	require.NoFileExists(t, m1.PidFile("d1"))
}

func TestManager_Adopt_DetectsExitOfAdopted(t *testing.T) {
	m := newManager(t, 5*time.Second)
	spec := helperSpec(t, "d1", "serve")
	p1, err := m.Start(t.Context(), spec)
	require.NoError(t, err)
	p2, err := m.Adopt(spec)
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(p1.Pid(), syscall.SIGKILL))
	<-p2.Done()
	require.True(t, errdefs.IsUnavailable(p2.ExitErr()), "%v", p2.ExitErr())
}

func TestManager_Adopt_RefusesForeignOrStale(t *testing.T) {
	// A live program that is not the spec's: /bin/sleep.
	sleep := exec.Command("sleep", "3600")
	require.NoError(t, sleep.Start())
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	sleepStart := startTime(t, sleep.Process.Pid)

	// A live instance of the spec's program, run from another directory.
	spec := helperSpec(t, "d1", "serve")
	other := newManager(t, 5*time.Second)
	helper, err := other.Start(t.Context(), spec)
	require.NoError(t, err)
	stopAtEnd(t, helper)
	helperStart := startTime(t, helper.Pid())
	exe, err := os.Executable()
	require.NoError(t, err)

	m := newManager(t, time.Second)
	otherArgs := spec
	otherArgs.Args = append(slices.Clone(spec.Args), "-x")
	cases := []struct {
		name string
		rec  string
		spec process.Spec
	}{
		{"another program", pidJSON(sleep.Process.Pid, sleepStart, exe, spec.Args), spec},
		{"reused pid", pidJSON(helper.Pid(), helperStart+1, exe, spec.Args), spec},
		{"other arguments running", pidJSON(helper.Pid(), helperStart, exe, otherArgs.Args), otherArgs},
		{"other arguments recorded", pidJSON(helper.Pid(), helperStart, exe, otherArgs.Args), spec},
		{"dead pid", pidJSON(1<<22+1, 1, exe, spec.Args), spec},
		{"garbage", "not json", spec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(m.PidFile("d1"), []byte(tc.rec), 0o644))
			_, err := m.Adopt(tc.spec)
			require.True(t, errdefs.IsNotFound(err), "%v", err)
			require.NoFileExists(t, m.PidFile("d1"))
			require.True(t, alive(sleep.Process.Pid))
			require.True(t, alive(helper.Pid()))
		})
	}
	_, err = m.Adopt(spec)
	require.True(t, errdefs.IsNotFound(err), "no pid file: %v", err)

	// The same record with the right start time and arguments is adopted.
	require.NoError(t, os.WriteFile(m.PidFile("d1"), []byte(pidJSON(helper.Pid(), helperStart, exe, spec.Args)), 0o644))
	p, err := m.Adopt(spec)
	require.NoError(t, err)
	require.Equal(t, helper.Pid(), p.Pid())
}

// waitLog waits until the helper daemon name has logged its greeting,
// which it prints after setting up its signal handling.
func waitLog(t *testing.T, m *process.Manager, name string) {
	t.Helper()
	require.Eventually(t, func() bool {
		log, _ := os.ReadFile(m.LogFile(name))
		return strings.Contains(string(log), "hello on stderr")
	}, 10*time.Second, 10*time.Millisecond)
}

// startTime reads field 22 of /proc/<pid>/stat.
func startTime(t *testing.T, pid int) uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	require.NoError(t, err)
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	v, err := strconv.ParseUint(fields[22-3], 10, 64)
	require.NoError(t, err)
	return v
}

// pidJSON returns a pid file's content.
func pidJSON(pid int, start uint64, exe string, args []string) string {
	data, _ := json.Marshal(map[string]any{"version": 1, "pid": pid, "start_time": start, "exe": exe, "args": args})
	return string(data)
}

func TestManager_Start_MovesALargeLogAside(t *testing.T) {
	m, err := process.NewManager(t.TempDir(), process.WithMaxLogBytes(100))
	require.NoError(t, err)
	old := strings.Repeat("old line\n", 20)
	require.NoError(t, os.WriteFile(m.LogFile("d1"), []byte(old), 0o640))

	p, err := m.Start(t.Context(), helperSpec(t, "d1", "serve"))
	require.NoError(t, err)
	stopAtEnd(t, p)
	waitLog(t, m, "d1")
	log, err := os.ReadFile(m.LogFile("d1"))
	require.NoError(t, err)
	require.NotContains(t, string(log), "old line")
	moved, err := os.ReadFile(m.LogFile("d1") + ".1")
	require.NoError(t, err)
	require.Equal(t, old, string(moved))
}
