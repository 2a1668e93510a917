using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>
    /// One warp's share of q_abs[h, e … e + 3] = Σ_n q_nope[h, n]·W[firstRow + n, e …] (W's rows of head h's k_nope):
    /// the rows n = warp, warp + warps, …, four rows' loads in flight before any multiply; 0 past the latent row. The
    /// group adds its warps' shares (<see cref="AbsorbQuery"/>, <see cref="AbsorbQueryRope"/>).
    /// </summary>
    /// <remarks>
    /// A decode step has only heads × (latent / 128) groups: one thread per element walking all nope rows, one load at a
    /// time, was latency-bound (57 µs per layer on an H100 for 16 heads). Splitting the rows over the warps and keeping
    /// four in flight puts sixteen times as many loads in the air.
    /// </remarks>
    private static Float4 AbsorbedPartial<TWeights>(ArrayView<float> q, long qStart, TWeights kvB, int firstRow, int first,
        int nopeDim, int latentDim, int warp, int warps)
        where TWeights : struct, IRowFormat<TWeights>
    {
        var sum = new Float4(0f, 0f, 0f, 0f);
        if (first >= latentDim)
            return sum;
        for (int n = warp; n < nopeDim; n += 4 * warps)
        {
            Float4 w0 = WeightElements(kvB, firstRow, n, first, nopeDim, latentDim);
            Float4 w1 = WeightElements(kvB, firstRow, n + warps, first, nopeDim, latentDim);
            Float4 w2 = WeightElements(kvB, firstRow, n + 2 * warps, first, nopeDim, latentDim);
            Float4 w3 = WeightElements(kvB, firstRow, n + 3 * warps, first, nopeDim, latentDim);
            float q0 = n < nopeDim ? q[qStart + n] : 0f;
            float q1 = n + warps < nopeDim ? q[qStart + n + warps] : 0f;
            float q2 = n + 2 * warps < nopeDim ? q[qStart + n + 2 * warps] : 0f;
            float q3 = n + 3 * warps < nopeDim ? q[qStart + n + 3 * warps] : 0f;
            sum = new Float4(
                sum.X + q0 * w0.X + q1 * w1.X + q2 * w2.X + q3 * w3.X,
                sum.Y + q0 * w0.Y + q1 * w1.Y + q2 * w2.Y + q3 * w3.Y,
                sum.Z + q0 * w0.Z + q1 * w1.Z + q2 * w2.Z + q3 * w3.Z,
                sum.W + q0 * w0.W + q1 * w1.W + q2 * w2.W + q3 * w3.W);
        }
        return sum;
    }

    /// <summary>Writes this thread's 4 partial sums to its slot of the group's [threads, 4] shared buffer.</summary>
    private static void StoreWarpShare(ArrayView<float> warpSums, int thread, Float4 partial)
    {
        warpSums[thread * 4] = partial.X;
        warpSums[thread * 4 + 1] = partial.Y;
        warpSums[thread * 4 + 2] = partial.Z;
        warpSums[thread * 4 + 3] = partial.W;
    }

    /// <summary>Element <paramref name="k"/> of lane <paramref name="lane"/>'s 4, summed over the warps' shares in warp
    /// order (after the barrier that follows <see cref="StoreWarpShare"/>).</summary>
    private static float WarpSharesSum(ArrayView<float> warpSums, int lane, int k, int warps)
    {
        float value = 0f;
        for (int w = 0; w < warps; w++)
            value += warpSums[(w * 32 + lane) * 4 + k]; // 32 lanes a warp
        return value;
    }

    /// <summary>W[firstRow + n, first … first + 3]: one 4-value read where the row holds all four, 0 past the row or past
    /// the head's nope rows.</summary>
    private static Float4 WeightElements<TWeights>(TWeights kvB, int firstRow, int n, int first, int nopeDim, int latentDim)
        where TWeights : struct, IRowFormat<TWeights>
    {
        if (n >= nopeDim)
            return new Float4(0f, 0f, 0f, 0f);
        if (first + 3 < latentDim && latentDim % 4 == 0)
            return kvB.Elements4(firstRow + n, latentDim, first);
        return new Float4(
            kvB.Element(firstRow + n, latentDim, first),
            first + 1 < latentDim ? kvB.Element(firstRow + n, latentDim, first + 1) : 0f,
            first + 2 < latentDim ? kvB.Element(firstRow + n, latentDim, first + 2) : 0f,
            first + 3 < latentDim ? kvB.Element(firstRow + n, latentDim, first + 3) : 0f);
    }
}
