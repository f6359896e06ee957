package dev.principia.backend;

/** A step that failed inside the backend; the engine fails that batch's sequences and goes on. */
public class BackendException extends RuntimeException {
    public BackendException(String message, Throwable cause) {
        super(message, cause);
    }

    public BackendException(String message) {
        super(message);
    }
}
