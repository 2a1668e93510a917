using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

public static partial class IndexerKernels
{
    /// <summary>
    /// Indexer scores over the fp32 key cache, I[s, t] = Σ_h w[s, h] · ReLU(scale · q[s, h]·K[t]) for t ≤ s +
    /// <paramref name="causalOffset"/>, −∞ for later keys — the same contract as <see cref="IndexerScores"/>, written
    /// for the GPU: one group per (query, 128-key tile) stages the query once in shared memory (32 KB, zero past the
    /// real heads/dims) and its 4 warps stream 32 keys each from global memory into registers (<see cref="IndexerWarpKeys"/>:
    /// 2 keys × 32 heads per lane, the next 4 dims' keys loaded before the current ones are used). The upper
    /// half-warps' sums meet the lower's in shared memory. Tiles wholly past the causal limit only write −∞. A decode
    /// step is one query with <c>causalOffset = keyCount − 1</c>. Everything is fp32; only the summation order differs
    /// from the reference.
    /// </summary>
    /// <remarks>Requires heads ≤ 64, dim ≤ 128 and a multiple of 4, and <paramref name="keys"/> starting on a 16-byte
    /// boundary (a cache row 0); see <see cref="IndexerShapes.ValidateDecodeFp32"/>.</remarks>
    [Kernel(Grid = "queryCount", GridY = "(keyCount + 127) / 128", GroupSize = "128")]
    public static void IndexerScoresWarpKeys(
        ArrayView<float> queries,      // [S, H, D] index queries after RoPE
        ArrayView<float> headWeights,  // [S, H] w[s, h]
        ArrayView<float> keys,         // [T, D] fp32 key cache, 16-byte aligned
        ArrayView<float> scores,       // [S, T] out
        int queryCount,
        int keyCount,
        int heads,
        int dim,
        float scale,
        int causalOffset)
    {
        int thread = Group.IdxX;
        int s = Grid.IdxX;
        int half = thread % 32 / 16;                      // this lane's heads: 32·half .. +31
        int groupSlot = thread / 32 * 32 + thread % 16;   // this lane's keys in the tile: groupSlot and groupSlot + 16
        int firstKey = Grid.IdxY * IndexerWarpKeys.GroupKeys;
        int key0 = firstKey + groupSlot;
        int key1 = key0 + 16;
        int lastVisible = s + causalOffset < keyCount - 1 ? s + causalOffset : keyCount - 1; // may be < 0: nothing visible
        bool anyVisible = firstKey <= lastVisible;
        var queryRows = SharedMemory.Allocate<float>(IndexerWarpKeys.QueryLength);  // [2 halves][32 heads][128 dims] (+4 between halves)
        var weights = SharedMemory.Allocate<float>(DecodeMaxHeads);                 // [64 heads], 0 past H
        var upperSums = SharedMemory.Allocate<float>(IndexerWarpKeys.GroupKeys);    // [128 keys] the upper half-warps' weighted sums

        IndexerWarpKeys.StageQuery(queries, headWeights, queryRows, weights, s, heads, dim, thread, anyVisible);
        KsGroup.Barrier();

        // Slots past the last visible key re-read it (in bounds, already cached) and write −∞ or nothing; a tile with
        // no visible key scores nothing (0 dims) from key 0's row.
        int lastRead = lastVisible > 0 ? lastVisible : 0;
        long row0 = (long)(key0 < lastRead ? key0 : lastRead) * dim;
        long row1 = (long)(key1 < lastRead ? key1 : lastRead) * dim;
        int scoredDims = anyVisible ? dim : 0;
        int quadBase = half * IndexerWarpKeys.HalfStride;
        var acc = new KeyPairHeadSums();
        var k0 = KsVector.LoadFloat4(keys, row0);
        var k1 = KsVector.LoadFloat4(keys, row1);
        for (int d = 0; d < scoredDims; d += 4)
        {
            // The last step re-reads its own dims instead of branching.
            int next = d + 4 < scoredDims ? d + 4 : d;
            var nextK0 = KsVector.LoadFloat4(keys, row0 + next);
            var nextK1 = KsVector.LoadFloat4(keys, row1 + next);
            acc = IndexerWarpKeys.Step(acc, queryRows.SubView(quadBase + d), k0, k1);
            k0 = nextK0;
            k1 = nextK1;
        }
        var sums = IndexerWarpKeys.WeightedSums(acc, weights, half, scale, scale);

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
