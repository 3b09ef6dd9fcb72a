#!/usr/bin/env bash
# fetch.sh BUILD_DIR: downloads the Debian 12 packages of Xen 4.17, its
# userspace, the kernel that linux-image-amd64 depends on and busybox-static
# with `apt-get download` into BUILD_DIR/debs (nothing is installed on the
# host), then unpacks them with `dpkg -x` into BUILD_DIR/stage. Packages
# already in BUILD_DIR/debs are reused; the stage is unpacked again only when
# the set of packages changed. Writes the kernel ABI to BUILD_DIR/stage/KVER.
set -euo pipefail
B=$(realpath -m "${1:?usage: fetch.sh BUILD_DIR}")
mkdir -p "$B/debs"

# The kernel ABI the distribution's current kernel package depends on, e.g.
# 6.1.0-56-amd64.
kernel_abi() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1
}
KV=$(kernel_abi)
if [ -z "$KV" ] && [ "$(id -u)" -eq 0 ]; then
	echo "fetch: no candidate for linux-image-amd64: apt-get update" >&2
	apt-get update -qq
	KV=$(kernel_abi)
fi
[ -n "$KV" ] || { echo "fetch: apt-cache knows no linux-image-amd64 (run apt-get update)" >&2; exit 1; }

PKGS=(
	xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils
	libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenmisc4.17 libxenstore4
	libxentoollog1 libxentoolcore1 libxendevicemodel1 libxenhypfs1 libyajl2
	"linux-image-$KV" busybox-static
)
missing=()
for p in "${PKGS[@]}"; do
	compgen -G "$B/debs/${p}_*.deb" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "fetch: apt-get download ${missing[*]}" >&2
	# apt's download sandbox user cannot write into a root-owned build tree.
	(cd "$B/debs" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}")
fi

debs=()
for p in "${PKGS[@]}"; do
	debs+=("$(ls -1 "$B/debs/${p}"_*.deb | sort -V | tail -n1)")
done
stamp=$(printf '%s\n' "${debs[@]##*/}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$B/stage/.stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "fetch: unpacking ${#debs[@]} packages into $B/stage" >&2
	rm -rf "$B/stage"
	mkdir -p "$B/stage"
	for d in "${debs[@]}"; do
		dpkg -x "$d" "$B/stage"
	done
	/usr/sbin/depmod -b "$B/stage" "$KV"
	echo "$KV" >"$B/stage/KVER"
	echo "$stamp" >"$B/stage/.stamp"
fi
echo "fetch: packages in $B/debs, kernel $KV" >&2
