package dev.principia.grm;

/**
 * One conversation turn.
 *
 * @param role    non-blank, e.g. "system", "user" or "assistant"; compared case-sensitively
 * @param content non-null, may be empty
 */
public record Turn(String role, String content) {
    public static final String USER = "user";

    public Turn {
        if (role == null || role.isBlank()) throw new IllegalArgumentException("turn role must not be blank");
        if (content == null) throw new IllegalArgumentException("turn content must not be null");
    }

    public boolean isUser() {
        return USER.equals(role);
    }
}
