package dev.principia.backend.fixedkv;

/**
 * One call of the portable graph: {@code rows} consecutive slots {@code [firstSlot, firstSlot + rows)} in one
 * segment, each fed {@code tokensPerRow} tokens at consecutive positions.
 *
 * @param firstSlot    slot of row 0; row r is slot {@code firstSlot + r}
 * @param rows         B, at least 1
 * @param tokensPerRow S, at least 1
 * @param inputIds     {@code [B * S]} row-major: the graph's {@code input_ids}
 * @param positionIds  {@code [B * S]} row-major: {@code position_ids}; row r holds {@code w_r, w_r + 1, ..., w_r + S - 1}
 * @param entryIndex   {@code [B]}: the batch entry each row feeds (its logits go there)
 * @param lastChunk    {@code [B]}: whether the row's tokens end its entry (else a later run continues it)
 */
public record Run(int firstSlot, int rows, int tokensPerRow, long[] inputIds, long[] positionIds, int[] entryIndex, boolean[] lastChunk) {
    public Run {
        if (firstSlot < 0 || rows <= 0 || tokensPerRow <= 0) {
            throw new IllegalArgumentException("run needs firstSlot >= 0 and rows, tokens > 0: " + firstSlot + "/" + rows + "/" + tokensPerRow);
        }
        int n = rows * tokensPerRow;
        if (inputIds.length != n || positionIds.length != n || entryIndex.length != rows || lastChunk.length != rows) {
            throw new IllegalArgumentException("run arrays do not match " + rows + " rows x " + tokensPerRow + " tokens");
        }
    }

    /** B * S. */
    public int numTokens() {
        return rows * tokensPerRow;
    }

    /** Row r's write position w_r: its length before the call. */
    public int writePosition(int row) {
        return (int) positionIds[row * tokensPerRow];
    }
}
