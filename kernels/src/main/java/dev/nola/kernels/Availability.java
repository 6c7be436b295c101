package dev.nola.kernels;

/**
 * Whether a backend can run here, and why not.
 *
 * @param available whether the backend has at least one usable device
 * @param reason    why it is unavailable (missing driver, no platform, …); empty when available
 */
public record Availability(boolean available, String reason) {

    public static Availability yes() {
        return new Availability(true, "");
    }

    public static Availability no(String reason) {
        return new Availability(false, reason);
    }
}
