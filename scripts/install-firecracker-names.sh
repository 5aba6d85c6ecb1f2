#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# install-firecracker-names.sh — install wisp and wisp-jailer under
# Firecracker's names, for clients that look for them (Kata Containers'
# runtimes, firecracker-containerd, Firecracker's own test framework):
#
#   scripts/install-firecracker-names.sh [--bin] [--link] [--build DIR] PREFIX
#
# puts real files named `firecracker` and `jailer` in PREFIX/lib/wisp/
# (with --bin: PREFIX/bin/). They are copies of DIR/wisp and
# DIR/wisp-jailer (DIR defaults to build/ next to this script), or hard
# links with --link (same filesystem only). Never symlinks: the jailer
# canonicalises its --exec-file, and a symlink would name the jail, the pid
# file and the socket after its target (wisp) instead of firecracker.
#
# The same as `cmake --install <build> --prefix PREFIX --component
# firecracker-names` (CMake option WISP_FIRECRACKER_NAMES_DIR). Prints the
# installed paths and what each says to --version; exits non-zero on any
# error, leaving nothing half-written at the destination names.
set -eu

usage() {
	echo "usage: $0 [--bin] [--link] [--build DIR] PREFIX" >&2
	exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
sub=lib/wisp
link=0
while [ $# -gt 0 ]; do
	case "$1" in
	--bin) sub=bin ;;
	--link) link=1 ;;
	--build) [ $# -ge 2 ] || usage; build=$2; shift ;;
	--help|-h) usage ;;
	--*) echo "$0: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 1 ] || usage
prefix=$1
dest="$prefix/$sub"

for f in wisp wisp-jailer; do
	if [ ! -f "$build/$f" ] || [ ! -x "$build/$f" ]; then
		echo "$0: $build/$f: not a built executable (build first, or pass --build DIR)" >&2
		exit 1
	fi
done
mkdir -p "$dest"

# put SRC NAME: DEST/NAME becomes a real file with SRC's content, replaced
# atomically (a temporary name in the same directory, then rename).
put() {
	tmp="$dest/.$2.tmp.$$"
	rm -f "$tmp"
	if [ "$link" = 1 ]; then
		ln "$1" "$tmp"
	else
		cp "$1" "$tmp"
		chmod 0755 "$tmp"
	fi
	mv -f "$tmp" "$dest/$2"
	if [ -L "$dest/$2" ] || [ ! -x "$dest/$2" ]; then
		echo "$0: $dest/$2 is not an executable file" >&2
		exit 1
	fi
}
trap 'rm -f "$dest"/.firecracker.tmp.$$ "$dest"/.jailer.tmp.$$' EXIT
put "$build/wisp" firecracker
put "$build/wisp-jailer" jailer

for f in firecracker jailer; do
	printf '%s: %s\n' "$dest/$f" "$("$dest/$f" --version 2>/dev/null | head -n 1)"
done
