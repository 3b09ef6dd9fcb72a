package statedir_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// holderDirEnv names the state directory TestHelperHoldLock locks when this
// test binary is started as the holder process.
const holderDirEnv = "XENACTOR_STATEDIR_TEST_HOLDER_DIR"

func TestOpen_SecondOpenInProcessBusy(t *testing.T) {
	s, dir := openStore(t)
	_, err := statedir.Open(dir)
	require.Error(t, err)
	assert.True(t, errdefs.IsBusy(err), "%v", err)
	assert.ErrorContains(t, err, "pid "+strconv.Itoa(os.Getpid()))

	require.NoError(t, s.Close())
	reopen(t, dir)
}

func TestOpen_LockedByOtherProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	holder, release := startHolder(t, dir)

	_, err := statedir.Open(dir)
	require.Error(t, err)
	assert.True(t, errdefs.IsBusy(err), "%v", err)
	assert.ErrorContains(t, err, "pid "+strconv.Itoa(holder.Process.Pid))

	// The holder closes its store and exits; the directory is free.
	require.NoError(t, release.Close())
	require.NoError(t, holder.Wait())
	reopen(t, dir)
}

func TestOpen_KilledHolderReleasesLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	holder, _ := startHolder(t, dir)
	_, err := statedir.Open(dir)
	require.True(t, errdefs.IsBusy(err), "%v", err)

	require.NoError(t, holder.Process.Kill())
	_ = holder.Wait() // "signal: killed"
	s := reopen(t, dir)
	_, err = s.List(t.Context(), "vm")
	assert.NoError(t, err)
}

// startHolder runs this test binary as a process that opens the store in
// dir and holds it until the returned writer is closed or the process is
// killed. It returns once the store is open.
func startHolder(t *testing.T, dir string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$", "-test.count=1")
	cmd.Env = append(os.Environ(), holderDirEnv+"="+dir,
		// A race-enabled binary otherwise sleeps 1 s on exit.
		"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})

	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
		io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-line:
		require.Equal(t, "locked\n", l, "holder process")
	case <-time.After(10 * time.Second):
		t.Fatal("holder process did not lock the directory in 10 s")
	}
	return cmd, stdin
}

// TestHelperHoldLock is not a test: startHolder runs it in a child process
// to hold a state directory.
func TestHelperHoldLock(t *testing.T) {
	dir := os.Getenv(holderDirEnv)
	if dir == "" {
		t.Skip("runs only as the holder process of the lock tests")
	}
	s, err := statedir.Open(dir)
	if err != nil {
		fmt.Println("open:", err)
		t.Fatal(err)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
