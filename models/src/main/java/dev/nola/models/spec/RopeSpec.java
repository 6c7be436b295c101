package dev.nola.models.spec;

/**
 * Rotary position embedding in Hugging Face's convention (rotate_half over the two halves of each
 * head): the inverse frequencies of the pairs and the longest sequence the table covers.
 *
 * @param headDim       the head width (even)
 * @param positions     rows of the cos/sin table
 * @param inverseFrequency headDim / 2 inverse frequencies, float32 as Hugging Face computes them
 *                      (scaling, such as Llama 3's, already applied)
 */
public record RopeSpec(int headDim, int positions, float[] inverseFrequency) {

    public RopeSpec {
        if (headDim < 2 || headDim % 2 != 0 || positions < 1 || inverseFrequency.length != headDim / 2) {
            throw new IllegalArgumentException("rotary embedding: head width " + headDim + ", " + positions + " positions, "
                    + inverseFrequency.length + " frequencies; expected an even width and width/2 frequencies");
        }
        inverseFrequency = inverseFrequency.clone();
    }

    /** The inverse frequencies (a copy). */
    @Override
    public float[] inverseFrequency() {
        return inverseFrequency.clone();
    }

    /**
     * The cos and sin tables [positions, headDim / 2], computed as Hugging Face does in float32:
     * angle = (float) p · invFreq[i], then cos and sin of that float.
     */
    public float[][] tables() {
        int half = headDim / 2;
        float[] cos = new float[positions * half];
        float[] sin = new float[positions * half];
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * inverseFrequency[i];
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
        return new float[][] {cos, sin};
    }
}
