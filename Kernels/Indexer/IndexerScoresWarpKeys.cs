using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;
using KernelSharp.Kernels.Paging;

namespace KernelSharp.Kernels.Indexer;

public static partial class IndexerKernels
{
    /// <summary>
    /// Indexer scores, I[s, t] = Σ_h w[s, h] · ReLU(scale · q[s, h]·K[t]) for t ≤ <c>pages.Position(s)</c>, key t read
    /// from cache row <c>pages.CacheRow(s, t)</c>, −∞ for later keys — the same contract as <see cref="IndexerScores"/>, written for the GPU: one group per (query,
    /// 128-key tile) stages the query once in shared memory (32 KB, zero past the real heads/dims) and its 4 warps stream
    /// 32 keys each from global memory into registers (<see cref="IndexerWarpKeys"/>: 2 keys × 32 heads per lane, the
    /// next 4 dims' keys loaded before the current ones are used: 16-byte loads of fp32 keys, one 32-bit word of four
    /// e4m3 codes decoded exactly). A key's own scale (<see cref="Fp8RowScaledRows"/>) is kept out of the loop and folded
    /// into its ReLU argument (<see cref="IRowFormat{TSelf}.RowScaled"/>). The upper half-warps' sums meet the lower's in
    /// shared memory. Tiles wholly past the causal limit only write −∞. A decode step of B sequences is B query rows, each
    /// with its own position and block table (<see cref="KeyPages"/>). The math is fp32; only the summation order differs from the reference.
    /// </summary>
    /// <remarks>Requires heads ≤ 64, dim ≤ 128 and a multiple of 4, and <paramref name="keys"/> starting where the format's
    /// wide load needs it (a cache row 0: 16 bytes for fp32, 4 for e4m3); see <see cref="IndexerShapes.ValidateDecodeFp32"/>.</remarks>
    [Kernel(Grid = "queryCount", GridY = "(keyCount + 127) / 128", GroupSize = "128")]
    public static void IndexerScoresWarpKeys<TKeys>(
        ArrayView<float> queries,      // [S, H, D] index queries after RoPE
        ArrayView<float> headWeights,  // [S, H] w[s, h]
        TKeys keys,                    // [cache rows, D] index key cache, row 0 aligned for the format's wide load
        ArrayView<float> scores,       // [S, T] out
        int queryCount,
        int keyCount,
        int heads,
        int dim,
        float scale,
        KeyPages pages)                // [S] each query's position and where its keys live
        where TKeys : struct, IRowFormat<TKeys>
    {
        int thread = Group.IdxX;
        int s = Grid.IdxX;
        int half = thread % 32 / 16;                      // this lane's heads: 32·half .. +31
        int groupSlot = thread / 32 * 32 + thread % 16;   // this lane's keys in the tile: groupSlot and groupSlot + 16
        int firstKey = Grid.IdxY * IndexerWarpKeys.GroupKeys;
        int key0 = firstKey + groupSlot;
        int key1 = key0 + 16;
        int position = pages.Position(s);
        int lastVisible = position < keyCount - 1 ? position : keyCount - 1; // may be < 0: nothing visible
        bool anyVisible = firstKey <= lastVisible;
        var queryRows = SharedMemory.Allocate<float>(IndexerWarpKeys.QueryLength);  // [2 halves][32 heads][128 dims] (+4 between halves)
        var weights = SharedMemory.Allocate<float>(DecodeMaxHeads);                 // [64 heads], 0 past H
        var upperSums = SharedMemory.Allocate<float>(IndexerWarpKeys.GroupKeys);    // [128 keys] the upper half-warps' weighted sums

        IndexerWarpKeys.StageQuery(queries, headWeights, queryRows, weights, s, heads, dim, thread, anyVisible);
        KsGroup.Barrier();

        // Slots past the last visible key re-read it (in bounds, already cached) and write −∞ or nothing; a tile with
        // no visible key scores nothing (0 dims) from key 0's row. A query that sees no key at all may own no block,
        // so it reads cache row 0 instead of looking its table up.
        int lastRead = lastVisible > 0 ? lastVisible : 0;
        int read0 = lastVisible < 0 ? 0 : pages.CacheRow(s, key0 < lastRead ? key0 : lastRead);
        int read1 = lastVisible < 0 ? 0 : pages.CacheRow(s, key1 < lastRead ? key1 : lastRead);
        int scoredDims = anyVisible ? dim : 0;
        int quadBase = half * IndexerWarpKeys.HalfStride;
        // Each key's row as a one-row matrix of its own (its views start at the row), so a load in the dim loop indexes
        // from the row's start by the column alone: with keys.LoadUnscaled4(read0, dim, next) the loop recomputed
        // read0·dim in 64 bits per load (and, for e4m3, the word index of that sum), which cost the FP8 prefill 7% on an H100.
        var row0 = keys.Matrix(read0, 1, dim);
        var row1 = keys.Matrix(read1, 1, dim);
        var acc = new KeyPairHeadSums();
        var k0 = row0.LoadUnscaled4(0, dim, 0);
        var k1 = row1.LoadUnscaled4(0, dim, 0);
        for (int d = 0; d < scoredDims; d += 4)
        {
            // The next dims are loaded before the current ones are decoded and used (the loads overlap the arithmetic);
            // the last step re-reads its own dims instead of branching.
            int next = d + 4 < scoredDims ? d + 4 : d;
            var nextK0 = row0.LoadUnscaled4(0, dim, next);
            var nextK1 = row1.LoadUnscaled4(0, dim, next);
            acc = IndexerWarpKeys.Step(acc, queryRows.SubView(quadBase + d), keys.DecodeUnscaled4(k0), keys.DecodeUnscaled4(k1));
            k0 = nextK0;
            k1 = nextK1;
        }
        var sums = IndexerWarpKeys.WeightedSums(acc, weights, half, row0.RowScaled(0, scale), row1.RowScaled(0, scale));

        if (half == 1)
        {
            upperSums[groupSlot] = sums.First;
            upperSums[groupSlot + 16] = sums.Second;
        }
        KsGroup.Barrier();
        if (half == 0)
        {
            long rowStart = (long)s * keyCount;
            if (key0 < keyCount)
                scores[rowStart + key0] = key0 <= lastVisible ? sums.First + upperSums[groupSlot] : float.NegativeInfinity;
            if (key1 < keyCount)
                scores[rowStart + key1] = key1 <= lastVisible ? sums.Second + upperSums[groupSlot + 16] : float.NegativeInfinity;
        }
    }
}
