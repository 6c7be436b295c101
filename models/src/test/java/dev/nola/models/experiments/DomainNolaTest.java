package dev.nola.models.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.adapter.NolaConfig;
import dev.nola.models.bases.SmallBases;
import dev.nola.models.spec.AdapterSite;
import dev.nola.models.spec.ModelSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The domain-adaptation NOLA: GPT-2's numbers as before, and LLaMA's scaled to half of LoRA r = 1's. */
class DomainNolaTest {

    @Test
    void gpt2KeepsItsSettingsAndLlamaGetsHalfOfLoraR1() {
        ModelSpec gpt2 = SmallBases.GPT2_CONFIG.spec().model();
        assertEquals(NolaConfig.offset(8, 64, 64, 8f, 11L, List.of("q", "v")), PaperClaim.domainNola(gpt2, List.of("q", "v")),
                "the GPT-2 task's NOLA, unchanged");

        ModelSpec llama = SmallBases.LLAMA_CONFIG.spec().model();
        List<String> qv = List.of("q_proj", "v_proj");
        NolaConfig n = PaperClaim.domainNola(llama, qv);
        assertEquals(56, n.basisA());
        assertEquals(56, n.basisB());
        List<AdapterSite> sites = llama.sitesOf(qv);
        long loraR1 = sites.stream().mapToLong(s -> s.in() + s.out()).sum();
        assertEquals(896, loraR1, "2 layers x (q_proj 128+128, v_proj 128+64)");
        long nola = (long) sites.size() * (n.basisA() + n.basisB());
        assertEquals(448, nola);
        assertTrue(nola < loraR1);
        assertThrows(IllegalArgumentException.class, () -> PaperClaim.domainNola(llama, List.of("q")));
    }
}
