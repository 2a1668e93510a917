using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Indexer;

/// <summary>Reference of the index-key cache writers (<see cref="IndexKeyCache"/>): the same rounding, one token at a time.</summary>
public static class IndexKeyCacheReference
{
    /// <summary>keys: [N, D] → (values [N, D] e4m3, scales [N]).</summary>
    public static (byte[] Values, float[] Scales) QuantizeFp8(float[] keys, int tokenCount, int dim)
    {
        var values = new byte[(long)tokenCount * dim];
        var scales = new float[tokenCount];
        for (int n = 0; n < tokenCount; n++)
        {
            float amax = 0f;
            for (int d = 0; d < dim; d++)
            {
                amax = Math.Max(amax, Math.Abs(keys[(long)n * dim + d]));
            }
            float scale = IndexKeyCache.Fp8Scale(amax);
            scales[n] = scale;
            for (int d = 0; d < dim; d++)
            {
                values[(long)n * dim + d] = Fp8E4M3.FromFloat(keys[(long)n * dim + d] / scale);
            }
        }
        return (values, scales);
    }

    /// <summary>
    /// keys [N, D] into a zeroed cache of <paramref name="cacheRows"/> rows, key n at row rows[n], as
    /// <see cref="IndexerKernels.QuantizeIndexKeysFp8"/> writes it → (values [cacheRows, D] e4m3, scales [cacheRows]).
    /// </summary>
    public static (byte[] Values, float[] Scales) QuantizeFp8Into(float[] keys, int tokenCount, int dim, int[] rows, int cacheRows)
    {
        var (tokenValues, tokenScales) = QuantizeFp8(keys, tokenCount, dim);
        var values = new byte[(long)cacheRows * dim];
        var scales = new float[cacheRows];
        for (int n = 0; n < tokenCount; n++)
        {
            Array.Copy(tokenValues, (long)n * dim, values, (long)rows[n] * dim, dim);
            scales[rows[n]] = tokenScales[n];
        }
        return (values, scales);
    }

    /// <summary>values [N, D] e4m3 + scales [N] → keys [N, D] as the kernels read them (<see cref="Fp8RowScaledRows"/>).</summary>
    public static float[] DequantizeFp8(byte[] values, float[] scales, int tokenCount, int dim) =>
        Fp8RowScaledRowsReference.Dequantize(values, scales, tokenCount, dim);
}
