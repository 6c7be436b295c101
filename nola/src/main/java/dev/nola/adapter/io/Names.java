package dev.nola.adapter.io;

import dev.nola.io.Echo;
import dev.nola.io.InvalidFileException;

/**
 * The rule for names that files carry and the project writes: module paths (layer names such as
 * {@code h.0.attn.q}, target modules) and tensor names ({@code h.0.attn.q.nola_alpha},
 * {@code base_model.model.h.0.attn.q.lora_A.weight}). A name is one or more dot-separated segments,
 * each a non-empty run of {@code A-Z a-z 0-9 _ -}. So no control character, space, path separator,
 * {@code ..}, leading or trailing dot, or non-ASCII look-alike gets through, and the reserved
 * safetensors key {@code __metadata__} is refused as a tensor name. Readers and writers apply the same
 * rule: what one writes the other reads, and nothing else.
 */
public enum Names {
    /** Layer names and target modules: at most 256 characters. */
    MODULE("module name", 256),
    /** Tensor names: at most 512 characters (a module path plus a suffix). */
    TENSOR("tensor name", 512);

    /** The safetensors header key that is not a tensor. */
    public static final String RESERVED = "__metadata__";

    private final String noun;
    private final int maxLength;

    Names(String noun, int maxLength) {
        this.noun = noun;
        this.maxLength = maxLength;
    }

    /** The longest name allowed. */
    public int maxLength() {
        return maxLength;
    }

    /** Why {@code name} breaks the rule, as a phrase completing "NAME …", or null when it is valid. */
    public String problem(String name) {
        if (name.isEmpty()) {
            return "is empty";
        }
        if (name.length() > maxLength) {
            return "is " + name.length() + " characters, more than " + maxLength;
        }
        if (name.equals(RESERVED)) {
            return "is reserved by the safetensors format";
        }
        for (int i = 0; i < name.length(); ) {
            int c = name.codePointAt(i);
            if (c == '.') {
                if (i == 0 || i == name.length() - 1 || name.charAt(i - 1) == '.') {
                    return "has an empty segment at character " + i + " (leading, trailing or doubled '.')";
                }
            } else if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-')) {
                String what = c == '/' || c == '\\' ? "a path separator" : Echo.unsafe(c) ? "a control or invisible character"
                        : "the character " + Echo.quote(Character.toString(c));
                return "contains " + what + " at character " + i;
            }
            i += Character.charCount(c);
        }
        return null;
    }

    /** The rule in words, for messages. */
    public String rule() {
        return "1.." + maxLength + " characters in dot-separated segments of A-Z a-z 0-9 _ -";
    }

    /**
     * Refuses an invalid name (for writers and arguments).
     *
     * @param what what the name is, e.g. "layer" or "tensor"
     * @throws IllegalArgumentException "layer name 'a/b' contains a path separator at character 1; …"
     */
    public String require(String what, String name) {
        String p = problem(name);
        if (p != null) {
            throw new IllegalArgumentException(what + " " + noun + " " + Echo.quote(name) + " " + p + "; expected " + rule());
        }
        return name;
    }

    /**
     * As {@link #require}, as an {@link InvalidFileException} prefixed by {@code source} (for readers).
     *
     * @param what what the name is, or "" when the noun says it all ("tensor name …")
     */
    public String requireInFile(String source, String what, String name) {
        String p = problem(name);
        if (p != null) {
            throw new InvalidFileException(source + ": " + (what.isEmpty() ? "" : what + " ") + noun + " "
                    + Echo.quote(name) + " " + p + "; expected " + rule());
        }
        return name;
    }
}
