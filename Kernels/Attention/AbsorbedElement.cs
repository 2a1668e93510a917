using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>q_abs[h, e] = Σ_n q_nope[h, n]·W[firstRow + n, e] (W's rows of head h's k_nope, column e).</summary>
    private static float AbsorbedElement<TWeights>(ArrayView<float> q, long qStart, TWeights kvB, int firstRow, int e, int nopeDim, int latentDim)
        where TWeights : struct, IRowFormat<TWeights>
    {
        float value = 0f;
        for (int n = 0; n < nopeDim; n++)
            value += q[qStart + n] * kvB.Element(firstRow + n, latentDim, e);
        return value;
    }
}
