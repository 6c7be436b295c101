#!/usr/bin/env bash
# The cluster measurement: a Spark standalone cluster of 2 Workers x 1 core on loopback (Spark's Master and Worker
# classes from distributed/target/spark-home/jars) against one process with 1 thread, the same global batch
# (2 x 4 sequences of 128 tokens per step), on a GPT-2 124M-shaped random base:
#   distributed/bench-cluster.sh [STEPS]       (default 8; needs ~10 GB of memory: driver + 2 executors of 3 GB)
#   NOLA_BENCH_LAYERS=1 distributed/bench-cluster.sh 3     (a quick trial of the script on a 1-layer model)
# Prints tokens/s of each, the sync per step and its share, and whether the adapters are identical.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bin/jdk.sh
source "$ROOT/bin/jdk.sh"
nola_find_jdk
nola_find_maven
STEPS="${1:-8}"
(cd "$ROOT" && "$NOLA_MVN" -q -B -ntp -pl distributed -am package -DskipTests)
JAR="$ROOT/distributed/target/nola-spark.jar"
JARS="$ROOT/distributed/target/spark-home/jars"
JAVA="$JAVA_HOME/bin/java"
mapfile -t FLAGS < <("$JAVA" -cp "$JAR" dev.nola.spark.SparkJvmFlags)
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
echo "bench-cluster: work directory $WORK"

"$JAVA" -Xmx3g $NOLA_JVM_FLAGS -cp "$JAR:$JARS/*" dev.nola.spark.ClusterBench base "$WORK/gpt2-124m" "$WORK/text.txt"

export SPARK_HOME="$ROOT/distributed/target/spark-home" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1
PORT=7177
"$JAVA" -Xmx512m "${FLAGS[@]}" -cp "$JARS/*" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port $PORT \
  --webui-port 8180 >"$WORK/master.log" 2>&1 &
PIDS+=($!)
until grep -q "elected leader" "$WORK/master.log"; do sleep 0.5; done
for i in 0 1; do
  "$JAVA" -Xmx512m "${FLAGS[@]}" -cp "$JARS/*" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 1 \
    --memory 4g --webui-port $((8181 + i)) --work-dir "$WORK/work$i" spark://127.0.0.1:$PORT >"$WORK/worker$i.log" 2>&1 &
  PIDS+=($!)
done
until grep -q "Successfully registered" "$WORK/worker0.log" && grep -q "Successfully registered" "$WORK/worker1.log"; do sleep 0.5; done

RUN=(finetune --model "$WORK/gpt2-124m" --data "$WORK/text.txt" --format text --held-out 4 --steps "$STEPS" --batch 4
     --accumulate 2 --device cpu --checkpoint-every "$STEPS" --quiet)
echo "bench-cluster: cluster run"
"$JAVA" -Xmx3g "${FLAGS[@]}" -XX:ActiveProcessorCount=1 -Dspark.executor.memory=3g -Dspark.executor.cores=1 \
  -Dspark.cores.max=2 -Dspark.driver.host=127.0.0.1 -Dspark.ui.enabled=false \
  -Dspark.scheduler.minRegisteredResourcesRatio=1.0 -Dspark.scheduler.maxRegisteredResourcesWaitingTime=300s \
  -cp "$JAR:$JARS/*" dev.nola.spark.SparkFinetune "${RUN[@]}" --out "$WORK/cluster" --spark spark://127.0.0.1:$PORT
cleanup
PIDS=()
echo "bench-cluster: one process, 1 thread"
"$JAVA" -Xmx3g $NOLA_JVM_FLAGS -XX:ActiveProcessorCount=1 -cp "$ROOT/cli/target/nola-cli.jar:$ROOT/cli/target/lib/*" \
  dev.nola.cli.Main "${RUN[@]}" --out "$WORK/local"
"$JAVA" $NOLA_JVM_FLAGS -cp "$JAR:$JARS/*" dev.nola.spark.ClusterBench compare "$WORK/cluster" "$WORK/local"
