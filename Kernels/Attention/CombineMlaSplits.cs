using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>
    /// Merges the slices that <see cref="MlaAttention"/> wrote over <see cref="SelectedKeySlices"/>: with M = max_s m_s and w_s = exp(m_s − M),
    /// <c>o_lat = Σ_s w_s·acc_s / Σ_s w_s·l_s</c> (0 for a query with no key). One thread per output element.
    /// </summary>
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
        int d = Grid.IdxY * Group.DimX + Group.IdxX;
        if (d >= latentDim)
            return;
        int query = row / heads;
        int head = row % heads;
        float globalMax = float.NegativeInfinity;
        for (int s = 0; s < splits; s++)
            globalMax = MathF.Max(globalMax, partialStats[(((long)query * splits + s) * heads + head) * 2]);
        float numerator = 0f;
        float denominator = 0f;
        if (globalMax != float.NegativeInfinity)
        {
            for (int s = 0; s < splits; s++)
            {
                long statRow = ((long)query * splits + s) * heads + head;
                float sliceMax = partialStats[statRow * 2];
                if (sliceMax == float.NegativeInfinity)
                    continue;
                float weight = MathF.Exp(sliceMax - globalMax);
                numerator += weight * partialOutput[statRow * latentDim + d];
                denominator += weight * partialStats[statRow * 2 + 1];
            }
        }
        output[(long)row * latentDim + d] = denominator > 0f ? numerator / denominator : 0f;
    }
}
