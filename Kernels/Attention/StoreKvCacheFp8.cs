using ILGPU;
using KernelSharp.Dsl;
using KernelSharp.Kernels.Formats;

namespace KernelSharp.Kernels.Attention;

public static partial class MlaKernels
{
    /// <summary>Threads per group of <see cref="StoreKvCacheFp8"/>: one latent value of a 128-value scale block each.</summary>
    public const int StoreKvCacheFp8GroupSize = Fp8LatentRows.Block;

    /// <summary>
    /// Writes columns <c>firstColumn .. firstColumn+columns−1</c> of N tokens' latent rows <c>[c ‖ k_pe]</c> (fp32, after
    /// the latent RMSNorm / the rope) into FP8 latent cache rows <c>rows[0 .. N−1]</c> (<see cref="Fp8LatentRows"/>; token n
    /// goes to cache row rows[n], anywhere in a paged pool):
    /// per 128 latent values a group max of |c| gives the scale amax/448 and each value is rounded to e4m3 (nearest
    /// even, saturating at ±448); rope values are rounded to bf16. One group per token. <c>firstColumn</c> is 0 (the
    /// whole latent part, optionally followed by the rope part: a block's scale needs all its values) or L (rope only),
    /// so the runtime can store c and k_pe as each is produced.
    /// </summary>
    [Kernel(Grid = "tokenCount", GroupSize = "128")]
    public static void StoreKvCacheFp8(
        ArrayView<float> values,   // [N, columns] the columns to store
        ArrayView<byte> kvCache,   // [cache rows, RowBytes(L, R)] FP8 latent rows, out
        ArrayView<int> rows,       // [N] the cache row of each token
        int tokenCount,
        int columns,
        int firstColumn,
        int latentDim,
        int ropeDim)
    {
        int token = Grid.IdxX;
        int thread = Group.IdxX;
        long source = (long)token * columns;
        long rowStart = (long)rows[token] * Fp8LatentRows.RowBytes(latentDim, ropeDim);
        int latentColumns = firstColumn == 0 ? IntrinsicMath.Min(latentDim, columns) : 0;
        int blocks = (latentColumns + Fp8LatentRows.Block - 1) / Fp8LatentRows.Block;
        for (int block = 0; block < blocks; block++)
        {
            int column = block * Fp8LatentRows.Block + thread;
            float value = column < latentColumns ? values[source + column] : 0f;
            float amax = KsGroup.Max(MathF.Abs(value));
            float scale = Fp8LatentRows.Fp8Scale(amax);
            if (column < latentColumns)
                kvCache[rowStart + column] = Fp8E4M3.FromFloat(value / scale);
            if (thread == 0)
                kvCache.SubView(rowStart + Fp8LatentRows.ScaleOffset(latentDim) + 4L * block, 4).Cast<float>()[0] = scale;
        }

        long ropeStart = rowStart + Fp8LatentRows.RopeOffset(latentDim);
        for (int c = thread; c < columns; c += Group.DimX)
        {
            int column = firstColumn + c;
            if (column >= latentDim)
            {
                ushort bits = Bf16.FromFloat(values[source + c]);
                long at = ropeStart + 2L * (column - latentDim);
                kvCache[at] = (byte)bits;
                kvCache[at + 1] = (byte)(bits >> 8);
            }
        }
    }
}
