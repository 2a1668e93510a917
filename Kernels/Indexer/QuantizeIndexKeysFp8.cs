using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

public static partial class IndexerKernels
{
    /// <summary>
    /// Quantizes N new keys into FP8 cache rows <c>rows[0 .. N−1]</c> (token n goes to cache row rows[n], anywhere in a
    /// paged pool): one group per token, a group max of |k| for the scale, then each thread converts a strided slice of
    /// the row (round to nearest even).
    /// A library kernel: the writer of the FP8 key cache the FP8 indexer kernels read (Kernels/README.md), and of the
    /// runtime's index keys with <c>--kv-cache fp8</c>.
    /// </summary>
    [Kernel(Grid = "tokenCount", GroupSize = "groupSize")]
    public static void QuantizeIndexKeysFp8(
        ArrayView<float> keys,         // [N, D] new index keys (after LayerNorm and RoPE)
        ArrayView<byte> cacheValues,   // [cache rows, D] e4m3 out
        ArrayView<float> cacheScales,  // [cache rows] out
        ArrayView<int> rows,           // [N] the cache row of each token
        int tokenCount,
        int dim,
        [Constant(32, 1)] int groupSize)
    {
        int token = Grid.IdxX;
        int thread = Group.IdxX;
        long source = (long)token * dim;
        float localMax = 0f;
        for (int d = thread; d < dim; d += Group.DimX)
        {
            float magnitude = MathF.Abs(keys[source + d]);
            localMax = magnitude > localMax ? magnitude : localMax;
        }
        var amax = KsGroup.Max(localMax);
        float tokenScale = IndexKeyCache.Fp8Scale(amax);
        long row = rows[token];
        for (int d = thread; d < dim; d += Group.DimX)
            cacheValues[row * dim + d] = Fp8E4M3.FromFloat(keys[source + d] / tokenScale);
        if (thread == 0)
            cacheScales[row] = tokenScale;
    }
}
