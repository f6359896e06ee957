package dev.principia.server;

/** The server's version, as reported by GetServerInfo. */
final class Version {
    static final String VERSION = "0.1.0";

    private Version() {
    }
}
