#!/bin/busybox sh
# The end-to-end test inside dom0, run by /init once Xen's userspace is up.
# It drives the real xenactor CLI against the real xenactord on Xen and
# prints one line per step on the console, read by check.sh on the host:
#   E2E-PASS <step> <seconds>s
#   E2E-FAIL <step> <why>
# and E2E-TIMING xl=<s> xenactor=<s> ratio=<x> rounds=<n> for the start
# times of guests without devices (E2E-TIMING-DEVICES: with a disk and a VIF).
# Kernel command line: e2e.rounds=N starts of each kind timed (default 3).
export XENACTOR_CONFIG=/run/xa/state/api/client.json
E=/e2e
KVER=$(uname -r)
GUEST_MEM=192
GUEST_CMDLINE="console=hvc0 rdinit=/init loglevel=4 quiet"
ROUNDS=$(sed -n 's/.*e2e\.rounds=\([0-9]*\).*/\1/p' /proc/cmdline)
ROUNDS=${ROUNDS:-3}

up() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }'; }
info() { echo "E2E-INFO $*"; }
# within SECONDS: starts a wait of at most SECONDS; then `expired` is true once
# they passed (waits count time, not tries: a CLI call may take seconds
# under emulation).
within() { end=$(awk -v a="$(up)" -v n="$1" 'BEGIN { print a + n }'); }
expired() { awk -v a="$(up)" -v e="$end" 'BEGIN { exit !(a >= e) }'; }
# run STEP FUNC: FUNC sets why= when it fails.
run() {
	step=$1; shift
	why=
	t0=$(up)
	if "$@"; then
		echo "E2E-PASS $step $(since "$t0")s"
		return 0
	fi
	echo "E2E-FAIL $step ${why:-failed}"
	return 1
}
# xa ARGS: the CLI, bounded, its output in $out (stderr included).
xa() {
	out=$(xenactor --timeout 180s "$@" 2>&1)
	rc=$?
	[ $rc -eq 0 ] || info "xenactor $* exited $rc: $out"
	return $rc
}
# jfield KEY: the first string or number value of KEY in the JSON on stdin.
jfield() { grep -o "\"$1\": *\"\{0,1\}[^\",}]*" | head -n1 | sed 's/^[^:]*: *"\{0,1\}//'; }
# stat_of VM: `vm stat --json` into $stat.
stat_of() { stat=$(xenactor --timeout 30s --json vm stat "$1" 2>&1); }
pstate() { echo "$stat" | jfield power_state; }
domid_of() { stat_of "$1" && echo "$stat" | jfield domid; }
# wait_state VM STATE SECONDS: leaves the last status in $stat.
wait_state() {
	within "$3"
	while :; do
		stat_of "$1"
		st=$(pstate)
		[ "$st" = "POWER_STATE_$2" ] && return 0
		! expired || { why="$1 is [$st], not $2, after $3s: $(echo $stat | cut -c1-300)"; return 1; }
		sleep 0.5
	done
}
# others: the domains xl lists besides dom0, one line each.
others() { xl list 2>/dev/null | awk 'NR > 1 && $2 != 0'; }

# ---- xen conformance suite (when built) ----
# The suite builds the test guest; the boot test needs one that powers
# itself off. Both need xenconsoled.
conformance() {
	xenconsoled --pid-file=/run/xenconsoled-conformance.pid --log=none || { why="xenconsoled failed"; return 1; }
	export XENACTOR_TEST_KERNEL=$E/guest/kernel
	out=$(XENACTOR_TEST_RAMDISK=$E/guest/initrd $E/xen.test -test.v -test.timeout 240s -test.skip '^TestBootPV$' 2>&1)
	rc1=$?
	echo "$out" | grep -v '^=== \(RUN\|PAUSE\|CONT\)' | tail -n 80 | sed 's/^/xen.test: /'
	out=$(XENACTOR_TEST_RAMDISK=$E/guest/selfoff $E/xen.test -test.v -test.timeout 240s -test.run '^TestBootPV$' 2>&1)
	rc2=$?
	echo "$out" | tail -n 20 | sed 's/^/xen.test: /'
	kill "$(cat /run/xenconsoled-conformance.pid)"
	[ "$rc1" -eq 0 ] || { why="xen.test (the conformance suite) failed"; return 1; }
	[ "$rc2" -eq 0 ] || { why="xen.test -test.run TestBootPV failed"; return 1; }
}

# ---- xl create of the guest, timed: without devices, then with a disk and
# a VIF (hotplugged by two small scripts, as xenactor does it itself) ----
XL_TIMES=
XL_DEV_TIMES=
# xl_cfg NAME [DEVICES]: an xl configuration of the test guest.
xl_cfg() {
	cat <<EOC
name = "$1"
type = "pv"
kernel = "$E/guest/kernel"
ramdisk = "$E/guest/initrd"
extra = "$GUEST_CMDLINE"
memory = $GUEST_MEM
vcpus = 1
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
EOC
	[ -z "$2" ] || cat <<EOC
disk = [ "format=raw,vdev=xvda,access=rw,backendtype=phy,script=$E/xl-block,target=/data/xl-disk.img" ]
vif = [ "mac=00:16:3e:00:00:03,bridge=xenbr0,script=$E/xl-vif" ]
EOC
}
# xl_rounds CFG: xl create and xl destroy, ROUNDS times; the times in $times.
xl_rounds() {
	times=
	i=0
	while [ $i -lt "$ROUNDS" ]; do
		t=$(up)
		out=$(xl create "$1" 2>&1) || { why="xl create $1 failed: $(echo $out)"; return 1; }
		times="$times $(since "$t")"
		out=$(xl destroy "$(sed -n 's/^name = "\(.*\)"/\1/p' "$1")" 2>&1) || { why="xl destroy failed: $(echo $out)"; return 1; }
		i=$((i + 1))
	done
}
xl_timing() {
	xl_cfg xl-timing >/run/xl-timing.cfg
	xl_cfg xl-timing-dev devices >/run/xl-timing-dev.cfg
	dd if=/dev/zero of=/data/xl-disk.img bs=1M count=16 2>/dev/null
	# xl create waits for xenconsoled to publish the console's tty; xenactord
	# runs its own, so this one stops after the timing.
	xenconsoled --pid-file=/run/xl-xenconsoled.pid --log=guest --log-dir=/var/log/xen/console || { why="xenconsoled failed"; return 1; }
	xl_rounds /run/xl-timing.cfg || return 1
	XL_TIMES=$times
	info "xl create times:$XL_TIMES"
	if xl_rounds /run/xl-timing-dev.cfg; then
		XL_DEV_TIMES=$times
		info "xl create times with a disk and a VIF:$XL_DEV_TIMES"
	else
		info "no timing of xl create with devices: $why"
		xl destroy xl-timing-dev 2>/dev/null
		why=
	fi
	kill "$(cat /run/xl-xenconsoled.pid)"
	[ -z "$(others)" ] || { why="domains left after xl destroy: $(others)"; return 1; }
	l=$(losetup -a 2>&1)
	[ -z "$l" ] || { why="loop devices left after xl destroy: $l"; return 1; }
}

# ---- xenactord ----
TAILPID=
daemon_start() {
	mkdir -p /run/xa
	xenactord -state-dir /run/xa/state -run-dir /run/xa >/run/xa/xenactord.log 2>&1 &
	XAPID=$!
	# Its log goes to the console as it comes: a run that times out still
	# shows what the daemon did.
	tail -f /run/xa/xenactord.log | sed 's/^/xenactord: /' &
	TAILPID=$!
	within 90
	while ! xenactor --timeout 10s host info >/dev/null 2>&1; do
		kill -0 $XAPID 2>/dev/null || { why="xenactord exited: $(tail -n 5 /run/xa/xenactord.log)"; return 1; }
		! expired || { why="the API does not answer after 90s"; return 1; }
		sleep 0.5
	done
	grep -i "hypervisor" /run/xa/xenactord.log | head -n 3
}
daemon_hypervisor() {
	xa --json host info || { why="host info failed"; return 1; }
	hv=$(echo "$out" | jfield hypervisor)
	[ "$hv" = xen ] || { why="host info says hypervisor $hv, not xen"; return 1; }
}

# ---- the VM with a disk and a VIF ----
UUID=
MARKER=
vm_create() {
	dd if=/dev/zero of=/data/disk.img bs=1M count=16 2>/dev/null || { why="cannot make the disk image"; return 1; }
	MARKER=m$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
	xa vm create --name e2e --type pv --vcpus 1 --memory ${GUEST_MEM}M \
		--kernel $E/guest/kernel --ramdisk $E/guest/initrd --cmdline "$GUEST_CMDLINE e2e.marker=$MARKER" \
		--vbd devid=51712,params=/data/disk.img --vif devid=0,mac=00:16:3e:00:00:02,bridge=xenbr0 ||
		{ why="vm create failed: $out"; return 1; }
	UUID=$(echo "$out" | tail -n1)
	info "VM e2e is $UUID"
	stat_of e2e
	[ "$(pstate)" = POWER_STATE_HALTED ] || { why="the new VM is not Halted: $stat"; return 1; }
}
need_vm() { [ -n "$UUID" ] || { why="no VM (vm-create failed)"; return 1; }; }
vm_start() {
	need_vm || return 1
	xa vm start e2e || { why="vm start failed: $out"; return 1; }
	wait_state e2e RUNNING 60 || return 1
	d=$(domid_of e2e)
	xl list | grep -q " $d " || info "xl list does not show domain $d: $(xl list)"
	info "e2e runs as domain $d"
}
guest_metrics() {
	need_vm || return 1
	within 120
	while :; do
		stat_of e2e
		g=$(echo "$stat" | grep -o '"guest": *{.*')
		os=$(echo "$g" | jfield os_name)
		un=$(echo "$g" | jfield os_uname)
		ip=$(echo "$g" | grep -o '"ipv4": *\[[^]]*\]' | grep -o '10\.0\.0\.2')
		[ -n "$os" ] && [ -n "$un" ] && [ -n "$ip" ] && break
		! expired || { why="after 120s: os_name=[$os] os_uname=[$un] ipv4 10.0.0.2=[$ip]"; info "$stat"; return 1; }
		sleep 1
	done
	info "guest metrics: os_name=$os os_uname=$un ipv4=$ip"
	case "$un" in *"$KVER"*) ;; *) why="os_uname [$un] does not name kernel $KVER"; return 1 ;; esac
}
guest_disk() {
	need_vm || return 1
	within 60
	while :; do
		got=$(head -c 100 /data/disk.img | head -n1 | tr -d '\0')
		[ "$got" = "E2E-MARKER $MARKER" ] && break
		! expired || { why="the disk holds [$got], not E2E-MARKER $MARKER, after 60s"; return 1; }
		sleep 0.5
	done
	info "dom0 read [$got] from the guest's disk"
}
guest_ping() {
	need_vm || return 1
	n=0
	while ! ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1; do
		[ $n -lt 30 ] || { why="no answer from 10.0.0.2 in 30 tries"; return 1; }
		n=$((n + 1))
	done
	out=$(ping -c 3 -W 2 10.0.0.2 2>&1) || { why="ping: $out"; return 1; }
	echo "$out" | tail -n 2
}
vm_shutdown_clean() {
	need_vm || return 1
	xa vm shutdown e2e || { why="vm shutdown (clean) failed: $out"; return 1; }
	wait_state e2e HALTED 60 || return 1
	le=$(echo "$stat" | grep -o '"last_error": *{[^}]*}')
	info "after the clean shutdown: last_error $le"
	# The guest's kernel powered itself off (the reboot syscall's poweroff
	# is a halt when no power-off handler is registered: both end the
	# domain with reason poweroff).
	c=/run/xa/console/guest-e2e.log
	within 10
	while ! grep -q 'reboot: \(Power down\|System halted\)' $c 2>/dev/null; do
		! expired || { why="the guest's console ($c) does not show its kernel powering off"; return 1; }
		sleep 0.5
	done
}
vm_start_again() { vm_start; }
vm_reboot() {
	need_vm || return 1
	old=$(domid_of e2e)
	xa vm reboot e2e || { why="vm reboot failed: $out"; return 1; }
	within 120
	while :; do
		stat_of e2e
		new=$(echo "$stat" | jfield domid)
		[ "$(pstate)" = POWER_STATE_RUNNING ] && [ -n "$new" ] && [ "$new" != "$old" ] && break
		! expired || { why="after 120s: state $(pstate), domid $new (was $old)"; return 1; }
		sleep 0.5
	done
	info "rebooted: domain $old -> $new"
}
vm_shutdown_hard() {
	need_vm || return 1
	xa vm shutdown --hard e2e || { why="vm shutdown --hard failed: $out"; return 1; }
	wait_state e2e HALTED 60
}
vm_remove() {
	need_vm || return 1
	xa vm remove e2e || { why="vm remove failed: $out"; return 1; }
	xa vm list
	case "$out" in *e2e*) why="vm list still shows e2e: $out"; return 1 ;; esac
}

# ---- xenactor vm start of the same guests, timed ----
XA_TIMES=
XA_DEV_TIMES=
# metrics: the sums and counts of xenactord's operation and atom durations.
metrics() {
	wget -q -O - http://127.0.0.1:9651/metrics 2>/dev/null |
		grep -E '^xenactor_vm_(operation|atom)_duration_seconds_(sum|count)\{' | tr -d '"'
}
# metrics_delta BEFORE AFTER WHAT: the mean per operation and atom between
# two snapshots.
metrics_delta() {
	awk -v what="$3" 'NR == FNR { before[$1] = $2; next } { d[$1] = $2 - before[$1] }
		END {
			for (k in d) if (k ~ /_sum\{/) {
				c = k; sub(/_sum\{/, "_count{", c)
				if (d[c] > 0) { n = k; sub(/^xenactor_vm_/, "", n); sub(/_seconds_sum/, "", n)
					printf "E2E-INFO daemon time per %s: %s %.3fs x%d\n", what, n, d[k] / d[c], d[c] }
			}
		}' "$1" "$2" | sort
}
# xa_rounds VM: vm start and vm shutdown --hard, ROUNDS times; the times in
# $times.
xa_rounds() {
	times=
	i=0
	while [ $i -lt "$ROUNDS" ]; do
		t=$(up)
		xa vm start "$1" || { why="vm start $1 failed: $out"; return 1; }
		times="$times $(since "$t")"
		xa vm shutdown --hard "$1" || { why="vm shutdown --hard $1 failed: $out"; return 1; }
		i=$((i + 1))
	done
}
TIMING_UUIDS=
xenactor_timing() {
	dd if=/dev/zero of=/data/xa-disk.img bs=1M count=16 2>/dev/null
	xa vm create --name timing --type pv --vcpus 1 --memory ${GUEST_MEM}M \
		--kernel $E/guest/kernel --ramdisk $E/guest/initrd --cmdline "$GUEST_CMDLINE" ||
		{ why="vm create failed: $out"; return 1; }
	TIMING_UUIDS=$(echo "$out" | tail -n1)
	xa vm create --name timing-dev --type pv --vcpus 1 --memory ${GUEST_MEM}M \
		--kernel $E/guest/kernel --ramdisk $E/guest/initrd --cmdline "$GUEST_CMDLINE" \
		--vbd devid=51712,params=/data/xa-disk.img --vif devid=0,mac=00:16:3e:00:00:04,bridge=xenbr0 ||
		{ why="vm create failed: $out"; return 1; }
	TIMING_UUIDS="$TIMING_UUIDS $(echo "$out" | tail -n1)"
	metrics >/run/metrics.0
	xa_rounds timing || return 1
	XA_TIMES=$times
	metrics >/run/metrics.1
	info "xenactor vm start times:$XA_TIMES"
	# Where the daemon spent the time of these starts (metrics' increase).
	metrics_delta /run/metrics.0 /run/metrics.1 "start round"
	xa_rounds timing-dev || return 1
	XA_DEV_TIMES=$times
	metrics >/run/metrics.2
	info "xenactor vm start times with a disk and a VIF:$XA_DEV_TIMES"
	metrics_delta /run/metrics.1 /run/metrics.2 "start round with devices"
	xa vm remove timing || { why="vm remove failed: $out"; return 1; }
	xa vm remove timing-dev || { why="vm remove failed: $out"; return 1; }
}
# timing_report LABEL XL_TIMES XA_TIMES: the means and their ratio.
timing_report() {
	[ -n "$2" ] && [ -n "$3" ] || return 0
	echo "$2|$3" | awk -F'|' -v label="$1" '{
		nx = split($1, x, " "); na = split($2, a, " ")
		for (i = 1; i <= nx; i++) sx += x[i]
		for (i = 1; i <= na; i++) sa += a[i]
		printf "%s xl=%.2f xenactor=%.2f ratio=%.2f rounds=%d\n", label, sx / nx, sa / na, (sa / na) / (sx / nx), na
	}'
}

# ---- nothing left behind ----
no_leftovers() {
	o=$(others)
	[ -z "$o" ] || { why="domains left: $o"; return 1; }
	doms=$(xenstore-list /local/domain | tr '\n' ' ')
	[ "$doms" = "0 " ] || { why="/local/domain holds: $doms"; return 1; }
	for c in vbd vbd3 qdisk vif console; do
		l=$(xenstore-list /local/domain/0/backend/$c 2>/dev/null | tr '\n' ' ')
		[ -z "$l" ] || { why="backend/$c holds: $l"; return 1; }
	done
	for u in $UUID $TIMING_UUIDS; do
		! xenstore-exists /vm/$u 2>/dev/null || { why="/vm/$u is left"; return 1; }
	done
	l=$(losetup -a 2>&1)
	[ -z "$l" ] || { why="loop devices left: $l"; return 1; }
	xenstore-ls -f /local/domain/0/backend 2>/dev/null | head -n 20
}

daemon_stop() {
	kill -TERM $XAPID || { why="no xenactord to stop"; return 1; }
	within 30
	while kill -0 $XAPID 2>/dev/null; do
		! expired || { why="xenactord still runs 30s after SIGTERM"; kill -KILL $XAPID; return 1; }
		sleep 0.2
	done
	wait $XAPID
	rc=$?
	[ $rc -eq 0 ] || { why="xenactord exited $rc"; return 1; }
}

info "xen $(xl info 2>/dev/null | awk '/^xen_version/ {print $3}'), $(xl info 2>/dev/null | awk '/^free_memory/ {print $3}') MiB free"
[ -x $E/xen.test ] && run xen-conformance conformance
run xl-timing xl_timing
if run daemon-start daemon_start; then
	run daemon-hypervisor daemon_hypervisor
	run vm-create vm_create
	run vm-start vm_start
	run guest-metrics guest_metrics
	run guest-disk guest_disk
	run guest-ping guest_ping
	run vm-shutdown-clean vm_shutdown_clean
	run vm-start-again vm_start_again
	run vm-reboot vm_reboot
	run vm-shutdown-hard vm_shutdown_hard
	run vm-remove vm_remove
	run xenactor-timing xenactor_timing
	timing_report E2E-TIMING "$XL_TIMES" "$XA_TIMES"
	timing_report E2E-TIMING-DEVICES "$XL_DEV_TIMES" "$XA_DEV_TIMES"
	run no-leftovers no_leftovers
	run daemon-stop daemon_stop
fi
sleep 1
[ -n "$TAILPID" ] && kill $TAILPID
echo "E2E-INFO ---- guest consoles ----"
find /run/xa /var/log/xen -name '*.log' ! -name xenactord.log 2>/dev/null | while read -r f; do
	tail -n 30 "$f" | sed "s|^|${f##*/}: |"
done
echo "E2E-INFO ---- xl dmesg (tail) ----"
xl dmesg 2>/dev/null | tail -n 20
