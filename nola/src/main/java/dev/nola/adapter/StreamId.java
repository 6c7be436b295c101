package dev.nola.adapter;

/**
 * The documented assignment of 32-bit Philox stream ids to generated matrices, so that regeneration
 * never depends on module names: bits 31..16 hold the layer part, bits 15..4 the module index (the
 * position in {@link NolaConfig#targetModules()}), bits 3..0 the factor.
 *
 * <p>The layer part is 0 when bases are shared across layers, and {@code layer + 1} otherwise, so a
 * per-layer basis never coincides with the shared one. The frozen offset A₀ of the OFFSET scheme
 * uses the A factor's stream id in domain {@code BasisStream.DOMAIN_OFFSET}. Adapter files record the
 * packed id of every factor; loading uses the recorded ids, not this assignment.
 *
 * @param layerPart 0 (shared) or layer + 1, in [0, {@value #MAX_LAYER_PART}]
 * @param module    the module index, in [0, {@value #MAX_MODULE}]
 * @param factor    {@link #FACTOR_A} or {@link #FACTOR_B} (other values up to 15 are reserved)
 */
public record StreamId(int layerPart, int module, int factor) {

    public static final int MAX_LAYER_PART = 0xFFFF;
    public static final int MAX_MODULE = 0xFFF;
    public static final int FACTOR_A = 0;
    public static final int FACTOR_B = 1;

    public StreamId {
        if (layerPart < 0 || layerPart > MAX_LAYER_PART) {
            throw new IllegalArgumentException("layerPart must be in [0, " + MAX_LAYER_PART + "], got " + layerPart);
        }
        if (module < 0 || module > MAX_MODULE) {
            throw new IllegalArgumentException("module must be in [0, " + MAX_MODULE + "], got " + module);
        }
        if (factor < 0 || factor > 15) {
            throw new IllegalArgumentException("factor must be in [0, 15], got " + factor);
        }
    }

    /** The stream id of a factor of a module in a layer (layer ≥ 0), shared across layers or not. */
    public static StreamId of(int layer, boolean shared, int module, int factor) {
        if (layer < 0 || layer >= MAX_LAYER_PART) {
            throw new IllegalArgumentException("layer must be in [0, " + (MAX_LAYER_PART - 1) + "], got " + layer);
        }
        return new StreamId(shared ? 0 : layer + 1, module, factor);
    }

    /** The 32-bit id (an unsigned value held in an int). */
    public int packed() {
        return (layerPart << 16) | (module << 4) | factor;
    }

    /** The inverse of {@link #packed()}. */
    public static StreamId unpack(int packed) {
        return new StreamId(packed >>> 16, (packed >>> 4) & MAX_MODULE, packed & 0xF);
    }
}
