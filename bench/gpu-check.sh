#!/usr/bin/env bash
# One command for a machine with a GPU: the op contract on every GPU device that OpenCL and TornadoVM
# list, then `nola bench --quick` on cpu, every OpenCL GPU and every TornadoVM GPU (with an NVIDIA GPU
# and a TornadoVM SDK built with both backends, its PTX and OpenCL devices side by side).
#
#   bench/gpu-check.sh [--no-contract] [--no-bench] [--out DIR]
#
# Needs JDK 25 (found as test.sh does) and, for the tornado devices, TORNADOVM_HOME. Where no GPU is
# listed it says so, runs the contract on what there is only if asked (NOLA_GPU_CHECK_CPU=1), and exits
# 0 with "no GPU found"; a failing contract exits 1; bad arguments exit 2.
# Profiler figures of the tornado steps (bytes copied, segments built per step) come with
# NOLA_JAVA_OPTS=-Dnola.tornado.profile=true, which this script sets unless NOLA_JAVA_OPTS is set.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT=""
CONTRACT=1
BENCH=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-contract) CONTRACT=0 ;;
    --no-bench) BENCH=0 ;;
    --out) shift; OUT="${1:-}"; [ -n "$OUT" ] || { echo "gpu-check: --out needs a directory" >&2; exit 2; } ;;
    -h|--help) sed -n 2,12p "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1'; expected --no-contract, --no-bench or --out DIR" >&2; exit 2 ;;
  esac
  shift
done
OUT="${OUT:-$ROOT/gpu-check-$(date -u +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT" || { echo "gpu-check: cannot create --out '$OUT'" >&2; exit 2; }
export NOLA_JAVA_OPTS="${NOLA_JAVA_OPTS:--Dnola.tornado.profile=true}"

if [ -z "${TORNADOVM_HOME:-}" ]; then
  echo "gpu-check: TORNADOVM_HOME is not set: TornadoVM devices are left out (OpenCL and cpu only)" >&2
fi

# `nola devices` prints "<device>  <TYPE> | name | ..." per device (building the project first if needed)
"$ROOT/bin/nola" devices > "$OUT/devices.txt" 2> "$OUT/devices.err" || {
  echo "gpu-check: 'nola devices' failed; see $OUT/devices.err" >&2; exit 1; }
cat "$OUT/devices.txt"
mapfile -t GPUS < <(awk '$2 == "GPU" && ($1 ~ /^opencl:/ || $1 ~ /^tornado:/) {print $1}' "$OUT/devices.txt")
mapfile -t ALL < <(awk '$1 ~ /^(opencl|tornado):/ {print $1}' "$OUT/devices.txt")

if [ ${#GPUS[@]} -eq 0 ]; then
  echo "gpu-check: no GPU found among OpenCL's and TornadoVM's devices (listed in $OUT/devices.txt)."
  if [ "${NOLA_GPU_CHECK_CPU:-0}" != 1 ]; then
    echo "gpu-check: nothing to check; NOLA_GPU_CHECK_CPU=1 runs the same checks on the CPU devices (${ALL[*]:-none})."
    exit 0
  fi
  GPUS=("${ALL[@]}")
fi
echo "gpu-check: devices: ${GPUS[*]}"

status=0
if [ "$CONTRACT" = 1 ]; then
  # the contract runs on every device of every backend present; the log names each device per check
  echo "gpu-check: contract on OpenCL's devices (kernels' OpsContractTest) ..."
  (cd "$ROOT" && ./test.sh -pl kernels -Dtest='OpsContractTest' -Dsurefire.failIfNoSpecifiedTests=false) \
      > "$OUT/contract-opencl.log" 2>&1 || status=1
  grep -E "Tests run:|FAIL" "$OUT/contract-opencl.log" | tail -3
  if [ -n "${TORNADOVM_HOME:-}" ]; then
    echo "gpu-check: contract on TornadoVM's devices, both kernel layouts (TornadoContractTest) ..."
    (cd "$ROOT" && ./test.sh -pl kernels-tornado -am -Dtest='TornadoContractTest' -Dsurefire.failIfNoSpecifiedTests=false) \
        > "$OUT/contract-tornado.log" 2>&1 || status=1
    grep -E "Tests run:|FAIL" "$OUT/contract-tornado.log" | tail -3
  fi
  for d in "${GPUS[@]}"; do
    n=$(grep -h -c "\[contract\] $d:.*passed" "$OUT"/contract-*.log 2>/dev/null | awk '{s+=$1} END {print s+0}')
    echo "gpu-check: $d: $n contract checks passed"
    [ "$n" -gt 0 ] || status=1
  done
  [ "$status" = 0 ] || echo "gpu-check: the contract FAILED somewhere; see $OUT/contract-*.log" >&2
fi

if [ "$BENCH" = 1 ]; then
  devices="cpu"
  for d in "${GPUS[@]}"; do devices="$devices,$d"; done
  echo "gpu-check: nola bench --quick --device $devices ..."
  "$ROOT/bin/nola" bench --quick --no-peers --device "$devices" --out "$OUT/bench" > "$OUT/bench.md" 2> "$OUT/bench.err" \
      || { echo "gpu-check: the bench failed; see $OUT/bench.err" >&2; status=1; }
  grep -E "tornado\.(segments_built|segment_runs|copy_in_bytes|copy_out_bytes)" "$OUT/bench.err" | tail -12
  echo "gpu-check: report in $OUT/bench.md"
fi
exit "$status"
