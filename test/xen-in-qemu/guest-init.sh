#!/bin/busybox sh
# /init of the end-to-end test's PV guest (busybox, blkfront, netfront and
# xenactor-guest-agent in an initramfs). Kernel command line:
#   e2e.marker=TEXT  write "E2E-MARKER TEXT" to the first sector of /dev/xvda
# Guest lines on the console start with "GUEST:".
export PATH=/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "GUEST: up $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r)"
for m in /lib/modules/*.ko; do
	insmod "$m" || echo "GUEST: insmod $m failed"
done
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if ip link set eth0 up && ip addr add 10.0.0.2/24 dev eth0; then
	echo "GUEST: eth0 10.0.0.2/24"
else
	echo "GUEST: no eth0"
fi
marker=$(sed -n 's/.*e2e\.marker=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$marker" ]; then
	i=0
	while [ ! -b /dev/xvda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if printf 'E2E-MARKER %s\n' "$marker" | dd of=/dev/xvda bs=512 conv=notrunc,sync 2>/dev/null &&
		sync && blockdev --flushbufs /dev/xvda; then
		echo "GUEST: wrote marker $marker to /dev/xvda"
	else
		echo "GUEST: could not write the marker to /dev/xvda"
	fi
fi
if [ -x /bin/xenactor-guest-agent ]; then
	/bin/xenactor-guest-agent -interval 2s &
	echo "GUEST: agent started"
fi
# The kernel runs /sbin/poweroff when the toolstack asks for a clean
# shutdown (control/shutdown = poweroff); init only has to stay alive.
while :; do sleep 3600; done
