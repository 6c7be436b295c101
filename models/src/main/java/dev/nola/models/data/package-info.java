/** Seeded, platform-independent permutations shared by the text and image data sets. */
package dev.nola.models.data;
