#!/usr/bin/env bash
# build.sh BUILD_DIR: builds the end-to-end test's images from the packages
# fetch.sh unpacked into BUILD_DIR/stage and the project's source:
#   BUILD_DIR/img/xen             Xen 4.17 as a multiboot ELF (QEMU's -kernel)
#   BUILD_DIR/img/vmlinuz         dom0's kernel (the guest's too)
#   BUILD_DIR/img/dom0.cpio.gz    dom0's initramfs: busybox, Xen's userspace and
#                                 its shared libraries, the Xen drivers,
#                                 xenactord (-tags xen), the xenactor CLI, the
#                                 test script and the guest's kernel and initramfs
#   BUILD_DIR/img/guest.cpio.gz   the guest's initramfs: busybox, blkfront,
#                                 netfront, xenactor-guest-agent
#   BUILD_DIR/img/expected-steps  the steps check.sh expects to pass
set -euo pipefail
B=$(realpath -m "${1:?usage: build.sh BUILD_DIR}")
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
GO=${GO:-go}
S=$B/stage
KV=$(cat "$S/KVER")
OUT=$B/img
mkdir -p "$OUT" "$B/bin"

# ---- the project's binaries ----
cd "$SRC"
echo "build: xenactord (-tags xen), xenactor, the guest agent" >&2
CGO_ENABLED=1 $GO build -tags xen -o "$B/bin/xenactord" ./cmd/xenactord
CGO_ENABLED=0 $GO build -o "$B/bin/xenactor" ./cmd/xenactor
rm -f "$B/bin/xenactor-guest-agent" "$B/bin/xen.test"
if [ -d cmd/xenactor-guest-agent ]; then
	CGO_ENABLED=0 $GO build -o "$B/bin/xenactor-guest-agent" ./cmd/xenactor-guest-agent
else
	echo "build: no cmd/xenactor-guest-agent: the guest runs without an agent" >&2
fi
if compgen -G "hostio/hypervisor/xen/*_test.go" >/dev/null; then
	CGO_ENABLED=1 $GO test -c -tags xen -o "$B/bin/xen.test" ./hostio/hypervisor/xen
fi

# rootbase DIR: an empty root with busybox and its applets in /bin.
rootbase() {
	rm -rf "$1"
	mkdir -p "$1"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root,var/log,var/lib,lib/modules}
	ln -s ../run "$1/var/run"
	cp "$S/bin/busybox" "$1/bin/busybox"
	local a
	for a in $("$S/bin/busybox" --list); do
		[ -e "$1/bin/$a" ] || ln -s busybox "$1/bin/$a"
	done
}
# modules DIR MODULE...: the kernel modules with their dependencies, in
# DIR/lib/modules/KV, with modules.dep for modprobe.
modules() {
	local d=$1 m f
	shift
	for m in "$@"; do
		modprobe -d "$S" -S "$KV" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | sort -u | while read -r f; do
		f=${f#"$S"/}
		mkdir -p "$d/${f%/*}"
		cp "$S/$f" "$d/$f"
	done
	cp "$S/lib/modules/$KV"/modules.{builtin,builtin.modinfo,order} "$d/lib/modules/$KV/"
	/usr/sbin/depmod -b "$d" "$KV"
}
# cpio DIR FILE: DIR as a gzipped newc archive.
mkcpio() { (cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) >"$2"; }

# ---- the guest ----
G=$B/guestfs
rootbase "$G"
install -m 755 "$HERE/guest-init.sh" "$G/init"
cp "$HERE/os-release" "$G/etc/os-release"
# The kernel runs /sbin/poweroff for control/shutdown=poweroff; busybox's
# poweroff without -f would signal an init that is not there.
printf '#!/bin/busybox sh\nexec /bin/busybox poweroff -f\n' >"$G/sbin/poweroff"
printf '#!/bin/busybox sh\nexec /bin/busybox reboot -f\n' >"$G/sbin/reboot"
chmod 755 "$G/sbin/poweroff" "$G/sbin/reboot"
for m in xen-blkfront xen-netfront; do
	modprobe -d "$S" -S "$KV" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | while read -r f; do cp "$f" "$G/lib/modules/"; done
[ -x "$B/bin/xenactor-guest-agent" ] && cp "$B/bin/xenactor-guest-agent" "$G/bin/"
mkcpio "$G" "$OUT/guest.cpio.gz"

# A guest that powers itself off at once, for the backend's boot test.
O=$B/selfofffs
rootbase "$O"
printf '#!/bin/busybox sh\necho "GUEST: up, powering off"\n/bin/busybox poweroff -f\n' >"$O/init"
chmod 755 "$O/init"
mkcpio "$O" "$OUT/selfoff.cpio.gz"

# The guests' kernel uncompressed: the domain builder then loads the ELF as
# it is instead of decompressing the xz payload of the bzImage (about 6 s
# of every guest start under emulation). The vmlinuz when that fails.
V=$S/boot/vmlinuz-$KV
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$V" | head -n1 | cut -d: -f1 || true)
if [ -n "$off" ] && command -v xz >/dev/null &&
	tail -c +$((off + 1)) "$V" >"$OUT/vmlinux.xz" &&
	xz -dc --single-stream <"$OUT/vmlinux.xz" >"$OUT/vmlinux" 2>/dev/null &&
	[ "$(head -c 4 "$OUT/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then
	GUESTK=$OUT/vmlinux
	rm -f "$OUT/vmlinux.xz"
else
	echo "build: cannot unpack the kernel's xz payload: the guests boot the bzImage" >&2
	GUESTK=$V
fi

# ---- dom0 ----
R=$B/dom0fs
rootbase "$R"
XB=usr/lib/xen-4.17/bin
mkdir -p "$R/$XB" "$R/lib/x86_64-linux-gnu" "$R/lib64" "$R/e2e/guest" "$R/var/log/xen"
XEN_BINS="$XB/xenstored $XB/xl $XB/xenconsoled $XB/xen-init-dom0 $XB/libxl-save-helper $XB/xenconsole usr/bin/xenstore"
for b in $XEN_BINS; do cp -a "$S/$b" "$R/$b"; done
for n in xenstore-chmod xenstore-exists xenstore-list xenstore-ls xenstore-read xenstore-rm xenstore-watch xenstore-write; do
	ln -sf xenstore "$R/usr/bin/$n"
done
ln -sf ../lib/xen-4.17/bin/xl "$R/usr/sbin/xl"
cp -a "$S/etc/xen" "$R/etc/"
cp "$B/bin/xenactord" "$B/bin/xenactor" "$R/usr/bin/"
[ -x "$B/bin/xen.test" ] && cp "$B/bin/xen.test" "$R/e2e/"
# Shared libraries: the stage's Xen libraries first (the same 4.17 the host's
# libxen-dev links xenactord against), the host's for the rest. libgcc_s is
# loaded by pthread_cancel at run time (xl aborts without it).
ELFS="$(for b in $XEN_BINS; do echo "$S/$b"; done) $R/usr/bin/xenactord"
[ -x "$R/e2e/xen.test" ] && ELFS="$ELFS $R/e2e/xen.test"
for b in $ELFS; do
	LD_LIBRARY_PATH=$S/usr/lib/x86_64-linux-gnu ldd "$b" | awk '/=> \// { print $3 }'
done | sort -u | while read -r lib; do
	cp -L "$lib" "$R/lib/x86_64-linux-gnu/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$R/lib/x86_64-linux-gnu/"
modules "$R" xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc xen-blkback xen-netback loop bridge
install -m 755 "$HERE/dom0-init.sh" "$R/init"
install -m 755 "$HERE/dom0-test.sh" "$HERE/xl-block" "$HERE/xl-vif" "$R/e2e/"
cp "$GUESTK" "$R/e2e/guest/kernel"
cp "$OUT/guest.cpio.gz" "$R/e2e/guest/initrd"
cp "$OUT/selfoff.cpio.gz" "$R/e2e/guest/selfoff"
mkcpio "$R" "$OUT/dom0.cpio.gz"

zcat "$S/boot/xen-4.17-amd64.gz" >"$OUT/xen"
cp "$S/boot/vmlinuz-$KV" "$OUT/vmlinuz"
{
	echo dom0-setup
	[ -x "$R/e2e/xen.test" ] && echo xen-conformance
	echo xl-timing daemon-start daemon-hypervisor vm-create vm-start guest-metrics guest-disk guest-ping \
		vm-shutdown-clean vm-start-again vm-reboot vm-shutdown-hard vm-remove xenactor-timing no-leftovers \
		daemon-stop | tr ' ' '\n'
} >"$OUT/expected-steps"
echo "build: images in $OUT ($(du -sh "$OUT/dom0.cpio.gz" | cut -f1) dom0 initramfs)" >&2
