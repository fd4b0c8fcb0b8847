#!/usr/bin/env bash
# Guest agent benchmark: start-to-READY, idle RSS and prepare wall time of the Native AOT agent, next to the footprint
# of python3-trove's guest agent measured in the same run (bench/agent/footprint.py says how).
# Usage: bench/agent.sh [RUNS]     (default 5)
set -euo pipefail
RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${TROVE_SHARED:-$ROOT/../shared}
export RMQ_PORT=${RMQ_PORT:-5698} RMQ_EPMD_PORT=${RMQ_EPMD_PORT:-4398}
source "$SHARED/interop/rabbitmq_ci.sh"
[ -x "$ROOT/artifacts/agent/trove-guest-agent" ] || \
  dotnet publish "$ROOT/agent/Trove.Guest.Agent" -c Release -r linux-x64 -p:PublishAot=true -o "$ROOT/artifacts/agent" -nologo -v quiet
rmq_start >&2
trap 'rc=$?; set +e; rmq_stop >&2; exit $rc' EXIT
/usr/bin/python3 "$ROOT/bench/agent/footprint.py" "$ROOT/artifacts/agent/trove-guest-agent" "$RMQ_URL" "$RUNS"
