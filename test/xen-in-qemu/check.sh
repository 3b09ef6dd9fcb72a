#!/usr/bin/env bash
# check.sh EXPECTED_STEPS LOG [QEMU_STATUS]: reads the serial console's log of
# an end-to-end run and prints a summary. Passes (exit 0) when every expected
# step printed E2E-PASS, none printed E2E-FAIL, dom0 got to E2E-DONE and QEMU
# did not time out (status 124).
set -euo pipefail
STEPS=${1:?usage: check.sh EXPECTED_STEPS LOG [QEMU_STATUS]}
LOG=${2:?usage: check.sh EXPECTED_STEPS LOG [QEMU_STATUS]}
QRC=${3:-0}
ok=1
marks=$(tr -d '\r' <"$LOG" | grep -oE 'E2E-(PASS|FAIL) .*' || true)
echo "---- e2e-xen summary ($LOG) ----"
while read -r s; do
	[ -n "$s" ] || continue
	if line=$(grep -m1 "^E2E-FAIL $s " <<<"$marks"); then
		printf '  FAIL  %-20s %s\n' "$s" "${line#"E2E-FAIL $s "}"
		ok=0
	elif line=$(grep -m1 "^E2E-PASS $s\( \|$\)" <<<"$marks"); then
		printf '  pass  %-20s %s\n' "$s" "${line#"E2E-PASS $s"}"
	else
		printf '  ----  %-20s not reached\n' "$s"
		ok=0
	fi
done <"$STEPS"
# A failed step the list does not name fails the run too.
while read -r l; do
	s=$(cut -d' ' -f2 <<<"$l")
	grep -qx "$s" "$STEPS" || { printf '  FAIL  %-20s %s (unexpected step)\n' "$s" "${l#"E2E-FAIL $s "}"; ok=0; }
done < <(grep '^E2E-FAIL ' <<<"$marks" || true)
grep -oE 'E2E-TIMING(-DEVICES)? .*' "$LOG" | tr -d '\r' | sed 's/^/  /' || echo "  no E2E-TIMING line"
if ! grep -q 'E2E-DONE' "$LOG"; then
	echo "  dom0 did not finish (no E2E-DONE)"
	ok=0
fi
if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
	echo "  QEMU timed out"
	ok=0
fi
if [ $ok = 1 ]; then
	echo "e2e-xen: PASS"
	exit 0
fi
echo "e2e-xen: FAIL (the whole serial console is in $LOG, with xenactord's log in its \"xenactord: \" lines; docs/e2e-xen.md)"
exit 1
