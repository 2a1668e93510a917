using ILGPU;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>q_abs[h, e] = Σ_n q_nope[h, n]·W[firstRow + n, e] (W's rows of head h's k_nope, column e).</summary>
    /// <remarks>
    /// Eight rows at a time, every load of the eight before any multiply: a decode step has only (heads × latent)
    /// threads, and a loop that waited for each weight before asking for the next was latency-bound (57 µs per layer
    /// on an H100 for 16 heads). The products are still added in n order, so the sum is the same as one at a time.
    /// </remarks>
    private static float AbsorbedElement<TWeights>(ArrayView<float> q, long qStart, TWeights kvB, int firstRow, int e, int nopeDim, int latentDim)
        where TWeights : struct, IRowFormat<TWeights>
    {
        float value = 0f;
        int n = 0;
        for (; n + 8 <= nopeDim; n += 8)
        {
            float w0 = kvB.Element(firstRow + n, latentDim, e);
            float w1 = kvB.Element(firstRow + n + 1, latentDim, e);
            float w2 = kvB.Element(firstRow + n + 2, latentDim, e);
            float w3 = kvB.Element(firstRow + n + 3, latentDim, e);
            float w4 = kvB.Element(firstRow + n + 4, latentDim, e);
            float w5 = kvB.Element(firstRow + n + 5, latentDim, e);
            float w6 = kvB.Element(firstRow + n + 6, latentDim, e);
            float w7 = kvB.Element(firstRow + n + 7, latentDim, e);
            float q0 = q[qStart + n], q1 = q[qStart + n + 1], q2 = q[qStart + n + 2], q3 = q[qStart + n + 3];
            float q4 = q[qStart + n + 4], q5 = q[qStart + n + 5], q6 = q[qStart + n + 6], q7 = q[qStart + n + 7];
            value += q0 * w0;
            value += q1 * w1;
            value += q2 * w2;
            value += q3 * w3;
            value += q4 * w4;
            value += q5 * w5;
            value += q6 * w6;
            value += q7 * w7;
        }
        for (; n < nopeDim; n++)
            value += q[qStart + n] * kvB.Element(firstRow + n, latentDim, e);
        return value;
    }
}
