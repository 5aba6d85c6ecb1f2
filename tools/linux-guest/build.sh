#!/bin/bash
# Build the wisp Linux guest artifacts, cached outside the clone:
#
#   ${WISP_CACHE_DIR:-/var/cache/wisp}/linux-<key>/
#       vmlinux            ELF kernel (Linux 64-bit entry and PVH note)
#       bzImage            the same kernel as a bzImage
#       initramfs.cpio.gz  busybox + init.sh as /init
#       rootfs.ext4        busybox + init.sh as /sbin/init (mkfs.ext4 -d)
#       config             the kernel .config that was built
#       stamp              written last; its presence means "complete"
#
# <key> is the sha256 of this script, config.fragment, pvm.patch, init.sh, the
# installed versions of linux-source-6.1 and busybox-static and the gcc version.
# If the stamp exists the build is skipped. The last line on stdout is the
# cache directory; all progress goes to stderr. Runs non-interactively.
#
# Environment: WISP_CACHE_DIR (cache root), WISP_LINUX_JOBS (make -j, default
# nproc), WISP_LINUX_NICE (niceness of the build, default 10), TMPDIR.
# See docs/linux-guest.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script="$here/$(basename "${BASH_SOURCE[0]}")"
fragment="$here/config.fragment"
patchfile="$here/pvm.patch"
initscript="$here/init.sh"
source_tarball=/usr/src/linux-source-6.1.tar.xz
busybox_bin=/bin/busybox
cache_root="${WISP_CACHE_DIR:-/var/cache/wisp}"
jobs="${WISP_LINUX_JOBS:-$(nproc)}"
niceness="${WISP_LINUX_NICE:-10}"
rootfs_mib=64

log() { printf 'linux-guest: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

exec </dev/null
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

# --- packages --------------------------------------------------------------
packages=(linux-source-6.1 build-essential bc bison flex libelf-dev libssl-dev
          busybox-static cpio e2fsprogs xz-utils patch gzip util-linux)

pkg_installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${packages[@]}"; do
	pkg_installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		die "missing Debian packages: ${missing[*]} (run as root to install them, or: apt-get install ${missing[*]})"
	fi
	log "installing: ${missing[*]}"
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
		log "apt-get install failed; running apt-get update and retrying"
		apt-get update -q >&2
		apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
			die "apt-get install ${missing[*]} failed"
	fi
fi

for f in "$fragment" "$patchfile" "$initscript" "$source_tarball" "$busybox_bin"; do
	[ -r "$f" ] || die "$f: not found or not readable"
done

# --- cache key --------------------------------------------------------------
linux_version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
busybox_version=$(dpkg-query -W -f='${Version}' busybox-static)
gcc_version=$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)

key_inputs=$(
	cd "$here"
	sha256sum build.sh config.fragment pvm.patch init.sh
	printf 'linux-source-6.1 %s\n' "$linux_version"
	printf 'busybox-static %s\n' "$busybox_version"
	printf 'gcc %s\n' "$gcc_version"
)
key=$(printf '%s\n' "$key_inputs" | sha256sum | cut -d' ' -f1)
out="$cache_root/linux-$key"

if [ -f "$out/stamp" ]; then
	log "cached: $out"
	echo "$out"
	exit 0
fi

mkdir -p "$cache_root" || die "$cache_root: cannot create the cache directory"

# One builder per key; a second one waits, then finds the stamp.
exec 9>"$cache_root/.linux-$key.lock"
flock 9
if [ -f "$out/stamp" ]; then
	log "cached (built by another process meanwhile): $out"
	echo "$out"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/wisp-linux-build.XXXXXX")
stage=$(mktemp -d "$cache_root/.linux-$key.staging.XXXXXX")
cleanup() { rm -rf "$work" "$stage"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
log "building $out"
log "work directory $work (log: $work/build.log)"

run_logged() {
	# run_logged <what> <command...>: output to build.log, tail of it on failure.
	local what=$1
	shift
	if ! "$@" >>"$work/build.log" 2>&1; then
		tail -n 40 "$work/build.log" >&2
		die "$what failed (full log above was $work/build.log)"
	fi
}

# --- kernel -----------------------------------------------------------------
log "extracting $source_tarball"
tar -xJf "$source_tarball" -C "$work"
src="$work/linux-source-6.1"
[ -d "$src" ] || die "$source_tarball did not contain linux-source-6.1/"

log "applying pvm.patch"
run_logged "patch" patch -d "$src" -p1 --forward --batch -i "$patchfile"

kmake() { nice -n "$niceness" make -C "$src" ARCH=x86_64 "$@"; }

log "configuring: tinyconfig + config.fragment"
run_logged "make tinyconfig" kmake tinyconfig
run_logged "merge_config.sh" env -C "$src" scripts/kconfig/merge_config.sh -m .config "$fragment"
run_logged "make olddefconfig" kmake olddefconfig

# Every option the fragment sets must have survived olddefconfig.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF -- "$line" "$src/.config" || { log "config: '$line' did not survive olddefconfig"; bad=1; }
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		if grep -q "^$opt=" "$src/.config"; then
			log "config: $opt should be unset but is $(grep "^$opt=" "$src/.config")"
			bad=1
		fi
		;;
	esac
done <"$fragment"
[ "$bad" -eq 0 ] || die "config.fragment does not apply cleanly (dependencies missing?)"

log "compiling vmlinux and bzImage with -j$jobs (nice $niceness)"
kstart=$(date +%s)
run_logged "kernel build" kmake -j"$jobs" vmlinux bzImage
kend=$(date +%s)
log "kernel built in $((kend - kstart)) s"
if [ ! -x "$src/usr/gen_init_cpio" ]; then
	run_logged "gen_init_cpio build" kmake usr/gen_init_cpio
fi

# The PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY = 18) must be in vmlinux.
readelf -n "$src/vmlinux" | grep -A1 '^  Xen ' | grep -qE '0x00000012|PHYS32_ENTRY' ||
	die "vmlinux has no PVH (XEN_ELFNOTE_PHYS32_ENTRY) note"

cp "$src/vmlinux" "$stage/vmlinux"
cp "$src/arch/x86/boot/bzImage" "$stage/bzImage"
cp "$src/.config" "$stage/config"

# --- busybox userspace --------------------------------------------------------
readelf -l "$busybox_bin" | grep -q 'INTERP' &&
	die "$busybox_bin is dynamically linked; busybox-static must provide it"
mapfile -t applets < <("$busybox_bin" --list-full | sort)
[ "${#applets[@]}" -gt 0 ] || die "$busybox_bin --list-full printed nothing"

# initramfs, described for usr/gen_init_cpio: no root needed for /dev/console.
log "making initramfs.cpio.gz"
list="$work/initramfs.list"
{
	for d in /bin /sbin /usr /usr/bin /usr/sbin /dev /proc /sys /tmp /root /etc; do
		echo "dir $d 0755 0 0"
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	echo "file /bin/busybox $busybox_bin 0755 0 0"
	echo "file /init $initscript 0755 0 0"
	for a in "${applets[@]}"; do
		[ "$a" = bin/busybox ] && continue
		echo "slink /$a /bin/busybox 0777 0 0"
	done
} >"$list"
"$src/usr/gen_init_cpio" "$list" >"$work/initramfs.cpio" 2>>"$work/build.log" ||
	die "gen_init_cpio failed (see $work/build.log)"
gzip -9 -n <"$work/initramfs.cpio" >"$stage/initramfs.cpio.gz"

# rootfs.ext4 from a directory tree: mkfs.ext4 -d, no mount, no root needed.
log "making rootfs.ext4"
tree="$work/rootfs"
mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc}
chmod 1777 "$tree/tmp"
cp "$busybox_bin" "$tree/bin/busybox"
for a in "${applets[@]}"; do
	case "$a" in bin/busybox | sbin/init) continue ;; esac
	ln -sf /bin/busybox "$tree/$a"
done
install -m 0755 "$initscript" "$tree/sbin/init"
truncate -s "${rootfs_mib}M" "$stage/rootfs.ext4"
run_logged "mkfs.ext4" mkfs.ext4 -q -F -L wisp-root -E root_owner=0:0 -d "$tree" "$stage/rootfs.ext4"

# --- publish ------------------------------------------------------------------
end=$(date +%s)
{
	echo "wisp linux guest artifacts"
	echo "key $key"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n) in $((end - start)) s (kernel $((kend - kstart)) s, -j$jobs)"
	echo "inputs:"
	printf '%s\n' "$key_inputs" | sed 's/^/  /'
	echo "outputs:"
	(cd "$stage" && sha256sum vmlinux bzImage initramfs.cpio.gz rootfs.ext4 config | sed 's/^/  /')
} >"$stage/stamp.tmp"
mv "$stage/stamp.tmp" "$stage/stamp"
chmod 0755 "$stage"

rm -rf "$out" # an unstamped leftover of an interrupted run, if any
mv -T "$stage" "$out"
log "done in $((end - start)) s: $out"
echo "$out"
