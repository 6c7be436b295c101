# Sourced by bin/nola, ./test.sh and .ci/run: sets JAVA_HOME to a JDK 25 or newer and puts it first on PATH.
# Order: $JAVA_HOME if it is 25+, else the newest Temurin 25+ under /usr/lib/jvm, else any JDK 25+ there.

nola_java_major() { # prints the feature version of the java at $1, or nothing
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p' | head -1
}

nola_find_jdk() {
  local candidate major
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    major="$(nola_java_major "$JAVA_HOME")"
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      export PATH="$JAVA_HOME/bin:$PATH"
      nola_chain_signals
      return 0
    fi
  fi
  for candidate in $(ls -d /usr/lib/jvm/temurin-*-jdk* 2>/dev/null | sort -rV) $(ls -d /usr/lib/jvm/* 2>/dev/null | sort -rV); do
    [ -x "$candidate/bin/javac" ] || continue
    major="$(nola_java_major "$candidate")"
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      export JAVA_HOME="$candidate"
      export PATH="$JAVA_HOME/bin:$PATH"
      nola_chain_signals
      return 0
    fi
  done
  echo "nola: no JDK 25 or newer found (JAVA_HOME='${JAVA_HOME:-}', /usr/lib/jvm has: $(ls /usr/lib/jvm 2>/dev/null | tr '\n' ' ')); install Temurin 25 or point JAVA_HOME at it" >&2
  return 1
}

# Signal chaining: PoCL's LLVM installs its own SIGSEGV handler when it compiles a kernel, and the JVM
# uses SIGSEGV itself (null checks, safepoints) in compiled code; without libjsig a later, unrelated
# SIGSEGV can reach LLVM's handler and kill the process (seen: ~1 bench run in 2 segfaulted on the
# cpu device after an OpenCL one). libjsig lets the JVM keep its handler and chain the library's.
nola_chain_signals() {
  local jsig="$JAVA_HOME/lib/libjsig.so"
  if [ -f "$jsig" ] && [[ ":${LD_PRELOAD:-}:" != *":$jsig:"* ]]; then
    export LD_PRELOAD="$jsig${LD_PRELOAD:+:$LD_PRELOAD}"
  fi
}

# JVM flags every nola run needs: the Vector API and JOCL's native access.
NOLA_JVM_FLAGS="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"
# The Java heap of the CLI, the server and the bench (whose step children inherit it, so the bench
# measures what `nola finetune` gets): the cpu and opencl devices keep tensors outside the heap, which
# then holds ~35 MB live and a stream of short-lived garbage. G1's defaults start the heap at 1/64 of
# the machine (384 MB here) and grow it whenever collection passes 1/13 of the time, so garbage, not
# data, set ~400-500 MB of a GPT-2 124M step's RSS. Starting at 32 MB and growing only past 20% of the
# time keeps it nearer what is live (220–370 MB committed on a loaded 2-core machine, against 380–560 MB
# with the bench's former -Xmx1g or with the defaults). No -Xmx: the reference
# device's tensors are the heap, and TornadoVM's direct memory is capped at -Xmx.
NOLA_MEMORY_FLAGS="-Xms32m -XX:GCTimeRatio=4"
# Maven's own JVM: silence JDK 25's warnings about Maven's bundled libraries.
export MAVEN_OPTS="${MAVEN_OPTS:-} --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"

# Maven: the one on PATH, else the project's Maven Wrapper (./mvnw fetches Maven from Maven Central once,
# into ~/.m2/wrapper). Sets NOLA_MVN; callers run "$NOLA_MVN" ...
nola_find_maven() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if command -v mvn >/dev/null 2>&1; then
    NOLA_MVN="mvn"
  elif [ -x "$root/mvnw" ]; then
    NOLA_MVN="$root/mvnw"
  else
    echo "nola: Maven is missing and $root/mvnw is gone; restore it (git checkout mvnw .mvn) or install Maven: apt-get install maven" >&2
    return 1
  fi
}
