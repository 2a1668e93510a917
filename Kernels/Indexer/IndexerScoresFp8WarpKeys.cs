using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

public static partial class IndexerKernels
{
    /// <summary>
    /// <see cref="IndexerScoresWarpKeys"/> over the FP8 key cache (e4m3 values + one fp32 scale per key): the same
    /// contract as <see cref="IndexerScoresFp8"/>, I[s, t] = Σ_h w[s, h] · ReLU(scale · keyScale[t] · q[s, h]·K[t]) for
    /// t ≤ s + <paramref name="causalOffset"/>, −∞ for later keys. Each lane reads its two keys 4 dims (one 32-bit word)
    /// at a time and decodes them exactly to fp32 (<see cref="Fp8E4M3.ToFloat4"/>); the rest is the fp32 kernel's
    /// (<see cref="IndexerWarpKeys"/>), with each key's scale folded into its ReLU argument.
    /// </summary>
    /// <remarks>Requires heads ≤ 64, dim ≤ 128 and a multiple of 4, and <paramref name="keyValues"/> starting on a
    /// 4-byte boundary (a cache row 0); see <see cref="IndexerShapes.ValidateDecodeFp32"/>.</remarks>
    [Kernel(Grid = "queryCount", GridY = "(keyCount + 127) / 128", GroupSize = "128")]
    public static void IndexerScoresFp8WarpKeys(
        ArrayView<float> queries,      // [S, H, D] index queries after RoPE
        ArrayView<float> headWeights,  // [S, H] w[s, h]
        ArrayView<byte> keyValues,     // [T, D] e4m3 key values, 4-byte aligned
        ArrayView<float> keyScales,    // [T] one fp32 scale per key
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
        int read0 = key0 < lastRead ? key0 : lastRead;
        int read1 = key1 < lastRead ? key1 : lastRead;
        var words = keyValues.Cast<uint>();              // [T, D/4] four e4m3 per word
        long row0 = (long)read0 * (dim / 4);
        long row1 = (long)read1 * (dim / 4);
        int scoredWords = anyVisible ? dim / 4 : 0;
        int quadBase = half * IndexerWarpKeys.HalfStride;
        var acc = new KeyPairHeadSums();
        uint w0 = words[row0];
        uint w1 = words[row1];
        for (int word = 0; word < scoredWords; word++)
        {
            // The last step re-reads its own word instead of branching.
            int next = word + 1 < scoredWords ? word + 1 : word;
            uint nextW0 = words[row0 + next];
            uint nextW1 = words[row1 + next];
            acc = IndexerWarpKeys.Step(acc, queryRows.SubView(quadBase + 4 * word), Fp8E4M3.ToFloat4(w0), Fp8E4M3.ToFloat4(w1));
            w0 = nextW0;
            w1 = nextW1;
        }
        var sums = IndexerWarpKeys.WeightedSums(acc, weights, half, scale * keyScales[read0], scale * keyScales[read1]);

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
