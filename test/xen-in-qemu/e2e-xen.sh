#!/usr/bin/env bash
# e2e-xen.sh [BUILD_DIR]: the end-to-end test on real Xen under QEMU (make
# e2e-xen): fetch the Debian packages, build the images, boot, check the log.
# BUILD_DIR (default build/xen-in-qemu at the top of the source tree) keeps
# the package cache, the images and the logs (boot.log) between runs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
B=$(realpath -m "${1:-$HERE/../../build/xen-in-qemu}")
for p in qemu-system-x86_64 cpio depmod gcc apt-get dpkg; do
	command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] || { echo "e2e-xen: $p is missing (scripts/install-test-deps.sh)" >&2; exit 1; }
done
"$HERE/fetch.sh" "$B"
"$HERE/build.sh" "$B"
LOG=$B/boot.log
set +e
"$HERE/boot.sh" "$B" "$LOG"
rc=$?
set -e
"$HERE/check.sh" "$B/img/expected-steps" "$LOG" "$rc"
