// Package emutest helps tests of the save/restore helper and the domain
// builder: it builds the project's helpers, writes hostile stand-ins as
// shell scripts, and checks that nothing of a helper's process group is
// left.
package emutest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BuildHelper builds cmd/xenactor-emu-manager into a temporary directory
// and returns its path.
func BuildHelper(t testing.TB) string {
	t.Helper()
	return build(t, "xenactor-emu-manager")
}

// BuildXenguest builds cmd/xenactor-xenguest, the domain builder, into a
// temporary directory and returns its path.
func BuildXenguest(t testing.TB) string {
	t.Helper()
	return build(t, "xenactor-xenguest")
}

// build builds the command cmd/name into a temporary directory.
func build(t testing.TB, name string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building %s: %v", name, err)
	}
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command(goBin, "build", "-o", out, "github.com/xenactor/xenactor/cmd/"+name)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, b)
	}
	return out
}

// Script writes an executable shell script of body in dir. The script
// first records its pid, its process group's id, in PIDFile(path), and
// runs in dir.
func Script(t testing.TB, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	text := "#!/bin/sh\necho $$ > '" + PIDFile(path) + "'\ncd '" + dir + "' || exit 1\n" + body + "\n"
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatalf("script %s: %v", name, err)
	}
	return path
}

// PIDFile is where the script at path records its pid.
func PIDFile(path string) string { return path + ".pid" }

// ScriptPID returns the pid a script recorded, 0 if none yet.
func ScriptPID(path string) int {
	b, err := os.ReadFile(PIDFile(path))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// GroupAlive reports whether a process of group pgid is alive (not a
// zombie), from /proc.
func GroupAlive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}
