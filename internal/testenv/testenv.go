// Package testenv holds helpers for tests that need real external programs
// (Debian's C xenstored, xenstore-utils, gcc, QEMU, Open vSwitch, ...).
//
// A test calls RequireExternal with the programs it needs. When one is
// missing the test is skipped with the reason, unless the environment
// variable XENACTOR_REQUIRE_EXTERNAL is set (to anything but "" or "0"), in
// which case it fails and names the Debian package to install. CI sets the
// variable so that a missing dependency is never silently skipped.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// EnvRequireExternal is the environment variable that turns a missing
// external program from a skip into a failure.
const EnvRequireExternal = "XENACTOR_REQUIRE_EXTERNAL"

// debianPackages maps a program (a bare name or an absolute path) to the
// Debian 12 package that provides it.
var debianPackages = map[string]string{
	"xenstore-read":                    "xenstore-utils",
	"xenstore-write":                   "xenstore-utils",
	"xenstore-ls":                      "xenstore-utils",
	"xenstore-list":                    "xenstore-utils",
	"xenstore-rm":                      "xenstore-utils",
	"xenstore-exists":                  "xenstore-utils",
	"xenstore-chmod":                   "xenstore-utils",
	"xenstore-watch":                   "xenstore-utils",
	"xenstore-control":                 "xenstore-utils",
	"gcc":                              "gcc",
	"qemu-system-x86_64":               "qemu-system-x86",
	"ovs-vsctl":                        "openvswitch-switch",
	"ovs-vswitchd":                     "openvswitch-switch",
	"ovsdb-server":                     "openvswitch-switch",
	"ovsdb-tool":                       "openvswitch-switch",
	"ovs-appctl":                       "openvswitch-switch",
	"ovs-ofctl":                        "openvswitch-switch",
	"stunnel4":                         "stunnel4",
	"prometheus":                       "prometheus",
	"etcd":                             "etcd-server",
	"/usr/lib/xen-4.17/bin/xenstored":  "xen-utils-4.17",
	"/usr/lib/xen-4.17/bin/oxenstored": "xen-utils-4.17",
}

// Required reports whether XENACTOR_REQUIRE_EXTERNAL asks for missing
// external programs to fail tests instead of skipping them.
func Required() bool {
	v := os.Getenv(EnvRequireExternal)
	return v != "" && v != "0"
}

// Lookup finds program: an absolute or relative path containing a slash
// must name an executable regular file; a bare name is searched in PATH.
func Lookup(program string) (string, error) {
	if strings.ContainsRune(program, filepath.Separator) {
		fi, err := os.Stat(program)
		if err != nil {
			return "", err
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%s: not an executable file", program)
		}
		return program, nil
	}
	return exec.LookPath(program)
}

// DebianPackage returns the Debian package that provides program, or ""
// when it is not known.
func DebianPackage(program string) string {
	if p, ok := debianPackages[program]; ok {
		return p
	}
	return debianPackages[filepath.Base(program)]
}

// RequireExternal looks up each program and returns a map from the name as
// given to the path found. If any is missing it skips t, or fails it when
// Required reports true; either way the message names what to install.
func RequireExternal(t testing.TB, programs ...string) map[string]string {
	t.Helper()
	found, msg := lookupAll(programs)
	if msg == "" {
		return found
	}
	if Required() {
		t.Fatalf("%s (%s is set)", msg, EnvRequireExternal)
	}
	t.Skipf("%s (set %s=1 to fail instead of skipping)", msg, EnvRequireExternal)
	return nil
}

// lookupAll finds every program. msg is empty when all were found, else it
// lists the missing programs and the Debian packages that provide them.
func lookupAll(programs []string) (found map[string]string, msg string) {
	found = make(map[string]string, len(programs))
	var missing, pkgs []string
	for _, p := range programs {
		path, err := Lookup(p)
		if err == nil {
			found[p] = path
			continue
		}
		missing = append(missing, p)
		if pkg := DebianPackage(p); pkg != "" && !slices.Contains(pkgs, pkg) {
			pkgs = append(pkgs, pkg)
		}
	}
	if len(missing) == 0 {
		return found, ""
	}
	msg = "missing external program(s): " + strings.Join(missing, ", ")
	if len(pkgs) > 0 {
		msg += "; install with: apt-get install " + strings.Join(pkgs, " ") +
			" (or run scripts/install-test-deps.sh as root)"
	}
	return found, msg
}
