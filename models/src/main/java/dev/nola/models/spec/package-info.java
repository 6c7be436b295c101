/**
 * What a model is, as data: one spec per architecture ({@code Gpt2Config}, {@code VitConfig}, …) derives a
 * {@link dev.nola.models.spec.ModelSpec} — the weight table (every tensor's name, shape, initialisation
 * and whether it trains), the parts of every block, and the adapter sites by module name — and every
 * loader, initialiser, merge, export and report reads that one table.
 */
package dev.nola.models.spec;
