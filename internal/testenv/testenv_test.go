package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fakeTB records Fatalf and Skipf and ends the calling goroutine like the
// real ones do.
type fakeTB struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls RequireExternal on a fake TB in its own goroutine.
func run(programs ...string) (*fakeTB, map[string]string) {
	f := &fakeTB{}
	var got map[string]string
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = RequireExternal(f, programs...)
	}()
	<-done
	return f, got
}

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"", false},
		{"0", false},
		{"1", true},
		{"yes", true},
	} {
		t.Setenv(EnvRequireExternal, tc.value)
		if got := Required(); got != tc.want {
			t.Errorf("Required() with %s=%q = %v, want %v", EnvRequireExternal, tc.value, got, tc.want)
		}
	}
}

func TestRequireExternal_Found(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", filepath.Dir(exe))
	f, got := run("tool", exe)
	if f.failed || f.skipped {
		t.Fatalf("RequireExternal stopped the test: %s", f.msg)
	}
	if got["tool"] != exe || got[exe] != exe {
		t.Errorf("RequireExternal = %v, want both names mapped to %s", got, exe)
	}
}

func TestRequireExternal_Missing(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain")
	if err := os.WriteFile(notExec, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	for _, tc := range []struct {
		name     string
		env      string
		programs []string
		wantFail bool
		wantText []string
	}{
		{"skip bare name", "", []string{"xenstore-read"}, false, []string{"xenstore-read", "xenstore-utils"}},
		{"skip absolute path", "0", []string{"/usr/lib/xen-4.17/bin/nonexistent"}, false, []string{"nonexistent"}},
		{"fail when required", "1", []string{"/nonexistent/bin/xenstored", "qemu-system-x86_64"}, true, []string{"qemu-system-x86", EnvRequireExternal}},
		{"not executable", "1", []string{notExec}, true, []string{notExec}},
		{"packages deduplicated", "1", []string{"xenstore-ls", "xenstore-read"}, true, []string{"apt-get install xenstore-utils ("}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvRequireExternal, tc.env)
			f, _ := run(tc.programs...)
			if f.failed != tc.wantFail || f.skipped == tc.wantFail {
				t.Fatalf("failed=%v skipped=%v, want failed=%v: %s", f.failed, f.skipped, tc.wantFail, f.msg)
			}
			for _, s := range tc.wantText {
				if !strings.Contains(f.msg, s) {
					t.Errorf("message %q does not mention %q", f.msg, s)
				}
			}
		})
	}
}

func TestDebianPackage(t *testing.T) {
	for prog, want := range map[string]string{
		"xenstore-ls":                     "xenstore-utils",
		"/usr/lib/xen-4.17/bin/xenstored": "xen-utils-4.17",
		"/usr/bin/gcc":                    "gcc",
		"ovs-vsctl":                       "openvswitch-switch",
		"etcd":                            "etcd-server",
		"no-such-program":                 "",
	} {
		if got := DebianPackage(prog); got != want {
			t.Errorf("DebianPackage(%q) = %q, want %q", prog, got, want)
		}
	}
}

func TestBuffer_ConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("x"))
			}
		})
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Fatalf("got %d bytes, want 800", n)
	}
}
