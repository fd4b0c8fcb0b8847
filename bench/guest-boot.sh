#!/usr/bin/env bash
# Boot benchmark: our mariadb guest image (built here unless IMAGE is given) under qemu, bare boot to multi-user.target
# against POST /instances to the first heartbeat and to ACTIVE/HEALTHY through the real controller with the qemu driver,
# RUNS times one after the other (bench/Trove.Guest.Bench.Controller/BootToHealthy.cs says how); and the image's size
# against DIB's recorded 385 MiB for debian-minimal + vm + MariaDB.
# Usage: bench/guest-boot.sh [RUNS] [IMAGE]     (default 2 runs)
set -euo pipefail
RUNS=${1:-2} IMAGE=${2:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${TROVE_SHARED:-$ROOT/../shared}
OUT=$(mktemp -d)
export RMQ_PORT=${RMQ_PORT:-5698} RMQ_EPMD_PORT=${RMQ_EPMD_PORT:-4398}
source "$SHARED/interop/rabbitmq_ci.sh"
dotnet build -c Release "$ROOT/bench/Trove.Guest.Bench.Controller" -o "$OUT/bin" -nologo -v quiet >/dev/null
if [ -z "$IMAGE" ]; then
  [ -x "$ROOT/artifacts/agent/trove-guest-agent" ] || dotnet publish "$ROOT/agent/Trove.Guest.Agent" -c Release -r linux-x64 -p:PublishAot=true -o "$ROOT/artifacts/agent" -nologo -v quiet >&2
  dotnet build -c Release "$ROOT/imagebuilder/Trove.Guest.ImageBuilder" -nologo -v quiet >/dev/null
  DIB_TROVE_GUEST_AGENT=$ROOT/artifacts/agent/trove-guest-agent DIB_TROVE_GUEST_TEMPLATES=$ROOT/templates DIB_RELEASE=${DIB_RELEASE:-bookworm} \
  DIB_DEBIAN_SECURITY_MIRROR=${DIB_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} DIB_DEBIAN_SECURITY_SUBPATH=${DIB_DEBIAN_SECURITY_SUBPATH:--security} \
    "$ROOT/imagebuilder/Trove.Guest.ImageBuilder/bin/Release/net10.0/trove-guest-image" build -o "$OUT/mariadb" -t qcow2 trove-debian vm trove-guest-agent mariadb >&2
  IMAGE=$OUT/mariadb.qcow2
fi
rmq_start >&2
trap 'rc=$?; set +e; rmq_stop >&2; rm -rf "$OUT"; exit $rc' EXIT
"$OUT/bin/trove-guest-controller-bench" boot "$OUT/bin/trove-guest-controller.dll" "$IMAGE" "$ROOT/templates" "$RMQ_URL" "$RUNS"
