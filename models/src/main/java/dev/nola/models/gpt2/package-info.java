/**
 * GPT-2 in the Hugging Face format: {@link dev.nola.models.gpt2.Gpt2Config} ({@code config.json}),
 * {@link dev.nola.models.gpt2.Gpt2Checkpoint} ({@code model.safetensors} as host float arrays, Conv1D
 * layout, read and written) and {@link dev.nola.models.gpt2.Gpt2Tokenizer} (r50k_base BPE).
 */
package dev.nola.models.gpt2;
