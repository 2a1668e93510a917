using ILGPU;

namespace KernelSharp.Kernels.Paging;

/// <summary>
/// Where each query row's keys live in a paged cache. Query row r is at position <see cref="Positions"/>[r] and sees keys
/// 0..Positions[r]; its key at position p is cache row <c>BlockTable[TableStarts[r] + p / BlockSize] · BlockSize + p % BlockSize</c>.
/// <see cref="BlockSize"/> 0 means an unpaged cache: the key at position p is cache row p (TableStarts/BlockTable unused, may be empty).
/// </summary>
/// <remarks>
/// A layer's cache is one pool of fixed-size blocks shared by every sequence; a sequence owns a list of block ids (its
/// block table) in any order. Rows of one launch may come from different sequences (a batched decode step), so each row
/// names where its own sequence's list starts. The kernels take this struct as a plain parameter (a struct of views and
/// values), so one kernel serves the paged and the unpaged cache; the unpaged case costs a branch per key on a value that
/// is the same for the whole launch.
/// </remarks>
public readonly struct KeyPages
{
    public KeyPages(ArrayView<int> positions, ArrayView<int> tableStarts, ArrayView<int> blockTable, int blockSize)
    {
        Positions = positions;
        TableStarts = tableStarts;
        BlockTable = blockTable;
        BlockSize = blockSize;
    }

    /// <summary>An unpaged cache: query row r sees cache rows 0..positions[r].</summary>
    public static KeyPages Contiguous(ArrayView<int> positions) => new(positions, ArrayView<int>.Empty, ArrayView<int>.Empty, 0);

    /// <summary>[rows] the position of each query row's own token (it sees keys 0..Positions[r]; −1: none).</summary>
    public readonly ArrayView<int> Positions;

    /// <summary>[rows] where row r's sequence's block list starts in <see cref="BlockTable"/>.</summary>
    public readonly ArrayView<int> TableStarts;

    /// <summary>[Σ blocks of all sequences] block ids of the pool, each sequence's in position order.</summary>
    public readonly ArrayView<int> BlockTable;

    /// <summary>Cache rows per block; 0 for an unpaged cache.</summary>
    public readonly int BlockSize;

    /// <summary>The position of query row <paramref name="row"/>'s own token: it sees keys 0..Position(row).</summary>
    public int Position(int row) => Positions[row];

    /// <summary>The cache row holding query row <paramref name="row"/>'s key at <paramref name="position"/> (0 ≤ position ≤ Position(row)).</summary>
    public int CacheRow(int row, int position)
    {
        if (BlockSize == 0)
            return position;
        int block = position / BlockSize;
        return BlockTable[TableStarts[row] + block] * BlockSize + (position - block * BlockSize);
    }
}
