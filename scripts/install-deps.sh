#!/usr/bin/env bash
# Install the Debian 12 packages wisp needs to build, test and benchmark.
# Only missing packages are installed; needs root (or sudo) when any are missing.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang llvm
  libjansson-dev libseccomp-dev libcap-dev liburing-dev check
  libcurl4-openssl-dev linux-libc-dev
  qemu-system-x86 iproute2 iputils-ping curl e2fsprogs
)
if [[ "${1:-}" == "--print" ]]; then
  printf '%s\n' "${PKGS[@]}"
  exit 0
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq </dev/null >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >&2
