#!/usr/bin/env bash
# RPC benchmark: the Python oslo.messaging pair (../shared/interop/bench_baseline.sh) and our C# pair, back to back
# on one private broker, so the ratio is measured in the same run on the same machine.
# Usage: bench/run.sh [REPS]      (default 3; each rep: 2000 calls at 1 caller, 4000 calls at 8 callers)
# Prints JSON lines: Python first (no "peer" key), then ours ("peer": "csharp"), then a summary with the ratios.
set -euo pipefail
REPS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${TROVE_SHARED:-$ROOT/../shared}
OUT=$(mktemp -d)
export RMQ_PORT=${RMQ_PORT:-5699} RMQ_EPMD_PORT=${RMQ_EPMD_PORT:-4399}
source "$SHARED/interop/rabbitmq_ci.sh"
dotnet build -c Release "$ROOT/bench/Trove.Guest.Bench" -o "$OUT/bin" >/dev/null
rmq_start >&2
SP=""
cleanup() { set +e; [ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null; rmq_stop >&2; rm -rf "$OUT"; }
trap cleanup EXIT

"$SHARED/interop/bench_baseline.sh" "$RMQ_URL" "$REPS" | tee "$OUT/python.jsonl"

"$OUT/bin/trove-guest-bench" server --url "$RMQ_URL" --topic bench.cs --server b1 > "$OUT/server.out" 2>&1 &
SP=$!
until grep -q READY "$OUT/server.out" 2>/dev/null; do sleep 0.05; done
for rep in $(seq 1 "$REPS"); do
  "$OUT/bin/trove-guest-bench" client --url "$RMQ_URL" --topic bench.cs --count 2000 --concurrency 1
  "$OUT/bin/trove-guest-bench" client --url "$RMQ_URL" --topic bench.cs --count 4000 --concurrency 8
done | tee "$OUT/csharp.jsonl"
echo "{\"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"nproc\": $(nproc)}"

/usr/bin/python3 - "$OUT/python.jsonl" "$OUT/csharp.jsonl" <<'PY'
import json, statistics, sys
def rows(path):
    return [json.loads(l) for l in open(path) if l.strip().startswith('{') and 'calls_per_s' in l]
py, cs = rows(sys.argv[1]), rows(sys.argv[2])
for c in (1, 8):
    p = [r for r in py if r['concurrency'] == c]; s = [r for r in cs if r['concurrency'] == c]
    med = lambda rs, k: statistics.median(r[k] for r in rs)
    print(json.dumps({'summary': f'concurrency {c}',
                      'python_calls_per_s': med(p, 'calls_per_s'), 'csharp_calls_per_s': med(s, 'calls_per_s'),
                      'ratio': round(med(s, 'calls_per_s') / med(p, 'calls_per_s'), 2),
                      'python_p50_ms': med(p, 'p50_ms'), 'csharp_p50_ms': med(s, 'p50_ms'),
                      'python_p99_ms': med(p, 'p99_ms'), 'csharp_p99_ms': med(s, 'p99_ms')}))
PY
