/**
 * Models on the op contract: GPT-2 and a small ViT with explicit forward and backward passes, their
 * data readers and the trainer. Built so far: the data layer — {@code gpt2} (Hugging Face checkpoints
 * and the tokenizer), {@code text} (token windows), {@code image} (IDX images), {@code data} (seeded
 * permutations), {@code io} (atomic writes, bounded reads). The module depends on {@code nola-kernels}
 * and {@code nola-core} only and never prints.
 */
package dev.nola.models;
