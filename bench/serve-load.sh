#!/usr/bin/env bash
# nola serve under load (issue 24): 64 concurrent clients, requests over 1, 16, 256 and 4096 NOLA
# adapters of one base, against the same load on a single merged model (the base with one adapter
# merged in, served with no adapters). One JSON line per run in $WORK/results.jsonl:
# tokens/s, p50/p99 latency, the server's RSS, the mixed-factor cache's hit rate.
#   bench/serve-load.sh [gpt2-fortunes|llama-fortunes]
# Env: DEVICE (cpu), REQUESTS (2048), MAX_TOKENS (32), CLIENTS (64), CACHE_BYTES (67108864),
#      PORT (8437), NOLA_JAVA_OPTS (-Xmx2g, the same for every server run), WORK (target/serve-load/MODEL)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bin/jdk.sh
source bin/jdk.sh
nola_find_jdk
MODEL="${1:-gpt2-fortunes}"
DEVICE="${DEVICE:-cpu}"
REQUESTS="${REQUESTS:-2048}"
MAX_TOKENS="${MAX_TOKENS:-32}"
CLIENTS="${CLIENTS:-64}"
CACHE_BYTES="${CACHE_BYTES:-67108864}"
PORT="${PORT:-8437}"
WORK="${WORK:-$ROOT/target/serve-load/$MODEL}"
export NOLA_JAVA_OPTS="${NOLA_JAVA_OPTS:--Xmx2g}"
BENCH=(java -cp "$ROOT/bench/target/nola-bench.jar")
BENCH[0]="$JAVA_HOME/bin/java"

# the base (built once into $NOLA_CACHE) and the jars
bin/nola generate --model "$MODEL" --prompt "The" --length 1 --device "$DEVICE" >/dev/null
mkdir -p "$WORK/empty"
[ -d "$WORK/adapters/n4095" ] || "${BENCH[@]}" dev.nola.bench.MakeAdapters "$MODEL" "$WORK/adapters" 4096
[ -d "$WORK/merged" ] || bin/nola merge --model "$MODEL" --adapter "$WORK/adapters/n0000" --out "$WORK/merged" --device "$DEVICE"

run() {  # MODEL ADAPTERS_DIR COUNT
  bin/nola serve --model "$1" --adapters "$2" --port "$PORT" --device "$DEVICE" --max-batch "$CLIENTS" \
      --max-queue 1024 --cache-bytes "$CACHE_BYTES" 2>"$WORK/server.log" &
  local pid=$!
  until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.5
  done
  # a warm-up (JIT, buffers) on other request indices, so it does not prime the measured run's adapters
  "${BENCH[@]}" dev.nola.bench.ServeLoad "http://127.0.0.1:$PORT" "$1" "$3" "$CLIENTS" 256 "$MAX_TOKENS" 1000000 >/dev/null
  "${BENCH[@]}" dev.nola.bench.ServeLoad "http://127.0.0.1:$PORT" "$1" "$3" "$CLIENTS" "$REQUESTS" "$MAX_TOKENS" \
      | tee -a "$WORK/results.jsonl"
  kill -TERM "$pid"
  wait "$pid" || true
}

: >"$WORK/results.jsonl"
run "$WORK/merged" "$WORK/empty" 0
for n in 1 16 256 4096; do
  run "$MODEL" "$WORK/adapters" "$n"
done
echo "results: $WORK/results.jsonl (adapters 0 = the merged model)"
