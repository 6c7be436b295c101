/**
 * Text for a language model: a {@link dev.nola.models.text.Tokenizer} (GPT-2's is the first; {@link dev.nola.models.text.HfTokenizer} reads a Hugging Face
 * {@code tokenizer.json}), files read
 * as examples tokenized by it ({@link dev.nola.models.text.TextDataset}),
 * cut into next-token windows with masked targets ({@link dev.nola.models.text.TokenWindows}, target
 * {@link dev.nola.models.text.TokenWindows#IGNORE} = −1 outside the loss), split and batched [B, T].
 */
package dev.nola.models.text;
