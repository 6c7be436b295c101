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
# then holds 20–40 MB live and a stream of short-lived garbage (most of it the Vector API's boxes while
# C1 code runs in the first steps). G1 sizes its heap by the time spent collecting: during those first
# steps it doubled the heap again and again, to 230–500 MB of a GPT-2 124M step's RSS, more the more
# loaded the machine (G1 with -Xms32m -XX:GCTimeRatio=4; capping its young generation made it grow
# the whole heap instead). The serial collector grows its heap only by what survives a collection:
# NMT at the end of a GPT-2 124M materialised run, heap + GC structures committed: G1 239 + 43 MB
# (528 + 49 in a second run), serial 71 + 0.3 MB; the step no slower (side by side, 4-layer GPT-2
# materialised: 139–143 tokens/s against G1's 115–129 on a loaded machine; young pauses ~1 ms).
# No -Xmx: the reference device's tensors are the heap, and TornadoVM's direct memory is capped at
# -Xmx. bin/nola drops the collector when TornadoVM's flags or NOLA_JAVA_OPTS choose another.
NOLA_MEMORY_FLAGS="-Xms32m -XX:+UseSerialGC"
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
