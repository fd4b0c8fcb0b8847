#!/usr/bin/env bash
# Replication benchmark: create a replica from >= DATA_GB of data, promote (switchover) and eject (failover) with our
# AOT agents as processes and the control plane's flows, next to the bare seed and a switchover by hand measured in
# the same run (bench/Trove.Guest.Bench.Replication says how).
# Usage: bench/replication.sh [DATA_GB]     (default 1)
set -euo pipefail
GB=${1:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${TROVE_SHARED:-$ROOT/../shared}
OUT=$(mktemp -d)
export RMQ_PORT=${RMQ_PORT:-5696} RMQ_EPMD_PORT=${RMQ_EPMD_PORT:-4396}
source "$SHARED/interop/rabbitmq_ci.sh"
AGENT="$ROOT/artifacts/agent/trove-guest-agent"
# (Re)publish the AOT agent when any of its sources is newer than the binary.
if [ ! -x "$AGENT" ] || [ -n "$(find "$ROOT/agent" -name '*.cs' -newer "$AGENT" -print -quit)" ]; then
  dotnet publish "$ROOT/agent/Trove.Guest.Agent" -c Release -r linux-x64 -p:PublishAot=true -o "$ROOT/artifacts/agent" -nologo -v quiet
fi
dotnet build -c Release "$ROOT/bench/Trove.Guest.Bench.Replication" -o "$OUT/bin" -nologo -v quiet >/dev/null
rmq_start >&2
trap 'rc=$?; set +e; rmq_stop >&2; rm -rf "$OUT"; exit $rc' EXIT
"$OUT/bin/trove-guest-replication-bench" "$AGENT" "$RMQ_URL" "$ROOT/templates" "$GB"
