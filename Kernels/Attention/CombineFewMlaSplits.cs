using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Dsl.Launch;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>Up to this many slices <see cref="CombineSlices"/> launches <see cref="CombineFewMlaSplits"/>; 2 and 3
    /// slices were slower through <see cref="CombineMlaSplits"/> on an H100, 6 faster; 4 and 5 are not measured.</summary>
    public const int FewCombinedSlices = 4;

    /// <summary>
    /// The same merge as <see cref="CombineMlaSplits"/> (o_lat = Σ_s w_s·acc_s / Σ_s w_s·l_s, w_s = exp(m_s − M), 0 for a
    /// query with no key), one thread per output element taking every slice in turn: no group reduction, no barrier, no
    /// shared memory, few registers. A batched decode step (32–64 queries) has 2–3 slices; there CombineMlaSplits, which
    /// spreads the slices over its warps, left warps without a slice, paid two group reductions and a barrier, and held
    /// sixteen loads' registers in every thread, and a sparse MLA decode step was 2.5% (batch 32) and 4% (batch 64)
    /// slower on an H100 than with this loop. Its own kernel, not a branch of CombineMlaSplits, because a kernel's
    /// registers are those of its largest path.
    /// </summary>
    [Kernel(Grid = "queryCount * heads", GridY = "(latentDim + 127) / 128", GroupSize = "128")]
    public static void CombineFewMlaSplits(
        ArrayView<float> partialOutput,  // [Q, splits, H, L]
        ArrayView<float> partialStats,   // [Q, splits, H, 2] (m, l)
        ArrayView<float> output,         // [Q, H, L] out: o_lat
        int queryCount,
        int heads,
        int latentDim,
        int splits)
    {
        int row = Grid.IdxX; // query·heads + head
        int d = Grid.IdxY * Group.DimX + Group.IdxX;
        if (d >= latentDim)
            return;
        long firstStat = (long)(row / heads) * splits * heads + row % heads; // stats row of slice 0; slice s adds s·heads
        float globalMax = float.NegativeInfinity;
        for (int s = 0; s < splits; s++)
            globalMax = MathF.Max(globalMax, partialStats[(firstStat + (long)s * heads) * 2]);
        float numerator = 0f;
        float denominator = 0f;
        for (int s = 0; s < splits; s++)
        {
            long statRow = firstStat + (long)s * heads;
            float sliceMax = partialStats[statRow * 2];
            if (sliceMax == float.NegativeInfinity)
                continue; // an empty slice's accumulator is never read as a number
            float weight = MathF.Exp(sliceMax - globalMax);
            numerator += weight * partialOutput[statRow * latentDim + d];
            denominator += weight * partialStats[statRow * 2 + 1];
        }
        output[(long)row * latentDim + d] = denominator > 0f ? numerator / denominator : 0f;
    }

    /// <summary>Merges <paramref name="splits"/> slices: on GPUs <see cref="CombineFewMlaSplits"/> up to
    /// <see cref="FewCombinedSlices"/>, else (and on the host backends, where only CombineMlaSplits has a host form)
    /// <see cref="CombineMlaSplits"/>.</summary>
    public static void CombineSlices(KernelDevice device, ArrayView<float> partialOutput, ArrayView<float> partialStats, ArrayView<float> output,
        int queryCount, int heads, int latentDim, int splits)
    {
        if (splits <= FewCombinedSlices && device.Backend is KernelBackend.Cuda or KernelBackend.OpenCL)
            LaunchCombineFewMlaSplits(device, partialOutput, partialStats, output, queryCount, heads, latentDim, splits);
        else
            LaunchCombineMlaSplits(device, partialOutput, partialStats, output, queryCount, heads, latentDim, splits);
    }
}
