using KernelSharp.Dsl;

namespace KernelSharp.Kernels.Attention;

/// <summary>
/// Reference of <see cref="MlaTensorCoreKernels.SparseMlaTensorCore"/> in float64: the kernel feeds the tensor cores
/// bf16 queries, so the reference rounds the fp32 queries to bf16 first, decodes the bf16 cache, and then is
/// <see cref="MlaAttentionReference.Absorbed"/> (the remaining difference is P rounded to bf16 inside the kernel).
/// </summary>
public static class SparseMlaTensorCoreReference
{
    /// <summary>queries [Q, H, 576] fp32; cacheBits [Tc, 576] bf16; keys[q]: the cache rows query q attends. Returns o_lat [Q, H, 512].</summary>
    public static double[] Compute(float[] queries, ushort[] cacheBits, IReadOnlyList<int[]> keys, int heads, float scale)
    {
        var roundedQueries = new float[queries.Length];
        for (long i = 0; i < queries.Length; i++)
            roundedQueries[i] = Bf16.ToFloat(Bf16.FromFloat(queries[i]));
        var cache = new float[cacheBits.Length];
        for (long i = 0; i < cacheBits.Length; i++)
            cache[i] = Bf16.ToFloat(cacheBits[i]);
        return MlaAttentionReference.Absorbed(roundedQueries, cache, keys, heads, MlaTensorCoreTile.LatentDim, MlaTensorCoreTile.RopeDim, scale);
    }
}
