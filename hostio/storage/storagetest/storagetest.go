// Package storagetest helps tests use storage plugins: it builds the
// shipped file plugin, makes plugin directories and SRs in temporary
// directories, and finds the processes a plugin call left.
package storagetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/storage"
)

// FilePluginPackage is the import path of the file plugin's binary.
const FilePluginPackage = "github.com/xenactor/xenactor/cmd/xenactor-sm-file"

// BuildFilePlugin builds the file plugin's binary with the go command into
// a temporary directory of t and returns its path.
func BuildFilePlugin(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "xenactor-sm-file")
	out, err := exec.Command(goBin, "build", "-o", bin, FilePluginPackage).CombinedOutput()
	require.NoError(t, err, "go build %s: %s", FilePluginPackage, out)
	return bin
}

// FileSR installs the file plugin binary bin into a plugin directory,
// makes an SR directory, both under a temporary directory of t, and
// registers the SR as name in reg. It returns the SR's directory.
func FileSR(t testing.TB, reg *storage.Registry, name, bin string) string {
	t.Helper()
	root := t.TempDir()
	plugin, sr := filepath.Join(root, "plugin"), filepath.Join(root, "sr")
	require.NoError(t, storage.Install(plugin, bin))
	require.NoError(t, os.Mkdir(sr, 0o700))
	require.NoError(t, reg.Add(storage.SR{Name: name, PluginDir: plugin, URI: "file://" + sr}))
	return sr
}

// ScriptPlugin makes a plugin directory under a temporary directory of t
// whose calls are shell scripts: scripts maps a function
// ("Datapath.attach") to the body of its /bin/sh script. Functions it does
// not name are missing from the directory.
func ScriptPlugin(t testing.TB, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for fn, body := range scripts {
		require.NoError(t, os.WriteFile(filepath.Join(dir, fn), []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	}
	return dir
}

// GroupMembers lists the live (not zombie) processes of process group
// pgid, read from /proc.
func GroupMembers(t testing.TB, pgid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and ')'.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 3 || fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(fields[2]); err == nil && g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// ReadPID reads the pid a script wrote into path.
func ReadPID(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return pid
}
