using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Reference of <see cref="MlaKernels.StoreKvCacheFp8"/> and of how <see cref="Fp8LatentRows"/> reads a row back: the
/// same rounding, one token and one block at a time, with the layout written out byte by byte.
/// </summary>
public static class StoreKvCacheFp8Reference
{
    /// <summary>rows: [N, L+R] latent rows [c ‖ k_pe] → [N, RowBytes(L, R)] FP8 cache rows (padding bytes 0).</summary>
    public static byte[] Quantize(float[] rows, int tokenCount, int latentDim, int ropeDim)
    {
        int rowLength = latentDim + ropeDim;
        int rowBytes = Fp8LatentRows.RowBytes(latentDim, ropeDim);
        var cache = new byte[(long)tokenCount * rowBytes];
        for (int n = 0; n < tokenCount; n++)
        {
            long source = (long)n * rowLength;
            long row = (long)n * rowBytes;
            for (int block = 0; block * Fp8LatentRows.Block < latentDim; block++)
            {
                int start = block * Fp8LatentRows.Block;
                int end = Math.Min(start + Fp8LatentRows.Block, latentDim);
                float amax = 0f;
                for (int i = start; i < end; i++)
                {
                    amax = Math.Max(amax, Math.Abs(rows[source + i]));
                }
                float scale = Fp8LatentRows.Fp8Scale(amax);
                for (int i = start; i < end; i++)
                {
                    cache[row + i] = Fp8E4M3.FromFloat(rows[source + i] / scale);
                }
                BitConverter.TryWriteBytes(cache.AsSpan((int)(row + Fp8LatentRows.ScaleOffset(latentDim) + 4 * block), 4), scale);
            }
            for (int i = 0; i < ropeDim; i++)
            {
                ushort bits = Bf16.FromFloat(rows[source + latentDim + i]);
                BitConverter.TryWriteBytes(cache.AsSpan((int)(row + Fp8LatentRows.RopeOffset(latentDim) + 2 * i), 2), bits);
            }
        }
        return cache;
    }

    /// <summary>
    /// What the kernel leaves in <paramref name="cache"/> ([cache rows, RowBytes(L, R)]): token n of <paramref name="values"/>
    /// ([N, L+R]) quantized into cache row <paramref name="cacheRows"/>[n]; other rows untouched.
    /// </summary>
    public static void Store(byte[] cache, float[] values, int[] cacheRows, int latentDim, int ropeDim)
    {
        int rowBytes = Fp8LatentRows.RowBytes(latentDim, ropeDim);
        byte[] quantized = Quantize(values, cacheRows.Length, latentDim, ropeDim);
        for (int n = 0; n < cacheRows.Length; n++)
        {
            Array.Copy(quantized, (long)n * rowBytes, cache, (long)cacheRows[n] * rowBytes, rowBytes);
        }
    }

    /// <summary>[N, RowBytes(L, R)] FP8 cache rows → [N, L+R] values as the attention kernels read them.</summary>
    public static float[] Dequantize(byte[] cache, int tokenCount, int latentDim, int ropeDim)
    {
        int rowLength = latentDim + ropeDim;
        int rowBytes = Fp8LatentRows.RowBytes(latentDim, ropeDim);
        var rows = new float[(long)tokenCount * rowLength];
        for (int n = 0; n < tokenCount; n++)
        {
            var row = cache.AsSpan(n * rowBytes, rowBytes);
            for (int i = 0; i < latentDim; i++)
            {
                float scale = BitConverter.ToSingle(row.Slice(Fp8LatentRows.ScaleOffset(latentDim) + 4 * (i / Fp8LatentRows.Block), 4));
                rows[(long)n * rowLength + i] = Fp8E4M3.ToFloat(row[i]) * scale;
            }
            for (int i = 0; i < ropeDim; i++)
            {
                rows[(long)n * rowLength + latentDim + i] = Bf16.ToFloat(BitConverter.ToUInt16(row.Slice(Fp8LatentRows.RopeOffset(latentDim) + 2 * i, 2)));
            }
        }
        return rows;
    }
}
