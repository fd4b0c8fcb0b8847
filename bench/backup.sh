#!/usr/bin/env bash
# Backup benchmark: >= 1 GB of MariaDB data, backed up and restored by our AOT agent (driven over RPC like Trove's
# taskmanager drives it), next to the limits and Trove's pipeline measured in the same run (bench/backup/backup_bench.py).
# Usage: bench/backup.sh [DATA_GB]     (default 1)
set -euo pipefail
GB=${1:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${TROVE_SHARED:-$ROOT/../shared}
export RMQ_PORT=${RMQ_PORT:-5697} RMQ_EPMD_PORT=${RMQ_EPMD_PORT:-4397}
SWIFT_PORT=${SWIFT_PORT:-18480}
SWIFT_DIR=$(mktemp -d /tmp/tgbench-swift-XXXX)
source "$SHARED/interop/rabbitmq_ci.sh"
[ -x "$ROOT/artifacts/agent/trove-guest-agent" ] || \
  dotnet publish "$ROOT/agent/Trove.Guest.Agent" -c Release -r linux-x64 -p:PublishAot=true -o "$ROOT/artifacts/agent" -nologo -v quiet
rmq_start >&2
bash "$SHARED/services/swift.sh" start "$SWIFT_DIR" "$SWIFT_PORT" >&2
trap 'rc=$?; set +e; bash "$SHARED/services/swift.sh" stop "$SWIFT_DIR" >&2; rm -rf "$SWIFT_DIR"; rmq_stop >&2; exit $rc' EXIT
/usr/bin/python3 "$ROOT/bench/backup/backup_bench.py" "$ROOT/artifacts/agent/trove-guest-agent" "$RMQ_URL" "$SWIFT_PORT" "$GB"
