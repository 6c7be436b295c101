package dev.nola.kernels.tornado;

import java.util.List;

/**
 * What makes two kernel calls the same plan: the op variant, the storage tensors of its operands in
 * order (null for an absent operand, a spare slot or the call's own scratch) and a description of how
 * each operand is used and transferred and, inside a capture, whether it is addressed through its arena.
 * Compiled plans are cached under it ({@link PlanCache}); a captured sequence is the list of its calls' keys.
 */
record CallKey(String op, List<TornadoTensor> storages, String uses) {
}
