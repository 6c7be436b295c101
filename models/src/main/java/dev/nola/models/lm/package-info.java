/** Decoder-only language models over the shared transformer stack: GPT-2 and the LLaMA family. */
package dev.nola.models.lm;
