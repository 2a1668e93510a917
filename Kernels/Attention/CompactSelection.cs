using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Paging;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Turns a selection with empty (−1) or not-yet-visible slots into the (rows, counts) form
/// <see cref="SelectedKeys"/> hold for <see cref="MlaKernels.MlaAttention"/>: per query the keys j with
/// 0 ≤ j ≤ pages.Position(q), in slot order, each written as its cache row <c>pages.CacheRow(q, j)</c> (the selection
/// names key positions of the query's sequence; attention reads cache rows, which a paged cache scatters over blocks).
/// One group per query: each thread counts the visible keys of its contiguous chunk of the k slots, the group turns
/// the counts into offsets, and each thread copies its chunk's visible keys to its offset — the order is kept.
/// (One thread per query walked 2048 slots serially: about 0.2 ms per decode layer on the H200, measured.)
/// </summary>
public static partial class SelectionKernels
{
    private const int ThreadsPerQuery = 128;

    [Kernel(Grid = "queryCount", GroupSize = "128")]
    public static void CompactSelection(
        ArrayView<int> selected,   // [Q, k] key positions, −1 = empty slot
        KeyPages pages,            // [Q] the query's own position (it sees keys 0..Position(q)) and its block table
        ArrayView<int> compacted,  // [Q, k] out: the visible keys' cache rows first; the rest untouched
        ArrayView<int> counts,     // [Q] out: number of visible keys
        int queryCount,
        int k)
    {
        int q = Grid.IdxX;
        int thread = Group.IdxX;
        var chunkCounts = SharedMemory.Allocate<int>(ThreadsPerQuery); // [threads] visible keys in each thread's chunk
        int position = pages.Position(q);
        int chunk = (k + ThreadsPerQuery - 1) / ThreadsPerQuery;
        int begin = Math.Min(k, thread * chunk);
        int end = Math.Min(k, begin + chunk);
        long row = (long)q * k;
        int visible = 0;
        for (int i = begin; i < end; i++)
        {
            int key = selected[row + i];
            if (key >= 0 && key <= position)
                visible++;
        }
        chunkCounts[thread] = visible;
        KsGroup.Barrier();

        int offset = 0;
        for (int t = 0; t < thread; t++)
            offset += chunkCounts[t];
        for (int i = begin; i < end; i++)
        {
            int key = selected[row + i];
            if (key >= 0 && key <= position)
            {
                compacted[row + offset] = pages.CacheRow(q, key);
                offset++;
            }
        }
        if (thread == ThreadsPerQuery - 1)
            counts[q] = offset; // the last chunk ends after every visible key
    }
}
