package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/client"
)

// The API's clients in these tests run in child processes of the test
// binary. protoactor's remote layer, which carries a connection, sets
// gRPC's process-wide logger when it starts, racing with the gRPC
// goroutines of any connection before it: a process holds one API
// connection in its life, and the test process runs many tests.
const (
	envChild    = "XENACTORD_TEST_CHILD"        // the child's name in children
	envChildCfg = "XENACTORD_TEST_CHILD_CONFIG" // the client.json it dials with
	envChildArg = "XENACTORD_TEST_CHILD_ARG"    // its argument
)

// children are the client programs a test can run in a child: each dials
// the daemon cfg names, does its part with t (a failed require ends the
// child with status 1) and returns what it prints on stdout as JSON.
var children = map[string]func(t require.TestingT, cfg client.Config, arg string) any{}

func TestMain(m *testing.M) {
	if name := os.Getenv(envChild); name != "" {
		os.Exit(runChild(name))
	}
	os.Exit(m.Run())
}

// childT is the require.TestingT of a child: a failure is printed on
// stderr and ends the process.
type childT struct{}

func (childT) Errorf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (childT) FailNow()                          { os.Exit(1) }

func runChild(name string) int {
	child, ok := children[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "no child %q\n", name)
		return 2
	}
	cfg, err := client.FindConfig(os.Getenv(envChildCfg))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := child(childT{}, cfg, os.Getenv(envChildArg))
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// inChild runs the child name against the daemon of the client.json at
// cfgPath, with arg, and decodes what it printed into out (if not nil).
// It reports whether the child succeeded; its stderr is logged when not.
func inChild(t *testing.T, name, cfgPath, arg string, out any) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+name, envChildCfg+"="+cfgPath, envChildArg+"="+arg)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	require.NoError(t, cmd.Start())
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Logf("child %s: %v\n%s", name, err, stderr.String())
			return false
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("child %s did not end\n%s", name, stderr.String())
	}
	if out != nil {
		require.NoError(t, json.Unmarshal(stdout.Bytes(), out), "child %s printed %q", name, stdout.String())
	}
	return true
}

// mustChild is inChild failing the test when the child fails.
func mustChild(t *testing.T, name, cfgPath, arg string, out any) {
	t.Helper()
	require.True(t, inChild(t, name, cfgPath, arg, out), "child %s failed", name)
}
