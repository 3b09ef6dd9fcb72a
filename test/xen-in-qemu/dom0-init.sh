#!/bin/busybox sh
# /init of the end-to-end test's dom0 (Xen 4.17 under QEMU): mounts, the Xen
# drivers, xenfs, the C xenstored and xen-init-dom0, as a distribution's
# boot would; then /e2e/dom0-test.sh, whose E2E-PASS/E2E-FAIL lines the host
# reads on the serial console; then power off.
export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
export HOME=/root
# No asynchronous preemption of goroutines (signals): fewer signal frames
# for the emulated CPU to get wrong (see boot.sh).
export GODEBUG=asyncpreemptoff=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
mkdir -p /run/xen /run/xenstored /var/lib/xen /var/lib/xenstored /var/log/xen/console /var/lock/subsys
echo "E2E-INFO dom0 up $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r), $(grep MemTotal /proc/meminfo | tr -s ' ')"

setup() {
	for m in xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc xen-blkback xen-netback loop bridge; do
		modprobe $m || { why="modprobe $m failed"; return 1; }
	done
	mount -t xenfs xenfs /proc/xen || { why="cannot mount xenfs"; return 1; }
	grep -q control_d /proc/xen/capabilities || { why="no control_d in /proc/xen/capabilities"; return 1; }
	xenstored --pid-file /run/xenstored.pid || { why="xenstored exited $?"; return 1; }
	i=0
	while ! xenstore-read / >/dev/null 2>&1; do
		[ $i -lt 100 ] || { why="xenstored does not answer"; return 1; }
		sleep 0.1; i=$((i + 1))
	done
	xen-init-dom0 || { why="xen-init-dom0 exited $?"; return 1; }
	ip link set lo up
	brctl addbr xenbr0 && ip addr add 10.0.0.1/24 dev xenbr0 && ip link set xenbr0 up ||
		{ why="cannot set up the bridge xenbr0"; return 1; }
	mkdir -p /data && mount -t tmpfs -o size=128m data /data || { why="cannot mount /data"; return 1; }
	return 0
}
why=
if setup; then
	echo "E2E-PASS dom0-setup $(cut -d" " -f1 /proc/uptime)s"
	sh /e2e/dom0-test.sh
	echo "E2E-INFO dom0-test.sh exited $?"
else
	echo "E2E-FAIL dom0-setup $why"
fi
echo "E2E-DONE"
sync
poweroff -f
