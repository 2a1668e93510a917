using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// References of the layout kernels around a prompt's per-head kv_b GEMMs: <see cref="MlaKernels.HeadsToBf16"/>,
/// <see cref="MlaKernels.ScatterHeads"/> and <see cref="MlaKernels.KvbHeadsToBf16{TWeights}"/>, as plain loops over
/// (head, token, element).
/// </summary>
public static class MlaHeadLayoutsReference
{
    /// <summary>[H, T, width] bf16 of source[t·rowStride + h·headStride + d].</summary>
    public static ushort[] HeadsToBf16(float[] source, int tokens, int heads, int width, int rowStride, int headStride)
    {
        var target = new ushort[(long)heads * tokens * width];
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < tokens; t++)
                for (int d = 0; d < width; d++)
                    target[((long)h * tokens + t) * width + d] = Bf16.FromFloat(source[(long)t * rowStride + (long)h * headStride + d]);
        return target;
    }

    /// <summary>destination with destination[t·rowStride + h·headStride + d] = source[h, t, d]; other elements kept.</summary>
    public static float[] ScatterHeads(float[] source, float[] destination, int tokens, int heads, int width, int rowStride, int headStride)
    {
        var result = (float[])destination.Clone();
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < tokens; t++)
                for (int d = 0; d < width; d++)
                    result[(long)t * rowStride + (long)h * headStride + d] = source[((long)h * tokens + t) * width + d];
        return result;
    }

    /// <summary>
    /// From kv_b's values W [H·(nope+v), L] (dequantized): W_UKᵀ [H, L, nope] and W_UV [H, v, L], each value rounded to bf16.
    /// </summary>
    public static (ushort[] AbsorbKeys, ushort[] ValueRows) KvbHeadsToBf16(float[] kvB, int heads, int nopeDim, int valueDim, int latentDim)
    {
        var keys = new ushort[(long)heads * latentDim * nopeDim];
        var values = new ushort[(long)heads * valueDim * latentDim];
        for (int h = 0; h < heads; h++)
        {
            long headRow = (long)h * (nopeDim + valueDim);
            for (int l = 0; l < latentDim; l++)
                for (int d = 0; d < nopeDim; d++)
                    keys[((long)h * latentDim + l) * nopeDim + d] = Bf16.FromFloat(kvB[(headRow + d) * latentDim + l]);
            for (int j = 0; j < valueDim; j++)
                for (int l = 0; l < latentDim; l++)
                    values[((long)h * valueDim + j) * latentDim + l] = Bf16.FromFloat(kvB[(headRow + nopeDim + j) * latentDim + l]);
        }
        return (keys, values);
    }
}
