#!/usr/bin/env bash
# Image build benchmark: trove-guest-image against stock diskimage-builder in the same run, on the same mirror.
#   DIB cold  : disk-image-create -t qcow2 debian-minimal, empty cache (DIB_DEBOOTSTRAP_CACHE=1 so that warm can use it)
#   DIB warm  : the same again with its apt .deb cache and debootstrap tarball (DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE=1)
#   ours cold : trove-guest-image build -t qcow2 debian-minimal vm (a bootable GPT disk, BIOS+UEFI), empty cache
#   ours warm : the same again, unchanged inputs
# Each run: wall time, the largest process's peak RSS (/usr/bin/time -v) and the peak growth of the host's Shmem
# (tmpfs, where DIB keeps its tree and raw image), sampled every 0.5 s; then the qcow2 size.
# Usage: bench/imagebuilder.sh [WORKDIR]      (default /tmp/tgi-bench; needs ~6 GB free)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-/tmp/tgi-bench}
rm -rf "$W"; mkdir -p "$W/bin"
export DIB_RELEASE=bookworm DIB_DISTRIBUTION_MIRROR=${DIB_DISTRIBUTION_MIRROR:-http://deb.debian.org/debian}
export DIB_DEBIAN_SECURITY_MIRROR=${DIB_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} DIB_DEBIAN_SECURITY_SUBPATH=-security
dotnet publish "$ROOT/imagebuilder/Trove.Guest.ImageBuilder" -c Release -o "$W/bin" -nologo -v quiet >&2
TGI="dotnet $W/bin/trove-guest-image.dll"
# A published copy finds our elements and templates through these, as a package would find /usr/share/trove-guest.
export TROVE_GUEST_ELEMENTS="$ROOT/elements" TROVE_GUEST_TEMPLATES="$ROOT/templates"

shmem() { awk '/^Shmem:/{print $2}' /proc/meminfo; }
run() { # NAME COMMAND...
  local name=$1; shift
  local base peak=0 pid now
  base=$(shmem)
  /usr/bin/time -v -o "$W/$name.time" "$@" > "$W/$name.out" 2>&1 & pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    now=$(( $(shmem) - base )); (( now > peak )) && peak=$now
    sleep 0.5
  done
  wait "$pid" || { echo "$name failed; see $W/$name.out" >&2; tail -20 "$W/$name.out" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$W/$name.time")
  rss=$(awk -F': ' '/Maximum resident/{print int($2/1024)}' "$W/$name.time")
  printf '%-10s wall %7.1f s   peak RSS %5d MB   peak tmpfs growth %5d MB\n' "$name" "$wall" "$rss" $(( peak / 1024 ))
  echo "$name $wall $rss $(( peak / 1024 ))" >> "$W/results"
}

run dib-cold env DIB_IMAGE_CACHE="$W/dib-cache" DIB_DEBOOTSTRAP_CACHE=1 disk-image-create -o "$W/dib-cold" -t qcow2 debian-minimal
run dib-warm env DIB_IMAGE_CACHE="$W/dib-cache" DIB_DEBOOTSTRAP_CACHE=1 DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE=1 disk-image-create -o "$W/dib-warm" -t qcow2 debian-minimal
run tgi-cold env DIB_IMAGE_CACHE="$W/tgi-cache" $TGI build -o "$W/tgi-cold" -t qcow2 debian-minimal vm
run tgi-warm env DIB_IMAGE_CACHE="$W/tgi-cache" $TGI build -o "$W/tgi-warm" -t qcow2 debian-minimal vm

echo "steps, ours cold:"; sed -n '/phase and step times/,/wrote/p' "$W/tgi-cold.out" | grep -v wrote
echo "steps, ours warm:"; sed -n '/phase and step times/,/wrote/p' "$W/tgi-warm.out" | grep -v wrote
dib=$(stat -c %s "$W/dib-cold.qcow2"); ours=$(stat -c %s "$W/tgi-cold.qcow2")
echo "qcow2: DIB $dib B, ours $ours B"
awk -v dib="$dib" -v ours="$ours" '
  { wall[$1]=$2; rss[$1]=$3; shm[$1]=$4 }
  END {
    printf "ratios (ours/DIB): cold %.2fx (target <= 0.5), warm %.2fx (target <= 0.2), qcow2 %.2fx (target <= 0.8)\n",
      wall["tgi-cold"]/wall["dib-cold"], wall["tgi-warm"]/wall["dib-warm"], ours/dib
    printf "peak memory, largest process + tmpfs growth: DIB %d MB, ours %d MB (%.2fx; target <= 0.5)\n",
      rss["dib-cold"]+shm["dib-cold"], rss["tgi-cold"]+shm["tgi-cold"], (rss["tgi-cold"]+shm["tgi-cold"])/(rss["dib-cold"]+shm["dib-cold"])
  }' "$W/results"
