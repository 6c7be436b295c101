package dev.nola.models.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nola.models.Messages;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TokenWindowsTest {

    /** N windows of T = 3 whose first input is the window's index, so windows can be told apart. */
    private static TokenWindows numbered(int n) {
        int[] in = new int[n * 3];
        int[] tg = new int[n * 3];
        for (int w = 0; w < n; w++) {
            in[w * 3] = w;
            in[w * 3 + 1] = 1000 + w;
            tg[w * 3] = 1000 + w;
            tg[w * 3 + 1] = TokenWindows.IGNORE;
            tg[w * 3 + 2] = TokenWindows.IGNORE;
        }
        return new TokenWindows(in, tg, 3);
    }

    private static Set<Integer> ids(TokenWindows w) {
        Set<Integer> s = new HashSet<>();
        for (int i = 0; i < w.size(); i++) {
            s.add(w.inputs(i)[0]);
        }
        return s;
    }

    @Test
    void theHeldOutSplitIsDeterministicDisjointAndComplete() {
        TokenWindows all = numbered(100);
        TokenWindows.Split a = all.split(0.1, 7);
        TokenWindows.Split b = all.split(0.1, 7);
        assertEquals(10, a.heldOut().size());
        assertEquals(90, a.train().size());
        assertEquals(ids(a.heldOut()), ids(b.heldOut()));
        Set<Integer> union = new HashSet<>(ids(a.train()));
        union.addAll(ids(a.heldOut()));
        assertEquals(100, union.size());
        assertFalse(ids(a.heldOut()).equals(ids(all.split(0.1, 8).heldOut())));
        // both parts keep file order
        for (int i = 1; i < a.train().size(); i++) {
            assertTrue(a.train().inputs(i - 1)[0] < a.train().inputs(i)[0]);
        }
        assertEquals(1, numbered(3).split(0.01, 1).heldOut().size(), "a positive fraction holds out at least one");
        assertEquals(0, numbered(3).split(0, 1).heldOut().size());
    }

    @Test
    void theSplitRefusesToLeaveNothingToTrainOn() {
        assertTrue(Messages.of(() -> numbered(1).split(0.5, 1)).contains("leaves none to train on"));
        assertEquals("held-out fraction = 1.0; expected a number in [0, 1)", Messages.of(() -> numbered(4).split(1, 1)));
        Messages.of(() -> numbered(4).split(Double.NaN, 1));
    }

    @Test
    void epochsAreSeededFullBatchesOfDistinctWindows() {
        TokenWindows all = numbered(10);
        List<TokenBatch> e0 = all.epoch(3, 5, 0);
        assertEquals(3, e0.size());
        Set<Integer> seen = new HashSet<>();
        for (TokenBatch b : e0) {
            assertEquals(3, b.batchSize());
            assertEquals(3, b.length());
            for (int r = 0; r < 3; r++) {
                int w = b.inputs()[r * 3];
                assertTrue(seen.add(w), "window " + w + " twice in one epoch");
                assertArrayEquals(all.targets(w), Arrays.copyOfRange(b.targets(), r * 3, r * 3 + 3));
            }
        }
        assertArrayEquals(e0.get(0).inputs(), all.epoch(3, 5, 0).get(0).inputs());
        assertFalse(Arrays.equals(flat(e0), flat(all.epoch(3, 5, 1))), "each epoch has its own order");
        assertEquals(10, e0.stream().mapToInt(TokenBatch::learnedTargets).sum() + 1, "one window dropped, 1 learned each");
    }

    private static int[] flat(List<TokenBatch> bs) {
        return bs.stream().flatMapToInt(b -> Arrays.stream(b.inputs())).toArray();
    }

    @Test
    void inOrderCoversEveryWindowOnce() {
        List<TokenBatch> bs = numbered(7).inOrder(3);
        assertEquals(List.of(3, 3, 1), bs.stream().map(TokenBatch::batchSize).toList());
        assertEquals(6, bs.get(2).inputs()[0]);
    }

    @Test
    void badBatchArgumentsAreNamed() {
        assertEquals("batch size B = 11 is more than the 10 windows; expected B ≤ 10",
                Messages.of(() -> numbered(10).epoch(11, 1, 0)));
        assertEquals("batch size B = 0; expected ≥ 1", Messages.of(() -> numbered(10).inOrder(0)));
        assertEquals("window 10 does not exist; expected 0..9", Messages.of(() -> numbered(10).inputs(10)));
    }
}
