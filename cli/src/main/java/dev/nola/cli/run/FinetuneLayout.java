package dev.nola.cli.run;

/**
 * What {@code nola finetune --out OUT} writes: {@code OUT/adapter/} (a NOLA adapter, or a PEFT LoRA
 * adapter), {@code OUT/head.safetensors} (a ViT's trained head), {@code OUT/report/} (report.json and
 * charts) and {@code OUT/checkpoint/} (the trainer's state, for {@code --resume}).
 */
public final class FinetuneLayout {

    public static final String ADAPTER = "adapter";
    public static final String HEAD = "head.safetensors";
    public static final String REPORT = "report";
    public static final String CHECKPOINT = "checkpoint";

    private FinetuneLayout() {
    }
}
