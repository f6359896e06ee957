package dev.principia.budget;

/** A budget field the policy cannot accept; {@link #field()} is its path in the API, e.g. {@code budget.samples}. */
public class InvalidBudgetException extends IllegalArgumentException {
    private final String field;

    public InvalidBudgetException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
