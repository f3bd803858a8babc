#!/usr/bin/env bash
# Install what the containerd runtime needs, from Debian, when it is missing:
#   containerd                  the daemon with the CRI plugin (we start a private one)
#   runc                        creates containers: namespaces, cgroups, pivot_root, exec
#   containernetworking-plugins CNI plugins in /usr/lib/cni (bridge, host-local, loopback)
#   busybox-static              the one binary our local images are built from
# Safe to run again: it does nothing when everything is there. Needs root and apt-get;
# otherwise it says why and exits 0 (the containerd tests then skip with that reason).
set -euo pipefail

missing=()
command -v containerd >/dev/null 2>&1 || missing+=(containerd)
command -v runc >/dev/null 2>&1 || missing+=(runc)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] \
  || missing+=(containernetworking-plugins)
# busybox-static replaces /bin/busybox with a statically linked build
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || missing+=(busybox-static)

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "[install] not root or no apt-get: not installing ${missing[*]}" >&2
  exit 0
fi
echo "[install] apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq "${missing[@]}" >/dev/null
