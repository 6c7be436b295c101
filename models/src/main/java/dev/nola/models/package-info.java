/**
 * Models on the op contract: GPT-2 and a small ViT with explicit forward and backward passes, their
 * data readers and the trainer. The module exists so that the layout is the one the project
 * promises; the models issue fills it. It depends on {@code nola-kernels} and {@code nola-core} only
 * and never prints.
 */
package dev.nola.models;
