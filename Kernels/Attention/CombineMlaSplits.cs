using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>Slices whose weights one group keeps in shared memory; more slices are weighed again where they are read.</summary>
    public const int CombinedSlicesInSharedMemory = 128;

    /// <summary>
    /// Merges the slices that <see cref="MlaAttention"/> wrote over <see cref="SelectedKeySlices"/>: with M = max_s m_s and
    /// w_s = exp(m_s − M), <c>o_lat = Σ_s w_s·acc_s / Σ_s w_s·l_s</c> (0 for a query with no key). One group per (query,
    /// head, 128 latent elements).
    /// </summary>
    /// <remarks>
    /// A decode step has few (query, head) rows and up to 128 slices, so the slices are spread over the group as well:
    /// the threads weigh the slices together (w_s and Σ w_s·l_s once per group, not once per element), then each warp
    /// sums its share of the slices for 4 elements per lane and the warps' sums meet in shared memory. One thread per
    /// element looping over every slice was latency-bound: 111 µs per layer on an H100 for 16 heads and 128 slices.
    /// </remarks>
    [Kernel(Grid = "queryCount * heads", GridY = "(latentDim + 127) / 128", GroupSize = "128", HostGroup = nameof(CombineMlaSplitsHost))]
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
        for (int s = warp; s < splits; s += 4 * warps)
        {
            // Four of this warp's slices per step, every load before any use; the sums still take the slices in order.
            Float4 x0 = SliceElements(partialOutput, firstStat, s, heads, latentDim, first, splits);
            Float4 x1 = SliceElements(partialOutput, firstStat, s + warps, heads, latentDim, first, splits);
            Float4 x2 = SliceElements(partialOutput, firstStat, s + 2 * warps, heads, latentDim, first, splits);
            Float4 x3 = SliceElements(partialOutput, firstStat, s + 3 * warps, heads, latentDim, first, splits);
            float w0 = SharedSliceWeight(sliceWeights, partialStats, firstStat, s, heads, splits, globalMax);
            float w1 = SharedSliceWeight(sliceWeights, partialStats, firstStat, s + warps, heads, splits, globalMax);
            float w2 = SharedSliceWeight(sliceWeights, partialStats, firstStat, s + 2 * warps, heads, splits, globalMax);
            float w3 = SharedSliceWeight(sliceWeights, partialStats, firstStat, s + 3 * warps, heads, splits, globalMax);
            // An empty slice (weight 0) is skipped, not multiplied: its accumulator is never read as a number.
            if (w0 != 0f) { sum0 += w0 * x0.X; sum1 += w0 * x0.Y; sum2 += w0 * x0.Z; sum3 += w0 * x0.W; }
            if (w1 != 0f) { sum0 += w1 * x1.X; sum1 += w1 * x1.Y; sum2 += w1 * x1.Z; sum3 += w1 * x1.W; }
            if (w2 != 0f) { sum0 += w2 * x2.X; sum1 += w2 * x2.Y; sum2 += w2 * x2.Z; sum3 += w2 * x2.W; }
            if (w3 != 0f) { sum0 += w3 * x3.X; sum1 += w3 * x3.Y; sum2 += w3 * x3.Z; sum3 += w3 * x3.W; }
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

    /// <summary>
    /// The host form of a group (row, 128-element tile): the same weights and denominator, then each slice's 128 elements
    /// weighed into the numerators with one vector multiply-add (slices in order). Emulating the group's 128 threads ran
    /// its 16-byte loads through helpers, where the GPU body's view casts take a lock on the host: 226 µs a launch for 8
    /// heads and 2 slices.
    /// </summary>
    private static void CombineMlaSplitsHost(ArrayView<float> partialOutput, ArrayView<float> partialStats, ArrayView<float> output,
        int queryCount, int heads, int latentDim, int splits, int row, int tile)
    {
        long firstStat = (long)(row / heads) * splits * heads + row % heads;
        float globalMax = float.NegativeInfinity;
        for (int s = 0; s < splits; s++)
            globalMax = MathF.Max(globalMax, partialStats[(firstStat + (long)s * heads) * 2]);
        int first = tile * 128;
        int count = Math.Min(128, latentDim - first);
        Span<float> numerators = stackalloc float[128];
        numerators.Clear();
        float denominator = 0f;
        for (int s = 0; s < splits; s++)
        {
            float weight = SliceWeight(partialStats, firstStat + (long)s * heads, globalMax);
            if (weight == 0f)
                continue; // an empty slice's accumulator is never read as a number
            denominator += weight * partialStats[(firstStat + (long)s * heads) * 2 + 1];
            Span<float> slice = HostSpan.Of(partialOutput, (firstStat + (long)s * heads) * latentDim + first, count);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(slice, weight, numerators[..count], numerators[..count]);
        }
        Span<float> target = HostSpan.Of(output, (long)row * latentDim + first, count);
        for (int k = 0; k < count; k++)
            target[k] = denominator > 0f ? numerators[k] / denominator : 0f;
    }

    /// <summary>Elements first … first + 3 of slice <paramref name="slice"/>'s accumulator (one 16-byte load where the row
    /// allows), 0 past the latent row or past the last slice.</summary>
    private static Float4 SliceElements(ArrayView<float> partialOutput, long firstStat, int slice, int heads, int latentDim, int first, int splits)
    {
        if (slice >= splits)
            return new Float4(0f, 0f, 0f, 0f);
        long start = (firstStat + (long)slice * heads) * latentDim + first;
        if (first + 3 < latentDim && KsVector.IsAligned16(partialOutput, start))
            return KsVector.LoadFloat4(partialOutput, start);
        return new Float4(
            first < latentDim ? partialOutput[start] : 0f,
            first + 1 < latentDim ? partialOutput[start + 1] : 0f,
            first + 2 < latentDim ? partialOutput[start + 2] : 0f,
            first + 3 < latentDim ? partialOutput[start + 3] : 0f);
    }

    /// <summary>w_s of slice <paramref name="slice"/>: from shared memory where the group kept it, else from its stats; 0
    /// past the last slice.</summary>
    private static float SharedSliceWeight(ArrayView<float> sliceWeights, ArrayView<float> partialStats, long firstStat, int slice,
        int heads, int splits, float globalMax)
    {
        if (slice >= splits)
            return 0f;
        return slice < CombinedSlicesInSharedMemory ? sliceWeights[slice] : SliceWeight(partialStats, firstStat + (long)slice * heads, globalMax);
    }

    /// <summary>w_s = exp(m_s − M) of the slice whose stats are at <paramref name="statRow"/>; 0 for a slice with no key.</summary>
    private static float SliceWeight(ArrayView<float> partialStats, long statRow, float globalMax)
    {
        float sliceMax = partialStats[statRow * 2];
        return sliceMax == float.NegativeInfinity ? 0f : MathF.Exp(sliceMax - globalMax);
    }
}
