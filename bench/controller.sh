#!/usr/bin/env bash
# Controller benchmark: the API's list/show requests/s on INSTANCES instances (SQLite and PostgreSQL, next to a bare
# ASP.NET floor answering the same bytes), and create-to-healthy through the real trove-guest-controller with the
# process compute driver, step by step, next to a bare loop volume + mariadb-install-db + mariadbd floor measured in the
# same run (bench/Trove.Guest.Bench.Controller says how).
# Usage: bench/controller.sh [INSTANCES] [CREATES] [SECONDS]     (defaults 1000, 3, 3)
# The agent is the AOT one (artifacts/agent, republished when its sources changed), or $TROVE_BENCH_AGENT.
set -euo pipefail
INSTANCES=${1:-1000} CREATES=${2:-3} SECONDS_PER_CELL=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${TROVE_SHARED:-$ROOT/../shared}
OUT=$(mktemp -d)
export RMQ_PORT=${RMQ_PORT:-5697} RMQ_EPMD_PORT=${RMQ_EPMD_PORT:-4397}
source "$SHARED/interop/rabbitmq_ci.sh"
AGENT=${TROVE_BENCH_AGENT:-$ROOT/artifacts/agent/trove-guest-agent}
if [ -z "${TROVE_BENCH_AGENT:-}" ] && { [ ! -x "$AGENT" ] || [ -n "$(find "$ROOT/agent" -name '*.cs' -not -path '*/obj/*' -not -path '*/bin/*' -newer "$AGENT" -print -quit)" ]; }; then
  dotnet publish "$ROOT/agent/Trove.Guest.Agent" -c Release -r linux-x64 -p:PublishAot=true -o "$ROOT/artifacts/agent" -nologo -v quiet >&2
fi
# The bench references the controller, so its Release build lands beside it.
dotnet build -c Release "$ROOT/bench/Trove.Guest.Bench.Controller" -o "$OUT/bin" -nologo -v quiet >/dev/null
rmq_start >&2
# set +e: rmq_stop's last wait answers 143 (the broker's launcher died of its SIGTERM), which must not cut the cleanup short.
trap 'rc=$?; set +e; rmq_stop >&2; rm -rf "$OUT"; exit $rc' EXIT
"$OUT/bin/trove-guest-controller-bench" "$OUT/bin/trove-guest-controller.dll" "$AGENT" "$ROOT/templates" "$RMQ_URL" "$INSTANCES" "$CREATES" "$SECONDS_PER_CELL"
