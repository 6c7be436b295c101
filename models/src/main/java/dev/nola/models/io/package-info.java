/** File helpers of the models module: atomic writes of files and directories, bounded reads, strict JSON. */
package dev.nola.models.io;
