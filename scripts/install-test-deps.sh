#!/usr/bin/env bash
# Installs the Debian 12 packages the tests need when they are missing.
#
# As root: runs `apt-get update` once (only if something is missing), then
# installs the missing packages. Not as root: prints what to install and
# exits 0, or 1 when XENACTOR_REQUIRE_EXTERNAL is set (CI), since the tests
# would then fail instead of skipping.
#
# To add a dependency, append its package to PACKAGES (and map the program to
# the package in internal/testenv/testenv.go so skipped tests name it).
set -euo pipefail

PACKAGES=(
	xenstore-utils # xenstore-read, xenstore-ls, ...: client interoperability tests
	xen-utils-4.17 # /usr/lib/xen-4.17/bin/xenstored: test/cxenstored
	gcc            # builds test/cxenstored's LD_PRELOAD shim
	qemu-system-x86    # qemu-system-x86_64: the device model and its QMP (hostio/qmp)
	openvswitch-switch # ovsdb-server, ovs-vswitchd, ovs-vsctl in user space (hostio/ovs)
	stunnel4           # TLS in front of the API port (the stunnel daemon actor)
	prometheus         # scrapes xenactord's /metrics (cmd/xenactord/daemon)
	etcd-server        # etcd: the pool's membership store (hostio/etcd, cmd/xenactord pool tests, xenactor-bench evacuate)
	libxen-dev         # headers and libraries of the cgo Xen backend (make check-xen: hostio/hypervisor/xen; make e2e-xen)
	cpio               # make e2e-xen: the initramfs images
	kmod               # make e2e-xen: depmod of the images' kernel modules
)

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-test-deps: missing Debian packages: ${missing[*]}" >&2
	echo "install-test-deps: run as root: apt-get install ${missing[*]}" >&2
	case "${XENACTOR_REQUIRE_EXTERNAL:-}" in
	"" | 0) echo "install-test-deps: tests needing them will be skipped" >&2; exit 0 ;;
	*) exit 1 ;;
	esac
fi

echo "install-test-deps: installing ${missing[*]}" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
