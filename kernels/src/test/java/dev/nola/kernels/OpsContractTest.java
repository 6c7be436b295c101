package dev.nola.kernels;

import dev.nola.kernels.contract.OpsContract;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

/** Runs the op contract on every backend of this module except the reference itself. */
class OpsContractTest {

    @TestFactory
    Stream<DynamicNode> everyBackend() {
        return OpsContract.forBackends(Backends.all().stream().filter(b -> !b.name().equals("reference")).toList());
    }

    /** The reference against itself: proves the suite runs and the reference is self-consistent. */
    @TestFactory
    Stream<DynamicNode> referenceItself() {
        return OpsContract.forDevice(() -> Backends.open("reference"));
    }
}
