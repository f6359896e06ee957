package dev.principia.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;

/**
 * API-key checks for HTTP endpoints, with the keys of {@code principia.auth.api-keys}. A key is read
 * from {@code Authorization: Bearer <key>}, {@code x-api-key: <key>}, or the password of
 * {@code Authorization: Basic} (what an HTTP client sends for {@code http://user:<key>@host/...}, the
 * only way to give a key to a trainer that sends no headers of its own). Keys compare in constant time.
 */
final class ApiKeys {
    private ApiKeys() {
    }

    /** The presented key, or null when none. */
    static String presented(String authorization, String xApiKey) {
        if (authorization != null) {
            String a = authorization.strip();
            if (a.regionMatches(true, 0, "Bearer ", 0, 7)) return a.substring(7).strip();
            if (a.regionMatches(true, 0, "Basic ", 0, 6)) {
                try {
                    String userPassword = new String(Base64.getDecoder().decode(a.substring(6).strip()), StandardCharsets.UTF_8);
                    int colon = userPassword.indexOf(':');
                    return colon < 0 ? userPassword : userPassword.substring(colon + 1);
                } catch (IllegalArgumentException e) {
                    return "";
                }
            }
        }
        return xApiKey == null ? null : xApiKey.strip();
    }

    /** Whether {@code presented} is one of {@code keys}; every key is compared, in constant time each. */
    static boolean matches(String presented, List<String> keys) {
        byte[] p = presented.getBytes(StandardCharsets.UTF_8);
        boolean ok = false;
        for (String k : keys) ok |= MessageDigest.isEqual(p, k.strip().getBytes(StandardCharsets.UTF_8));
        return ok;
    }
}
