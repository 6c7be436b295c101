package dev.nola.spark;

import java.util.List;

/**
 * The JVM flags a Spark JVM needs on JDK 25 (the list Spark's own launcher adds), with the Vector API and native access
 * nola's backends use: for the drivers and executors nola starts. Its own class, free of Spark, so that
 * {@code java -cp nola-spark.jar dev.nola.spark.SparkJvmFlags} prints them (one a line) where Spark is not on the class
 * path (bin/nola, bench-cluster.sh).
 */
public final class SparkJvmFlags {

    public static final List<String> LIST = List.of("-XX:+IgnoreUnrecognizedVMOptions",
            "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
            "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.net=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED", "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
            "--add-opens=java.base/sun.security.action=ALL-UNNAMED", "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
            "-Dio.netty.tryReflectionSetAccessible=true", "--sun-misc-unsafe-memory-access=allow");

    private SparkJvmFlags() {
    }

    public static void main(String[] args) {
        LIST.forEach(System.out::println);
    }
}
