package dev.nola.kernels;

import dev.nola.kernels.contract.Contract;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

/** Runs the op contract on every backend of this module except the reference itself. */
class OpsContractTest {

    @TestFactory
    Stream<DynamicNode> everyBackend() {
        return Contract.forBackends(Backends.all().stream().filter(b -> !b.name().equals("reference")).toList());
    }

    /**
     * The reference under the checks whose oracle is not the reference (finite differences, host
     * arithmetic, closed forms, rejected input, closed state); comparing it with itself could not fail.
     */
    @TestFactory
    Stream<DynamicNode> referenceItself() {
        return Contract.forReference();
    }
}
