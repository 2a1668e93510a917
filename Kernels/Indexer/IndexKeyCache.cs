namespace KernelSharp.Kernels.Indexer;

/// <summary>
/// Writers of the indexer's key cache. Three layouts, all row-major with one row per token:
/// <list type="bullet">
/// <item>fp32: <c>[capacity, D]</c> floats (a plain copy of the keys, no kernel needed);</item>
/// <item>bf16: <c>[capacity, D]</c> bf16 bits, written by <see cref="IndexerKernels.StoreIndexKeysBf16"/>;</item>
/// <item>FP8: <c>values [capacity, D]</c> e4m3 bytes + <c>scales [capacity]</c> fp32, written by
/// <see cref="IndexerKernels.QuantizeIndexKeysFp8"/>: D + 4 bytes per token (132 B at D = 128, DeepSeek's figure).</item>
/// </list>
/// The score kernels read them as the row formats <see cref="Formats.F32Rows"/>, <see cref="Formats.Bf16Rows"/> and
/// <see cref="Formats.Fp8RowScaledRows"/>. The FP8 scale of a token is <c>amax/448</c> (1 for an all-zero key), so the largest magnitude maps to e4m3's
/// largest finite value; a key is read back as <c>e4m3(value)·scale</c>.
/// </summary>
public static class IndexKeyCache
{
    /// <summary>Bytes one token takes in the FP8 cache: D e4m3 values and one fp32 scale.</summary>
    public static long Fp8BytesPerToken(int dim) => dim + sizeof(float);

    /// <summary>The FP8 scale of a key whose largest magnitude is <paramref name="amax"/>: the latent cache's block rule,
    /// one definition for both caches.</summary>
    public static float Fp8Scale(float amax) => Formats.Fp8LatentRows.Fp8Scale(amax);
}
