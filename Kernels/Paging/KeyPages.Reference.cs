namespace KernelSharp.Kernels.Paging;

/// <summary>
/// Host twin of <see cref="KeyPages"/> for references and tests: the same mapping from (query row, key position) to
/// cache row, over plain arrays.
/// </summary>
public sealed record KeyPagesReference(int[] Positions, int[] TableStarts, int[] BlockTable, int BlockSize)
{
    /// <summary>An unpaged cache: query row r sees cache rows 0..positions[r].</summary>
    public static KeyPagesReference Contiguous(int[] positions) => new(positions, [], [], 0);

    /// <summary>Unpaged and causal: query row s of <paramref name="queryCount"/> is at position s + <paramref name="offset"/>
    /// (a prefill of the tokens after <paramref name="offset"/> cached ones).</summary>
    public static KeyPagesReference Causal(int queryCount, int offset) =>
        Contiguous(Enumerable.Range(0, queryCount).Select(s => s + offset).ToArray());

    /// <summary>
    /// Query rows from several sequences: row r belongs to sequence <paramref name="sequenceOfRow"/>[r] and sits at
    /// <paramref name="positions"/>[r]; <paramref name="blockTables"/>[i] lists sequence i's blocks in position order.
    /// </summary>
    public static KeyPagesReference Paged(int[] positions, int[] sequenceOfRow, int[][] blockTables, int blockSize)
    {
        var starts = new int[blockTables.Length];
        for (int i = 1; i < blockTables.Length; i++)
        {
            starts[i] = starts[i - 1] + blockTables[i - 1].Length;
        }
        return new(positions, sequenceOfRow.Select(sequence => starts[sequence]).ToArray(), blockTables.SelectMany(t => t).ToArray(), blockSize);
    }

    public int Rows => Positions.Length;

    public int Position(int row) => Positions[row];

    public int CacheRow(int row, int position) =>
        BlockSize == 0 ? position : BlockTable[TableStarts[row] + position / BlockSize] * BlockSize + position % BlockSize;

    /// <summary>The cache rows query row <paramref name="row"/> sees, in position order.</summary>
    public int[] VisibleRows(int row) => Enumerable.Range(0, Positions[row] + 1).Select(p => CacheRow(row, p)).ToArray();
}
