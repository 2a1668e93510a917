using ILGPU;
using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Indexer;

/// <summary>
/// Writers of the indexer's key cache. Three layouts, all row-major with one row per token:
/// <list type="bullet">
/// <item>fp32: <c>[capacity, D]</c> floats (a plain copy of the keys, no kernel needed);</item>
/// <item>bf16: <c>[capacity, D]</c> bf16 bits, written by <see cref="IndexerKernels.StoreIndexKeysBf16"/>;</item>
/// <item>FP8: <c>values [capacity, D]</c> e4m3 bytes + <c>scales [capacity]</c> fp32, written by
/// <see cref="IndexerKernels.QuantizeIndexKeysFp8"/>: D + 4 bytes per token (132 B at D = 128, DeepSeek's figure).</item>
/// </list>
/// The FP8 scale of a token is <c>amax/448</c> (1 for an all-zero key), so the largest magnitude maps to e4m3's
/// largest finite value; a key is read back as <c>e4m3(value)·scale</c>.
/// </summary>
public static class IndexKeyCache
{
    /// <summary>Bytes one token takes in the FP8 cache: D e4m3 values and one fp32 scale.</summary>
    public static long Fp8BytesPerToken(int dim) => dim + sizeof(float);

    /// <summary>The FP8 scale of a key whose largest magnitude is <paramref name="amax"/>.</summary>
    public static float Fp8Scale(float amax) => amax > 0f ? amax / Fp8E4M3.MaxValue : 1f;
}

public static partial class IndexerKernels
{
    /// <summary>
    /// Quantizes N new keys into FP8 cache rows <c>firstRow .. firstRow+N−1</c>: one group per token, a group max of
    /// |k| for the scale, then each thread converts a strided slice of the row (round to nearest even).
    /// </summary>
    [Kernel(Grid = "tokenCount", GroupSize = "groupSize")]
    public static void QuantizeIndexKeysFp8(
        ArrayView<float> keys,         // [N, D] new index keys (after LayerNorm and RoPE)
        ArrayView<byte> cacheValues,   // [capacity, D] e4m3 out
        ArrayView<float> cacheScales,  // [capacity] out
        int tokenCount,
        int dim,
        int firstRow,
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
        long row = (long)firstRow + token;
        for (int d = thread; d < dim; d += Group.DimX)
            cacheValues[row * dim + d] = Fp8E4M3.FromFloat(keys[source + d] / tokenScale);
        if (thread == 0)
            cacheScales[row] = tokenScale;
    }

    /// <summary>Rounds N new keys to bf16 (nearest even) into cache rows <c>firstRow .. firstRow+N−1</c>; one thread per element.</summary>
    [Kernel(Grid = "(tokenCount * dim + 255) / 256", GroupSize = "256")]
    public static void StoreIndexKeysBf16(
        ArrayView<float> keys,         // [N, D] new index keys
        ArrayView<ushort> cache,       // [capacity, D] bf16 out
        int tokenCount,
        int dim,
        int firstRow)
    {
        long i = (long)Grid.IdxX * Group.DimX + Group.IdxX;
        if (i >= (long)tokenCount * dim)
            return;
        cache[(long)firstRow * dim + i] = Bf16.FromFloat(keys[i]);
    }
}
