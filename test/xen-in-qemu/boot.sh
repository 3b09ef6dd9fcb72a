#!/usr/bin/env bash
# boot.sh BUILD_DIR LOG: boots Xen 4.17 with the end-to-end test's dom0 under
# QEMU (TCG: no KVM needed), the serial console into LOG (its E2E- lines
# also on stdout as they come), under a time limit. Exits with QEMU's status
# (124 when the limit passed).
# Environment: E2E_TIMEOUT (seconds, default 600), E2E_ROUNDS (timed starts of
# each kind, default 3), E2E_MEM (QEMU's MiB, default 2048), E2E_CPU (the
# CPU model, default qemu64,+svm,+npt).
set -uo pipefail
B=$(realpath -m "${1:?usage: boot.sh BUILD_DIR LOG}")
LOG=${2:?usage: boot.sh BUILD_DIR LOG}
I=$B/img
XENARGS="console=com1 com1=115200,8n1 loglvl=warning guest_loglvl=none dom0_mem=1024M,max:1024M dom0_max_vcpus=2"
DOM0ARGS="console=hvc0 loglevel=4 e2e.rounds=${E2E_ROUNDS:-3}"
echo "boot: qemu-system-x86_64, at most ${E2E_TIMEOUT:-600}s, serial console in $LOG" >&2
# The CPU: QEMU's qemu64 model (an AMD one) with SVM and nested paging, which
# TCG emulates, for PVH guests (Xen's HVM support). With -cpu max
# (even without smap, which crashes dom0, and without AVX) Go programs in
# dom0 crashed now and then under TCG ("unexpected return pc", "traceback
# did not unwind completely", SIGSEGV) and their TLS failed ("error
# decrypting message"): the extended register state is not kept.
CPU=${E2E_CPU:-qemu64,+svm,+npt}
timeout --kill-after=10 "${E2E_TIMEOUT:-600}" qemu-system-x86_64 \
	-machine pc -accel tcg -cpu "$CPU" -smp 2 -m "${E2E_MEM:-2048}" \
	-display none -monitor none -serial stdio -no-reboot \
	-kernel "$I/xen" -append "$XENARGS" \
	-initrd "$I/vmlinuz $DOM0ARGS,$I/dom0.cpio.gz" </dev/null 2>&1 |
	sed -u 's/\r//g' | tee "$LOG" | grep --line-buffered -E '^E2E-(PASS|FAIL|TIMING|DONE)'
rc=${PIPESTATUS[0]}
echo "boot: qemu exited $rc" >&2
exit "$rc"
