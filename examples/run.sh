#!/usr/bin/env bash
# Builds and runs the example project against the nola-kernels artifact in the local Maven
# repository (install it first: `mvn -DskipTests install` at the repository root).
#   examples/run.sh [device]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../bin/jdk.sh
source "$HERE/../bin/jdk.sh"
nola_find_jdk
cd "$HERE"
# (Maven 3.8 prints colour resets even in batch mode; strip them)
mvn -q -B -ntp -Dstyle.color=never package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt 2>&1 \
  | sed 's/\x1b\[[0-9;]*m//g' >&2
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -cp "target/classes:$(cat target/classpath.txt)" dev.nola.examples.SeededMixAndMatmul "$@" \
  2> >(grep -v '^WARNING: Using incubator modules' >&2)
