using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>Slices whose weights one group keeps in shared memory; more slices are weighed again where they are read.</summary>
    public const int CombinedSlicesInSharedMemory = 128;

    /// <summary>
    /// Merges the slices of <see cref="SparseMlaAttentionSplit"/>: with M = max_s m_s and w_s = exp(m_s − M),
    /// <c>o_lat = Σ_s w_s·acc_s / Σ_s w_s·l_s</c> (0 for a query with no key). One group per (query, head, 128 latent
    /// elements).
    /// </summary>
    /// <remarks>
    /// A decode step has few (query, head) rows and up to 128 slices, so the slices are spread over the group as well:
    /// the threads weigh the slices together (w_s and Σ w_s·l_s once per group, not once per element), then each warp
    /// sums its share of the slices for 4 elements per lane and the warps' sums meet in shared memory. One thread per
    /// element looping over every slice was latency-bound: 111 µs per layer on an H100 for 16 heads and 128 slices.
    /// </remarks>
    [Kernel(Grid = "queryCount * heads", GridY = "(latentDim + 127) / 128", GroupSize = "128")]
    public static void CombineMlaSplits(
        ArrayView<float> partialOutput,  // [Q, splits, H, L]
        ArrayView<float> partialStats,   // [Q, splits, H, 2] (m, l)
        ArrayView<float> output,         // [Q, H, L] out: o_lat
        int queryCount,
        int heads,
        int latentDim,
        int splits)
    {
        int row = Grid.IdxX; // query·heads + head
        int thread = Group.IdxX;
        int threads = Group.DimX;
        var sliceWeights = SharedMemory.Allocate<float>(CombinedSlicesInSharedMemory); // [slices] w_s
        var warpSums = SharedMemory.Allocate<float>(4 * 128);                          // [threads, 4] Σ over a warp's slices
        long firstStat = (long)(row / heads) * splits * heads + row % heads;          // stats row of slice 0; slice s adds s·heads

        float ownMax = float.NegativeInfinity;
        for (int s = thread; s < splits; s += threads)
            ownMax = MathF.Max(ownMax, partialStats[(firstStat + (long)s * heads) * 2]);
        float globalMax = KsGroup.Max(ownMax);

        float ownDenominator = 0f;
        for (int s = thread; s < splits; s += threads)
        {
            float weight = SliceWeight(partialStats, firstStat + (long)s * heads, globalMax);
            if (s < CombinedSlicesInSharedMemory)
                sliceWeights[s] = weight;
            ownDenominator += weight * partialStats[(firstStat + (long)s * heads) * 2 + 1];
        }
        float denominator = KsGroup.Sum(ownDenominator);

        int lane = thread % 32;
        int warp = thread / 32;
        int warps = threads / 32;
        int first = Grid.IdxY * 128 + lane * 4; // this lane's 4 elements
        float sum0 = 0f, sum1 = 0f, sum2 = 0f, sum3 = 0f;
        for (int s = warp; s < splits; s += warps)
        {
            float weight = s < CombinedSlicesInSharedMemory ? sliceWeights[s] : SliceWeight(partialStats, firstStat + (long)s * heads, globalMax);
            if (weight == 0f) // an empty slice's accumulator is never read (it may hold anything)
                continue;
            long start = (firstStat + (long)s * heads) * latentDim + first;
            if (first < latentDim) sum0 += weight * partialOutput[start];
            if (first + 1 < latentDim) sum1 += weight * partialOutput[start + 1];
            if (first + 2 < latentDim) sum2 += weight * partialOutput[start + 2];
            if (first + 3 < latentDim) sum3 += weight * partialOutput[start + 3];
        }
        warpSums[thread * 4] = sum0;
        warpSums[thread * 4 + 1] = sum1;
        warpSums[thread * 4 + 2] = sum2;
        warpSums[thread * 4 + 3] = sum3;
        KsGroup.Barrier();

        if (warp == 0)
        {
            for (int k = 0; k < 4 && first + k < latentDim; k++)
            {
                float numerator = 0f;
                for (int w = 0; w < warps; w++)
                    numerator += warpSums[(w * 32 + lane) * 4 + k];
                output[(long)row * latentDim + first + k] = denominator > 0f ? numerator / denominator : 0f;
            }
        }
    }

    /// <summary>w_s = exp(m_s − M) of the slice whose stats are at <paramref name="statRow"/>; 0 for a slice with no key.</summary>
    private static float SliceWeight(ArrayView<float> partialStats, long statRow, float globalMax)
    {
        float sliceMax = partialStats[statRow * 2];
        return sliceMax == float.NegativeInfinity ? 0f : MathF.Exp(sliceMax - globalMax);
    }
}
