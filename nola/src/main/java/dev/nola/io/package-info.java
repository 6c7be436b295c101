/**
 * File safety for every module that reads or writes files: the rules each reader of untrusted input
 * and each writer follows, in one place.
 *
 * <ul>
 *   <li>{@link dev.nola.io.InputFiles}: what a path is, found before it is opened (a FIFO is never
 *       opened); whole-file reads checked for size and heap before reading.</li>
 *   <li>{@link dev.nola.io.UntrustedJson}: bounded JSON parsing, with the heap checked first.</li>
 *   <li>{@link dev.nola.io.SizeBudget}: what a file's claims would allocate, checked against a device
 *       or the heap before allocating ({@link dev.nola.io.TooLargeException}).</li>
 *   <li>{@link dev.nola.io.AtomicFiles}: atomic writes of a file and of a directory, and recovery of
 *       what a SIGKILL leaves; {@link dev.nola.io.OutputPaths}: an output is never an input, and only
 *       a previous output is replaced.</li>
 *   <li>{@link dev.nola.io.FileErrors} and {@link dev.nola.io.Echo}: failures in words, values
 *       quoted and escaped, so every message is one line.</li>
 * </ul>
 *
 * The file formats built on these (safetensors, adapter files) live in {@code dev.nola.adapter.io}.
 */
package dev.nola.io;
