#!/usr/bin/env bash
# Runs the whole test suite with JDK 25: ./test.sh [extra maven args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bin/jdk.sh
source "$ROOT/bin/jdk.sh"
nola_find_jdk
nola_find_maven
echo "test.sh: JAVA_HOME=$JAVA_HOME ($("$JAVA_HOME/bin/java" -version 2>&1 | head -1))"
cd "$ROOT"
exec "$NOLA_MVN" -B -ntp -Dstyle.color=never test "$@"
